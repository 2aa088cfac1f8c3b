/**
 * A Debezium-like PostgreSQL source connector plugin for the Kafka Connect
 * test double (io.debezium.connector.postgresql.PostgresConnector 2.6.2.Final).
 *
 * - validate(): Debezium's field checks in its own wording, then (only when the
 *   fields are clean) a real connection with the config's credentials running
 *   `SELECT version()`; a failure lands on database.hostname as
 *   "Error while validating connector config: <pgjdbc message>". Slot,
 *   publication and REPLICATION are not checked, as in Debezium.
 * - startTask(): see debezium-task.ts (snapshot, pgoutput streaming, offsets,
 *   retriable restarts, FAILED traces shaped like the recorded ones).
 */
import { debeziumDefinitions, databaseTarget, fieldErrors } from "./debezium-config";
import { closeClient, openClient } from "./debezium-db";
import { jdbcMessage } from "./debezium-errors";
import { DEBEZIUM_VERSION, startDebeziumTask, type DebeziumTaskTimings } from "./debezium-task";
import type { ConnectorPlugin, TaskContext } from "./plugin";
import type { Client } from "pg";

export const DEBEZIUM_POSTGRES_CLASS = "io.debezium.connector.postgresql.PostgresConnector";

export interface DebeziumPostgresOptions extends DebeziumTaskTimings {
  /** Limit for the connection check in validate() ("Connection validation timed out after <ms> ms"). Default 60000. */
  validationTimeoutMs?: number;
}

/** The plugin; `opts` shortens Debezium's timings for tests (config keys still win when set). */
export function debeziumPostgresPlugin(opts: DebeziumPostgresOptions = {}): ConnectorPlugin {
  const definitions = debeziumDefinitions(opts.version);
  return {
    className: DEBEZIUM_POSTGRES_CLASS,
    type: "source",
    version: opts.version ?? DEBEZIUM_VERSION,
    definitions,
    async validate(config) {
      // tasks.max is Connect's own key: the double checks it (ConnectorConfig), not the plugin, so it is reported once.
      const errors: Record<string, string[]> = {};
      const fields = fieldErrors(config, definitions);
      for (const [k, v] of Object.entries(fields)) (errors[k] ??= []).push(...v);
      if (Object.keys(fields).length > 0) return errors;
      const problem = await checkConnection(config, opts);
      if (problem) (errors["database.hostname"] ??= []).push(problem);
      return errors;
    },
    taskCount() {
      return 1;
    },
    startTask(ctx: TaskContext) {
      return startDebeziumTask(ctx, opts);
    },
  };
}

/** validateConnection: connect with the config's credentials and run SELECT version(). */
async function checkConnection(config: Readonly<Record<string, string>>, opts: DebeziumPostgresOptions): Promise<string | undefined> {
  const limit = opts.validationTimeoutMs ?? 60000;
  const target = databaseTarget(config, "Debezium Validate Connection", Math.min(limit, opts.connectTimeoutMs ?? 10000));
  let client: Client | undefined;
  let timer: NodeJS.Timeout | undefined;
  let timedOut = false;
  const attempt = (async () => {
    try {
      client = await openClient(target);
      if (timedOut) return undefined;
      await client.query("SELECT version()");
      return undefined;
    } catch (err) {
      return `Error while validating connector config: ${jdbcMessage(err, target.host, target.port)}`;
    }
  })();
  const timeout = new Promise<string>((resolve) => {
    timer = setTimeout(() => {
      timedOut = true;
      resolve(`Connection validation timed out after ${limit} ms`);
    }, limit);
  });
  try {
    return await Promise.race([attempt, timeout]);
  } finally {
    clearTimeout(timer);
    await attempt.catch(() => undefined);
    await closeClient(client);
  }
}
