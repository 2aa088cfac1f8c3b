/**
 * The Debezium PostgreSQL connector configuration a pipeline generates: pure
 * functions, no I/O, no Pulumi. The connector always uses the slot and the
 * publication the pipeline manages (`publication.autocreate.mode=disabled`,
 * `slot.drop.on.stop=false`, `plugin.name=pgoutput`).
 *
 * What is captured is decided by the publication alone: there is no
 * `table.include.list`, so a table starts streaming at the commit of the
 * ALTER PUBLICATION that adds it and stops at the one that removes it, with
 * no window in which the connector's filter and the publication disagree.
 * The initial snapshot is limited to the listed tables by
 * `snapshot.include.collection.list`; tables added later are read by an
 * incremental snapshot, asked for through the signal table
 * (`signal.data.collection`).
 */
import { collectionList, javaRegexLiteral } from "../debezium/collections";
import { parseTableName, type TableRef } from "../validation/table-name";

export { javaRegexLiteral };

export const POSTGRES_CONNECTOR_CLASS = "io.debezium.connector.postgresql.PostgresConnector";

export const snapshotModes = ["initial", "no_data", "never", "always", "initial_only", "when_needed"] as const;
export type SnapshotMode = (typeof snapshotModes)[number];

/** How the Connect workers reach the database (may differ from how Pulumi reaches it). */
export interface ConnectorSource {
  host: string;
  port: number;
  database: string;
  user: string;
  password?: string;
  sslMode?: string;
}

export interface DebeziumConfigOptions {
  source: ConnectorSource;
  topicPrefix: string;
  slotName: string;
  publicationName: string;
  /** "schema.table" names; empty = every table in the publication (FOR ALL TABLES). */
  tables: string[];
  snapshotMode: SnapshotMode;
  heartbeat?: { intervalMs: number; actionQuery?: string };
  /** "schema.table" of the signal table (source signal channel, incremental snapshots). Omitted: no signals. */
  signalTable?: string;
  /**
   * The slot is a failover slot (PostgreSQL 17): sets Debezium's `slot.failover` (Debezium 3.1+; older
   * versions ignore it), so a slot Debezium ever creates itself is one too.
   */
  failoverSlot?: boolean;
  /** Extra or overriding properties; they win over generated ones. */
  overrides?: Record<string, string>;
}

/** The heartbeat action used when none is given: writes a logical message to WAL, so idle databases do not pin WAL. */
export const DEFAULT_HEARTBEAT_QUERY = "SELECT pg_logical_emit_message(false, 'debezium-heartbeat', now()::varchar)";

/** Kafka topic names allow [a-zA-Z0-9._-]; Debezium replaces anything else with "_". */
export function sanitizeTopicPart(s: string): string {
  return s.replace(/[^a-zA-Z0-9._-]/g, "_");
}

/** The topic Debezium writes a table's changes to: `<prefix>.<schema>.<table>`. */
export function topicFor(prefix: string, table: TableRef): string {
  return `${prefix}.${sanitizeTopicPart(table.schema)}.${sanitizeTopicPart(table.table)}`;
}

/**
 * `table.include.list` (or `snapshot.include.collection.list`): one literal
 * regex per table, comma-separated, each matching exactly its table.
 */
export function tableIncludeList(tables: string[]): string {
  return collectionList(tables);
}

/** Problems that make a table list unusable for Debezium's include list (its list separator is a comma). */
export function tableListProblems(tables: string[]): string[] {
  return tables
    .filter((t) => t.includes(","))
    .map((t) => `table "${t}" contains a comma, which Debezium's table.include.list cannot express; rename the table`);
}

/** Debezium's topic.prefix rule: ^[a-zA-Z0-9_.\-]+$ */
export function topicPrefixProblem(prefix: string): string | undefined {
  if (!/^[a-zA-Z0-9_.-]+$/.test(prefix)) {
    return `topicPrefix "${prefix}" may only contain letters, digits, ".", "_" and "-" (Debezium's topic.prefix rule)`;
  }
  return undefined;
}

/** The connector config, as strings (how Connect stores it). */
export function debeziumConfig(o: DebeziumConfigOptions): Record<string, string> {
  const c: Record<string, string> = {
    "connector.class": POSTGRES_CONNECTOR_CLASS,
    "tasks.max": "1",
    "database.hostname": o.source.host,
    "database.port": String(o.source.port),
    "database.user": o.source.user,
    "database.dbname": o.source.database,
    "topic.prefix": o.topicPrefix,
    "plugin.name": "pgoutput",
    "slot.name": o.slotName,
    "publication.name": o.publicationName,
    "publication.autocreate.mode": "disabled",
    "slot.drop.on.stop": "false",
    "snapshot.mode": o.snapshotMode,
  };
  if (o.source.password !== undefined) c["database.password"] = o.source.password;
  if (o.source.sslMode) c["database.sslmode"] = o.source.sslMode;
  if (o.tables.length) c["snapshot.include.collection.list"] = tableIncludeList(o.tables);
  if (o.signalTable) {
    const t = parseTableName(o.signalTable);
    c["signal.data.collection"] = `${t.schema}.${t.table}`;
    c["signal.enabled.channels"] = "source";
    // One window row per chunk, inserted and deleted again: the signal table keeps only the signals.
    c["incremental.snapshot.watermarking.strategy"] = "insert_delete";
  }
  if (o.failoverSlot) c["slot.failover"] = "true";
  if (o.heartbeat && o.heartbeat.intervalMs > 0) {
    c["heartbeat.interval.ms"] = String(o.heartbeat.intervalMs);
    c["heartbeat.action.query"] = o.heartbeat.actionQuery ?? DEFAULT_HEARTBEAT_QUERY;
  }
  return { ...c, ...(o.overrides ?? {}) };
}

/** table ("schema.table") -> topic, for the pipeline's `topics` output. */
export function topicMap(prefix: string, tables: string[]): Record<string, string> {
  return Object.fromEntries(
    tables.map((t) => {
      const ref = parseTableName(t);
      return [`${ref.schema}.${ref.table}`, topicFor(prefix, ref)];
    }),
  );
}
