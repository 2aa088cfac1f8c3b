/**
 * Dynamic provider of ReplicaIdentity: sets REPLICA IDENTITY on tables and
 * puts back what was there before on delete. Thin: validate, then call
 * src/postgres/replica-identity.ts, then return plain JSON.
 */
import type * as dynamic from "@pulumi/pulumi/dynamic";
import { randomBytes } from "node:crypto";
import { isDatabaseGone, withSession, type Session } from "../postgres/connection";
import {
  applyReplicaIdentities,
  readReplicaIdentities,
  requireTables,
  type IdentityChange,
  type TableIdentity,
} from "../postgres/replica-identity";
import { containsUnknown, type PostgresConnection } from "../validation/common";
import {
  DEFAULT_LOCK_TIMEOUT_MS,
  replicaIdentitySchema,
  type ReplicaIdentityInputs,
  type ReplicaIdentityValue,
  type WantedIdentity,
} from "../validation/replica-identity";
import { checkWith, parseOrThrow, plainJson, sameJson, withoutProvider } from "./common";
import { type ConnectionProps, resolveConnection } from "../validation/connection";

/** Outputs of a ReplicaIdentity, as stored in state. */
export interface ReplicaIdentityOutputs {
  /** The connection as given (secret in state). */
  connection?: Record<string, unknown>;
  /** The connection string as given (secret in state). */
  connectionString?: string;
  /** "schema.table" names, sorted, without duplicates. */
  tables: string[];
  /** The replica identity this resource sets. */
  identity: WantedIdentity;
  /** Lock wait for ALTER TABLE, in milliseconds. */
  lockTimeoutMs: number;
  /** Live replica identity per existing table (after create/update; refreshed by read). */
  identities: Record<string, ReplicaIdentityValue>;
  /** Replica identity per table before this resource changed it; restored on delete. */
  previous: Record<string, ReplicaIdentityValue>;
  /** The database the tables live in. */
  database: string;
}

const KIND = "ReplicaIdentity";

function labelOf(conn: Pick<PostgresConnection, "database">): string {
  return `${KIND} in database "${conn.database}"`;
}

/** Server and database identity of a connection: changing it replaces the resource. */
function targetKey(c: PostgresConnection): string {
  return `${c.host}:${c.port}/${c.database}`;
}

function resolvedTarget(props: Record<string, unknown>): PostgresConnection | undefined {
  try {
    return resolveConnection(props as ConnectionProps, KIND);
  } catch {
    return undefined;
  }
}

function outputsFrom(
  inputs: ReplicaIdentityInputs,
  conn: PostgresConnection,
  identities: Record<string, ReplicaIdentityValue>,
  previous: Record<string, ReplicaIdentityValue>,
): ReplicaIdentityOutputs {
  return plainJson({
    connection: inputs.connection,
    connectionString: inputs.connectionString,
    tables: inputs.tables,
    identity: inputs.identity,
    lockTimeoutMs: inputs.lockTimeoutMs,
    identities: sortedRecord(identities),
    previous: sortedRecord(previous),
    database: conn.database,
  } satisfies ReplicaIdentityOutputs);
}

function sortedRecord<V>(r: Record<string, V>): Record<string, V> {
  return Object.fromEntries(Object.entries(r).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Current identities of the tables that exist and are tables. */
function liveIdentities(state: Map<string, TableIdentity>): Record<string, ReplicaIdentityValue> {
  const out: Record<string, ReplicaIdentityValue> = {};
  for (const [table, st] of state) if (st.identity) out[table] = st.identity;
  return out;
}

/** Changes that bring `tables` to `identity`, skipping tables already there. */
function setChanges(tables: readonly string[], identity: WantedIdentity, state: Map<string, TableIdentity>): IdentityChange[] {
  return tables.filter((t) => state.get(t)?.identity !== identity).map((table) => ({ table, identity }));
}

/**
 * Changes that put back the recorded identities of `tables`: USING INDEX when
 * that index still exists and is usable, DEFAULT otherwise. Tables that are
 * gone (or no longer tables) are skipped; tables already there too.
 */
function restoreChanges(tables: readonly string[], previous: Record<string, ReplicaIdentityValue>, state: Map<string, TableIdentity>): IdentityChange[] {
  const out: IdentityChange[] = [];
  for (const table of tables) {
    const st = state.get(table);
    const before = previous[table];
    if (!st?.identity || !before) continue;
    let target: ReplicaIdentityValue = before;
    if (before.startsWith("index:") && !st.indexUsable) target = "default";
    if (st.identity !== target) out.push({ table, identity: target });
  }
  return out;
}

/** Index names to check per table, for restoring USING INDEX identities. */
function restoreIndexes(tables: readonly string[], previous: Record<string, ReplicaIdentityValue>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of tables) {
    const p = previous[t];
    if (p?.startsWith("index:")) out[t] = p.slice("index:".length);
  }
  return out;
}

function stateAfter(state: Map<string, TableIdentity>, changes: readonly IdentityChange[]): Record<string, ReplicaIdentityValue> {
  const live = liveIdentities(state);
  for (const c of changes) live[c.table] = c.identity;
  return live;
}

async function createIn(s: Session, inputs: ReplicaIdentityInputs, conn: PostgresConnection): Promise<ReplicaIdentityOutputs> {
  const what = labelOf(conn);
  const state = await readReplicaIdentities(s, inputs.tables);
  requireTables(state, inputs.tables, what);
  const previous = liveIdentities(state);
  const changes = setChanges(inputs.tables, inputs.identity, state);
  await applyReplicaIdentities(s, changes, inputs.lockTimeoutMs, what);
  return outputsFrom(inputs, conn, stateAfter(state, changes), previous);
}

/** Puts back the previous identities of `tables`; a database that is gone counts as done. */
async function restore(olds: ReplicaIdentityOutputs, tables: readonly string[]): Promise<void> {
  const conn = resolveConnection(olds as unknown as ConnectionProps, KIND);
  const what = labelOf(conn);
  const previous = olds.previous ?? {};
  try {
    await withSession(conn, what, async (s) => {
      const state = await readReplicaIdentities(s, tables, restoreIndexes(tables, previous));
      await applyReplicaIdentities(s, restoreChanges(tables, previous, state), olds.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS, what);
    });
  } catch (err) {
    if (isDatabaseGone(err)) return; // the database is gone, and its tables with it
    throw err;
  }
}


export const provider = {
  async check(_olds: Record<string, unknown>, news: Record<string, unknown>): Promise<dynamic.CheckResult> {
    const result = checkWith(replicaIdentitySchema, news, KIND);
    if (result.failures) {
      // zod skips the object-level rule when a field fails: report a missing connection too, all at once.
      const noTarget = news.connection === undefined && news.connectionString === undefined;
      if (noTarget && !result.failures.some((f) => f.property === "connection")) {
        result.failures.unshift({ property: "connection", reason: `${KIND}: give either connection (host, database, user, ...) or connectionString` });
      }
      return result;
    }
    if (containsUnknown(withoutProvider(news))) return result;
    try {
      resolveConnection(result.inputs as ConnectionProps, KIND);
    } catch (err) {
      return { failures: [{ property: news.connectionString !== undefined ? "connectionString" : "connection", reason: (err as Error).message }] };
    }
    return result;
  },

  async diff(_id: string, olds: Record<string, unknown>, news: Record<string, unknown>): Promise<dynamic.DiffResult> {
    const o = olds as unknown as ReplicaIdentityOutputs;
    const n = withoutProvider(news) as Record<string, unknown>;
    const replaces: string[] = [];
    let changes = false;

    // Connection: another server or database replaces; anything else (password, TLS) updates in place.
    const connectionKnown = !containsUnknown(n.connection) && !containsUnknown(n.connectionString);
    if (!connectionKnown) changes = true;
    else if (!sameJson(o.connection, n.connection) || !sameJson(o.connectionString, n.connectionString)) {
      changes = true;
      const before = resolvedTarget(olds);
      const after = resolvedTarget(n);
      if (before && after && targetKey(before) !== targetKey(after)) {
        replaces.push(n.connectionString !== undefined ? "connectionString" : "connection");
      }
    }

    if (containsUnknown(n.tables)) changes = true;
    else if (!sameJson([...(o.tables ?? [])].sort(), [...((n.tables as string[]) ?? [])].sort())) changes = true;

    if (containsUnknown(n.identity) || n.identity !== o.identity) changes = true;
    if (containsUnknown(n.lockTimeoutMs) || n.lockTimeoutMs !== o.lockTimeoutMs) changes = true;

    // Drift seen by refresh: a table whose live identity is not the wanted one gets it again.
    if (!changes && o.identities) {
      const managed = new Set(o.tables ?? []);
      changes = Object.entries(o.identities).some(([t, v]) => managed.has(t) && v !== o.identity);
    }
    return { changes, replaces, deleteBeforeReplace: true };
  },

  async create(news: Record<string, unknown>): Promise<dynamic.CreateResult> {
    const inputs = parseOrThrow(replicaIdentitySchema, news, KIND);
    const conn = resolveConnection(inputs as ConnectionProps, KIND);
    const outs = await withSession(conn, labelOf(conn), (s) => createIn(s, inputs, conn));
    return { id: `${conn.database}:replica-identity:${randomBytes(4).toString("hex")}`, outs };
  },

  async read(id: string, props?: Record<string, unknown>): Promise<dynamic.ReadResult> {
    const olds = (props ?? {}) as unknown as ReplicaIdentityOutputs;
    const conn = resolveConnection(olds as unknown as ConnectionProps, KIND);
    let identities: Record<string, ReplicaIdentityValue>;
    try {
      identities = await withSession(conn, labelOf(conn), async (s) => liveIdentities(await readReplicaIdentities(s, olds.tables ?? [])));
    } catch (err) {
      if (isDatabaseGone(err)) return {};
      throw err;
    }
    const outs = plainJson({ ...withoutProvider(olds as unknown as Record<string, unknown>), identities: sortedRecord(identities) });
    const inputs = plainJson({
      connection: olds.connection,
      connectionString: olds.connectionString,
      tables: olds.tables,
      identity: olds.identity,
      lockTimeoutMs: olds.lockTimeoutMs,
    });
    return { id, props: outs, inputs };
  },

  async update(_id: string, olds: Record<string, unknown>, news: Record<string, unknown>): Promise<dynamic.UpdateResult> {
    const o = olds as unknown as ReplicaIdentityOutputs;
    const inputs = parseOrThrow(replicaIdentitySchema, news, KIND);
    const conn = resolveConnection(inputs as ConnectionProps, KIND);
    const before = resolvedTarget(olds);
    if (!before || targetKey(before) !== targetKey(conn)) {
      // Only when diff could not see the target (unknown during preview): move instead of replace.
      await restore(o, o.tables ?? []);
      return { outs: await withSession(conn, labelOf(conn), (s) => createIn(s, inputs, conn)) };
    }
    const what = labelOf(conn);
    const oldTables = o.tables ?? [];
    const wanted = new Set(inputs.tables);
    const had = new Set(oldTables);
    const removed = oldTables.filter((t) => !wanted.has(t));
    const added = new Set(inputs.tables.filter((t) => !had.has(t)));
    const oldPrevious = o.previous ?? {};
    const outs = await withSession(conn, what, async (s) => {
      const all = [...inputs.tables, ...removed];
      const state = await readReplicaIdentities(s, all, restoreIndexes(removed, oldPrevious));
      requireTables(state, inputs.tables, what);
      const previous: Record<string, ReplicaIdentityValue> = {};
      for (const t of inputs.tables) {
        const p = added.has(t) ? state.get(t)?.identity : oldPrevious[t] ?? state.get(t)?.identity;
        if (p) previous[t] = p;
      }
      const changes = [
        ...restoreChanges(removed, oldPrevious, state),
        ...setChanges(inputs.tables, inputs.identity, state),
      ];
      await applyReplicaIdentities(s, changes, inputs.lockTimeoutMs, what);
      const identities = stateAfter(state, changes);
      for (const t of removed) delete identities[t];
      return outputsFrom(inputs, conn, identities, previous);
    });
    return { outs };
  },

  async delete(_id: string, props: Record<string, unknown>): Promise<void> {
    const o = props as unknown as ReplicaIdentityOutputs;
    await restore(o, o.tables ?? []);
  },
};
