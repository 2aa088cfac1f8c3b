/**
 * REPLICA IDENTITY of tables: read it from the catalog and set it with
 * ALTER TABLE. With REPLICA IDENTITY FULL, PostgreSQL writes the whole old row
 * to WAL on UPDATE and DELETE, so Debezium's change events carry a `before`
 * image; tables without a primary key need some replica identity or their
 * UPDATE/DELETE fail once they are in a publication (docs/connect-and-debezium.md).
 *
 * Every function sends a constant number of statements, whatever the number
 * of tables. Knows nothing of Pulumi.
 */
import { CdcError } from "../errors";
import type { ReplicaIdentityValue } from "../validation/replica-identity";
import { parseTableName } from "../validation/table-name";
import { ident, qualified, retryCatalogRace, sqlState, type Session } from "./connection";

/** What the catalog says about one requested table. */
export interface TableIdentity {
  /** "schema.table", raw names. */
  table: string;
  /** False when no relation of that name exists. */
  exists: boolean;
  /** pg_class.relkind when it exists ("r" table, "p" partitioned table, "v" view, ...). */
  kind?: string;
  /** The current replica identity (for relations that have one: tables, partitioned tables). */
  identity?: ReplicaIdentityValue;
  /** Whether the table has a primary key. */
  hasPrimaryKey?: boolean;
  /** For a partitioned table: its partitions ("schema.table"). */
  partitions?: string[];
  /**
   * For a table asked about with an index name: whether that index exists on
   * the table and can serve as replica identity (unique, immediate, not
   * partial, no expressions, valid, all columns NOT NULL).
   */
  indexUsable?: boolean;
}

/**
 * Relation kinds whose replica identity this resource sets: ordinary tables.
 * A partitioned table ("p") accepts ALTER TABLE ... REPLICA IDENTITY, but the
 * old row is written to WAL by the partition that holds it, with the
 * partition's own identity, and partitions do not inherit it: setting it on
 * the parent gives no before-images, so the partitions must be named instead.
 */
const TABLE_KINDS = new Set(["r"]);

const KIND_NAMES: Record<string, string> = {
  i: "an index",
  S: "a sequence",
  t: "a TOAST table",
  v: "a view",
  m: "a materialized view",
  c: "a composite type",
  f: "a foreign table",
  I: "a partitioned index",
};

function kindName(st: TableIdentity | undefined): string {
  if (st?.kind === "p") {
    const parts = st.partitions ?? [];
    return `a partitioned table, whose partitions keep their own replica identity (name ${parts.length ? `its partitions instead: ${describeTables(parts)}` : "its partitions instead; it has none yet"})`;
  }
  return KIND_NAMES[st?.kind ?? ""] ?? `a relation of kind ${st?.kind}`;
}

/** Turns pg_class.relreplident (+ the identity index name) into our value. */
export function identityValue(relreplident: string, indexName: string | null): ReplicaIdentityValue {
  switch (relreplident) {
    case "f":
      return "full";
    case "n":
      return "nothing";
    case "i":
      // An identity index that was dropped leaves relreplident = 'i' with no
      // index: PostgreSQL then behaves as NOTHING.
      return indexName ? `index:${indexName}` : "nothing";
    default:
      return "default";
  }
}

/**
 * Reads the replica identity of every table in one catalog query. `indexes`
 * optionally names, per table, an index whose usability as replica identity
 * should be checked (for restoring USING INDEX).
 */
export async function readReplicaIdentities(
  s: Session,
  tables: readonly string[],
  indexes: Readonly<Record<string, string>> = {},
): Promise<Map<string, TableIdentity>> {
  const out = new Map<string, TableIdentity>();
  if (tables.length === 0) return out;
  const refs = tables.map(parseTableName);
  const rows = await s.query<{
    ord: number;
    kind: string | null;
    ident: string | null;
    index_name: string | null;
    has_pk: boolean | null;
    partitions: string[] | null;
    index_usable: boolean | null;
  }>(
    `SELECT t.ord::int AS ord, c.relkind::text AS kind, c.relreplident::text AS ident,
            (SELECT i.relname::text FROM pg_catalog.pg_index x JOIN pg_catalog.pg_class i ON i.oid = x.indexrelid
              WHERE x.indrelid = c.oid AND x.indisreplident LIMIT 1) AS index_name,
            EXISTS (SELECT 1 FROM pg_catalog.pg_index x WHERE x.indrelid = c.oid AND x.indisprimary) AS has_pk,
            CASE WHEN c.relkind = 'p' THEN ARRAY(
              SELECT pn.nspname || '.' || pc.relname FROM pg_catalog.pg_inherits h
                JOIN pg_catalog.pg_class pc ON pc.oid = h.inhrelid JOIN pg_catalog.pg_namespace pn ON pn.oid = pc.relnamespace
               WHERE h.inhparent = c.oid ORDER BY 1) END AS partitions,
            CASE WHEN t.idx = '' THEN NULL ELSE EXISTS (
              SELECT 1 FROM pg_catalog.pg_index x JOIN pg_catalog.pg_class i ON i.oid = x.indexrelid
               WHERE x.indrelid = c.oid AND i.relname = t.idx
                 AND x.indisunique AND x.indimmediate AND x.indisvalid
                 AND x.indpred IS NULL AND x.indexprs IS NULL
                 AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                                  WHERE a.attrelid = c.oid AND a.attnum = ANY (x.indkey::int2[]) AND NOT a.attnotnull))
            END AS index_usable
       FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS t(nsp, rel, idx, ord)
       LEFT JOIN pg_catalog.pg_namespace n ON n.nspname = t.nsp
       LEFT JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = t.rel
      ORDER BY t.ord`,
    [refs.map((r) => r.schema), refs.map((r) => r.table), tables.map((t) => indexes[t] ?? "")],
  );
  for (const row of rows) {
    const table = tables[row.ord - 1];
    if (row.kind === null) {
      out.set(table, { table, exists: false });
      continue;
    }
    const isTable = row.kind === "r" || row.kind === "p";
    out.set(table, {
      table,
      exists: true,
      kind: row.kind,
      identity: isTable && row.ident ? identityValue(row.ident, row.index_name) : undefined,
      hasPrimaryKey: row.has_pk ?? false,
      partitions: row.partitions ?? undefined,
      indexUsable: row.index_usable ?? undefined,
    });
  }
  return out;
}

/** A short list of table names for messages: the first few, then "and N more". */
export function describeTables(tables: readonly string[], max = 10): string {
  const shown = tables.slice(0, max).map((t) => JSON.stringify(t));
  return tables.length > max ? `${shown.join(", ")} and ${tables.length - max} more` : shown.join(", ");
}

/**
 * Fails, naming every problem table at once, when some of `tables` are
 * missing or are not tables (views, sequences, ...).
 */
export function requireTables(state: Map<string, TableIdentity>, tables: readonly string[], what: string): void {
  const missing = tables.filter((t) => !state.get(t)?.exists);
  const wrongKind = tables.filter((t) => {
    const st = state.get(t);
    return st?.exists && !TABLE_KINDS.has(st.kind ?? "");
  });
  if (missing.length === 0 && wrongKind.length === 0) return;
  const parts: string[] = [];
  if (missing.length) {
    parts.push(`${missing.length === 1 ? "table" : `${missing.length} tables`} not found: ${describeTables(missing, 50)}`);
  }
  if (wrongKind.length) {
    parts.push(
      `not plain tables, so this resource cannot set their REPLICA IDENTITY: ${wrongKind
        .slice(0, 50)
        .map((t) => `${JSON.stringify(t)} is ${kindName(state.get(t))}`)
        .join(", ")}`,
    );
  }
  throw new CdcError(
    `${what}: ${parts.join("; ")}. Nothing was changed. Next: create the tables first (names are raw and case-sensitive: "public.Orders" is not "public.orders"), or remove them from tables.`,
  );
}

/** One ALTER TABLE ... REPLICA IDENTITY to run. */
export interface IdentityChange {
  /** "schema.table", raw names. */
  table: string;
  /** "full", "default", "nothing" or "index:<index name>". */
  identity: ReplicaIdentityValue;
}

/** The REPLICA IDENTITY clause for a value; identifiers quoted with the driver's escaping. */
function identityClause(identity: ReplicaIdentityValue): string {
  if (identity === "full") return "FULL";
  if (identity === "default") return "DEFAULT";
  if (identity === "nothing") return "NOTHING";
  if (identity.startsWith("index:")) return `USING INDEX ${ident(identity.slice("index:".length))}`;
  throw new CdcError(`unknown replica identity ${JSON.stringify(identity)}`);
}

/**
 * The SQL text that applies `changes`: a lock timeout, then one ALTER TABLE
 * per table, sent as one simple-query string (PostgreSQL runs it as one
 * implicit transaction: all or nothing). Only quoted identifiers and the
 * integer timeout appear in it.
 */
export function alterStatements(changes: readonly IdentityChange[], lockTimeoutMs: number): string {
  if (!Number.isSafeInteger(lockTimeoutMs) || lockTimeoutMs < 1) {
    throw new CdcError(`lockTimeoutMs must be a positive whole number of milliseconds, not ${String(lockTimeoutMs)}`);
  }
  const lines = [`SET lock_timeout = ${lockTimeoutMs}`];
  for (const c of changes) {
    lines.push(`ALTER TABLE ${qualified(parseTableName(c.table))} REPLICA IDENTITY ${identityClause(c.identity)}`);
  }
  return lines.join(";\n") + ";";
}

/**
 * Applies every change in one round trip and one transaction. Does nothing
 * for an empty list. Errors name the tables; on a lock timeout or a missing
 * privilege they say what to do next.
 */
export async function applyReplicaIdentities(
  s: Session,
  changes: readonly IdentityChange[],
  lockTimeoutMs: number,
  what: string,
): Promise<void> {
  if (changes.length === 0) return;
  const sql = alterStatements(changes, lockTimeoutMs);
  const tables = describeTables(changes.map((c) => c.table));
  try {
    // ALTER TABLE rewrites the table's pg_class row, as a GRANT or REVOKE on the same table does: when Pulumi runs a
    // ReplicationGrant on these tables at the same time, PostgreSQL answers "tuple concurrently updated"; try again.
    await retryCatalogRace(() => s.query(sql));
  } catch (err) {
    const code = sqlState(err);
    const base = err instanceof Error ? err.message : String(err);
    let next = "fix the cause above and run again";
    if (code === "55P03") {
      next = `a transaction holds a lock on one of these tables for longer than lockTimeoutMs (${lockTimeoutMs} ms); wait for long transactions to end, or raise lockTimeoutMs`;
    } else if (code === "42501") {
      next = "ALTER TABLE ... REPLICA IDENTITY needs the table owner (or a superuser); connect as the owner, or have the owner run it";
    }
    throw new CdcError(`${base}. While setting REPLICA IDENTITY on ${tables}; nothing was changed (one transaction). Next: ${next}.`, { code });
  }
}
