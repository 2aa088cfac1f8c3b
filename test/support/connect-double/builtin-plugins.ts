/**
 * Connector plugins for Connect double tests that do not need PostgreSQL:
 * - {@link noopSourcePlugin}: a source whose tasks run, optionally produce a few
 *   records and commit an offset;
 * - {@link jdbcSinkPlugin}: io.debezium.connector.jdbc.JdbcSinkConnector with a
 *   minimal definition set; tasks just run;
 * - {@link failingSourcePlugin}: a source whose task FAILS with a Java-like trace;
 * - {@link debeziumStandInPlugin}: io.debezium.connector.postgresql.PostgresConnector
 *   with the recorded definitions (debezium-definitions.json) and Debezium's
 *   field validation messages, an optional fake database for the connection
 *   check, and tasks that emit one snapshot record per table and commit a
 *   Debezium-shaped offset. No PostgreSQL involved (the real-database plugin is
 *   debezium-postgres.ts).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { ConfigKeyDefinition, ConnectorPlugin, TaskContext, TaskRuntime } from "./plugin";

const running = (ctx: TaskContext, onStop?: () => void): TaskRuntime => {
  ctx.report("RUNNING");
  return {
    async stop() {
      onStop?.();
    },
  };
};

const def = (
  name: string,
  type: ConfigKeyDefinition["type"],
  default_value: string | null,
  group: string,
  order: number,
  documentation: string,
  extra: Partial<ConfigKeyDefinition> = {},
): ConfigKeyDefinition => ({
  name,
  type,
  required: false,
  default_value,
  importance: "HIGH",
  documentation,
  group,
  width: "MEDIUM",
  display_name: name,
  dependents: [],
  order,
  ...extra,
});

const tasksMax = (c: Readonly<Record<string, string>>) => {
  const n = Number(c["tasks.max"] ?? "1");
  return Number.isInteger(n) && n > 0 ? n : 1;
};

/** A source connector whose tasks run and, with noop.records > 0, produce that many records to noop.topic and commit an offset. */
export function noopSourcePlugin(): ConnectorPlugin {
  return {
    className: "org.example.connect.NoopSourceConnector",
    type: "source",
    version: "1.0.0",
    definitions: [
      def("noop.topic", "STRING", "noop", "Noop", 1, "Topic the records go to."),
      def("noop.records", "INT", "0", "Noop", 2, "Records each task produces at start."),
      def("noop.secret", "PASSWORD", null, "Noop", 3, "A secret that is never used."),
    ],
    async validate(config): Promise<Record<string, string[]>> {
      const n = config["noop.records"];
      if (n !== undefined && !/^\d+$/.test(n)) return { "noop.records": [`Invalid value ${n} for configuration noop.records: Not a number of type INT`] };
      return {};
    },
    taskCount: tasksMax,
    startTask(ctx) {
      const n = Number(ctx.config["noop.records"] ?? "0");
      const topic = ctx.config["noop.topic"] ?? "noop";
      const partition = { task: ctx.taskId };
      let pos = Number(ctx.readOffset(partition)?.position ?? 0);
      for (let i = 0; i < n; i++) {
        pos++;
        ctx.produce(topic, { id: pos }, { task: ctx.taskId, position: pos });
        ctx.commitOffset(partition, { position: pos });
      }
      return running(ctx);
    },
  };
}

/** io.debezium.connector.jdbc.JdbcSinkConnector with a minimal definition set; tasks just run. */
export function jdbcSinkPlugin(): ConnectorPlugin {
  return {
    className: "io.debezium.connector.jdbc.JdbcSinkConnector",
    type: "sink",
    version: "2.6.2.Final",
    definitions: [
      def("connection.url", "STRING", null, "Connection", 1, "Valid JDBC URL used to connect to the sink database."),
      def("connection.username", "STRING", null, "Connection", 2, "Name of the database user to be used when connecting to the connection."),
      def("connection.password", "PASSWORD", null, "Connection", 3, "Password of the database user to be used when connecting to the connection."),
      def("insert.mode", "STRING", "insert", "Writes", 1, "The insertion mode to use.", { recommended: ["insert", "upsert", "update"] }),
      def("primary.key.mode", "STRING", "none", "Writes", 2, "The primary key mode.", { recommended: ["none", "kafka", "record_key", "record_value"] }),
      def("schema.evolution", "STRING", "none", "Writes", 3, "Controls how schema evolution is handled.", { recommended: ["none", "basic"] }),
    ],
    async validate(config) {
      const errs: Record<string, string[]> = {};
      if (!config["connection.url"]) errs["connection.url"] = ["The 'connection.url' value is invalid: A value is required"];
      const mode = config["insert.mode"];
      if (mode !== undefined && !["insert", "upsert", "update"].includes(mode.toLowerCase()))
        errs["insert.mode"] = ["The 'insert.mode' value is invalid: Value must be one of insert, upsert, update"];
      return errs;
    },
    taskCount: tasksMax,
    startTask: (ctx) => running(ctx),
  };
}

/** A source whose task fails fail.after.ms (default 20) after start, with a Java-like trace carrying fail.message. */
export function failingSourcePlugin(): ConnectorPlugin {
  return {
    className: "org.example.connect.FailingSourceConnector",
    type: "source",
    version: "1.0.0",
    definitions: [
      def("fail.after.ms", "LONG", "20", "Failing", 1, "Delay before the task fails."),
      def("fail.message", "STRING", "Simulated failure", "Failing", 2, "Message of the failure."),
    ],
    async validate() {
      return {};
    },
    taskCount: () => 1,
    startTask(ctx) {
      const after = Number(ctx.config["fail.after.ms"] ?? "20");
      const message = ctx.config["fail.message"] ?? "Simulated failure";
      ctx.report("RUNNING");
      const frames = Array.from({ length: 30 }, (_, i) => `\tat org.example.connect.FailingSourceTask.frame${i}(FailingSourceTask.java:${100 + i})`);
      const trace = [
        `org.apache.kafka.connect.errors.ConnectException: ${message}`,
        "\tat org.example.connect.FailingSourceTask.poll(FailingSourceTask.java:42)",
        ...frames,
        "Caused by: java.io.IOException: connection to the source was lost",
        "\tat org.example.connect.SourceClient.read(SourceClient.java:7)",
        ...frames.slice(0, 10),
        "\t... 12 more",
      ].join("\n");
      const timer = setTimeout(() => ctx.report("FAILED", trace), after);
      return {
        async stop() {
          clearTimeout(timer);
        },
      };
    },
  };
}

/** A fake PostgreSQL server for the stand-in's connection check. */
export interface FakeDatabaseServer {
  host: string;
  port: number;
  /** user -> password */
  users: Record<string, string>;
  databases: string[];
}

/** Options of {@link debeziumStandInPlugin}. */
export interface DebeziumStandInOptions {
  /**
   * Servers the connection check knows. Unset: the check always passes. Set:
   * unknown host:port -> "Connection to h:p refused ...", wrong password,
   * unknown database, as Debezium reports them on database.hostname.
   */
  servers?: FakeDatabaseServer[];
  /** Tables whose snapshot record each task emits ("schema.table"). Default ["public.products"]. */
  tables?: string[];
  /**
   * Like Connect's offset.flush.interval.ms: a task's offset commit becomes
   * visible this long after the task produced its records (or when the task
   * stops, whichever comes first). Default 0 (at once).
   */
  offsetFlushMs?: number;
}

function loadDebeziumDefinitions(): ConfigKeyDefinition[] {
  const candidates = [path.join(__dirname, "debezium-definitions.json"), path.resolve(__dirname, "../../../../test/support/connect-double/debezium-definitions.json")];
  const file = candidates.find((c) => fs.existsSync(c));
  if (!file) throw new Error(`debezium-definitions.json not found (looked in ${candidates.join(", ")})`);
  const raw = JSON.parse(fs.readFileSync(file, "utf8")) as Array<ConfigKeyDefinition & { recommended_values?: string[] }>;
  return raw.map(({ recommended_values, ...d }) => ({ ...d, recommended: d.recommended ?? recommended_values ?? [] }));
}

const SNAPSHOT_MODES = ["always", "never", "initial_only", "configuration_based", "when_needed", "initial", "custom", "no_data"];

/**
 * io.debezium.connector.postgresql.PostgresConnector without PostgreSQL: the
 * recorded definitions, Debezium 2.6's field validation messages, an optional
 * fake connection check, and tasks that emit a snapshot record per table and
 * commit an offset shaped like Debezium's.
 */
export function debeziumStandInPlugin(opts: DebeziumStandInOptions = {}): ConnectorPlugin {
  const definitions = loadDebeziumDefinitions();
  let lsn = 26500000;
  let tx = 750;
  return {
    className: "io.debezium.connector.postgresql.PostgresConnector",
    type: "source",
    version: "2.6.2.Final",
    definitions,
    async validate(config) {
      const errs: Record<string, string[]> = {};
      const add = (k: string, problem: string) => (errs[k] ??= []).push(`The '${k}' value is invalid: ${problem}`);
      const required = (k: string) => {
        if (!config[k] || config[k].trim() === "") add(k, "A value is required");
      };
      required("topic.prefix");
      const prefix = config["topic.prefix"];
      if (prefix && !/^[a-zA-Z0-9_.-]+$/.test(prefix)) add("topic.prefix", `${prefix} has invalid format (only the underscore, hyphen, dot and alphanumeric characters are allowed)`);
      required("database.hostname");
      const host = config["database.hostname"];
      if (host && !/^[A-Za-z0-9_.-]+$/.test(host)) add("database.hostname", `${host} has invalid format (only the underscore, hyphen, dot and alphanumeric characters are allowed)`);
      const port = config["database.port"];
      if (port !== undefined && !/^\s*-?\d+\s*$/.test(port)) {
        // Debezium 2.6 reports a non-numeric port twice (recorded, error_count 2).
        add("database.port", "An integer is expected");
        add("database.port", "An integer is expected");
      }
      required("database.user");
      required("database.dbname");
      const plugin = config["plugin.name"];
      if (plugin !== undefined && !["decoderbufs", "pgoutput"].includes(plugin.trim().toLowerCase())) add("plugin.name", "Value must be one of decoderbufs, pgoutput");
      const mode = config["snapshot.mode"];
      if (mode !== undefined && !SNAPSHOT_MODES.includes(mode.trim().toLowerCase())) add("snapshot.mode", `Value must be one of ${SNAPSHOT_MODES.join(", ")}`);
      const slot = config["slot.name"];
      if (slot !== undefined && !/^[a-z0-9_]{1,63}$/.test(slot))
        add("slot.name", "Valid replication slot name must contain only digits, lowercase characters and underscores with length <= 63");
      const auto = config["publication.autocreate.mode"];
      if (auto !== undefined && !["all_tables", "disabled", "filtered"].includes(auto.trim().toLowerCase()))
        add("publication.autocreate.mode", "Value must be one of all_tables, disabled, filtered");
      if (Object.keys(errs).length > 0 || !opts.servers) return errs;
      const p = Number(port ?? "5432");
      const server = opts.servers.find((s) => s.host === host && s.port === p);
      const user = config["database.user"];
      const fail = (m: string) => ({ "database.hostname": [`Error while validating connector config: ${m}`] });
      if (!server)
        return fail(`Connection to ${host}:${p} refused. Check that the hostname and port are correct and that the postmaster is accepting TCP/IP connections.`);
      if (server.users[user] === undefined || server.users[user] !== (config["database.password"] ?? "")) return fail(`FATAL: password authentication failed for user "${user}"`);
      if (!server.databases.includes(config["database.dbname"])) return fail(`FATAL: database "${config["database.dbname"]}" does not exist`);
      return {};
    },
    taskCount: () => 1,
    startTask(ctx) {
      ctx.report("RUNNING");
      const prefix = ctx.config["topic.prefix"];
      const partition = { server: prefix };
      let pending: (() => void) | undefined;
      let timer: NodeJS.Timeout | undefined;
      if (!ctx.readOffset(partition)) {
        for (const t of opts.tables ?? ["public.products"]) ctx.produce(`${prefix}.${t}`, { id: 1 }, { op: "r", source: { table: t } });
        lsn += 1000;
        tx += 1;
        const offset = { last_snapshot_record: true, lsn, txId: tx, ts_usec: Date.now() * 1000, snapshot: true };
        pending = () => ctx.commitOffset(partition, offset);
        if (!opts.offsetFlushMs) {
          pending();
          pending = undefined;
        } else
          timer = setTimeout(() => {
            pending?.();
            pending = undefined;
          }, opts.offsetFlushMs);
      }
      return {
        async stop() {
          // Connect commits the offsets of a stopping task.
          if (timer) clearTimeout(timer);
          pending?.();
          pending = undefined;
        },
      };
    },
  };
}
