/**
 * Kafka Connect REST client on undici: basic or bearer auth, custom headers,
 * TLS and mutual TLS, a path prefix for hosted Connect APIs, per-request
 * timeouts, capped jittered retries of transient failures (409 rebalance /
 * stale config / no leader, 500 "rebalance is expected" / "Request timed
 * out", connection resets) within a deadline, adoption of a create whose
 * answer was lost, and errors that never carry a secret.
 *
 * Knows nothing of Pulumi. Behaviour follows docs/connect-and-debezium.md and the
 * recordings in test/fixtures/connect-transcripts/.
 */
import { configDifferences, stringifyConfig } from "./config-compare";
import { Agent, request, type Dispatcher } from "undici";
import { messageOf } from "../errors";
import { ConnectError, Scrubber, hintFor, isUnknownPath, networkHint, parseInvalidConfigMessage } from "./errors";
import { DEFAULT_BACKOFF, isRetryableNetworkCode, isRetryableStatus, retrying, type BackoffPolicy } from "./retry";
import type {
  ConfigInfos,
  ConnectorConfig,
  ConnectorConfigInput,
  ConnectorExpanded,
  ConnectorInfo,
  ConnectorOffset,
  ConnectorOffsets,
  ConnectorStateInfo,
  ConfigKeyInfo,
  PluginInfo,
  PropertyErrors,
  ServerInfo,
  TargetState,
  TaskInfo,
  TaskStatus,
} from "./types";

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

/** Result of {@link ConnectClient.putConfig}. */
export interface PutConfigResult {
  /** True when Connect answered 201 (the connector did not exist). */
  created: boolean;
  info: ConnectorInfo;
}

/** Result of {@link ConnectClient.create}. */
export interface CreateResult {
  /** True when this call created the connector (also when its answer was lost and it was adopted). */
  created: boolean;
  /** True when a write whose answer was lost had in fact created the connector, found with an equal config. */
  adopted: boolean;
  info: ConnectorInfo;
}

/** Options of {@link ConnectClient.restart}. */
export interface RestartOptions {
  /** Restart the tasks as well (Connect 3.0+). Default false. */
  includeTasks?: boolean;
  /** Restart only FAILED instances (Connect 3.0+). Default false. */
  onlyFailed?: boolean;
}

interface Response {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

interface CallOptions {
  query?: ReadonlyArray<[string, string]>;
  body?: unknown;
  /** Connector the request is about (for messages). */
  connector?: string;
  /** Config sent, whose secret-looking values are scrubbed from errors. */
  config?: Readonly<Record<string, unknown>>;
}

const WRITE_METHODS = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/** Network codes that mean the request never reached the server (a write was not applied). */
const NOT_SENT_CODES = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "UND_ERR_CONNECT_TIMEOUT"]);


/** Stringifies config values the way Connect stores them (see config-compare.ts). */
export const normalizeConfig = stringifyConfig;

/** True when a stored config equals the wanted one as Connect compares them: server keys and masked secrets ignored. */
export function sameConnectorConfig(stored: Readonly<Record<string, string>>, wanted: Readonly<Record<string, string>>): boolean {
  return configDifferences(stored, wanted).length === 0;
}

/** The path of an endpoint below the base URL: every segment URL-encoded on its own ("bad name/" -> "bad%20name%2F"). */
export function buildPath(segments: ReadonlyArray<string>, query: ReadonlyArray<[string, string]> = []): string {
  const p = "/" + segments.map((s) => encodeURIComponent(s)).join("/");
  const q = query.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join("&");
  return q ? `${p}?${q}` : p;
}

/** Parses a Connect version ("3.7.1", Confluent "7.6.0-ccs") into the Apache Kafka [major, minor]. */
export function kafkaVersion(version: string): [number, number] {
  const m = /^(\d+)\.(\d+)/.exec(version);
  if (!m) return [0, 0];
  let major = Number(m[1]);
  const minor = Number(m[2]);
  // Confluent Platform numbers: 7.x ships Kafka 3.x, 8.x ships Kafka 4.x.
  if (/-(ccs|ce)\b/.test(version) || major >= 5) {
    if (major === 7) major = 3;
    else if (major === 8) major = 4;
    else if (major >= 5 && major < 7) major = 2;
  }
  return [major, minor];
}

/** The per-property errors of a validate answer (only properties with errors). */
export function validationErrors(infos: ConfigInfos): PropertyErrors[] {
  const out: PropertyErrors[] = [];
  for (const c of infos.configs) {
    const errors = c.value?.errors ?? [];
    if (errors.length > 0) out.push({ name: c.value?.name ?? c.definition?.name ?? "?", errors: [...errors] });
  }
  return out;
}

/** "property: error" for every error of a validate answer. */
export function validationLines(infos: ConfigInfos): string[] {
  return validationErrors(infos).flatMap((p) => p.errors.map((e) => `${p.name}: ${e}`));
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

/**
 * A client of one Kafka Connect cluster's REST API. Every method retries
 * transient failures within `deadlineMs`; 404 answers for a missing connector
 * become `undefined`/`false` where the method says so.
 */
export class ConnectClient {
  private readonly origin: string;
  private readonly prefix: string;
  private readonly displayUrl: string;
  private readonly headers: Record<string, string>;
  private readonly scrubber: Scrubber;
  private readonly dispatcher: Dispatcher;
  private readonly ownDispatcher: boolean;
  private readonly requestTimeoutMs: number;
  private readonly deadlineMs: number;
  private readonly backoff: BackoffPolicy;
  private readonly random: () => number;
  private readonly onRetry?: ConnectClientOptions["onRetry"];
  private info?: ServerInfo;
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

  // ---------------------------------------------------------------- worker

  /** GET / : version, commit and Kafka cluster id. */
  async serverInfo(): Promise<ServerInfo> {
    const res = await this.call("GET", [], {});
    this.info = res.body as ServerInfo;
    return this.info;
  }

  /** The Apache Kafka [major, minor] of the worker (from GET /, cached). */
  async kafkaVersion(): Promise<[number, number]> {
    const info = this.info ?? (await this.serverInfo());
    return kafkaVersion(info.version);
  }

  /** True when the worker runs at least Kafka major.minor. */
  async atLeast(major: number, minor: number): Promise<boolean> {
    const [a, b] = await this.kafkaVersion();
    return a > major || (a === major && b >= minor);
  }

  private async requireVersion(major: number, minor: number, feature: string, connector?: string): Promise<void> {
    if (await this.atLeast(major, minor)) return;
    throw new ConnectError({
      kind: "unsupported",
      connector,
      message: `${feature} needs Kafka Connect ${major}.${minor} or later, but ${this.displayUrl} runs ${this.info?.version}. Upgrade the Connect workers.`,
    });
  }

  /** GET /connector-plugins: installed connector plugins (all plugin kinds with connectorsOnly=false, Connect 3.2+). */
  async plugins(connectorsOnly = true): Promise<PluginInfo[]> {
    const res = await this.call("GET", ["connector-plugins"], { query: connectorsOnly ? [] : [["connectorsOnly", "false"]] });
    return res.body as PluginInfo[];
  }

  /** GET /connector-plugins/{class}/config (Connect 3.2+): the plugin's config definitions. */
  async pluginConfig(connectorClass: string): Promise<ConfigKeyInfo[]> {
    const res = await this.call("GET", ["connector-plugins", connectorClass, "config"], {});
    return res.body as ConfigKeyInfo[];
  }

  /**
   * PUT /connector-plugins/{class}/config/validate. Answers 200 with
   * error_count even when the config is invalid; see {@link validationErrors}.
   * connector.class is added when missing.
   */
  async validate(connectorClass: string, config: Readonly<ConnectorConfigInput>): Promise<ConfigInfos> {
    const body = normalizeConfig(config);
    if (!("connector.class" in body)) body["connector.class"] = connectorClass;
    const res = await this.call("PUT", ["connector-plugins", connectorClass, "config", "validate"], { body, config: body, connector: body.name });
    return res.body as ConfigInfos;
  }

  // ---------------------------------------------------------------- connectors

  /** GET /connectors: connector names. */
  async listNames(): Promise<string[]> {
    const res = await this.call("GET", ["connectors"], {});
    return res.body as string[];
  }

  /** GET /connectors?expand=status&expand=info: every connector with its status (absent while it has none yet) and info. */
  async list(): Promise<Record<string, ConnectorExpanded>> {
    const res = await this.call("GET", ["connectors"], { query: [["expand", "status"], ["expand", "info"]] });
    return res.body as Record<string, ConnectorExpanded>;
  }

  /**
   * PUT /connectors/{name}/config: creates or updates (idempotent upsert).
   * `name` is set to the connector name. `created` is true on 201.
   */
  async putConfig(name: string, config: Readonly<ConnectorConfigInput>): Promise<PutConfigResult> {
    const body = { ...normalizeConfig(config), name };
    const res = await this.call("PUT", ["connectors", name, "config"], { body, config: body, connector: name }).catch((err: unknown) => this.explainConfigCrash(err, `PUT /connectors/${name}/config`, name, body));
    return { created: res.status === 201, info: res.body as ConnectorInfo };
  }

  /**
   * Kafka Connect 4.3 with Debezium 3.6 answers a create or config update
   * whose validation found any error with HTTP 500 and a NullPointerException
   * about ConfigInfo.configValue() (Debezium returns one key without a value,
   * which Connect's error report dereferences), instead of the 400 listing the
   * errors. The validate endpoint still lists them, so
   * the error the user sees names the properties as for a 400.
   */
  private async explainConfigCrash(err: unknown, endpoint: string, name: string, config: Record<string, string>): Promise<never> {
    if (!(err instanceof ConnectError) || err.status !== 500 || !/ConfigInfo\.configValue\(\)|ConfigValueInfo\.errors\(\)/.test(err.connectMessage ?? "")) throw err;
    const connectorClass = config["connector.class"];
    const result = connectorClass ? await this.validate(connectorClass, config).catch(() => undefined) : undefined;
    const lines = result ? validationLines(result) : [];
    if (!lines.length) throw err;
    throw new ConnectError({
      kind: "http",
      status: 500,
      errorCode: err.errorCode,
      connectMessage: err.connectMessage,
      connector: name,
      endpoint,
      configErrors: lines,
      message: this.scrub(
        `Kafka Connect ${endpoint} for connector "${name}" rejected the connector configuration with ${lines.length} error(s) (Connect answered HTTP 500 instead of listing them; these come from its validate endpoint):\n` +
          lines.map((l) => `  - ${l}`).join("\n") +
          `\nFix these properties; the connector was not ${endpoint.startsWith("POST") ? "created" : "changed"}.`,
      ),
    });
  }

  /**
   * POST /connectors. `initialState` PAUSED or STOPPED is sent as
   * initial_state on Connect 3.7+; older workers get a create followed by a
   * pause or stop. When a create's answer is lost (timeout, reset, "Request
   * timed out"), the server state is checked before any retry, and a 409
   * "already exists" is resolved by comparing the stored config with the
   * wanted one: equal means our create happened and it is adopted.
   */
  async create(name: string, config: Readonly<ConnectorConfigInput>, initialState?: TargetState): Promise<CreateResult> {
    const wanted = { ...normalizeConfig(config), name };
    let sendState: TargetState | undefined;
    let after: TargetState | undefined;
    if (initialState && initialState !== "RUNNING") {
      if (await this.atLeast(3, 7)) sendState = initialState;
      else {
        if (initialState === "STOPPED") await this.requireVersion(3, 5, `Creating connector "${name}" in state STOPPED`, name);
        after = initialState;
      }
    }
    const body: Record<string, unknown> = { name, config: wanted };
    if (sendState) body.initial_state = sendState;
    let unknown = false;
    const endpoint = "POST /connectors";
    const adopt = async (): Promise<CreateResult | undefined> => {
      const stored = await this.attempt("GET", ["connectors", name, "config"], { connector: name }).then(
        (r) => r.body as ConnectorConfig,
        (err: unknown) => {
          if (err instanceof ConnectError && err.isNotFound) return undefined;
          throw err;
        },
      );
      if (!stored) return undefined;
      if (!sameConnectorConfig(stored, wanted))
        throw new ConnectError({
          kind: "http",
          status: 409,
          errorCode: 409,
          connector: name,
          endpoint,
          connectMessage: `Connector ${name} already exists`,
          message: `Kafka Connect ${endpoint} for connector "${name}": an earlier attempt got no answer and the connector now exists with a different configuration, so another writer created it. Compare GET /connectors/${encodeURIComponent(name)}/config with the wanted config, then update it or choose another name.`,
        });
      const info = await this.attempt("GET", ["connectors", name], { connector: name });
      return { created: true, adopted: true, info: info.body as ConnectorInfo };
    };
    const result = await this.withRetries(endpoint, async () => {
      if (unknown) {
        const adopted = await adopt();
        if (adopted) return adopted;
      }
      try {
        const res = await this.attempt("POST", ["connectors"], { body, config: wanted, connector: name });
        return { created: true, adopted: false, info: res.body as ConnectorInfo } satisfies CreateResult;
      } catch (err) {
        if (err instanceof ConnectError) {
          if (err.status === 409 && /already exists/.test(err.connectMessage ?? "")) {
            if (unknown) {
              const adopted = await adopt();
              if (adopted) return adopted;
            }
            throw err;
          }
          if (err.outcomeUnknown) unknown = true;
        }
        throw err;
      }
    }).catch((err: unknown) => this.explainConfigCrash(err, endpoint, name, wanted));
    if (after === "PAUSED") await this.pause(name);
    if (after === "STOPPED") await this.stop(name);
    return result;
  }

  /** GET /connectors/{name}; undefined when the connector does not exist. */
  async getConnector(name: string): Promise<ConnectorInfo | undefined> {
    return this.orUndefined(this.call("GET", ["connectors", name], { connector: name })) as Promise<ConnectorInfo | undefined>;
  }

  /** GET /connectors/{name}/config (passwords in plain text); undefined when the connector does not exist. */
  async getConfig(name: string): Promise<ConnectorConfig | undefined> {
    return this.orUndefined(this.call("GET", ["connectors", name, "config"], { connector: name })) as Promise<ConnectorConfig | undefined>;
  }

  /**
   * GET /connectors/{name}/status; undefined on 404 "No status found" (the
   * connector does not exist, or in distributed mode is not started yet).
   */
  async getStatus(name: string): Promise<ConnectorStateInfo | undefined> {
    return this.orUndefined(this.call("GET", ["connectors", name, "status"], { connector: name })) as Promise<ConnectorStateInfo | undefined>;
  }

  /** GET /connectors/{name}/tasks: task configs ([] before tasks are generated and while STOPPED). */
  async getTasks(name: string): Promise<TaskInfo[]> {
    const res = await this.call("GET", ["connectors", name, "tasks"], { connector: name });
    return res.body as TaskInfo[];
  }

  /** GET /connectors/{name}/tasks/{id}/status; undefined on 404. */
  async getTaskStatus(name: string, taskId: number): Promise<TaskStatus | undefined> {
    return this.orUndefined(this.call("GET", ["connectors", name, "tasks", String(taskId), "status"], { connector: name })) as Promise<TaskStatus | undefined>;
  }

  /** PUT /connectors/{name}/pause (202, asynchronous; tasks stay allocated). */
  async pause(name: string): Promise<void> {
    await this.call("PUT", ["connectors", name, "pause"], { connector: name });
  }

  /** PUT /connectors/{name}/resume (202, asynchronous; also resumes a STOPPED connector). */
  async resume(name: string): Promise<void> {
    await this.call("PUT", ["connectors", name, "resume"], { connector: name });
  }

  /** PUT /connectors/{name}/stop (Connect 3.5+): connector STOPPED, tasks removed. */
  async stop(name: string): Promise<void> {
    await this.requireVersion(3, 5, `Stopping connector "${name}"`, name);
    await this.call("PUT", ["connectors", name, "stop"], { connector: name });
  }

  /**
   * POST /connectors/{name}/restart. Without options (204) only the connector
   * instance restarts; with includeTasks/onlyFailed (Connect 3.0+, 202) the
   * answer is the status with the restarted instances RESTARTING.
   */
  async restart(name: string, opts: RestartOptions = {}): Promise<ConnectorStateInfo | undefined> {
    const query: [string, string][] = [];
    if (opts.includeTasks || opts.onlyFailed) {
      await this.requireVersion(3, 0, `Restarting the tasks of connector "${name}"`, name);
      query.push(["includeTasks", String(!!opts.includeTasks)], ["onlyFailed", String(!!opts.onlyFailed)]);
    }
    const res = await this.call("POST", ["connectors", name, "restart"], { query, connector: name });
    return res.status === 202 ? (res.body as ConnectorStateInfo) : undefined;
  }

  /** POST /connectors/{name}/tasks/{id}/restart (204). */
  async restartTask(name: string, taskId: number): Promise<void> {
    await this.call("POST", ["connectors", name, "tasks", String(taskId), "restart"], { connector: name });
  }

  /** GET /connectors/{name}/offsets (Connect 3.5+). */
  async getOffsets(name: string): Promise<ConnectorOffsets> {
    await this.requireVersion(3, 5, `Reading the offsets of connector "${name}"`, name);
    const res = await this.call("GET", ["connectors", name, "offsets"], { connector: name });
    return res.body as ConnectorOffsets;
  }

  /** PATCH /connectors/{name}/offsets (Connect 3.6+; the connector must be STOPPED). Returns Connect's message. */
  async alterOffsets(name: string, offsets: ConnectorOffset[]): Promise<string> {
    await this.requireVersion(3, 6, `Altering the offsets of connector "${name}"`, name);
    const res = await this.call("PATCH", ["connectors", name, "offsets"], { body: { offsets }, connector: name });
    return (res.body as { message: string }).message;
  }

  /** DELETE /connectors/{name}/offsets (Connect 3.6+; the connector must be STOPPED). Returns Connect's message. */
  async deleteOffsets(name: string): Promise<string> {
    await this.requireVersion(3, 6, `Resetting the offsets of connector "${name}"`, name);
    const res = await this.call("DELETE", ["connectors", name, "offsets"], { connector: name });
    return (res.body as { message: string }).message;
  }

  /**
   * DELETE /connectors/{name}. A missing connector is success: returns false
   * when there was nothing to delete (true also when a lost answer's delete
   * happened and the retry found the connector gone).
   */
  async delete(name: string): Promise<boolean> {
    let unknown = false;
    return this.withRetries(`DELETE ${buildPath(["connectors", name])}`, async () => {
      try {
        await this.attempt("DELETE", ["connectors", name], { connector: name });
        return true;
      } catch (err) {
        if (err instanceof ConnectError && err.isNotFound) return unknown;
        if (err instanceof ConnectError && err.outcomeUnknown) unknown = true;
        throw err;
      }
    });
  }

  // ---------------------------------------------------------------- plumbing

  private async orUndefined(p: Promise<Response>): Promise<unknown> {
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

  private withRetries<T>(endpoint: string, fn: () => Promise<T>): Promise<T> {
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
  private call(method: string, segments: string[], opts: CallOptions): Promise<Response> {
    return this.withRetries(`${method} ${buildPath(segments, opts.query)}`, () => this.attempt(method, segments, opts));
  }

  /** One HTTP request; non-2xx answers and network failures throw a scrubbed ConnectError. */
  private async attempt(method: string, segments: string[], opts: CallOptions): Promise<Response> {
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
