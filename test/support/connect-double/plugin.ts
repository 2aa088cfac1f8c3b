/**
 * The contract between the Kafka Connect test double (server.ts) and the
 * connector plugins it hosts (e.g. debezium-postgres.ts). The double owns the
 * REST API, connector/task state machines, offsets and topics; a plugin owns
 * config validation and what a task does.
 */

/** One config definition, as the validate endpoint reports it (ConfigKeyInfo). */
export interface ConfigKeyDefinition {
  name: string;
  type: "STRING" | "INT" | "SHORT" | "LONG" | "DOUBLE" | "BOOLEAN" | "LIST" | "CLASS" | "PASSWORD";
  required: boolean;
  default_value: string | null;
  importance: "HIGH" | "MEDIUM" | "LOW";
  documentation: string;
  group: string;
  width: "NONE" | "SHORT" | "MEDIUM" | "LONG";
  display_name: string;
  dependents: string[];
  order: number;
  /** Values for `recommended_values` (e.g. snapshot.mode). */
  recommended?: string[];
  /**
   * Debezium-defined keys come back from validate with `value.value: null`;
   * Connect-level keys (name, connector.class, tasks.max) echo their value.
   */
  echoValue?: boolean;
  /**
   * Validate answers this key with `value: null` (Debezium 3.6:
   * internal.legacy.snapshot.max.threads is in its ConfigDef but not among the
   * fields it validates). Connect 4.x then fails every create or update whose
   * validation has errors with a NullPointerException (HTTP 500).
   */
  noValue?: boolean;
  /** Validate answers `visible: false` (recorded, e.g. schema.exclude.list in Debezium 3.6). */
  invisible?: boolean;
}

/** Everything a running task may do. */
export interface TaskContext {
  readonly connector: string;
  readonly taskId: number;
  /** The connector config as Connect stores it (strings). */
  readonly config: Readonly<Record<string, string>>;
  /** Reports the task's state. A FAILED state carries a Java-like stack trace text. */
  report(state: "RUNNING" | "FAILED", trace?: string): void;
  /** Records a produced record on a topic (what a source task sends to Kafka). */
  produce(topic: string, key: unknown, value: unknown): void;
  /** Stores a source offset, as Connect's offset store would (survives connector delete, like real Connect). */
  commitOffset(partition: Record<string, unknown>, offset: Record<string, unknown>): void;
  /** The last committed offset of a partition, if any. */
  readOffset(partition: Record<string, unknown>): Record<string, unknown> | undefined;
  /** A worker-log line (kept for tests to read, e.g. retries on a busy slot). */
  log(line: string): void;
}

/** A started task. `stop` must release everything the task holds (connections, the replication slot). */
export interface TaskRuntime {
  stop(): Promise<void>;
}

export interface ConnectorPlugin {
  /** Fully qualified class name, e.g. io.debezium.connector.postgresql.PostgresConnector */
  readonly className: string;
  readonly type: "source" | "sink";
  readonly version: string;
  /** Definitions returned by validate and GET /connector-plugins/{class}/config (plugin-specific keys only; the double adds Connect's common ones). */
  readonly definitions: ConfigKeyDefinition[];
  /**
   * Plugin-specific validation; may do I/O (Debezium opens a DB connection).
   * Returns error messages per property name, in the plugin's own wording.
   */
  validate(config: Readonly<Record<string, string>>): Promise<Record<string, string[]>>;
  /** Number of tasks to run for this config (Debezium PostgreSQL: always 1). */
  taskCount(config: Readonly<Record<string, string>>): number;
  /** Starts one task. Runtime failures are reported with ctx.report("FAILED", trace), not thrown. */
  startTask(ctx: TaskContext): TaskRuntime;
}
