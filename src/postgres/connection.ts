import type { TableRef } from "../validation/table-name";
import type { ClientConfig, QueryResultRow } from "pg";
import type { ConnectionOptions } from "node:tls";
import { CdcError, messageOf, redact } from "../errors";
import type { PostgresConnection } from "../validation/common";

/**
 * Counters of what this process sent to PostgreSQL; the benchmark reads them
 * to show that statement counts do not grow with the table count. A new
 * connection counts once in `connections` (its version query included);
 * `statements` counts what operations send, whether or not the session was reused.
 */
export const postgresStats = { connections: 0, statements: 0 };

/** A session for one provider operation; kept open briefly afterwards for the next operation on the same settings (see {@link withSession}). */
export interface Session {
  /** server_version_num, e.g. 170002 */
  readonly versionNum: number;
  /** Major version, e.g. 17 */
  readonly major: number;
  /** The connection this session was opened with (for messages). */
  readonly target: string;
  query<R extends QueryResultRow = QueryResultRow>(sql: string, params?: unknown[]): Promise<R[]>;
}

/** The node-postgres client configuration for a connection, TLS included, following libpq's sslmode rules. */
export function clientConfig(c: PostgresConnection, tls: boolean): ClientConfig {
  const base: ClientConfig = {
    host: c.host,
    port: c.port,
    database: c.database,
    user: c.user,
    password: c.password,
    connectionTimeoutMillis: c.connectTimeoutMs ?? 15000,
    application_name: "pulumi-postgres-cdc",
  };
  if (!tls) return base;
  const ssl: ConnectionOptions = { rejectUnauthorized: false };
  if (c.sslCert && c.sslKey) {
    ssl.cert = c.sslCert;
    ssl.key = c.sslKey;
  }
  // libpq: "require" with a root certificate behaves like verify-ca.
  const verify = c.sslMode === "verify-ca" || c.sslMode === "verify-full" || (c.sslMode === "require" && !!c.sslRootCert);
  if (verify) {
    ssl.ca = c.sslRootCert;
    ssl.rejectUnauthorized = true;
    if (c.sslMode === "verify-full") {
      ssl.servername = isIp(c.host) ? undefined : c.host;
    } else {
      ssl.checkServerIdentity = () => undefined;
    }
  }
  base.ssl = ssl;
  return base;
}

function isIp(host: string): boolean {
  return /^[0-9.]+$/.test(host) || host.includes(":");
}

/** "user@host:port/database", never with the password. */
export function describeTarget(c: PostgresConnection): string {
  return `${c.user}@${c.host}:${c.port}/${c.database}`;
}

/**
 * A connection this process opened, with what is known about it. Between
 * operations it waits in {@link idleSessions} for the next operation on the
 * same connection settings, so a pipeline's resources, created one after
 * another, share one session instead of paying connect, TLS and SCRAM again.
 */
interface OpenClient {
  client: import("pg").Client;
  versionNum: number;
  /** Why the connection dropped while no query was running (the 'error' event), for the next query's message. */
  lostWith?: Error;
  /** The server closed it or it failed: never reused. */
  dead: boolean;
  idleTimer?: NodeJS.Timeout;
}

/** Idle sessions by connection settings (the key holds the password: it never leaves this map). */
const idleSessions = new Map<string, OpenClient[]>();
/** At most this many idle sessions are kept per connection settings. */
const MAX_IDLE_PER_TARGET = 4;

/**
 * How long a session stays open for reuse after its operation ended:
 * PULUMI_POSTGRES_CDC_SESSION_IDLE_MS (default 2000; 0 closes every session
 * when its operation ends). An idle session never keeps the process alive.
 */
export function sessionIdleMs(): number {
  const raw = process.env.PULUMI_POSTGRES_CDC_SESSION_IDLE_MS;
  const n = raw === undefined || raw.trim() === "" ? 2000 : Number(raw);
  return Number.isFinite(n) && n >= 0 ? n : 2000;
}

function sessionKey(c: PostgresConnection): string {
  return JSON.stringify([c.host, c.port, c.database, c.user, c.password, c.sslMode, c.sslCert, c.sslKey, c.sslRootCert, c.connectTimeoutMs]);
}

function socketOf(client: import("pg").Client): { ref?(): void; unref?(): void } | undefined {
  return (client as unknown as { connection?: { stream?: { ref?(): void; unref?(): void } } }).connection?.stream;
}

/** A query error of `open`, with the cause kept when the connection had dropped between queries. */
function queryError(open: OpenClient, err: unknown, what: string, secrets: Array<string | undefined>): CdcError {
  return sqlError(open.lostWith && /not queryable/i.test(messageOf(err)) ? open.lostWith : err, what, secrets);
}

/** Closes a session for good (never handed out again). */
function discard(open: OpenClient, waitMs?: number): Promise<void> {
  if (open.idleTimer) clearTimeout(open.idleTimer);
  open.idleTimer = undefined;
  open.dead = true;
  return closeQuietly(open.client, waitMs);
}

/** Takes an idle session for these settings, if one is still alive. */
function takeIdle(key: string): OpenClient | undefined {
  const list = idleSessions.get(key);
  while (list?.length) {
    const open = list.pop() as OpenClient;
    if (open.idleTimer) clearTimeout(open.idleTimer);
    open.idleTimer = undefined;
    if (open.dead) continue;
    socketOf(open.client)?.ref?.();
    if (!list.length) idleSessions.delete(key);
    return open;
  }
  idleSessions.delete(key);
  return undefined;
}

/**
 * Hands a session back after its operation: kept idle for reuse when it is
 * healthy and outside any transaction (pg's ReadyForQuery status 'I'), closed
 * otherwise.
 */
async function release(key: string, open: OpenClient, reusable: boolean): Promise<void> {
  const idleMs = sessionIdleMs();
  const txStatus = (open.client as unknown as { _txStatus?: string | null })._txStatus;
  const list = idleSessions.get(key) ?? [];
  if (!reusable || open.dead || idleMs === 0 || txStatus !== "I" || list.length >= MAX_IDLE_PER_TARGET) return discard(open);
  list.push(open);
  idleSessions.set(key, list);
  socketOf(open.client)?.unref?.();
  open.idleTimer = setTimeout(() => {
    const l = idleSessions.get(key);
    const i = l?.indexOf(open) ?? -1;
    if (l && i >= 0) l.splice(i, 1);
    if (l && !l.length) idleSessions.delete(key);
    void discard(open);
  }, idleMs);
  open.idleTimer.unref();
}

/** Closes every idle session now (tests call it before they drop what the sessions are connected to). */
export async function closeIdleSessions(): Promise<void> {
  const all = [...idleSessions.values()].flat();
  idleSessions.clear();
  await Promise.all(all.map((open) => discard(open)));
}

/**
 * Runs `fn` on a session to `c`: an idle one this process opened with the
 * same settings in the last {@link sessionIdleMs} milliseconds, or a new
 * connection. A session that fails, or that `fn` leaves inside a transaction,
 * is closed rather than reused. PostgreSQL errors are rewritten into messages
 * that name `what` (the object being worked on), carry SQLSTATE, Detail and
 * Hint, and never the password.
 */
export async function withSession<T>(c: PostgresConnection, what: string, fn: (s: Session) => Promise<T>): Promise<T> {
  const secrets = [c.password, c.sslKey];
  const target = describeTarget(c);
  const key = sessionKey(c);
  // A reused session may have been closed by the server while it waited (restart, pg_terminate_backend):
  // its first statement then fails before reaching the server, and runs once more on a new connection.
  const idle = takeIdle(key);
  let unproven = !!idle;
  let open: OpenClient = idle ?? (await openSession(c, what, secrets));
  let ok = false;
  try {
    const session: Session = {
      get versionNum() {
        return open.versionNum;
      },
      get major() {
        return Math.floor(open.versionNum / 10000);
      },
      target,
      async query(sql, params) {
        postgresStats.statements++;
        try {
          const r = await open.client.query(sql, params as unknown[] | undefined);
          unproven = false;
          return r.rows;
        } catch (err) {
          const stale = unproven && isConnectionLost(err);
          unproven = false;
          if (!stale) throw queryError(open, err, what, secrets);
          void discard(open, 0);
          open = await openSession(c, what, secrets);
          try {
            return (await open.client.query(sql, params as unknown[] | undefined)).rows;
          } catch (again) {
            throw queryError(open, again, what, secrets);
          }
        }
      },
    };
    const result = await fn(session);
    ok = true;
    return result;
  } finally {
    await release(key, open, ok);
  }
}

/** Opens a new connection (TLS as sslMode says) and reads the server version. */
async function openSession(c: PostgresConnection, what: string, secrets: Array<string | undefined>): Promise<OpenClient> {
  // Required here, not at module scope, so importing this module stays cheap.
  const { Client } = require("pg") as typeof import("pg");
  const connectWith = async (tls: boolean): Promise<OpenClient> => {
    const client = new Client(clientConfig(c, tls));
    const open: OpenClient = { client, versionNum: 0, dead: false };
    // A dropped connection surfaces through the pending query instead; when it drops between queries
    // (pg_terminate_backend, server shutdown), the next query only says "not queryable": keep the cause for it.
    client.on("error", (e: Error) => {
      open.lostWith ??= e;
      open.dead = true;
    });
    client.on("end", () => (open.dead = true));
    try {
      await client.connect();
      postgresStats.connections++;
      return open;
    } catch (err) {
      await closeQuietly(client, 0); // nothing to end gracefully after a failed connect
      throw err;
    }
  };
  let open: OpenClient;
  try {
    if (c.sslMode === "disable") open = await connectWith(false);
    else if (c.sslMode === "prefer") {
      try {
        open = await connectWith(true);
      } catch (err) {
        if (!/does not support SSL/i.test(messageOf(err))) throw err;
        open = await connectWith(false);
      }
    } else open = await connectWith(true);
  } catch (err) {
    throw connectError(err, c, what, secrets);
  }
  try {
    // Part of opening the session (counted in postgresStats.connections, not as a statement).
    const v = await open.client.query<{ server_version_num: string }>("SHOW server_version_num");
    open.versionNum = Number(v.rows[0].server_version_num);
    return open;
  } catch (err) {
    await discard(open);
    throw queryError(open, err, what, secrets);
  }
}

/**
 * Ends a client without ever hanging: after a failed TLS handshake (e.g. the
 * server rejected the client certificate) pg's end() can wait forever for an
 * 'end' event that never comes, so the socket is destroyed after a short wait.
 */
async function closeQuietly(client: import("pg").Client, waitMs = 1000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const ended = client.end().then(
    () => true,
    () => true,
  );
  const waited = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), waitMs);
    timer.unref();
  });
  const clean = await Promise.race([ended, waited]);
  if (timer) clearTimeout(timer);
  if (!clean) (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
}

/** SQLSTATE of a PostgreSQL error (from pg or from a CdcError built from one). */
export function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown })?.code;
  return typeof code === "string" ? code : undefined;
}

/**
 * Whether an error says the database itself no longer exists (SQLSTATE 3D000
 * on connect): then so is everything in it (tables, publications, logical
 * slots, since PostgreSQL refuses to drop a database that has any).
 */
export function isDatabaseGone(err: unknown): boolean {
  return sqlState(err) === "3D000";
}

function pgDetails(err: unknown): string {
  const e = err as { code?: string; detail?: string; hint?: string };
  const parts: string[] = [];
  if (e.code && /^[0-9A-Z]{5}$/.test(e.code)) parts.push(`SQLSTATE ${e.code}`);
  if (e.detail) parts.push(`Detail: ${e.detail}`);
  if (e.hint) parts.push(`Hint: ${e.hint}`);
  return parts.length ? ` (${parts.join(". ")})` : "";
}

/** SQLSTATEs and driver messages that mean the session is gone (server shutdown or restart, pg_terminate_backend, network). */
const LOST_STATES = new Set(["57P01", "57P02", "57P03", "08000", "08003", "08006", "ECONNRESET", "EPIPE"]);
const LOST_MESSAGE = /Connection terminated|not queryable|terminating connection|server closed the connection|ECONNRESET|EPIPE/i;

/** True when an error means the connection to PostgreSQL was lost in the middle of an operation. */
export function isConnectionLost(err: unknown): boolean {
  const code = sqlState(err);
  return (code !== undefined && LOST_STATES.has(code)) || LOST_MESSAGE.test(messageOf(err));
}

function sqlError(err: unknown, what: string, secrets: Array<string | undefined>): CdcError {
  if (err instanceof CdcError) return err;
  let msg = `${what}: PostgreSQL said: ${messageOf(err)}${pgDetails(err)}`;
  if (isConnectionLost(err)) {
    msg +=
      ". The connection to PostgreSQL was lost in the middle of the operation (server restart or failover, or the session was terminated); " +
      "a statement that had not committed was rolled back. Check that the server is up, then run the command again: the operations are safe to repeat";
  }
  return new CdcError(redact(msg, secrets), { code: sqlState(err) });
}

function connectError(err: unknown, c: PostgresConnection, what: string, secrets: Array<string | undefined>): CdcError {
  const raw = messageOf(err);
  const code = sqlState(err);
  let next = "check host, port, database, user and password, and that the server accepts connections from here (pg_hba.conf)";
  if (code === "28P01" || /password authentication failed/i.test(raw)) next = "check the user name and password";
  else if (code === "3D000") next = `create database "${c.database}" or fix the database name`;
  else if (/ECONNREFUSED/.test(raw) || code === "ECONNREFUSED") next = "check that PostgreSQL is running and listening on that host and port";
  else if (code === "57P03" || /the database system is (starting up|shutting down|in recovery mode)/i.test(raw))
    next = "the server is starting up or shutting down (a restart); wait until it accepts connections, then run the command again";
  else if (/requires a valid client certificate|certificate authentication failed/i.test(raw))
    next = "give sslCert and sslKey: a client certificate whose common name is the user name, signed by a CA the server trusts (ssl_ca_file)";
  else if (/alert (unknown ca|bad certificate|certificate (unknown|expired|revoked))/i.test(raw))
    next = "the server rejected the client certificate: sslCert must be signed by a CA the server trusts (ssl_ca_file) and be valid";
  else if (/(pg_hba\.conf rejects connection|no pg_hba\.conf entry).*(no encryption|SSL off)/i.test(raw))
    next = 'the server accepts this user only over TLS: use sslMode "require", "verify-ca" or "verify-full"';
  else if (/pg_hba\.conf rejects connection/i.test(raw)) next = "the server's pg_hba.conf rejects this user from this address: ask its administrator for a rule, or connect as another user";
  else if (/self[- ]signed|unable to verify|certificate/i.test(raw)) next = "check sslRootCert (the CA that signed the server certificate) and, for verify-full, that the host name matches the certificate";
  else if (/does not support SSL/i.test(raw)) next = 'the server has TLS turned off: use sslMode "disable" or "prefer", or enable ssl on the server';
  else if (/no pg_hba.conf entry/i.test(raw)) next = "add a pg_hba.conf rule for this user and address, or connect with the TLS mode / client certificate the server requires";
  else if (/timeout/i.test(raw)) next = "check the host and port and any firewall between here and the server";
  const msg = `${what}: cannot connect to PostgreSQL at ${describeTarget(c)} (sslMode ${c.sslMode}): ${raw}${pgDetails(err)}. Next: ${next}.`;
  return new CdcError(redact(msg, secrets), { code });
}

/** Fails with the server version and the minimum needed when a feature is not available. */
export function requireMajor(s: Session, minMajor: number, feature: string, what: string): void {
  if (s.major < minMajor) {
    throw new CdcError(
      `${what}: ${feature} needs PostgreSQL ${minMajor} or later, but ${s.target} runs PostgreSQL ${s.major} (server_version_num ${s.versionNum}). Remove the option or upgrade the server.`,
    );
  }
}

let escapeIdentifier: ((name: string) => string) | undefined;

/** Quotes an identifier with the driver's escaping. */
export function ident(name: string): string {
  // Loaded on first use (importing this module stays cheap), then kept: a require() per call resolves the
  // package again each time (~0.1 ms), which added ~0.3 s to a 1,000-table pipeline.
  escapeIdentifier ??= (require("pg") as typeof import("pg")).escapeIdentifier;
  return escapeIdentifier(name);
}

/** `"schema"."table"`, quoted with the driver's escaping. */
export function qualified(t: TableRef): string {
  return `${ident(t.schema)}.${ident(t.table)}`;
}

/**
 * Runs `fn` again when PostgreSQL reports a catalog race ("tuple concurrently
 * updated"), a deadlock, or a duplicate key on a system catalog index (two
 * sessions inserting the same catalog row at once, e.g. the first
 * ALTER DEFAULT PRIVILEGES of a role in a schema: pg_default_acl_role_nsp_obj_index).
 */
export async function retryCatalogRace<T>(fn: () => Promise<T>, attempts = 6): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      const msg = messageOf(err);
      const raced =
        /tuple concurrently (updated|deleted)/.test(msg) ||
        sqlState(err) === "40P01" ||
        sqlState(err) === "40001" ||
        (sqlState(err) === "23505" && /unique constraint "pg_[a-z_]+_index"/.test(msg));
      if (!raced || i >= attempts) throw err;
      await new Promise((r) => setTimeout(r, 50 * i + Math.floor(Math.random() * 50)));
    }
  }
}
