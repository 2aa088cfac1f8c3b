/**
 * Debezium's source signal channel: a table in the captured database that the
 * connector reads through the replication stream. A row
 * `('<id>', 'execute-snapshot', '{"data-collections": [...], "type": "incremental"}')`
 * makes a running connector read the named tables' existing rows again, in
 * primary-key chunks, interleaved with streaming (an incremental snapshot).
 * With `incremental.snapshot.watermarking.strategy=insert_delete` Debezium
 * inserts and deletes one window row per chunk, so the table keeps only the
 * signals. Knows nothing of Pulumi.
 */
import { CdcError } from "../errors";
import { parseTableName, tableKey, type TableRef } from "../validation/table-name";
import { ident, qualified, type Session } from "./connection";

/** What the connector's role needs on the signal table: read the signals, write and remove the watermark rows. */
export const SIGNAL_PRIVILEGES = ["SELECT", "INSERT", "DELETE"] as const;

/** The signal table's columns, in the order Debezium reads them (id, type, data). */
const SIGNAL_COLUMNS = "id varchar(64) PRIMARY KEY, type varchar(32) NOT NULL, data text";

export interface SignalTableSpec {
  /** "schema.table", raw names. */
  table: string;
  /** The role Debezium logs in as. */
  role: string;
}

/** What this resource did, so delete undoes exactly that. */
export interface SignalTableRecord {
  /** True when the table was created here (delete drops it); false when it existed and was adopted. */
  created: boolean;
  /** Privileges granted here to the role (on an adopted table, or USAGE on its schema), revoked on delete. */
  granted: string[];
}

interface TableShape {
  schemaExists: boolean;
  exists: boolean;
  columns: { name: string; type: string }[];
  privileges: Record<string, boolean>;
  schemaUsage: boolean;
  roleExists: boolean;
}

async function readShape(s: Session, t: TableRef, role: string): Promise<TableShape> {
  const rows = await s.query<{
    schema_exists: boolean;
    relid: number | null;
    columns: { name: string; type: string }[] | null;
    role_exists: boolean;
    sel: boolean | null;
    ins: boolean | null;
    del: boolean | null;
    usage: boolean | null;
  }>(
    `WITH n AS (SELECT oid FROM pg_namespace WHERE nspname = $1),
          c AS (SELECT cl.oid FROM pg_class cl JOIN n ON cl.relnamespace = n.oid WHERE cl.relname = $2 AND cl.relkind IN ('r', 'p')),
          r AS (SELECT oid FROM pg_roles WHERE rolname = $3)
     SELECT EXISTS (SELECT 1 FROM n) AS schema_exists,
            (SELECT oid FROM c)::int AS relid,
            (SELECT json_agg(json_build_object('name', a.attname, 'type', format_type(a.atttypid, a.atttypmod)) ORDER BY a.attnum)
               FROM pg_attribute a WHERE a.attrelid = (SELECT oid FROM c) AND a.attnum > 0 AND NOT a.attisdropped) AS columns,
            EXISTS (SELECT 1 FROM r) AS role_exists,
            CASE WHEN EXISTS (SELECT 1 FROM c) AND EXISTS (SELECT 1 FROM r) THEN has_table_privilege((SELECT oid FROM r), (SELECT oid FROM c), 'SELECT') END AS sel,
            CASE WHEN EXISTS (SELECT 1 FROM c) AND EXISTS (SELECT 1 FROM r) THEN has_table_privilege((SELECT oid FROM r), (SELECT oid FROM c), 'INSERT') END AS ins,
            CASE WHEN EXISTS (SELECT 1 FROM c) AND EXISTS (SELECT 1 FROM r) THEN has_table_privilege((SELECT oid FROM r), (SELECT oid FROM c), 'DELETE') END AS del,
            CASE WHEN EXISTS (SELECT 1 FROM n) AND EXISTS (SELECT 1 FROM r) THEN has_schema_privilege((SELECT oid FROM r), (SELECT oid FROM n), 'USAGE') END AS usage`,
    [t.schema, t.table, role],
  );
  const r = rows[0]!;
  return {
    schemaExists: r.schema_exists,
    exists: r.relid !== null,
    columns: r.columns ?? [],
    privileges: { SELECT: !!r.sel, INSERT: !!r.ins, DELETE: !!r.del },
    schemaUsage: !!r.usage,
    roleExists: r.role_exists,
  };
}

/** Why an existing table cannot serve as Debezium's signal table, or undefined if it can. */
export function signalShapeProblem(columns: { name: string; type: string }[]): string | undefined {
  const text = (t: string) => /^(character varying|text|character)\b/.test(t);
  if (columns.length !== 3 || !columns.every((c) => text(c.type))) {
    return `it has columns (${columns.map((c) => `${c.name} ${c.type}`).join(", ")}), but Debezium reads a signal table as exactly three text columns (id, type, data)`;
  }
  return undefined;
}

/**
 * Creates the signal table (or adopts an existing one of the right shape) and
 * grants the role SELECT, INSERT and DELETE on it, plus USAGE on its schema.
 * Returns what was done, for {@link dropSignalTable}. The schema must exist.
 */
export async function ensureSignalTable(s: Session, spec: SignalTableSpec, what: string): Promise<SignalTableRecord> {
  const t = parseTableName(spec.table);
  const shape = await readShape(s, t, spec.role);
  if (!shape.schemaExists) {
    throw new CdcError(`${what}: schema "${t.schema}" for the signal table does not exist. Create it (CREATE SCHEMA ${ident(t.schema)}) or choose another signalTable schema. Nothing was changed.`);
  }
  if (!shape.roleExists) {
    throw new CdcError(`${what}: role "${spec.role}" (the connector's login) does not exist, so it cannot be granted the signal table. Create the role first. Nothing was changed.`);
  }
  if (shape.exists) {
    const problem = signalShapeProblem(shape.columns);
    if (problem) throw new CdcError(`${what}: table "${tableKey(t)}" already exists and ${problem}. Drop or rename it, or choose another signalTable name. Nothing was changed.`);
  }
  const granted: string[] = [];
  const statements: string[] = [];
  if (!shape.exists) statements.push(`CREATE TABLE ${qualified(t)} (${SIGNAL_COLUMNS})`);
  const missing = shape.exists ? SIGNAL_PRIVILEGES.filter((p) => !shape.privileges[p]) : [...SIGNAL_PRIVILEGES];
  if (missing.length) statements.push(`GRANT ${missing.join(", ")} ON TABLE ${qualified(t)} TO ${ident(spec.role)}`);
  if (shape.exists) granted.push(...missing);
  if (!shape.schemaUsage) {
    statements.push(`GRANT USAGE ON SCHEMA ${ident(t.schema)} TO ${ident(spec.role)}`);
    granted.push("USAGE");
  }
  if (statements.length) await s.query(`BEGIN; ${statements.join("; ")}; COMMIT`);
  return { created: !shape.exists, granted };
}

/** Whether the signal table exists and the role has what Debezium needs on it (for read/refresh). */
export async function readSignalTable(s: Session, spec: SignalTableSpec): Promise<{ exists: boolean; missing: string[] }> {
  const t = parseTableName(spec.table);
  const shape = await readShape(s, t, spec.role);
  if (!shape.exists) return { exists: false, missing: [] };
  const missing: string[] = SIGNAL_PRIVILEGES.filter((p) => !shape.privileges[p]);
  if (!shape.schemaUsage) missing.push("USAGE");
  return { exists: true, missing };
}

/** Undoes {@link ensureSignalTable}: drops a table it created, or revokes what it granted on an adopted one. */
export async function dropSignalTable(s: Session, spec: SignalTableSpec, record: SignalTableRecord): Promise<void> {
  const t = parseTableName(spec.table);
  const shape = await readShape(s, t, spec.role);
  const statements: string[] = [];
  if (record.created) {
    if (shape.exists) statements.push(`DROP TABLE ${qualified(t)}`);
  } else if (shape.exists && shape.roleExists) {
    const onTable = record.granted.filter((g) => g !== "USAGE");
    if (onTable.length) statements.push(`REVOKE ${onTable.join(", ")} ON TABLE ${qualified(t)} FROM ${ident(spec.role)}`);
  }
  if (record.granted.includes("USAGE") && shape.schemaExists && shape.roleExists) statements.push(`REVOKE USAGE ON SCHEMA ${ident(t.schema)} FROM ${ident(spec.role)}`);
  if (statements.length) await s.query(`BEGIN; ${statements.join("; ")}; COMMIT`);
}

/** A signal as sent: its id, and a WAL position inside its transaction (its commit comes after it). */
export interface SentSignal {
  id: string;
  /** pg_current_wal_insert_lsn() right after the INSERT, before COMMIT, e.g. "0/16B3748". */
  lsn: string;
}

/** Inserts a signal (e.g. type "execute-snapshot" with its JSON data) into the signal table. */
export async function sendSignal(s: Session, signalTable: string, signal: { id: string; type: string; data: string }): Promise<SentSignal> {
  const t = parseTableName(signalTable);
  await s.query("BEGIN");
  try {
    await s.query(`INSERT INTO ${qualified(t)} (id, type, data) VALUES ($1, $2, $3)`, [signal.id, signal.type, signal.data]);
    const [row] = await s.query<{ lsn: string }>("SELECT pg_current_wal_insert_lsn()::text AS lsn");
    await s.query("COMMIT");
    return { id: signal.id, lsn: row!.lsn };
  } catch (err) {
    await s.query("ROLLBACK").catch(() => undefined);
    throw err;
  }
}
