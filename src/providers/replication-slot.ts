/**
 * Dynamic provider for ReplicationSlot: validate -> postgres/slots -> plain JSON outputs.
 * Pulumi never serializes this module: the stub in stub.ts requires it by path.
 */
import type * as dynamic from "@pulumi/pulumi/dynamic";
import { CdcError } from "../errors";
import { isDatabaseGone, withSession } from "../postgres/connection";
import { createSlot, dropSlot, readSlot, type LiveSlot, type SlotSpec } from "../postgres/slots";
import { containsUnknown, UNKNOWN, type PostgresConnectionInput } from "../validation/common";
import {
  replicationSlotInputsSchema,
  SLOT_DEFAULTS,
  type DeleteWhileActive,
  type ReplicationSlotInputs,
  type SlotPlugin,
} from "../validation/replication-slot";
import { normalizedConnection, targetDatabase } from "../validation/target";
import { checkWith, label, parseOrThrow, plainJson, sameJson, withoutProvider } from "./common";
import { resolveConnection } from "../validation/connection";

/** Outputs of a ReplicationSlot (what state holds). Numbers are JSON numbers, LSNs strings. */
export interface ReplicationSlotOutputs
  extends Pick<LiveSlot, "active" | "activePid" | "restartLsn" | "confirmedFlushLsn" | "walStatus" | "retainedWalBytes"> {
  connection?: PostgresConnectionInput;
  connectionString?: string;
  name: string;
  database: string;
  plugin: SlotPlugin;
  twoPhase: boolean;
  failover: boolean;
  onDeleteWhileActive: DeleteWhileActive;
  deleteTimeoutSeconds: number;
}

const what = (name: unknown) => label("ReplicationSlot", typeof name === "string" ? name : undefined);

function specOf(v: ReplicationSlotInputs): SlotSpec {
  return { name: v.name, plugin: v.plugin, twoPhase: v.twoPhase, failover: v.failover };
}

function outputsOf(
  settings: Pick<ReplicationSlotOutputs, "connection" | "connectionString" | "onDeleteWhileActive" | "deleteTimeoutSeconds">,
  database: string,
  live: LiveSlot,
): ReplicationSlotOutputs {
  return plainJson({
    connection: settings.connection,
    connectionString: settings.connectionString,
    name: live.name,
    database: live.database ?? database,
    plugin: (live.plugin ?? SLOT_DEFAULTS.plugin) as SlotPlugin,
    twoPhase: live.twoPhase,
    failover: live.failover,
    onDeleteWhileActive: settings.onDeleteWhileActive,
    deleteTimeoutSeconds: settings.deleteTimeoutSeconds,
    active: live.active,
    activePid: live.activePid,
    restartLsn: live.restartLsn,
    confirmedFlushLsn: live.confirmedFlushLsn,
    walStatus: live.walStatus,
    retainedWalBytes: live.retainedWalBytes,
  } satisfies ReplicationSlotOutputs);
}

/** Fields whose change replaces the slot (deleting it first: names are unique). */
export const SLOT_REPLACE_FIELDS = ["name", "database", "plugin", "twoPhase", "failover"] as const;

/** Pure diff of old outputs against new inputs. Live outputs (active, LSNs, ...) never cause a difference. */
export function diffReplicationSlot(oldProps: Record<string, unknown>, newProps: Record<string, unknown>): dynamic.DiffResult {
  const olds = withoutProvider(oldProps);
  const news = withoutProvider(newProps);
  const db = containsUnknown(news.connection) || containsUnknown(news.connectionString) ? UNKNOWN : targetDatabase(news as { connection?: { database?: unknown } });
  // Fields left out take the schema's defaults, on both sides (state written by older versions may lack some).
  const want: Record<string, unknown> = {
    ...SLOT_DEFAULTS,
    ...definedFields(news, SLOT_SETTINGS),
    name: news.name,
    database: db,
    connection: containsUnknown(news.connection) ? UNKNOWN : normalizedConnection(news.connection),
    connectionString: news.connectionString,
  };
  const have: Record<string, unknown> = {
    ...SLOT_DEFAULTS,
    ...definedFields(olds, SLOT_SETTINGS),
    name: olds.name,
    database: olds.database,
    connection: olds.connection,
    connectionString: olds.connectionString,
  };
  const changed = Object.keys(want).filter((k) => containsUnknown(want[k]) || !sameJson(have[k], want[k]));
  const replaces = changed.filter((k) => (SLOT_REPLACE_FIELDS as readonly string[]).includes(k));
  return { changes: changed.length > 0, replaces, deleteBeforeReplace: true };
}

const SLOT_SETTINGS = Object.keys(SLOT_DEFAULTS) as Array<keyof typeof SLOT_DEFAULTS>;

/** The given fields of a property bag whose value is not undefined. */
function definedFields(props: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((k) => props[k] !== undefined).map((k) => [k, props[k]]));
}

function settingsOf(olds: Partial<ReplicationSlotOutputs>): Pick<ReplicationSlotOutputs, "connection" | "connectionString" | "onDeleteWhileActive" | "deleteTimeoutSeconds"> {
  return {
    connection: olds.connection,
    connectionString: olds.connectionString,
    onDeleteWhileActive: olds.onDeleteWhileActive ?? SLOT_DEFAULTS.onDeleteWhileActive,
    deleteTimeoutSeconds: olds.deleteTimeoutSeconds ?? SLOT_DEFAULTS.deleteTimeoutSeconds,
  };
}

export const provider = {
  async check(_olds: Record<string, unknown>, news: Record<string, unknown>): Promise<dynamic.CheckResult> {
    return checkWith(replicationSlotInputsSchema, news, what(news.name));
  },

  async diff(_id: string, olds: Record<string, unknown>, news: Record<string, unknown>): Promise<dynamic.DiffResult> {
    return diffReplicationSlot(olds, news);
  },

  async create(inputs: Record<string, unknown>): Promise<dynamic.CreateResult> {
    const w = what(inputs.name);
    const v = parseOrThrow(replicationSlotInputsSchema, inputs, w);
    const conn = resolveConnection(v, w);
    const { live } = await withSession(conn, w, (s) => createSlot(s, specOf(v), conn.database, w));
    return { id: live.name, outs: outputsOf(v, conn.database, live) };
  },

  async read(id: string, props: Record<string, unknown>): Promise<dynamic.ReadResult> {
    const olds = withoutProvider(props) as unknown as ReplicationSlotOutputs;
    const w = what(olds.name);
    const conn = resolveConnection(olds, w);
    let live: LiveSlot | undefined;
    try {
      live = await withSession(conn, w, (s) => readSlot(s, olds.name));
    } catch (err) {
      // PostgreSQL refuses to drop a database that has logical slots, so a missing database means a missing slot.
      if (!isDatabaseGone(err)) throw err;
      live = undefined;
    }
    if (!live) return {};
    const outs = outputsOf(settingsOf(olds), conn.database, live);
    const inputs = plainJson({
      connection: olds.connection,
      connectionString: olds.connectionString,
      name: outs.name,
      plugin: outs.plugin,
      twoPhase: outs.twoPhase,
      failover: outs.failover,
      onDeleteWhileActive: outs.onDeleteWhileActive,
      deleteTimeoutSeconds: outs.deleteTimeoutSeconds,
    });
    return { id, props: outs, inputs };
  },

  async update(_id: string, _olds: Record<string, unknown>, news: Record<string, unknown>): Promise<dynamic.UpdateResult> {
    const w = what(news.name);
    const v = parseOrThrow(replicationSlotInputsSchema, news, w);
    const conn = resolveConnection(v, w);
    const live = await withSession(conn, w, (s) => readSlot(s, v.name));
    if (!live) {
      throw new CdcError(
        `${w}: the slot no longer exists in PostgreSQL (dropped out of band). It is not recreated silently, because a new slot starts at the current WAL position and a consumer's changes in between would be lost. ` +
          `Run pulumi refresh to drop it from state, then pulumi up to create it again (and re-snapshot the consumer if needed).`,
      );
    }
    return { outs: outputsOf(v, conn.database, live) };
  },

  async delete(_id: string, props: Record<string, unknown>): Promise<void> {
    const olds = withoutProvider(props) as unknown as ReplicationSlotOutputs;
    const w = what(olds.name);
    const conn = resolveConnection(olds, w);
    const settings = settingsOf(olds);
    try {
      await withSession(conn, w, (s) => dropSlot(s, olds.name, { onActive: settings.onDeleteWhileActive, timeoutSeconds: settings.deleteTimeoutSeconds }, w));
    } catch (err) {
      if (isDatabaseGone(err)) return; // the database is gone, and its logical slots with it
      throw err;
    }
  },
};
