/**
 * The transport of the Kafka Connect REST client, on undici: basic or bearer
 * auth, custom headers, TLS and mutual TLS, a path prefix for hosted Connect
 * APIs, per-request timeouts, capped jittered retries of transient failures
 * (409 rebalance / stale config / no leader, 500 "rebalance is expected" /
 * "Request timed out", connection resets) within a deadline, and errors that
 * never carry a secret. The endpoints are in client.ts.
 *
 * Knows nothing of Pulumi. Behaviour follows docs/connect-and-debezium.md.
 */
import { Agent, request, type Dispatcher } from "undici";
import { messageOf } from "../errors";
import { ConnectError, Scrubber, hintFor, isUnknownPath, networkHint, parseInvalidConfigMessage } from "./errors";
import { DEFAULT_BACKOFF, isRetryableNetworkCode, isRetryableStatus, retrying, type BackoffPolicy } from "./retry";

/** TLS settings for an https:// Connect URL. */
export interface ConnectTlsOptions {
  /** PEM of the CA that signed the Connect server certificate. Default: the system CAs. */
  ca?: string;
  /** PEM client certificate, for mutual TLS. */
  cert?: string;
  /** PEM client key, for mutual TLS (secret). */
  key?: string;
  /** Verify the server certificate. Default true. */
  rejectUnauthorized?: boolean;
}

/** Options of {@link ConnectClient}. */
export interface ConnectClientOptions {
  /**
   * Base URL of the Connect REST API, e.g. "http://localhost:8083". May carry a
   * path prefix (hosted Connect: "https://host/api/connect/v1/clusters/x"). A
   * user:password in the URL is used for basic auth and removed from messages.
   */
  url: string;
  /** HTTP basic auth user. */
  username?: string;
  /** HTTP basic auth password (secret). */
  password?: string;
  /** Extra headers, e.g. `{ Authorization: "Bearer ..." }`. Values are treated as secrets. */
  headers?: Readonly<Record<string, string>>;
  /** TLS and mutual TLS settings. */
  tls?: ConnectTlsOptions;
  /**
   * Timeout of one HTTP request, ms. Default 30000. Also bounds the retries of connection failures
   * while the server has not answered this client once (wrong url, refused client certificate).
   */
  requestTimeoutMs?: number;
  /** Time budget for retries of one operation, ms. Default 60000. */
  deadlineMs?: number;
  /** Backoff between retries. Default: 100 ms doubling, capped at 2 s, jittered. */
  backoff?: BackoffPolicy;
  /** Extra strings to scrub from every error (e.g. secrets the caller knows about). */
  secrets?: ReadonlyArray<string>;
  /** Random source for jitter (tests). Default Math.random. */
  random?: () => number;
  /** Called before each retry (the reason is scrubbed). */
  onRetry?: (info: { endpoint: string; attempt: number; delayMs: number; reason: string }) => void;
  /** An undici dispatcher to use instead of the client's own Agent. */
  dispatcher?: Dispatcher;
}

/**
 * Counters of what this process sent to Kafka Connect; the benchmark reads
 * them. `requests` counts HTTP requests (attempts), `retries` the retried ones.
 */
export const connectStats = { requests: 0, retries: 0 };

export interface Response {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

export interface CallOptions {
  query?: ReadonlyArray<[string, string]>;
  body?: unknown;
  /** Connector the request is about (for messages). */
  connector?: string;
  /** Config sent, whose secret-looking values are scrubbed from errors. */
  config?: Readonly<Record<string, unknown>>;
}

export const WRITE_METHODS = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/** Network codes that mean the request never reached the server (a write was not applied). */
const NOT_SENT_CODES = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "UND_ERR_CONNECT_TIMEOUT"]);

/** The path of an endpoint below the base URL: every segment URL-encoded on its own ("bad name/" -> "bad%20name%2F"). */
export function buildPath(segments: ReadonlyArray<string>, query: ReadonlyArray<[string, string]> = []): string {
  const p = "/" + segments.map((s) => encodeURIComponent(s)).join("/");
  const q = query.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join("&");
  return q ? `${p}?${q}` : p;
}

function errorCodeOf(err: unknown): string | undefined {
  let e: unknown = err;
  for (let i = 0; i < 4 && e && typeof e === "object"; i++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && code !== "UND_ERR_ABORTED") return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Requests to one Kafka Connect cluster, with retries; the base of {@link ConnectClient}. */
export class ConnectTransport {
  private readonly origin: string;
  private readonly prefix: string;
  protected readonly displayUrl: string;
  private readonly headers: Record<string, string>;
  private readonly scrubber: Scrubber;
  private readonly dispatcher: Dispatcher;
  private readonly ownDispatcher: boolean;
  private readonly requestTimeoutMs: number;
  private readonly deadlineMs: number;
  private readonly backoff: BackoffPolicy;
  private readonly random: () => number;
  private readonly onRetry?: ConnectClientOptions["onRetry"];
  /** True once the server answered any request (with any status). */
  private answered = false;

  constructor(options: ConnectClientOptions) {
    let url: URL;
    try {
      url = new URL(options.url);
    } catch {
      throw new ConnectError({ kind: "network", message: `Kafka Connect url is not a valid URL; give it as http(s)://host:port[/path/prefix].` });
    }
    if (url.protocol !== "http:" && url.protocol !== "https:")
      throw new ConnectError({ kind: "network", message: `Kafka Connect url must start with http:// or https:// (got ${url.protocol}//).` });
    let username = options.username;
    let password = options.password;
    if (url.username || url.password) {
      username ??= decodeURIComponent(url.username);
      password ??= decodeURIComponent(url.password);
      url.username = "";
      url.password = "";
    }
    this.origin = url.origin;
    this.prefix = url.pathname.replace(/\/+$/, "");
    this.displayUrl = `${url.origin}${this.prefix}`;
    this.headers = { accept: "application/json" };
    const secrets: string[] = [...(options.secrets ?? [])];
    if (username !== undefined && password !== undefined) {
      const token = Buffer.from(`${username}:${password}`).toString("base64");
      this.headers.authorization = `Basic ${token}`;
      secrets.push(password, token);
    }
    for (const [k, v] of Object.entries(options.headers ?? {})) {
      this.headers[k.toLowerCase()] = v;
      secrets.push(v);
      const bearer = /^\s*\S+\s+(\S+)\s*$/.exec(v);
      if (bearer) secrets.push(bearer[1]);
    }
    if (options.tls?.key) secrets.push(options.tls.key);
    this.scrubber = new Scrubber(secrets);
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30000;
    this.deadlineMs = options.deadlineMs ?? 60000;
    this.backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
    this.random = options.random ?? Math.random;
    this.onRetry = options.onRetry;
    if (options.dispatcher) {
      this.dispatcher = options.dispatcher;
      this.ownDispatcher = false;
    } else {
      const tls = options.tls ?? {};
      this.dispatcher = new Agent({
        connect: {
          ca: tls.ca,
          cert: tls.cert,
          key: tls.key,
          rejectUnauthorized: tls.rejectUnauthorized ?? true,
          timeout: Math.min(this.requestTimeoutMs, 10000),
        },
        keepAliveTimeout: 4000,
        headersTimeout: 0,
        bodyTimeout: 0,
      });
      this.ownDispatcher = true;
    }
  }

  /** The base URL (no credentials), for messages. */
  get url(): string {
    return this.displayUrl;
  }

  /** Closes idle connections. The client must not be used afterwards. */
  async close(): Promise<void> {
    if (this.ownDispatcher) await this.dispatcher.close();
  }

  /** Scrubs a text with this client's secrets plus an optional config's secret values. */
  scrub(text: string, config?: Readonly<Record<string, unknown>>): string {
    return this.scrubber.with(config).scrub(text);
  }


  protected async orUndefined(p: Promise<Response>): Promise<unknown> {
    try {
      return (await p).body;
    } catch (err) {
      if (err instanceof ConnectError && err.isNotFound) return undefined;
      throw err;
    }
  }

  /**
   * Whether to retry. Network failures of a server that has never answered this client (wrong url or
   * port, refused TLS client certificate, Connect down) are retried only within requestTimeoutMs of the
   * operation's start, so a misconfiguration fails in bounded time; once Connect has answered, they are
   * transient (a worker restart) and get the whole deadline.
   */
  private isRetryable(err: unknown, startedAt: number): boolean {
    if (!(err instanceof ConnectError)) return false;
    if (err.kind === "http") return err.status !== undefined && isRetryableStatus(err.status, err.connectMessage);
    if (err.kind === "network" || err.kind === "timeout") {
      if (!this.answered && Date.now() - startedAt >= this.requestTimeoutMs) return false;
      return isRetryableNetworkCode(err.networkCode);
    }
    return false;
  }

  protected withRetries<T>(endpoint: string, fn: () => Promise<T>): Promise<T> {
    const startedAt = Date.now();
    return retrying(fn, {
      deadlineMs: this.deadlineMs,
      backoff: this.backoff,
      random: this.random,
      retryable: (err) => this.isRetryable(err, startedAt),
      onRetry: (err, attempt, delayMs) => {
        connectStats.retries++;
        this.onRetry?.({ endpoint, attempt, delayMs, reason: err instanceof Error ? err.message : String(err) });
      },
    });
  }

  /** One request with retries of transient failures. */
  protected call(method: string, segments: string[], opts: CallOptions): Promise<Response> {
    return this.withRetries(`${method} ${buildPath(segments, opts.query)}`, () => this.attempt(method, segments, opts));
  }

  /** One HTTP request; non-2xx answers and network failures throw a scrubbed ConnectError. */
  protected async attempt(method: string, segments: string[], opts: CallOptions): Promise<Response> {
    const path = buildPath(segments, opts.query);
    const endpoint = `${method} ${path}`;
    const scrubber = this.scrubber.with(opts.config);
    const headers: Record<string, string> = { ...this.headers };
    let body: string | undefined;
    if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers["content-type"] = "application/json";
    }
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, this.requestTimeoutMs);
    connectStats.requests++;
    const where = opts.connector !== undefined ? ` for connector "${opts.connector}"` : "";
    try {
      const res = await request(`${this.origin}${this.prefix}${path}`, {
        method: method as Dispatcher.HttpMethod,
        headers,
        body,
        dispatcher: this.dispatcher,
        signal: controller.signal,
      });
      this.answered = true;
      const text = await res.body.text();
      let parsed: unknown = undefined;
      if (text.length > 0) {
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = text;
        }
      }
      if (res.statusCode >= 200 && res.statusCode < 300) return { status: res.statusCode, headers: res.headers, body: parsed };
      throw this.httpError(res.statusCode, parsed, method, endpoint, opts.connector, scrubber);
    } catch (err) {
      if (err instanceof ConnectError) throw err;
      const write = WRITE_METHODS.has(method);
      if (timedOut) {
        throw new ConnectError({
          kind: "timeout",
          endpoint,
          connector: opts.connector,
          networkCode: "REQUEST_TIMEOUT",
          outcomeUnknown: write,
          message: `Kafka Connect ${endpoint}${where} got no answer within ${this.requestTimeoutMs} ms (requestTimeoutMs)${write ? "; the change may or may not have been applied" : ""}. Connect may be overloaded or rebalancing; raise requestTimeoutMs or check the worker.`,
        });
      }
      const code = errorCodeOf(err);
      const detail = scrubber.scrub(messageOf(err));
      throw new ConnectError({
        kind: "network",
        endpoint,
        connector: opts.connector,
        networkCode: code,
        outcomeUnknown: write && !NOT_SENT_CODES.has(code ?? ""),
        message: `Kafka Connect ${endpoint}${where} failed: ${detail}${code && !detail.includes(code) ? ` (${code})` : ""}. ${networkHint(code, this.displayUrl)}`,
      });
    } finally {
      clearTimeout(timer);
    }
  }

  private httpError(status: number, body: unknown, method: string, endpoint: string, connector: string | undefined, scrubber: Scrubber): ConnectError {
    let errorCode: number | undefined;
    let raw: string;
    if (body && typeof body === "object" && "message" in body) {
      const b = body as { error_code?: unknown; message?: unknown };
      errorCode = typeof b.error_code === "number" ? b.error_code : undefined;
      raw = b.message === null || b.message === undefined ? "" : String(b.message);
    } else {
      raw = typeof body === "string" ? body : body === undefined ? "" : JSON.stringify(body);
    }
    const connectMessage = scrubber.scrub(raw.length > 4000 ? raw.slice(0, 4000) + " ..." : raw);
    const where = connector !== undefined ? ` for connector "${connector}"` : "";
    const hint = scrubber.scrub(hintFor(status, raw, method));
    const lines = status === 400 ? parseInvalidConfigMessage(connectMessage) : undefined;
    let message: string;
    if (lines) {
      message =
        `Kafka Connect ${endpoint}${where} rejected the connector configuration with ${lines.length} error(s):\n` +
        lines.map((l) => `  - ${l}`).join("\n") +
        `\n${hint}`;
    } else {
      const shown = (connectMessage || (isUnknownPath(raw) && status === 404 ? "HTTP 404 Not Found" : "(no message)")).replace(/\.+$/, "");
      message = `Kafka Connect ${endpoint}${where} failed with HTTP ${status}${errorCode !== undefined && errorCode !== status ? ` (error_code ${errorCode})` : ""}: ${shown}. ${hint}`;
    }
    const outcomeUnknown = WRITE_METHODS.has(method) && status === 500 && /Request timed out/i.test(raw);
    return new ConnectError({ kind: "http", status, errorCode, connectMessage, connector, endpoint, configErrors: lines, outcomeUnknown, message });
  }
}
