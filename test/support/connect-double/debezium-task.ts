/**
 * The task of the Debezium PostgreSQL plugin of the Connect test double.
 *
 * It follows Debezium as recorded (docs/connect-and-debezium.md, "RUNNING does
 * not mean streaming", and test/fixtures/connect-transcripts 09, 10, 12):
 * - start-up (PostgresConnectorTask.start): connect and read the database
 *   encoding, check/create the publication, create the slot when missing.
 *   Failures here put the task in FAILED at once.
 * - the change-event producer: snapshot (op "r") per snapshot.mode, then
 *   pgoutput streaming (op "c"/"u"/"d") with offsets committed per
 *   transaction and the flushed LSN acknowledged to the server. PostgreSQL and
 *   connection errors here are retriable: the task stays RUNNING, logs the
 *   retry and restarts after retriable.restart.connector.wait.ms, and only goes
 *   FAILED when errors.max.retries (>= 0) is exceeded.
 * - stop(): ends replication and every connection at once (the slot becomes
 *   inactive), and drops the slot when slot.drop.on.stop=true.
 */
import type { Client } from "pg";
import { boolSetting, databaseTarget, debeziumAtLeast3, intSetting, javaRegex, patterns, setting, tableFilter, type DatabaseTarget } from "./debezium-config";
import { closeClient, lsnDisplay, lsnToNumber, numberToLsn, openClient, primaryKeys, UNAVAILABLE_VALUE } from "./debezium-db";
import {
  FatalTaskError,
  isDriverError,
  JavaException,
  javaDuration,
  POLL_FRAMES,
  producerFrames,
  psqlException,
  RetriableProducerError,
  scrub,
  startFrames,
} from "./debezium-errors";
import { IncrementalSnapshot, signalSettings, tableIdentifier, type SignalSettings } from "./debezium-signals";
import { msgLsn, PgoutputStream, type PgoutputMessage } from "./debezium-stream";
import type { TaskContext, TaskRuntime } from "./plugin";

export const DEBEZIUM_VERSION = "2.6.2.Final";

/** Timing knobs a test can shorten; config keys, when set, still win. */
export interface DebeziumTaskTimings {
  /** Default for status.update.interval.ms (standby status updates while streaming). Debezium: 10000. */
  statusUpdateIntervalMs?: number;
  /** Default for retriable.restart.connector.wait.ms. Debezium: 10000. */
  retriableRestartWaitMs?: number;
  /** Default for slot.retry.delay.ms. Debezium: 10000. */
  slotRetryDelayMs?: number;
  /** Connect timeout of every database connection. Default 10000. */
  connectTimeoutMs?: number;
  /**
   * Time between the task reporting RUNNING and its snapshot/streaming set-up
   * starting. Recorded with Debezium 2.6.2: the slot was still inactive right
   * after RUNNING (transcript 09), and RUNNING -> slot active took 40-100 ms
   * (transcript 11). Default 0 (as fast as the database allows).
   */
  streamingSetupMs?: number;
  /**
   * Pause of an incremental snapshot between emitting a window's records and
   * reading the next chunk (the real round trip of a watermark through the
   * WAL and the stream is ~0.5 s; the committed offset is an "r" record's
   * meanwhile, as on the real stack where Connect commits the offset of the
   * last acknowledged record). Default 0.
   */
  incrementalWindowDelayMs?: number;
  /**
   * The Debezium version to behave as (plugin list, status `version`, event
   * `source.version`, validate definitions, restart and offset behaviour).
   * Default 2.6.2.Final (the recordings); 3.x follows Debezium 3.6.1 as
   * measured on the real stack (see README.md).
   */
  version?: string;
}

type Op = "c" | "u" | "d" | "r";

interface Offset {
  [key: string]: unknown;
  lsn?: number;
  lsn_commit?: number;
  snapshot?: boolean;
  last_snapshot_record?: boolean;
}

interface Transaction {
  xid: number;
  commitLsn: number;
  tsUsec: number;
  skip: boolean;
  lastLsn: number;
  lastType: string;
  /** Changes of it were skipped as already processed (at or before the offset's lsn_proc). */
  replayed?: boolean;
}

interface SlotCreation {
  client: Client;
  snapshotName?: string;
  consistentPoint: number;
}

/** Resolved task settings. */
interface Settings {
  prefix: string;
  dbname: string;
  slot: string;
  publication: string;
  autocreate: string;
  snapshotMode: string;
  dropOnStop: boolean;
  restartWaitMs: number;
  maxRetries: number;
  slotMaxRetries: number;
  slotRetryDelayMs: number;
  statusIntervalMs: number;
  heartbeatMs: number;
  heartbeatQuery?: string;
  heartbeatTopic: string;
  tombstones: boolean;
  connectTimeoutMs: number;
  signals: SignalSettings;
  /** snapshot.include.collection.list (case-insensitive regexes), undefined when unset. */
  snapshotTables?: RegExp[];
}

function settingsOf(config: Readonly<Record<string, string>>, t: DebeziumTaskTimings): Settings {
  const configured = (name: string, fallback: number) => (config[name]?.trim() ? intSetting(config, name, fallback) : fallback);
  const prefix = setting(config, "topic.prefix") ?? "";
  return {
    prefix,
    dbname: setting(config, "database.dbname") ?? "",
    slot: setting(config, "slot.name") ?? "debezium",
    publication: setting(config, "publication.name") ?? "dbz_publication",
    autocreate: (setting(config, "publication.autocreate.mode") ?? "all_tables").toLowerCase(),
    snapshotMode: (setting(config, "snapshot.mode") ?? "initial").toLowerCase(),
    dropOnStop: boolSetting(config, "slot.drop.on.stop"),
    restartWaitMs: configured("retriable.restart.connector.wait.ms", t.retriableRestartWaitMs ?? 10000),
    maxRetries: intSetting(config, "errors.max.retries", -1),
    slotMaxRetries: intSetting(config, "slot.max.retries", 6),
    slotRetryDelayMs: configured("slot.retry.delay.ms", t.slotRetryDelayMs ?? 10000),
    statusIntervalMs: configured("status.update.interval.ms", t.statusUpdateIntervalMs ?? 10000),
    heartbeatMs: intSetting(config, "heartbeat.interval.ms", 0),
    heartbeatQuery: setting(config, "heartbeat.action.query"),
    heartbeatTopic: `${setting(config, "heartbeat.topics.prefix") ?? "__debezium-heartbeat"}.${prefix}`,
    tombstones: (setting(config, "tombstones.on.delete") ?? "true").toLowerCase() !== "false",
    connectTimeoutMs: t.connectTimeoutMs ?? 10000,
    signals: signalSettings(config),
    snapshotTables: patterns(config, "snapshot.include.collection.list"),
  };
}

const CLASS_TASK = "io.debezium.connector.postgresql.PostgresConnectorTask";
const CLASS_REPL = "io.debezium.connector.postgresql.connection.PostgresReplicationConnection";
const CLASS_CONN = "io.debezium.connector.postgresql.connection.PostgresConnection";

/** Thrown inside the task when stop() interrupts it. */
class Stopped extends Error {}

/** Starts one Debezium PostgreSQL task; the work runs in the background and never throws. */
export function startDebeziumTask(ctx: TaskContext, timings: DebeziumTaskTimings): TaskRuntime {
  const task = new DebeziumTask(ctx, timings);
  return { stop: () => task.stop() };
}

class DebeziumTask {
  private readonly s: Settings;
  private readonly target: DatabaseTarget;
  private readonly accepts: (schema: string, table: string) => boolean;
  private stopped = false;
  private stopping?: Promise<void>;
  private readonly clients = new Set<Client>();
  private stream?: PgoutputStream;
  private general?: Client;
  private slotCreation?: SlotCreation;
  private readonly timers = new Set<NodeJS.Timeout>();
  private wake?: () => void;
  private retries = 0;
  private runningReported = false;
  private connectedOnce = false;
  private failed = false;
  private readonly finished: Promise<void>;
  /** What the producer does after start-up. */
  private plan = { snapshot: false, stream: true, startLsn: 0, skipUpTo: 0, skipByCommit: false, skipChangesUpTo: 0 };
  /**
   * The offset context has a last commit LSN: loaded (lsn_commit, else lsn_proc) or set by a commit streamed in
   * this session. Until then Debezium's offsets have no lsn_commit (measured on 3.6.1: the first transaction
   * streamed after the initial snapshot).
   */
  private commitKnown = false;
  private tx?: Transaction;
  private lastWalEnd = 0;
  private readonly pkCache = new Map<number, string[]>();
  private readonly notNullCache = new Map<number, Map<string, number>>();
  /** The slot existed at start-up: the publication is checked when streaming starts. */
  private publicationPending = false;
  /** Debezium 3.x behaviour (see DebeziumTaskTimings.version). */
  private readonly v3: boolean;
  /** Tables Debezium's schema knows (`schema.table`): the captured ones at start-up, plus those streamed relation messages named. */
  private readonly known = new Set<string>();
  /** The signal-based incremental snapshot (signal.data.collection set), rebuilt from the offsets at every start. */
  private incremental?: IncrementalSnapshot;
  /** Where the stream is: the message being handled (the offset an incremental snapshot's "r" record carries). */
  private position?: { lsn: number; type: string };
  /** last_snapshot_record / snapshot_completed of the offset context (from the loaded offset, true after a snapshot). */
  private snapshotFlags = { last: false, completed: false };
  private readonly version: string;

  constructor(
    private readonly ctx: TaskContext,
    private readonly timings: DebeziumTaskTimings,
  ) {
    this.s = settingsOf(ctx.config, timings);
    this.version = timings.version ?? DEBEZIUM_VERSION;
    this.v3 = debeziumAtLeast3(this.version);
    this.target = databaseTarget(ctx.config, "Debezium General", this.s.connectTimeoutMs);
    // RelationalTableFilters: the signal table is captured whatever the include/exclude lists say.
    const filter = tableFilter(ctx.config);
    const signal = this.s.signals.signalTable;
    let signalPattern: RegExp | undefined;
    try {
      signalPattern = signal ? javaRegex(tableIdentifier(signal.schema, signal.table), true) : undefined;
    } catch {
      signalPattern = undefined;
    }
    this.accepts = (schema, table) => filter(schema, table) || (!!signalPattern && signalPattern.test(tableIdentifier(schema, table)));
    this.finished = this.run().catch((err) => {
      // Last resort: a bug in the double must still show as a FAILED task, never as an unhandled rejection.
      if (!this.stopped) this.fail(new JavaException("java.lang.IllegalStateException", String((err as Error)?.stack ?? err), []));
    });
  }

  // ---- logging and state ----

  private log(level: "INFO" | "WARN" | "ERROR", message: string): void {
    this.ctx.log(`${level.padEnd(5)} [${this.ctx.connector}|task-${this.ctx.taskId}] ${this.clean(message)}`);
  }

  private clean(text: string): string {
    return scrub(text, this.target.password, [this.target.user, this.target.dbname, this.target.host]);
  }

  private fail(e: JavaException): void {
    if (this.failed) return;
    this.failed = true;
    this.ctx.report("FAILED", this.clean(e.trace()));
  }

  private partition(): Record<string, unknown> {
    return { server: this.s.prefix };
  }

  // ---- the task's life ----

  private async run(): Promise<void> {
    let restart = false;
    for (;;) {
      try {
        await this.startUp(restart);
      } catch (err) {
        await this.release();
        if (this.stopped || err instanceof Stopped) return;
        const failure = err instanceof FatalTaskError ? err.exception : this.unexpected(err, restart);
        // Debezium 3.x: a retriable restart whose start-up cannot reach the database is retried again
        // (measured on 3.6.1: "Going to restart connector after ... sec." every wait while PostgreSQL was
        // down, the task RUNNING throughout, streaming again once it was back); 2.6 put the task in FAILED.
        const unreachable = (e: JavaException | undefined): boolean => !!e && (e.className === "org.postgresql.util.PSQLException" || unreachable(e.javaCause));
        if (restart && this.v3 && unreachable(failure) && !(this.s.maxRetries >= 0 && this.retries >= this.s.maxRetries)) {
          this.retries++;
          this.log("WARN", `Going to restart connector after ${this.s.restartWaitMs / 1000} sec. after a retriable exception (BaseSourceTask)`);
          this.log("WARN", `WorkerSourceTask{id=${this.ctx.connector}-${this.ctx.taskId}} failed to poll records from SourceTask. Will retry operation.`);
          await this.sleep(this.s.restartWaitMs);
          if (this.stopped) return;
          continue;
        }
        this.fail(failure);
        return;
      }
      if (!this.runningReported) {
        this.runningReported = true;
        this.ctx.report("RUNNING");
      }
      try {
        await this.produce();
        if (!this.plan.stream) await this.release(); // initial_only: the task stays RUNNING without streaming
        return;
      } catch (err) {
        await this.release();
        if (this.stopped || err instanceof Stopped) return;
        const retriable = err instanceof RetriableProducerError || (!(err instanceof FatalTaskError) && isDriverError(err));
        const failure = this.asException(err);
        this.log("ERROR", `Producer failure -- ${oneLine(failure)}`);
        const exhausted = this.s.maxRetries >= 0 && this.retries >= this.s.maxRetries;
        if (!retriable || exhausted) {
          if (retriable) this.log("ERROR", `The maximum number of ${this.s.maxRetries} retries has been attempted (io.debezium.pipeline.ErrorHandler)`);
          this.fail(
            new JavaException(
              "org.apache.kafka.connect.errors.ConnectException",
              "An exception occurred in the change event producer. This connector will be stopped.",
              POLL_FRAMES,
              failure,
            ),
          );
          return;
        }
        this.retries++;
        const max = this.s.maxRetries < 0 ? "unlimited" : String(this.s.maxRetries);
        this.log("WARN", `Retry ${this.retries} of ${max} retries will be attempted (io.debezium.pipeline.ErrorHandler)`);
        this.log("WARN", `Going to restart connector after ${this.s.restartWaitMs / 1000} sec. after a retriable exception (BaseSourceTask)`);
        // Connect's side of the retriable exception that BaseSourceTask.poll() throws.
        this.log("WARN", `WorkerSourceTask{id=${this.ctx.connector}-${this.ctx.taskId}} failed to poll records from SourceTask. Will retry operation.`);
        await this.sleep(this.s.restartWaitMs);
        if (this.stopped) return;
        restart = true;
      }
    }
  }

  async stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    // slot.drop.on.stop: the connection for the drop is opened before replication ends, so the slot goes
    // from active to dropped without a visible inactive spell (recorded in 10: active -> gone).
    const dropper = this.s.dropOnStop && this.connectedOnce ? openClient(this.target, { application_name: "Debezium General" }).catch(() => undefined) : undefined;
    await this.release();
    await Promise.race([this.finished, delay(3000)]);
    await this.release(); // anything opened while stopping
    if (dropper) await this.dropSlot(await dropper);
  }

  private async release(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers.clear();
    const stream = this.stream;
    this.stream = undefined;
    this.general = undefined;
    this.slotCreation = undefined;
    const all = [...this.clients];
    this.clients.clear();
    await Promise.all([stream?.close(), ...all.map((c) => closeClient(c))]);
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(t);
        this.wake = undefined;
        resolve();
      };
    });
  }

  /** Opens a connection the task owns (closed by release()); `replication` opens a walsender connection. */
  private async open(applicationName: string, replication = false): Promise<Client> {
    if (this.stopped) throw new Stopped();
    const client = await openClient(this.target, { application_name: applicationName, ...(replication ? { replication: "database" } : {}) });
    if (this.stopped) {
      await closeClient(client);
      throw new Stopped();
    }
    this.clients.add(client);
    return client;
  }

  private psql(err: unknown, site: "connect" | "query", below: string[]): JavaException {
    return psqlException(err, this.target.host, this.target.port, site, below);
  }

  private unexpected(err: unknown, restart: boolean): JavaException {
    if (err instanceof JavaException) return err;
    if (isDriverError(err)) return this.psql(err, "query", startFrames([], restart));
    return new JavaException("io.debezium.DebeziumException", (err as Error)?.message ?? String(err), startFrames([], restart));
  }

  private asException(err: unknown): JavaException {
    if (err instanceof RetriableProducerError || err instanceof FatalTaskError) return err.exception;
    if (err instanceof JavaException) return err;
    if (isDriverError(err)) return this.psql(err, "query", producerFrames([]));
    return new JavaException("io.debezium.DebeziumException", (err as Error)?.message ?? String(err), producerFrames([]));
  }

  // ---- start-up (PostgresConnectorTask.start) ----

  private async startUp(restart: boolean): Promise<void> {
    const s = this.s;
    const taskStart = `${CLASS_TASK}.start(PostgresConnectorTask.java:91)`;
    let general: Client;
    try {
      general = await this.open("Debezium General");
      await general.query("SELECT pg_encoding_to_char(encoding) AS encoding FROM pg_database WHERE datname = current_database()");
    } catch (err) {
      if (err instanceof Stopped) throw err;
      throw new FatalTaskError(
        new JavaException(
          "io.debezium.DebeziumException",
          `Couldn't obtain encoding for database ${s.dbname}`,
          startFrames([`${CLASS_CONN}.getDatabaseCharset(PostgresConnection.java:589)`, taskStart], restart),
          this.psql(err, "connect", startFrames([`${CLASS_CONN}.getDatabaseCharset(PostgresConnection.java:586)`, taskStart], restart)),
        ),
      );
    }
    this.general = general;
    this.connectedOnce = true;

    const wal = await general.query<{ wal_level: string }>("SHOW wal_level");
    if (wal.rows[0]?.wal_level !== "logical") {
      this.log("WARN", `Postgres server wal_level property must be 'logical' but is: '${wal.rows[0]?.wal_level}'`);
    }
    if (s.dropOnStop) {
      this.log(
        "WARN",
        "Connector has enabled automated replication slot removal upon restart (slot.drop.on.stop = true). This setting is not recommended for production environments, as a new replication slot and a new snapshot may be created upon connector restart.",
      );
    }

    const slots = await general.query<{ confirmed_flush_lsn: string | null }>(
      "SELECT confirmed_flush_lsn::text AS confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = $1 AND database = $2 AND plugin = $3",
      [s.slot, s.dbname, "pgoutput"],
    );
    let slotLsn = 0;
    // Debezium checks (or creates) the publication where it opens the replication connection: in
    // createReplicationSlot at start-up when the slot is missing, else when streaming starts, so with an
    // existing slot a missing publication fails the change-event producer (measured on 3.6.1: "An exception
    // occurred in the change event producer. This connector will be stopped.").
    this.publicationPending = slots.rows.length > 0;
    if (slots.rows.length === 0) {
      await this.initPublication(general, restart);
      this.slotCreation = await this.createSlot(restart);
      slotLsn = this.slotCreation.consistentPoint;
    } else if (slots.rows[0].confirmed_flush_lsn) {
      slotLsn = lsnToNumber(slots.rows[0].confirmed_flush_lsn);
    }

    const offset = this.ctx.readOffset(this.partition()) as Offset | undefined;
    // PostgresSchema.refresh at start-up: every table the filters capture is known, published or not.
    this.known.clear();
    for (const t of await this.capturedTables(general)) this.known.add(tableIdentifier(t.schema, t.table));
    this.snapshotFlags = { last: offset?.last_snapshot_record === true, completed: offset?.snapshot_completed === true || offset?.snapshot_completed === "true" };
    this.incremental = s.signals.signalTable ? new IncrementalSnapshot(s.signals, this.incrementalHost()) : undefined;
    this.incremental?.load(offset);
    const snapshotDone = !!offset && !(offset.snapshot === true && offset.last_snapshot_record !== true);
    const mode = s.snapshotMode;
    let snapshot: boolean;
    let stream = true;
    if (mode === "always") snapshot = true;
    else if (mode === "initial" || mode === "when_needed") snapshot = !snapshotDone;
    else if (mode === "initial_only") {
      snapshot = !snapshotDone;
      stream = false;
    } else if (mode === "never" || mode === "no_data") snapshot = false;
    else if (mode === "configuration_based") {
      snapshot = boolSetting(this.ctx.config, "snapshot.mode.configuration.based.snapshot.data") && !snapshotDone;
      stream = boolSetting(this.ctx.config, "snapshot.mode.configuration.based.start.stream");
    } else {
      throw new FatalTaskError(
        new JavaException(
          "io.debezium.DebeziumException",
          `snapshot.mode '${mode}' is not supported by the Connect test double's Debezium plugin (supported: always, initial, initial_only, when_needed, configuration_based, never, no_data)`,
          startFrames([`${CLASS_TASK}.start(PostgresConnectorTask.java:120)`], restart),
        ),
      );
    }
    const offsetLsn = offset ? Number(offset.lsn_commit ?? offset.lsn ?? 0) : 0;
    this.plan = {
      snapshot,
      stream,
      startLsn: Math.max(offsetLsn, snapshot ? 0 : slotLsn),
      skipUpTo: offset ? offsetLsn : 0,
      skipByCommit: !!offset && offset.lsn_commit !== undefined,
      // Without lsn_commit Debezium skips the changes up to lastCompletelyProcessedLsn (lsn_proc), one by one.
      skipChangesUpTo: offset && offset.lsn_commit === undefined && typeof offset.lsn_proc === "number" ? offset.lsn_proc : 0,
    };
    this.commitKnown = !!offset && (offset.lsn_commit !== undefined || offset.lsn_proc !== undefined);
    if (!snapshot && this.slotCreation) {
      await closeClient(this.slotCreation.client);
      this.clients.delete(this.slotCreation.client);
      this.slotCreation = undefined;
    }
  }

  /** initPublication: use an existing publication, or create it per publication.autocreate.mode. */
  private async initPublication(general: Client, restart: boolean, site: "start" | "streaming" = "start"): Promise<void> {
    const s = this.s;
    const frames =
      site === "streaming"
        ? producerFrames([
            `${CLASS_REPL}.initPublication(PostgresReplicationConnection.java:163)`,
            `${CLASS_REPL}.initConnection(PostgresReplicationConnection.java:417)`,
            `${CLASS_REPL}.startStreaming(PostgresReplicationConnection.java:681)`,
            "io.debezium.connector.postgresql.PostgresStreamingChangeEventSource.execute(PostgresStreamingChangeEventSource.java:137)",
          ])
        : startFrames(
            [`${CLASS_REPL}.initPublication(PostgresReplicationConnection.java:163)`, `${CLASS_REPL}.createReplicationSlot(PostgresReplicationConnection.java:521)`, `${CLASS_TASK}.start(PostgresConnectorTask.java:180)`],
            restart,
          );
    const { escapeIdentifier } = require("pg") as typeof import("pg");
    const found = await general.query<{ puballtables: boolean }>("SELECT puballtables FROM pg_publication WHERE pubname = $1", [s.publication]);
    const existing = found.rows[0];
    const wrap = (err: unknown, what: string): never => {
      if (err instanceof FatalTaskError) throw err;
      throw new FatalTaskError(new JavaException("org.apache.kafka.connect.errors.ConnectException", what, frames, this.psql(err, "query", frames)));
    };
    if (s.autocreate === "disabled") {
      if (!existing) {
        throw new FatalTaskError(
          new JavaException("org.apache.kafka.connect.errors.ConnectException", "Publication autocreation is disabled, please create one and restart the connector.", frames),
        );
      }
      return;
    }
    if (s.autocreate === "all_tables") {
      if (existing) return;
      this.log("INFO", `Creating new publication '${s.publication}' for plugin 'PGOUTPUT'`);
      try {
        await general.query(`CREATE PUBLICATION ${escapeIdentifier(s.publication)} FOR ALL TABLES`);
      } catch (err) {
        wrap(err, `Unable to create publication ${s.publication}`);
      }
      return;
    }
    // filtered: FOR TABLE <the tables the filters select>, kept in sync with ALTER PUBLICATION ... SET TABLE.
    if (existing?.puballtables) {
      throw new FatalTaskError(
        new JavaException(
          "io.debezium.DebeziumException",
          `A logical publication for all tables named '${s.publication}' for plugin 'PGOUTPUT' and database '${s.dbname}' is already active on the server and can not be altered. If you need to exclude some tables or include only specific subset, please recreate the publication with necessary configuration or let plugin recreate it by dropping existing publication. Otherwise please change the 'publication.autocreate.mode' property to 'all_tables'.`,
          frames,
        ),
      );
    }
    const all = await general.query<{ schema: string; table: string }>(
      `SELECT n.nspname AS schema, c.relname AS table FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'
        ORDER BY 1, 2`,
    );
    const wanted = all.rows.filter((r) => this.accepts(r.schema, r.table));
    const list = wanted.map((r) => `${escapeIdentifier(r.schema)}.${escapeIdentifier(r.table)}`);
    const action = existing ? "update" : "create";
    if (wanted.length === 0) {
      throw new FatalTaskError(
        new JavaException(
          "org.apache.kafka.connect.errors.ConnectException",
          `Unable to ${action} filtered publication ${s.publication} for `,
          frames,
          new JavaException("io.debezium.DebeziumException", `No table filters found for filtered publication ${s.publication}`, frames),
        ),
      );
    }
    const what = `Unable to ${action} filtered publication ${s.publication} for ${list.join(", ")}`;
    try {
      if (!existing) {
        this.log("INFO", `Creating new publication '${s.publication}' for plugin 'PGOUTPUT'`);
        await general.query(`CREATE PUBLICATION ${escapeIdentifier(s.publication)} FOR TABLE ${list.join(", ")}`);
        return;
      }
      const current = await general.query<{ schema: string; table: string }>(
        "SELECT schemaname AS schema, tablename AS table FROM pg_publication_tables WHERE pubname = $1 ORDER BY 1, 2",
        [s.publication],
      );
      const key = (rows: Array<{ schema: string; table: string }>) => rows.map((r) => `${r.schema}.${r.table}`).join("\n");
      if (key(current.rows) !== key(wanted)) {
        this.log("INFO", `Updating publication '${s.publication}' for plugin 'PGOUTPUT'`);
        await general.query(`ALTER PUBLICATION ${escapeIdentifier(s.publication)} SET TABLE ${list.join(", ")}`);
      }
    } catch (err) {
      wrap(err, what);
    }
  }

  /** CREATE_REPLICATION_SLOT over a replication connection; the exported snapshot stays usable while that connection idles. */
  private async createSlot(restart: boolean): Promise<SlotCreation> {
    const s = this.s;
    const own = [`${CLASS_REPL}.createReplicationSlot(PostgresReplicationConnection.java:547)`, `${CLASS_TASK}.start(PostgresConnectorTask.java:180)`];
    const failure = (err: unknown) => {
      const exists = (err as { code?: string })?.code === "42710";
      return new FatalTaskError(
        new JavaException(
          "io.debezium.DebeziumException",
          "Creation of replication slot failed" +
            (exists ? "; when setting up multiple connectors for the same database host, please make sure to use a distinct replication slot name for each." : ""),
          startFrames(own, restart),
          this.psql(err, exists ? "query" : "connect", startFrames(own, restart)),
        ),
      );
    };
    let client: Client;
    try {
      client = await this.open("Debezium Replication", true);
    } catch (err) {
      if (err instanceof Stopped) throw err;
      throw failure(err);
    }
    try {
      const { escapeIdentifier } = require("pg") as typeof import("pg");
      const r = await client.query<{ consistent_point: string; snapshot_name: string | null }>(
        `CREATE_REPLICATION_SLOT ${escapeIdentifier(s.slot)} LOGICAL pgoutput`,
      );
      this.log("INFO", `Creating replication slot with command CREATE_REPLICATION_SLOT "${s.slot}" LOGICAL pgoutput`);
      return { client, snapshotName: r.rows[0].snapshot_name ?? undefined, consistentPoint: lsnToNumber(r.rows[0].consistent_point) };
    } catch (err) {
      throw failure(err);
    }
  }

  // ---- the change-event producer ----

  private async produce(): Promise<void> {
    if (this.timings.streamingSetupMs) {
      await this.sleep(this.timings.streamingSetupMs);
      if (this.stopped) throw new Stopped();
    }
    if (this.plan.snapshot) await this.snapshot();
    if (this.slotCreation) {
      const c = this.slotCreation.client;
      this.slotCreation = undefined;
      this.clients.delete(c);
      await closeClient(c);
    }
    if (!this.plan.stream) {
      this.log("INFO", "Snapshot ended; streaming is not started (snapshot.mode does not stream)");
      return;
    }
    await this.incremental?.resume();
    await this.streamChanges();
  }

  private source(fields: { ts_ms: number; snapshot: string; schema: string; table: string; txId: number | null; lsn: number | null; lastCommit?: number | null; sequenceLsn?: number }) {
    return {
      version: this.version,
      connector: "postgresql",
      name: this.s.prefix,
      ts_ms: fields.ts_ms,
      snapshot: fields.snapshot,
      db: this.s.dbname,
      sequence: JSON.stringify([fields.lastCommit == null ? null : String(fields.lastCommit), String(fields.sequenceLsn ?? fields.lsn)]),
      schema: fields.schema,
      table: fields.table,
      txId: fields.txId,
      lsn: fields.lsn,
      xmin: null,
    };
  }

  private topic(schema: string, table: string): string {
    return `${this.s.prefix}.${schema}.${table}`;
  }

  /** The tables (and partitioned tables) the filters capture, sorted by identifier as Debezium sorts TableIds. */
  private async capturedTables(client: Client): Promise<Array<{ oid: number; schema: string; table: string }>> {
    const r = await client.query<{ oid: number; schema: string; table: string }>(
      `SELECT c.oid::int AS oid, n.nspname AS schema, c.relname AS table FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'`,
    );
    const id = (t: { schema: string; table: string }) => tableIdentifier(t.schema, t.table);
    return r.rows.filter((t) => this.accepts(t.schema, t.table)).sort((a, b) => (id(a) < id(b) ? -1 : id(a) > id(b) ? 1 : 0));
  }

  /** What the incremental snapshot needs from the task. */
  private incrementalHost(): import("./debezium-signals").IncrementalSnapshotHost {
    return {
      db: () => {
        if (!this.general) throw new Error("no connection for the incremental snapshot");
        return this.general;
      },
      log: (level, message) => this.log(level, message),
      knownTables: () => [...this.known].sort(),
      keyColumns: async (schema, table, surrogateKey) => {
        const r = await this.general!.query<{ name: string; type_oid: number; pk: boolean }>(
          `SELECT a.attname AS name, a.atttypid::int AS type_oid, coalesce(k.ord, 0) > 0 AS pk
             FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
             LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary
             LEFT JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) ON k.attnum = a.attnum
            WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped
            ORDER BY k.ord NULLS LAST, a.attnum`,
          [schema, table],
        );
        if (r.rows.length === 0) return undefined;
        const cols = surrogateKey ? r.rows.filter((c) => c.name === surrogateKey) : r.rows.filter((c) => c.pk);
        return cols.map((c) => ({ name: c.name, typeOid: Number(c.type_oid) }));
      },
      emitSnapshotRecord: (schema, table, row, key, incrementalKeys) => {
        const tx = this.tx;
        const at = this.position?.lsn ?? this.lastWalEnd;
        const now = Date.now();
        this.ctx.produce(this.topic(schema, table), key, {
          before: null,
          after: row,
          source: this.source({ ts_ms: now, snapshot: "incremental", schema, table, txId: null, lsn: null, lastCommit: this.stream?.flushed || null, sequenceLsn: at }),
          op: "r" satisfies Op,
          ts_ms: now,
          transaction: null,
        });
        // The offset of the record: the stream's position, the snapshot kind (3.x) and the incremental snapshot's keys.
        this.ctx.commitOffset(this.partition(), {
          lsn_proc: at,
          ...(tx && this.commitKnown ? { lsn_commit: tx.commitLsn } : {}),
          ...(tx ? { txId: tx.xid } : {}),
          lsn: at,
          ...(this.position ? { messageType: this.position.type } : {}),
          ts_usec: now * 1000,
          ...(this.v3 ? { snapshot: "INCREMENTAL", last_snapshot_record: this.snapshotFlags.last, snapshot_completed: this.snapshotFlags.completed } : {}),
          ...incrementalKeys,
        });
      },
      pause: () => (this.timings.incrementalWindowDelayMs ? delay(this.timings.incrementalWindowDelayMs) : Promise.resolve()),
      stopped: () => this.stopped,
    };
  }

  private async snapshot(): Promise<void> {
    const general = this.general;
    if (!general) throw new Error("no connection for the snapshot");
    const started = Date.now();
    this.log("INFO", "Snapshot step 1 - Preparing");
    await general.query("BEGIN TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY");
    let lsn: number;
    if (this.slotCreation?.snapshotName) {
      await general.query(`SET TRANSACTION SNAPSHOT '${this.slotCreation.snapshotName.replace(/'/g, "''")}'`);
      lsn = this.slotCreation.consistentPoint;
    } else {
      lsn = lsnToNumber((await general.query<{ lsn: string }>("SELECT pg_current_wal_lsn()::text AS lsn")).rows[0].lsn);
    }
    const txId = Number((await general.query<{ x: string }>("SELECT txid_snapshot_xmax(txid_current_snapshot())::text AS x")).rows[0].x);
    // Debezium snapshots every table the filters capture (published or not: the publication only decides what is
    // streamed), narrowed by snapshot.include.collection.list, without the signal table's rows (measured on 3.6.1).
    const only = this.s.snapshotTables;
    const captured = (await this.capturedTables(general)).filter((t) => {
      if (this.incremental?.isSignalTable(t.schema, t.table)) return false;
      const names = [tableIdentifier(t.schema, t.table), `"${t.schema}"."${t.table}"`];
      return !only || only.some((re) => names.some((n) => re.test(n)));
    });
    const pks = await primaryKeys(general, captured.map((t) => Number(t.oid)));
    this.log("INFO", `Snapshot step 5 - Reading structure of captured tables: ${captured.map((t) => `${t.schema}.${t.table}`).join(", ")}`);
    const { escapeIdentifier } = require("pg") as typeof import("pg");
    // Records go out table by table, as Debezium sends them (a table that cannot be read fails the snapshot after
    // the earlier tables' records were sent); one record is held back so the last one can be marked "last".
    let held: { topic: string; key: unknown; schema: string; table: string; after: Record<string, unknown> } | undefined;
    let count = 0;
    const send = (marker: string) => {
      if (!held) return;
      const r = held;
      held = undefined;
      this.ctx.produce(r.topic, r.key, {
        before: null,
        after: r.after,
        source: this.source({ ts_ms: started, snapshot: marker, schema: r.schema, table: r.table, txId, lsn }),
        op: "r" satisfies Op,
        ts_ms: Date.now(),
        transaction: null,
      });
    };
    for (const t of captured) {
      const rows = await general.query<Record<string, unknown>>(`SELECT * FROM ${escapeIdentifier(t.schema)}.${escapeIdentifier(t.table)}`);
      const pk = pks.get(Number(t.oid)) ?? [];
      for (const row of rows.rows) {
        send(count === 1 ? "first" : "true");
        held = { topic: this.topic(t.schema, t.table), key: keyOf(pk, row), schema: t.schema, table: t.table, after: { ...row } };
        count++;
      }
    }
    await general.query("COMMIT");
    send("last");
    this.snapshotFlags = { last: true, completed: true };
    // Debezium 3.x names the snapshot kind and marks it completed (measured on 3.6.1: snapshot "INITIAL", snapshot_completed true).
    this.ctx.commitOffset(
      this.partition(),
      this.v3
        ? { last_snapshot_record: true, lsn, txId, ts_usec: started * 1000, snapshot: this.s.snapshotMode.toUpperCase(), snapshot_completed: true }
        : { last_snapshot_record: true, lsn, txId, ts_usec: started * 1000, snapshot: true },
    );
    this.plan.startLsn = Math.max(this.plan.startLsn, lsn);
    this.plan.skipUpTo = lsn;
    this.plan.skipByCommit = false;
    this.log("INFO", `Snapshot completed: ${count} records from ${captured.length} tables`);
  }

  private async streamChanges(): Promise<void> {
    const s = this.s;
    if (this.publicationPending) {
      if (!this.general) throw new Error("no connection for the publication check");
      await this.initPublication(this.general, false, "streaming");
      this.publicationPending = false;
    }
    const attempts = Math.max(0, s.slotMaxRetries);
    let stream: PgoutputStream | undefined;
    const startAt = numberToLsn(this.plan.startLsn);
    for (let attempt = 1; ; attempt++) {
      const client = await this.open("Debezium Streaming", true); // a refused walsender (no REPLICATION) is retriable
      const candidate = new PgoutputStream(client, s.publication, {
        message: (lsn, msg) => this.onMessage(lsn, msg),
        keepalive: (walEnd) => {
          this.lastWalEnd = Math.max(this.lastWalEnd, walEnd);
        },
        idle: () => !this.tx,
      });
      try {
        await candidate.start(s.slot, s.publication, startAt);
        stream = candidate;
        break;
      } catch (err) {
        await candidate.close();
        this.clients.delete(client);
        if (this.stopped) throw new Stopped();
        if (!(err as { severity?: string })?.severity) throw err;
        const cause = this.psql(err, "query", producerFrames([`${CLASS_REPL}.startStreaming(PostgresReplicationConnection.java:686)`]));
        if (attempt > attempts) {
          const active = /replication slot .* is active/.test(cause.message);
          throw new RetriableProducerError(
            new JavaException(
              "io.debezium.DebeziumException",
              `Failed to start replication stream at ${lsnDisplay(this.plan.startLsn)}` +
                (active ? "; when setting up multiple connectors for the same database host, please make sure to use a distinct replication slot name for each." : ""),
              producerFrames([`${CLASS_REPL}.startStreaming(PostgresReplicationConnection.java:705)`]),
              cause,
            ),
          );
        }
        this.log(
          "WARN",
          `Failed to start replication stream at ${lsnDisplay(this.plan.startLsn)}, waiting for ${javaDuration(s.slotRetryDelayMs)} ms and retrying, attempt number ${attempt} over ${attempts} -- ${cause.headline()}`,
        );
        // Debezium's Metronome pause: stopping the task does not cut it short (recorded in 12: DELETE of the
        // retrying connector waited task.shutdown.graceful.timeout.ms, "Graceful stop ... failed", and the
        // task thread exited only when its retry pause ended).
        await delay(s.slotRetryDelayMs);
        if (this.stopped) throw new Stopped();
      }
    }
    this.stream = stream;
    this.log("INFO", `Processing messages; streaming from ${lsnDisplay(this.plan.startLsn)} on slot '${s.slot}'`);
    const status = setInterval(() => stream.sendStatus(false), Math.max(10, s.statusIntervalMs));
    this.timers.add(status);
    let heartbeatFailure: Promise<never> = new Promise<never>(() => undefined);
    if (s.heartbeatMs > 0) {
      heartbeatFailure = new Promise<never>((_, reject) => {
        let busy = false;
        const t = setInterval(() => {
          if (busy || this.stopped) return;
          busy = true;
          this.heartbeat(stream).then(
            () => (busy = false),
            (err) => reject(err),
          );
        }, s.heartbeatMs);
        this.timers.add(t);
      });
      heartbeatFailure.catch(() => undefined);
    }
    await Promise.race([stream.done, heartbeatFailure]);
  }

  /** Debezium's heartbeat: run heartbeat.action.query, emit a heartbeat record, flush the received LSN when idle. */
  private async heartbeat(stream: PgoutputStream): Promise<void> {
    if (this.s.heartbeatQuery && this.general) await this.general.query(this.s.heartbeatQuery);
    if (this.stopped || this.stream !== stream) return;
    this.ctx.produce(this.s.heartbeatTopic, { serverName: this.s.prefix }, { ts_ms: Date.now() });
    if (!this.tx && this.lastWalEnd > stream.flushed) {
      const prev = (this.ctx.readOffset(this.partition()) ?? {}) as Offset;
      this.ctx.commitOffset(this.partition(), { ...prev, lsn: this.lastWalEnd, lsn_proc: this.lastWalEnd, ts_usec: Date.now() * 1000 });
      stream.flush(this.lastWalEnd);
    }
  }

  private async onMessage(lsn: number, msg: PgoutputMessage): Promise<void> {
    switch (msg.tag) {
      case "begin": {
        const commitLsn = msgLsn(msg.commitLsn);
        const p = this.plan;
        const skip = p.skipUpTo > 0 && (p.skipByCommit ? commitLsn <= p.skipUpTo : commitLsn < p.skipUpTo);
        this.tx = { xid: msg.xid, commitLsn, tsUsec: Number(msg.commitTime), skip, lastLsn: lsn, lastType: "BEGIN" };
        return;
      }
      case "relation":
        this.pkCache.delete(msg.relationOid);
        this.notNullCache.delete(msg.relationOid);
        // The relation message refreshes Debezium's schema: a table created after start-up becomes known here.
        if (this.accepts(msg.schema, msg.name)) this.known.add(tableIdentifier(msg.schema, msg.name));
        return;
      case "insert":
      case "update":
      case "delete":
        await this.onChange(lsn, msg);
        return;
      case "commit": {
        const tx = this.tx;
        this.tx = undefined;
        let flushTo = 0;
        if (tx && !tx.skip && !(tx.replayed && tx.lastType === "BEGIN")) {
          const commitKnown = this.commitKnown;
          this.commitKnown = true;
          // Debezium's commit() confirms the stored offset's lsn_commit (else lsn_proc) to the slot, after
          // Connect stored the offset: never the transaction's end, so the slot does not pass the offsets
          // (measured on 3.6.1: after the first transaction, confirmed_flush_lsn = lsn_proc = the change's LSN).
          flushTo = commitKnown ? tx.commitLsn : tx.lastLsn;
          this.ctx.commitOffset(this.partition(), {
            lsn_proc: tx.lastLsn,
            ...(commitKnown ? { lsn_commit: tx.commitLsn } : {}),
            messageType: tx.lastType,
            lsn: tx.lastLsn,
            txId: tx.xid,
            ts_usec: tx.tsUsec,
            ...this.incremental?.store(),
          });
        }
        this.stream?.flush(flushTo);
        return;
      }
      default:
        return; // truncate (skipped.operations=t by default), origin, type, message
    }
  }

  /** NOT NULL columns of a relation and their type OIDs. */
  private async notNullColumns(oid: number): Promise<Map<string, number>> {
    let cols = this.notNullCache.get(oid);
    if (!cols) {
      if (!this.general) throw new Error("no connection for catalog lookups");
      const r = await this.general.query<{ name: string; type_oid: number }>("SELECT attname AS name, atttypid::int AS type_oid FROM pg_attribute WHERE attrelid = $1 AND attnum > 0 AND attnotnull AND NOT attisdropped", [oid]);
      cols = new Map(r.rows.map((x) => [x.name, Number(x.type_oid)]));
      this.notNullCache.set(oid, cols);
    }
    return cols;
  }

  private async onChange(lsn: number, msg: Extract<PgoutputMessage, { tag: "insert" | "update" | "delete" }>): Promise<void> {
    const tx = this.tx;
    const rel = msg.relation;
    if (!tx || tx.skip || !this.accepts(rel.schema, rel.name)) return;
    if (lsn <= this.plan.skipChangesUpTo) {
      tx.replayed = true;
      return;
    }
    let pk = this.pkCache.get(rel.relationOid);
    if (!pk) {
      if (!this.general) throw new Error("no connection for catalog lookups");
      pk = (await primaryKeys(this.general, [rel.relationOid])).get(rel.relationOid) ?? [];
      this.pkCache.set(rel.relationOid, pk);
    }
    const columns = rel.columns.map((c) => c.name);
    const fill = (row: Record<string, unknown> | null | undefined): Record<string, unknown> | null => {
      if (!row) return null;
      const out: Record<string, unknown> = {};
      for (const c of columns) out[c] = row[c] === undefined ? UNAVAILABLE_VALUE : row[c];
      return out;
    };
    let op: Op;
    let before: Record<string, unknown> | null = null;
    let after: Record<string, unknown> | null = null;
    if (msg.tag === "insert") {
      op = "c";
      after = fill(msg.new);
    } else if (msg.tag === "update") {
      op = "u";
      before = msg.old ? fill(msg.old) : null; // REPLICA IDENTITY FULL sends the old row
      after = fill(msg.new);
    } else {
      op = "d";
      if (msg.old) before = fill(msg.old);
      else if (msg.key) {
        // A key-only old tuple: Debezium fills the other columns with null, or a NOT NULL column with its type's
        // fallback value (measured on 3.6.1: varchar NOT NULL -> "").
        const required = await this.notNullColumns(rel.relationOid);
        before = {};
        for (const c of columns) before[c] = c in msg.key && msg.key[c] !== undefined ? msg.key[c] : required.has(c) ? fallbackValue(required.get(c)!) : null;
      }
    }
    const image = after ?? before ?? {};
    const key = keyOf(pk, image);
    tx.lastLsn = lsn;
    tx.lastType = msg.tag.toUpperCase();
    const topic = this.topic(rel.schema, rel.name);
    // EventDispatcher: a signal row is handled before its own change event goes out; other changes of the table an
    // incremental snapshot reads drop their keys from the open window.
    const inc = this.incremental;
    if (inc) {
      this.position = { lsn, type: tx.lastType };
      if (inc.isSignalTable(rel.schema, rel.name) && (op === "c" || (op === "d" && this.s.signals.strategy === "insert_delete"))) {
        await inc.onSignalRow(op, op === "c" ? after : before);
        if (this.stopped) return;
      }
      inc.dedupe(rel.schema, rel.name, key);
    }
    this.ctx.produce(topic, key, {
      before,
      after,
      source: this.source({ ts_ms: Math.floor(tx.tsUsec / 1000), snapshot: "false", schema: rel.schema, table: rel.name, txId: tx.xid, lsn, lastCommit: this.stream?.flushed || null }),
      op,
      ts_ms: Date.now(),
      transaction: null,
    });
    if (op === "d" && this.s.tombstones) this.ctx.produce(topic, key, null);
  }

  // ---- slot.drop.on.stop ----

  private async dropSlot(opened: Client | undefined): Promise<void> {
    let client: Client | undefined = opened;
    try {
      client ??= await openClient(this.target, { application_name: "Debezium General" });
      for (let i = 0; i < 500; i++) {
        try {
          await client.query("SELECT pg_drop_replication_slot($1)", [this.s.slot]);
          this.log("INFO", `Dropped replication slot '${this.s.slot}' (slot.drop.on.stop = true)`);
          return;
        } catch (err) {
          const code = (err as { code?: string }).code;
          if (code === "42704") return; // already gone
          if (code !== "55006") throw err; // 55006: still active while the walsender exits
          await delay(10);
        }
      }
      this.log("WARN", `Unable to drop replication slot '${this.s.slot}': still active`);
    } catch (err) {
      this.log("WARN", `Unable to drop replication slot '${this.s.slot}' -- ${this.psql(err, "query", []).headline()}`);
    } finally {
      await closeClient(client);
    }
  }
}

/** The value Debezium's converters give a NOT NULL column that has none (a column missing from a key-only tuple). */
function fallbackValue(typeOid: number): unknown {
  if ([20, 21, 23, 26, 700, 701].includes(typeOid)) return 0;
  if (typeOid === 16) return false;
  if ([25, 1042, 1043, 19].includes(typeOid)) return "";
  return null;
}

/** Debezium's message key: the primary-key columns, or null for a table without one. */
function keyOf(pk: string[], row: Record<string, unknown>): Record<string, unknown> | null {
  if (pk.length === 0) return null;
  const key: Record<string, unknown> = {};
  for (const c of pk) key[c] = row[c] ?? null;
  return key;
}

function oneLine(e: JavaException): string {
  const parts: string[] = [];
  for (let x: JavaException | undefined = e; x; x = x.javaCause) parts.push(x.headline().replace(/\n\s*/g, " "));
  return parts.join(" Caused by: ");
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
