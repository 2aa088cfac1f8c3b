/**
 * Logical replication slots: create (or adopt), read live state, and drop,
 * including what to do when a consumer still holds the slot. Values go as
 * parameters; slot names are validated ([a-z0-9_], at most 63 bytes) before
 * they get here.
 */
import { CdcError, messageOf } from "../errors";
import { pollUntil } from "../poll";
import type { DeleteWhileActive, SlotPlugin } from "../validation/replication-slot";
import { requireMajor, sqlState, type Session } from "./connection";

/** What a slot should be. */
export interface SlotSpec {
  name: string;
  plugin: SlotPlugin;
  twoPhase: boolean;
  failover: boolean;
}

/** A slot as pg_replication_slots shows it, with the holder's pg_stat_activity details. */
export interface LiveSlot {
  name: string;
  plugin: string | null;
  slotType: string;
  database: string | null;
  temporary: boolean;
  active: boolean;
  activePid: number | null;
  /** Oldest WAL the slot still needs, e.g. "0/1A2B3C8". */
  restartLsn: string | null;
  /** Position the consumer confirmed. */
  confirmedFlushLsn: string | null;
  /** reserved | extended | unreserved | lost (null when restart_lsn is not set). */
  walStatus: string | null;
  /** Bytes of WAL kept for this slot: pg_wal_lsn_diff(current WAL position, restart_lsn). */
  retainedWalBytes: number | null;
  twoPhase: boolean;
  failover: boolean;
  /** Copied from the primary by slot synchronization (PostgreSQL 17+; stays true after the standby is promoted). */
  synced: boolean;
  /** application_name of the backend holding the slot, when active. */
  holderApplication: string | null;
  /** Client address of the backend holding the slot, when active. */
  holderAddress: string | null;
  /** Role of the backend holding the slot, when active. */
  holderUser: string | null;
}

/**
 * True when PostgreSQL invalidated the slot: it still exists, but the WAL it needs was removed
 * (wal_status 'lost', PostgreSQL 13+, e.g. after it retained more than max_slot_wal_keep_size), so no
 * consumer can stream from it again. Only dropping and recreating it helps.
 */
export function isSlotLost(live: Pick<LiveSlot, "walStatus">): boolean {
  return live.walStatus === "lost";
}

/** The query reading one slot ($1 = name) with its holder, for a server major. */
export function readSlotSql(major: number): string {
  return `SELECT s.slot_name::text AS name, s.plugin::text AS plugin, s.slot_type::text AS slot_type, s.database::text AS database,
  s.temporary, s.active, s.active_pid, s.restart_lsn::text AS restart_lsn, s.confirmed_flush_lsn::text AS confirmed_flush_lsn,
  s.wal_status::text AS wal_status,
  pg_catalog.pg_wal_lsn_diff(
    CASE WHEN pg_catalog.pg_is_in_recovery() THEN pg_catalog.pg_last_wal_receive_lsn() ELSE pg_catalog.pg_current_wal_lsn() END,
    s.restart_lsn)::float8 AS retained_wal_bytes,
  ${major >= 14 ? "s.two_phase" : "false"} AS two_phase,
  ${major >= 17 ? "s.failover" : "false"} AS failover,
  ${major >= 17 ? "s.synced" : "false"} AS synced,
  a.application_name::text AS application_name, pg_catalog.host(a.client_addr) AS client_addr, a.usename::text AS user_name
FROM pg_catalog.pg_replication_slots s
LEFT JOIN pg_catalog.pg_stat_activity a ON a.pid = s.active_pid
WHERE s.slot_name = $1`;
}

interface SlotRow {
  name: string;
  plugin: string | null;
  slot_type: string;
  database: string | null;
  temporary: boolean;
  active: boolean;
  active_pid: number | null;
  restart_lsn: string | null;
  confirmed_flush_lsn: string | null;
  wal_status: string | null;
  retained_wal_bytes: number | null;
  two_phase: boolean;
  failover: boolean;
  synced: boolean;
  application_name: string | null;
  client_addr: string | null;
  user_name: string | null;
}

/** Reads one slot; undefined when there is none of that name. */
export async function readSlot(s: Session, name: string): Promise<LiveSlot | undefined> {
  const rows = await s.query<SlotRow>(readSlotSql(s.major), [name]);
  if (!rows.length) return undefined;
  const r = rows[0];
  return {
    name: r.name,
    plugin: r.plugin,
    slotType: r.slot_type,
    database: r.database,
    temporary: r.temporary,
    active: r.active,
    activePid: r.active_pid,
    restartLsn: r.restart_lsn,
    confirmedFlushLsn: r.confirmed_flush_lsn,
    walStatus: r.wal_status,
    retainedWalBytes: r.retained_wal_bytes === null ? null : Number(r.retained_wal_bytes),
    twoPhase: !!r.two_phase,
    failover: !!r.failover,
    synced: !!r.synced,
    holderApplication: r.active ? r.application_name : null,
    holderAddress: r.active ? r.client_addr : null,
    holderUser: r.active ? r.user_name : null,
  };
}

/** The pg_create_logical_replication_slot call for a spec on a server major (twophase from 14, failover from 17). */
export function createSlotCall(spec: SlotSpec, major: number): { sql: string; params: unknown[] } {
  const params: unknown[] = [spec.name, spec.plugin];
  const args = ["$1", "$2", "false"]; // temporary: never
  if (major >= 14) {
    params.push(spec.twoPhase);
    args.push(`$${params.length}`);
  }
  if (major >= 17) {
    params.push(spec.failover);
    args.push(`$${params.length}`);
  }
  return {
    sql: `SELECT slot_name::text AS slot_name, lsn::text AS lsn FROM pg_catalog.pg_create_logical_replication_slot(${args.join(", ")})`,
    params,
  };
}

/** Every way an existing slot differs from a spec, in words. */
export function slotDifferences(spec: SlotSpec, live: LiveSlot, database: string, major: number): string[] {
  const out: string[] = [];
  if (live.slotType !== "logical") out.push(`type: existing ${live.slotType} slot, wanted a logical slot`);
  if (live.database !== null && live.database !== database) out.push(`database: existing "${live.database}", wanted "${database}"`);
  if (live.plugin !== null && live.plugin !== spec.plugin) out.push(`plugin: existing ${live.plugin}, wanted ${spec.plugin}`);
  if (major >= 14 && live.twoPhase !== spec.twoPhase) out.push(`twoPhase: existing ${live.twoPhase}, wanted ${spec.twoPhase}`);
  if (major >= 17 && live.failover !== spec.failover) out.push(`failover: existing ${live.failover}, wanted ${spec.failover}`);
  if (live.temporary) out.push("temporary: the existing slot is temporary (it disappears when its session ends)");
  return out;
}

/** The result of creating a slot: its live state, and whether an existing slot was adopted. */
export interface CreateSlotResult {
  live: LiveSlot;
  adopted: boolean;
}

/**
 * Creates a logical slot, or adopts an existing slot of the same name when
 * database, plugin and options match; fails naming every difference otherwise.
 */
export async function createSlot(s: Session, spec: SlotSpec, database: string, what: string): Promise<CreateSlotResult> {
  if (spec.twoPhase) requireMajor(s, 14, "twoPhase", what);
  if (spec.failover) requireMajor(s, 17, "failover", what);
  for (let attempt = 1; ; attempt++) {
    const existing = await readSlot(s, spec.name);
    if (existing) {
      const differences = slotDifferences(spec, existing, database, s.major);
      if (differences.length) {
        throw new CdcError(
          `${what}: a replication slot named "${spec.name}" already exists and differs from this resource:\n` +
            differences.map((d) => `  - ${d}`).join("\n") +
            `\nDynamic resources cannot be imported, so an existing slot is adopted only when it matches. Give this resource another name, or drop the existing slot ` +
            `(SELECT pg_drop_replication_slot('${spec.name}') in database "${existing.database ?? database}", after making sure no consumer still needs it), then run pulumi up again.`,
        );
      }
      return { live: existing, adopted: true };
    }
    const call = createSlotCall(spec, s.major);
    try {
      await s.query(call.sql, call.params);
    } catch (err) {
      if (sqlState(err) === "42710" && attempt < 2) continue; // created concurrently: look again
      if (spec.plugin === "decoderbufs" && (sqlState(err) === "58P01" || /decoderbufs/.test(messageOf(err)))) {
        throw new CdcError(
          `${messageOf(err)}\n${what}: the output plugin decoderbufs is not installed on ${s.target}. Install decoderbufs on the server (its shared library in PostgreSQL's lib directory), or use plugin "pgoutput", which is built in.`,
          { code: sqlState(err) },
        );
      }
      throw err;
    }
    const live = await readSlot(s, spec.name);
    if (!live) throw new CdcError(`${what}: the slot was created but is not in pg_replication_slots; something dropped it at once`);
    return { live, adopted: false };
  }
}

/** How delete treats a slot that a consumer holds. */
export interface DropSlotOptions {
  onActive: DeleteWhileActive;
  /** Bound of "wait" and of the retries after "terminate", seconds. */
  timeoutSeconds: number;
  /** First poll interval in ms (grows to 1 s). Default 100. */
  pollMs?: number;
}

/** "PID 123 (application_name "x", client 10.0.0.1, user u)". */
export function describeHolder(pid: number | null, live?: Pick<LiveSlot, "holderApplication" | "holderAddress" | "holderUser">): string {
  const details: string[] = [];
  if (live?.holderApplication !== undefined && live?.holderApplication !== null) details.push(`application_name "${live.holderApplication}"`);
  if (live?.holderAddress) details.push(`client ${live.holderAddress}`);
  else if (live && live.holderApplication !== null) details.push("no client address (a local socket, or hidden from a role without pg_read_all_stats)");
  if (live?.holderUser) details.push(`user ${live.holderUser}`);
  return `PID ${pid ?? "unknown"}${details.length ? ` (${details.join(", ")})` : ""}`;
}


/** The PID in PostgreSQL's 'replication slot "x" is active for PID n'. */
function pidFromActiveError(err: unknown): number | null {
  const m = /active for PID (\d+)/.exec(messageOf(err));
  return m ? Number(m[1]) : null;
}

/**
 * Drops a slot. A missing slot is success. When a consumer holds it: "fail"
 * errors at once naming the holder; "wait" polls until it lets go, bounded by
 * the timeout; "terminate" ends the holding backend with pg_terminate_backend
 * and retries while the WAL sender exits (bounded by the timeout, at least 10 s).
 * A consumer grabbing the slot between the look and the drop is retried within
 * the same bound. Returns whether a slot was dropped.
 */
export async function dropSlot(s: Session, name: string, opts: DropSlotOptions, what: string): Promise<boolean> {
  const boundMs = opts.onActive === "terminate" ? Math.max(opts.timeoutSeconds * 1000, 10000) : opts.timeoutSeconds * 1000;
  // The last check throws unless the slot was dropped or is gone, so the wait never ends without an answer.
  return (await pollUntil(
    async ({ elapsedMs, last }) => {
      const live = await readSlot(s, name);
      if (!live) return false;
      let holder: string;
      if (live.active) {
        holder = describeHolder(live.activePid, live);
        if (opts.onActive === "fail") throw activeFail(what, holder);
        if (opts.onActive === "terminate" && live.activePid !== null) await terminate(s, live.activePid, holder, what);
      } else {
        try {
          await s.query("SELECT pg_catalog.pg_drop_replication_slot($1)", [name]);
          return true;
        } catch (err) {
          if (sqlState(err) === "42704") return false; // dropped by someone else meanwhile
          if (sqlState(err) !== "55006") throw err;
          // grabbed by a consumer between our look and the drop
          holder = describeHolder(pidFromActiveError(err));
          if (opts.onActive === "fail") throw activeFail(what, holder);
        }
      }
      if (last) {
        throw new CdcError(
          `${what}: the slot is still in use after ${Math.round(elapsedMs / 1000)} s (deleteTimeoutSeconds ${opts.timeoutSeconds}, onDeleteWhileActive "${opts.onActive}"): held by ${holder}. ` +
            `Stop the consumer first (pause or delete the Debezium connector using it), or set onDeleteWhileActive to "terminate" to end that backend, or raise deleteTimeoutSeconds; then run pulumi again.`,
          { code: "55006" },
        );
      }
      return undefined;
    },
    { timeoutMs: boundMs, initialDelayMs: opts.pollMs ?? 100, factor: 1.5 },
  )) as boolean;
}

function activeFail(what: string, holder: string): CdcError {
  return new CdcError(
    `${what}: the slot is in use by ${holder} and onDeleteWhileActive is "fail". Stop the consumer first (pause or delete the Debezium connector using it), or set onDeleteWhileActive to "wait" or "terminate", then run pulumi again.`,
    { code: "55006" },
  );
}

async function terminate(s: Session, pid: number, holder: string, what: string): Promise<void> {
  try {
    await s.query("SELECT pg_catalog.pg_terminate_backend($1)", [pid]);
  } catch (err) {
    throw new CdcError(
      `${what}: cannot end ${holder}, which holds the slot: ${messageOf(err)}. Connect as a role that may signal it (superuser, the same role, or a member of pg_signal_backend), or stop the consumer first.`,
      { code: sqlState(err) },
    );
  }
}
