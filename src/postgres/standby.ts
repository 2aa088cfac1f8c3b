/**
 * Failover slots (PostgreSQL 17+): what the primary and its physical standby
 * need so that a logical slot created with failover = true is synchronized to
 * the standby and survives a promotion at the position the primary confirmed.
 *
 * On the primary: a physical slot the standby streams from, named in
 * synchronized_standby_slots (so logical WAL senders of failover slots send
 * nothing the standby has not received). On the standby: primary_slot_name
 * set to that slot, hot_standby_feedback on, sync_replication_slots on,
 * wal_level logical, and a dbname in primary_conninfo.
 *
 * Facts are read with one query per server; the findings are computed by
 * pure functions. Knows nothing of Pulumi.
 */
import type { PreflightFinding } from "./preflight";
import type { Session } from "./connection";

/** What the primary shows about failover-slot synchronization. */
export interface PrimaryFailoverFacts {
  major: number;
  /** synchronized_standby_slots as set ("" when unset); null before PostgreSQL 17. */
  synchronizedStandbySlots: string | null;
  /** Physical slots, with whether a standby streams from each and how far it is behind (bytes). */
  physicalSlots: Array<{ name: string; active: boolean; lagBytes: number | null }>;
}

/** What a standby shows about its side of the synchronization. */
export interface StandbyFacts {
  major: number;
  inRecovery: boolean;
  syncReplicationSlots: string | null;
  hotStandbyFeedback: string | null;
  primarySlotName: string | null;
  walLevel: string | null;
  /** null when the connecting role may not read it (superuser-only setting). */
  primaryConninfo: string | null;
}

/** The slot names a synchronized_standby_slots value lists ("*" lists every physical standby). */
export function listedStandbySlots(value: string | null): string[] {
  if (!value) return [];
  return value
    .split(",")
    .map((s) => s.trim().replace(/^"(.*)"$/, "$1"))
    .filter(Boolean);
}

export async function readPrimaryFailoverFacts(s: Session): Promise<PrimaryFailoverFacts> {
  const rows = await s.query<{ sss: string | null; physical: PrimaryFailoverFacts["physicalSlots"] | null }>(
    `SELECT ${s.major >= 17 ? "pg_catalog.current_setting('synchronized_standby_slots')" : "NULL::text"} AS sss,
  (SELECT pg_catalog.json_agg(pg_catalog.json_build_object('name', slot_name, 'active', active,
     'lagBytes', pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), restart_lsn)::float8) ORDER BY slot_name)
   FROM pg_catalog.pg_replication_slots WHERE slot_type = 'physical') AS physical`,
  );
  return { major: s.major, synchronizedStandbySlots: rows[0]?.sss ?? null, physicalSlots: rows[0]?.physical ?? [] };
}

export async function readStandbyFacts(s: Session): Promise<StandbyFacts> {
  const rows = await s.query<{ in_recovery: boolean; settings: Record<string, string> | null }>(
    `SELECT pg_catalog.pg_is_in_recovery() AS in_recovery,
  (SELECT pg_catalog.json_object_agg(name, setting) FROM pg_catalog.pg_settings
   WHERE name IN ('sync_replication_slots', 'hot_standby_feedback', 'primary_slot_name', 'wal_level', 'primary_conninfo')) AS settings`,
  );
  const st = rows[0]?.settings ?? {};
  return {
    major: s.major,
    inRecovery: !!rows[0]?.in_recovery,
    syncReplicationSlots: st.sync_replication_slots ?? null,
    hotStandbyFeedback: st.hot_standby_feedback ?? null,
    primarySlotName: st.primary_slot_name ?? null,
    walLevel: st.wal_level ?? null,
    primaryConninfo: st.primary_conninfo ?? null,
  };
}

const reload = "SELECT pg_reload_conf();";

/**
 * Problems on the primary for a failover slot that a standby streaming from physical slot
 * `physicalSlot` keeps in sync. Empty when the primary is set up.
 */
export function primaryFailoverProblems(f: PrimaryFailoverFacts, physicalSlot: string): PreflightFinding[] {
  const out: PreflightFinding[] = [];
  if (f.major < 17) {
    return [
      {
        check: "failover",
        message: `failover slots need PostgreSQL 17 or later, but the primary runs ${f.major}: a standby has no copy of the replication slot, so after a failover the changes between the connector's last position and a new slot are lost`,
        fix: 'upgrade to PostgreSQL 17, or remove `standby` and rely on onSlotLoss: "resnapshot" after a failover',
      },
    ];
  }
  const slot = f.physicalSlots.find((s) => s.name === physicalSlot);
  if (!slot) {
    out.push({
      check: "standby_slot",
      object: physicalSlot,
      message: `the primary has no physical replication slot "${physicalSlot}" for the standby to stream from`,
      fix: `on the primary: SELECT pg_create_physical_replication_slot('${physicalSlot}', true); on the standby: ALTER SYSTEM SET primary_slot_name = '${physicalSlot}'; ${reload}`,
    });
  }
  const listed = listedStandbySlots(f.synchronizedStandbySlots);
  if (!listed.includes(physicalSlot) && !listed.includes("*")) {
    out.push({
      check: "synchronized_standby_slots",
      object: physicalSlot,
      message:
        `synchronized_standby_slots is ${f.synchronizedStandbySlots ? `"${f.synchronizedStandbySlots}"` : "empty"} and does not list "${physicalSlot}": ` +
        "the primary may send Debezium changes the standby has not received, and after a failover those changes are in Kafka but not on the new primary",
      fix: `on the primary: ALTER SYSTEM SET synchronized_standby_slots = '${[...listed.filter((n) => n !== physicalSlot), physicalSlot].join(",")}'; ${reload}`,
    });
  }
  return out;
}

/**
 * Slots named in synchronized_standby_slots that do not exist on this server. While one is
 * missing, PostgreSQL holds back every change of every failover slot, so Debezium stops
 * receiving anything (typical on a promoted standby that kept the old primary's setting).
 */
export function missingStandbySlotProblems(f: PrimaryFailoverFacts): PreflightFinding[] {
  const have = new Set(f.physicalSlots.map((s) => s.name));
  return listedStandbySlots(f.synchronizedStandbySlots)
    .filter((n) => n !== "*" && !have.has(n))
    .map((n) => ({
      check: "synchronized_standby_slots",
      object: n,
      message: `synchronized_standby_slots lists "${n}", but this server has no such physical slot: PostgreSQL sends no change of a failover slot until it exists, so Debezium would stall`,
      fix: `remove it (ALTER SYSTEM SET synchronized_standby_slots = '${listedStandbySlots(f.synchronizedStandbySlots)
        .filter((x) => x !== n)
        .join(",")}'; ${reload}) or create the standby's slot (SELECT pg_create_physical_replication_slot('${n}', true))`,
    }));
}

/** Problems on the standby that keep it from synchronizing failover slots from `physicalSlot`'s primary. */
export function standbyProblems(f: StandbyFacts, physicalSlot: string): PreflightFinding[] {
  if (!f.inRecovery) {
    return [
      {
        check: "standby",
        message: "the server given as standby is not in recovery: it is a primary, not a streaming standby",
        fix: "give the connection of the physical standby (or remove standby.connection)",
      },
    ];
  }
  const out: PreflightFinding[] = [];
  const set = (name: string, value: string, restart = false) =>
    restart ? `on the standby: ALTER SYSTEM SET ${name} = ${value}; then restart it` : `on the standby: ALTER SYSTEM SET ${name} = ${value}; ${reload}`;
  if (f.major < 17) {
    out.push({ check: "failover", message: `slot synchronization needs PostgreSQL 17 or later, but the standby runs ${f.major}`, fix: "upgrade the standby to PostgreSQL 17" });
    return out;
  }
  if (f.syncReplicationSlots !== "on") {
    out.push({ check: "sync_replication_slots", message: `sync_replication_slots is ${f.syncReplicationSlots ?? "unknown"}: the standby does not copy failover slots from the primary`, fix: set("sync_replication_slots", "on") });
  }
  if (f.hotStandbyFeedback !== "on") {
    out.push({ check: "hot_standby_feedback", message: `hot_standby_feedback is ${f.hotStandbyFeedback ?? "unknown"}: slot synchronization needs it`, fix: set("hot_standby_feedback", "on") });
  }
  if (f.primarySlotName !== physicalSlot) {
    out.push({
      check: "primary_slot_name",
      object: physicalSlot,
      message: `primary_slot_name is ${f.primarySlotName ? `"${f.primarySlotName}"` : "empty"}, not "${physicalSlot}": the standby does not stream through the slot the primary waits for`,
      fix: set("primary_slot_name", `'${physicalSlot}'`),
    });
  }
  if (f.walLevel !== "logical") {
    out.push({ check: "wal_level", message: `wal_level on the standby is ${f.walLevel ?? "unknown"}: synchronized slots need logical`, fix: set("wal_level", "logical", true) });
  }
  if (f.primaryConninfo !== null && !/(^|\s)dbname\s*=/.test(f.primaryConninfo)) {
    out.push({
      check: "primary_conninfo",
      message: "primary_conninfo names no dbname: the slot synchronization worker needs a database to connect to on the primary",
      fix: set("primary_conninfo", "'<what it has now> dbname=postgres'"),
    });
  }
  return out;
}
