/**
 * Java-like exceptions for the Debezium PostgreSQL plugin of the Connect test
 * double: PostgreSQL driver errors rendered in the JDBC driver's (pgjdbc)
 * wording, and stack-trace texts shaped like the ones recorded from Debezium
 * 2.6.2 on Kafka Connect 3.7.1 (test/fixtures/connect-transcripts 09, 10, 12).
 */

/** A Java throwable: class, message, frames and an optional cause. */
export class JavaException extends Error {
  constructor(
    readonly className: string,
    message: string,
    readonly frames: readonly string[],
    readonly javaCause?: JavaException,
  ) {
    super(message);
    this.name = className;
  }

  /** The first line of the trace: `class: message`. */
  headline(): string {
    return `${this.className}: ${this.message}`;
  }

  /** The whole trace, as Connect shows it in a FAILED task's `trace`. */
  trace(): string {
    const lines: string[] = [];
    let e: JavaException | undefined = this;
    let enclosing: readonly string[] | undefined;
    while (e) {
      lines.push((enclosing ? "Caused by: " : "") + e.headline());
      // Like Throwable.printStackTrace: frames shared with the enclosing trace are folded into "... n more".
      let common = 0;
      if (enclosing) {
        while (
          common < e.frames.length &&
          common < enclosing.length &&
          e.frames[e.frames.length - 1 - common] === enclosing[enclosing.length - 1 - common]
        ) {
          common++;
        }
      }
      for (const f of e.frames.slice(0, e.frames.length - common)) lines.push(`\tat ${f}`);
      if (common > 0) lines.push(`\t... ${common} more`);
      enclosing = e.frames;
      e = e.javaCause;
    }
    return lines.join("\n");
  }
}

/** Thrown when the task must go FAILED right away (Debezium's non-retriable start-up errors). */
export class FatalTaskError extends Error {
  constructor(readonly exception: JavaException) {
    super(exception.headline());
  }
}

/** A retriable failure of the change-event producer (snapshot or streaming): the task restarts itself. */
export class RetriableProducerError extends Error {
  constructor(readonly exception: JavaException) {
    super(exception.headline());
  }
}

/** Connect's worker-thread frames that end every task trace. */
export const WORKER_FRAMES: readonly string[] = [
  "org.apache.kafka.connect.runtime.WorkerTask.run(WorkerTask.java:259)",
  "org.apache.kafka.connect.runtime.AbstractWorkerSourceTask.run(AbstractWorkerSourceTask.java:77)",
  "org.apache.kafka.connect.runtime.isolation.Plugins.lambda$withClassLoader$1(Plugins.java:237)",
  "java.base/java.util.concurrent.Executors$RunnableAdapter.call(Executors.java:539)",
  "java.base/java.util.concurrent.FutureTask.run(FutureTask.java:264)",
  "java.base/java.util.concurrent.ThreadPoolExecutor.runWorker(ThreadPoolExecutor.java:1136)",
  "java.base/java.util.concurrent.ThreadPoolExecutor$Worker.run(ThreadPoolExecutor.java:635)",
  "java.base/java.lang.Thread.run(Thread.java:840)",
];

const TASK_START = [
  "io.debezium.connector.common.BaseSourceTask.start(BaseSourceTask.java:248)",
  "org.apache.kafka.connect.runtime.AbstractWorkerSourceTask.initializeAndStart(AbstractWorkerSourceTask.java:280)",
  "org.apache.kafka.connect.runtime.WorkerTask.doRun(WorkerTask.java:202)",
];

const TASK_RESTART = [
  "io.debezium.connector.common.BaseSourceTask.startIfNeededAndPossible(BaseSourceTask.java:375)",
  "io.debezium.connector.common.BaseSourceTask.poll(BaseSourceTask.java:285)",
  "org.apache.kafka.connect.runtime.AbstractWorkerSourceTask.poll(AbstractWorkerSourceTask.java:469)",
  "org.apache.kafka.connect.runtime.AbstractWorkerSourceTask.execute(AbstractWorkerSourceTask.java:357)",
  "org.apache.kafka.connect.runtime.WorkerTask.doRun(WorkerTask.java:204)",
];

/** Frames of Debezium's change-event producer thread (snapshot and streaming run there). */
export function producerFrames(own: string[]): string[] {
  return [
    ...own,
    "io.debezium.pipeline.ChangeEventSourceCoordinator.executeChangeEventSources(ChangeEventSourceCoordinator.java:272)",
    "io.debezium.pipeline.ChangeEventSourceCoordinator.lambda$start$0(ChangeEventSourceCoordinator.java:140)",
    "java.base/java.util.concurrent.Executors$RunnableAdapter.call(Executors.java:539)",
    "java.base/java.util.concurrent.FutureTask.run(FutureTask.java:264)",
    "java.base/java.util.concurrent.ThreadPoolExecutor.runWorker(ThreadPoolExecutor.java:1136)",
    "java.base/java.util.concurrent.ThreadPoolExecutor$Worker.run(ThreadPoolExecutor.java:635)",
    "java.base/java.lang.Thread.run(Thread.java:840)",
  ];
}

/** Frames where Connect's poll() rethrows a producer failure (the task goes FAILED). */
export const POLL_FRAMES: readonly string[] = [
  "io.debezium.pipeline.ErrorHandler.setProducerThrowable(ErrorHandler.java:67)",
  "io.debezium.connector.postgresql.PostgresStreamingChangeEventSource.execute(PostgresStreamingChangeEventSource.java:180)",
  ...producerFrames([]),
];

/** Frames for code running inside PostgresConnectorTask.start, first start or retriable restart. */
export function startFrames(own: string[], restart: boolean): string[] {
  return [...own, ...(restart ? TASK_RESTART : TASK_START), ...WORKER_FRAMES];
}

const JDBC_CONNECT = [
  "org.postgresql.core.v3.ConnectionFactoryImpl.openConnectionImpl(ConnectionFactoryImpl.java:346)",
  "org.postgresql.core.ConnectionFactory.openConnection(ConnectionFactory.java:54)",
  "org.postgresql.jdbc.PgConnection.<init>(PgConnection.java:273)",
  "org.postgresql.Driver.makeConnection(Driver.java:446)",
  "org.postgresql.Driver.connect(Driver.java:298)",
  "io.debezium.jdbc.JdbcConnection.lambda$patternBasedFactory$1(JdbcConnection.java:246)",
  "io.debezium.jdbc.JdbcConnection$ConnectionFactoryDecorator.connect(JdbcConnection.java:132)",
  "io.debezium.jdbc.JdbcConnection.connection(JdbcConnection.java:878)",
  "io.debezium.jdbc.JdbcConnection.connection(JdbcConnection.java:873)",
];

const JDBC_QUERY = [
  "org.postgresql.core.v3.QueryExecutorImpl.receiveErrorResponse(QueryExecutorImpl.java:2725)",
  "org.postgresql.core.v3.QueryExecutorImpl.processResults(QueryExecutorImpl.java:2412)",
  "org.postgresql.core.v3.QueryExecutorImpl.execute(QueryExecutorImpl.java:371)",
  "org.postgresql.jdbc.PgStatement.executeInternal(PgStatement.java:502)",
  "org.postgresql.jdbc.PgStatement.execute(PgStatement.java:419)",
];

/** Where a driver error happened, which decides the frames under its PSQLException. */
export type DriverSite = "connect" | "query";

/** The shape of a node-postgres error (DatabaseError or a socket error). */
interface PgLikeError {
  message?: string;
  code?: string;
  severity?: string;
  detail?: string;
  hint?: string;
  errors?: PgLikeError[];
}

/** The socket error code of a connect failure, also inside an AggregateError. */
function socketCode(err: PgLikeError): string | undefined {
  if (err.code && !/^[0-9A-Z]{5}$/.test(err.code)) return err.code;
  for (const inner of err.errors ?? []) {
    const c = socketCode(inner);
    if (c) return c;
  }
  return undefined;
}

/**
 * The message pgjdbc would give for a node-postgres error: server errors as
 * `SEVERITY: message` with `Detail:` and `Hint:` lines, connection failures in
 * the driver's own words.
 */
export function jdbcMessage(err: unknown, host: string, port: number): string {
  const e = (err ?? {}) as PgLikeError;
  if (e.severity) {
    let text = `${e.severity}: ${e.message ?? ""}`;
    if (e.detail) text += `\n  Detail: ${e.detail}`;
    if (e.hint) text += `\n  Hint: ${e.hint}`;
    return text;
  }
  const code = socketCode(e);
  const msg = e.message ?? String(err);
  if (code === "ECONNREFUSED") {
    return `Connection to ${host}:${port} refused. Check that the hostname and port are correct and that the postmaster is accepting TCP/IP connections.`;
  }
  if (code === "ENOTFOUND" || code === "EAI_AGAIN" || code === "EHOSTUNREACH" || code === "ETIMEDOUT") return "The connection attempt failed.";
  if (/timeout/i.test(msg)) return "The connection attempt failed.";
  if (/does not support SSL/i.test(msg)) return "The server does not support SSL.";
  if (/^Database connection failed/.test(msg)) return msg;
  if (/Connection terminated|ECONNRESET|EPIPE|socket hang up/i.test(msg) || code === "ECONNRESET" || code === "EPIPE") {
    return "An I/O error occurred while sending to the backend.";
  }
  return msg;
}

/**
 * A pgjdbc PSQLException for a node-postgres error; `below` is the caller's
 * stack under the driver frames (shared frames fold into "... n more").
 */
export function psqlException(err: unknown, host: string, port: number, site: DriverSite, below: readonly string[] = []): JavaException {
  const frames = [...(site === "connect" ? JDBC_CONNECT : JDBC_QUERY), ...below];
  if (err instanceof JavaException) return err;
  const e = (err ?? {}) as PgLikeError;
  const ioCause =
    site === "connect" && socketCode(e) === "ECONNREFUSED"
      ? new JavaException("java.net.ConnectException", "Connection refused", [
          "java.base/sun.nio.ch.Net.pollConnect(Native Method)",
          "java.base/sun.nio.ch.Net.pollConnectNow(Net.java:672)",
          "java.base/sun.nio.ch.NioSocketImpl.timedFinishConnect(NioSocketImpl.java:547)",
          "java.base/sun.nio.ch.NioSocketImpl.connect(NioSocketImpl.java:602)",
          "java.base/java.net.SocksSocketImpl.connect(SocksSocketImpl.java:327)",
          "java.base/java.net.Socket.connect(Socket.java:633)",
          "org.postgresql.core.PGStream.createSocket(PGStream.java:243)",
          "org.postgresql.core.PGStream.<init>(PGStream.java:98)",
          "org.postgresql.core.v3.ConnectionFactoryImpl.tryConnect(ConnectionFactoryImpl.java:136)",
          "org.postgresql.core.v3.ConnectionFactoryImpl.openConnectionImpl(ConnectionFactoryImpl.java:262)",
          ...frames.slice(1),
        ])
      : undefined;
  return new JavaException("org.postgresql.util.PSQLException", jdbcMessage(err, host, port), frames, ioCause);
}

/** True for errors that come from PostgreSQL or the network (pgjdbc would raise an SQLException). */
export function isDriverError(err: unknown): boolean {
  if (err instanceof JavaException) return err.className === "org.postgresql.util.PSQLException";
  const e = (err ?? {}) as PgLikeError;
  if (e.severity) return true;
  if (socketCode(e)) return true;
  return /Connection terminated|timeout|Client has encountered a connection error|does not support SSL|ECONN|EPIPE/i.test(e.message ?? "");
}

/**
 * Removes the password from a trace, unless it also appears in a name the
 * trace shows legitimately (a user called "dbz" with password "dbz").
 */
export function scrub(text: string, password: string | undefined, names: string[]): string {
  if (!password || names.some((n) => n.includes(password))) return text;
  return text.split(password).join("********");
}

/** java.time.Duration#toString for milliseconds, e.g. PT10S, PT0.2S. */
export function javaDuration(ms: number): string {
  const s = ms / 1000;
  return `PT${Number.isInteger(s) ? s : s.toString()}S`;
}
