/**
 * A Kafka Connect REST test double (node:http / node:https): by default Kafka
 * Connect 3.7.1 standalone + Debezium 2.6 as recorded in
 * test/fixtures/connect-transcripts/, and with `mode: "distributed"`,
 * `version: "4.3.0"` and the Debezium plugin's `version: "3.6.1.Final"` the
 * stack users run today, as measured on the real one. What it reproduces,
 * what it does not, and how it is checked against the recordings and the real
 * stack (test/tooling/connect-differential.test.ts) are in README.md
 * beside this file; this file owns HTTP (routing, parsing, headers, faults,
 * auth, TLS), herder.ts the connectors, tasks and offsets.
 */
import * as http from "node:http";
import * as https from "node:https";
import type { AddressInfo, Socket } from "node:net";
import type { ConnectorPlugin } from "./plugin";
import { DEFAULT_TIMING, Herder, reply, type ConnectDoubleTiming, type Reply, type StoredOffset } from "./herder";
import { jacksonMapMismatch, jacksonStringMismatch, parseJsonLikeJackson, type ValuePositions } from "./java";

export type { ConnectDoubleTiming, Reply, StoredOffset } from "./herder";

/** One injectable fault. Rules are tried in order; the first that matches and fires applies. */
export interface FaultRule {
  /**
   * - conflict: 409 "Cannot complete request momentarily due to stale configuration ..." (default: writes)
   * - no-leader: 409 "... due to no known leader URL, likely because a rebalance was underway." (default: writes)
   * - rebalance: 500 "Request cannot be completed because a rebalance is expected" (default: GET of a connector, its config or tasks)
   * - request-timeout: the write is applied, then 500 "Request timed out" (default: writes)
   * - drop-before: the socket is destroyed without applying the request
   * - drop-after: the request is applied, then the socket is destroyed without an answer
   * - slow: the request is applied and answered after delayMs
   */
  kind: "conflict" | "no-leader" | "rebalance" | "request-timeout" | "drop-before" | "drop-after" | "slow";
  /** HTTP method(s) it applies to. Default: by kind (see above); drop/slow: all. */
  method?: string | string[];
  /** Matched against the path below the prefix, query included (e.g. /^\/connectors$/). Default: by kind; drop/slow: all. */
  path?: RegExp | string;
  /** Fires at most this many times. Default: once, or unlimited when probability is given. */
  count?: number;
  /** Chance to fire when it matches (seeded random). Default 1. */
  probability?: number;
  /** For slow: how long to delay the answer, ms. */
  delayMs?: number;
  /** Overrides the error message. */
  message?: string;
}

/** Options of {@link startConnectDouble}. */
export interface ConnectDoubleOptions {
  /** Default "standalone" (what was recorded). */
  mode?: "standalone" | "distributed";
  /** Connector plugins the worker has installed. */
  plugins?: ConnectorPlugin[];
  /** Connect version reported by GET / and used for version gates. Default "3.7.1". */
  version?: string;
  /** HTTPS with this certificate; `requestCert` turns on mutual TLS (clients must present a certificate signed by `ca`). */
  tls?: { cert: string; key: string; ca?: string; requestCert?: boolean };
  /** Require basic auth and/or a bearer token. */
  auth?: { basic?: { username: string; password: string }; bearer?: string };
  /** Serve the API under this prefix, e.g. "/api/connect/v1/clusters/x". */
  pathPrefix?: string;
  /** Listen host. Default 127.0.0.1. */
  host?: string;
  /** Listen port. Default: a free one. */
  port?: number;
  timing?: Partial<ConnectDoubleTiming>;
  faults?: FaultRule[];
  /** Seed of the random source for probabilistic faults. Default 1. */
  seed?: number;
  /** Standalone: keep the recorded phantom FAILED task after restarting a nonexistent task. Default true. */
  phantomTasks?: boolean;
}

/** One handled request. */
export interface RequestRecord {
  method: string;
  path: string;
  status?: number;
  fault?: FaultRule["kind"];
}

/** A running double. */
export interface ConnectDouble {
  /** Base URL including the path prefix. */
  readonly url: string;
  readonly port: number;
  /** host:port, as in worker_id. */
  readonly workerId: string;
  /** Records produced by tasks, per topic. */
  readonly topics: Map<string, Array<{ key: unknown; value: unknown }>>;
  /** Worker log lines (connector/task events and TaskContext.log lines). */
  readonly workerLog: string[];
  /** Every request received, in order, with its status or the fault applied. */
  readonly requests: RequestRecord[];
  /** Active fault rules; may be replaced or edited at runtime. */
  faults: FaultRule[];
  /** Timings; may be edited at runtime. */
  readonly timing: ConnectDoubleTiming;
  readonly herder: Herder;
  injectFaults(...rules: FaultRule[]): void;
  clearFaults(): void;
  /** Offsets stored for a connector name (also after it was deleted). */
  storedOffsets(name: string): StoredOffset[];
  connectorNames(): string[];
  /** Stops the worker (REST down, tasks stopped; standalone forgets its connectors). */
  stopWorker(): Promise<void>;
  /** Starts the worker again on the same port. */
  startWorker(): Promise<void>;
  close(): Promise<void>;
}

/** mulberry32: a small seeded random source. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WRITES = ["POST", "PUT", "PATCH", "DELETE"];

/** Jetty 12's page for an encoded slash in the path (recorded from Connect 4.3). */
const AMBIGUOUS_HTML =
  '<html>\n<head>\n<meta http-equiv="Content-Type" content="text/html;charset=ISO-8859-1"/>\n<title>Error 400 Ambiguous URI path separator</title>\n</head>\n<body>\n<h2>HTTP ERROR 400 Ambiguous URI path separator</h2>\n<table>\n<tr><th>URI:</th><td>/badURI</td></tr>\n<tr><th>STATUS:</th><td>400</td></tr>\n<tr><th>MESSAGE:</th><td>Ambiguous URI path separator</td></tr>\n</table>\n<hr/><a href="https://jetty.org/">Powered by Jetty:// 12.0.34</a><hr/>\n\n</body>\n</html>\n';
const STALE = "Cannot complete request momentarily due to stale configuration (typically caused by a concurrent config change)";
const NO_LEADER = "Cannot complete request momentarily due to no known leader URL, likely because a rebalance was underway.";
const REBALANCE = "Request cannot be completed because a rebalance is expected";

function defaultMatch(kind: FaultRule["kind"]): { methods?: string[]; path?: RegExp } {
  switch (kind) {
    case "conflict":
    case "no-leader":
    case "request-timeout":
      return { methods: WRITES, path: /^\/connectors(\/|$|\?)/ };
    case "rebalance":
      return { methods: ["GET"], path: /^\/connectors\/[^/?]+(\/config|\/tasks)?(\?|$)/ };
    default:
      return {};
  }
}

interface Route {
  pattern: string[];
  methods: Record<string, (m: Match) => Promise<Reply> | Reply>;
  /** Routes that read a JSON body. */
  body?: boolean;
}

interface Match {
  params: string[];
  query: URLSearchParams;
  text: string;
  host: string;
}

type Parsed = { ok: true; value: unknown; positions: ValuePositions } | { ok: false; reply: Reply };

function parse(text: string, exactColumns = false): Parsed {
  if (text.trim().length === 0) return { ok: true, value: null, positions: new Map() };
  const p = parseJsonLikeJackson(text, { exactColumns });
  if (!p.ok) return { ok: false, reply: reply.error(500, p.message) };
  return p;
}

/** Jackson's Map<String,String> binding: scalars become strings, null is dropped, objects/arrays fail. */
function stringMap(
  value: unknown,
  text: string,
  positions: ValuePositions,
  at: string,
  chain: (k: string) => string,
): { ok: true; map: Record<string, string> } | { ok: false; reply: Reply } {
  if (value === null || typeof value !== "object" || Array.isArray(value))
    return { ok: false, reply: reply.error(500, jacksonMapMismatch(text, value, "java.util.LinkedHashMap<java.lang.String,java.lang.String>")) };
  const map: Record<string, string> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (v === null || v === undefined) continue;
    if (typeof v === "object") return { ok: false, reply: reply.error(500, jacksonStringMismatch(text, positions.get(at ? `${at}/${k}` : k), v, chain(k))) };
    map[k] = String(v);
  }
  return { ok: true, map };
}

function nameCheck(urlName: string, config: Record<string, string>): Reply | undefined {
  const n = config.name;
  if (n !== undefined && n !== urlName) return reply.error(400, `Connector name configuration (${n}) doesn't match connector name in the URL (${urlName})`);
  config.name = urlName;
  return undefined;
}

/** Starts a Connect double. */
export async function startConnectDouble(opts: ConnectDoubleOptions = {}): Promise<ConnectDouble> {
  const mode = opts.mode ?? "standalone";
  const version = opts.version ?? "3.7.1";
  const prefix = (opts.pathPrefix ?? "").replace(/\/+$/, "");
  const host = opts.host ?? "127.0.0.1";
  const timing: ConnectDoubleTiming = { ...DEFAULT_TIMING, ...opts.timing };
  const random = seededRandom(opts.seed ?? 1);
  let port = opts.port ?? 0;
  const herder = new Herder({
    mode,
    plugins: opts.plugins ?? [],
    version,
    timing,
    workerId: () => `${host}:${port}`,
    phantomTasks: opts.phantomTasks ?? true,
  });
  const requests: RequestRecord[] = [];
  const jackson = (text: string) => parse(text, herder.atLeast(4, 0));
  const fired = new Map<FaultRule, number>();
  const state = { faults: [...(opts.faults ?? [])] };

  const routes: Route[] = [
    {
      pattern: [],
      methods: {
        GET: () => reply.ok({ version, commit: "e2494e6ffb89f828", kafka_cluster_id: "StubClusterId000000001" }),
      },
    },
    ...(herder.atLeast(3, 9)
      ? [{ pattern: ["health"], methods: { GET: () => reply.ok({ status: "healthy", message: "Worker has completed startup and is ready to handle requests." }) } }]
      : []),
    {
      pattern: ["connectors"],
      body: true,
      methods: {
        GET: (m) => herder.list(m.query.getAll("expand")),
        POST: (m) => create(m),
      },
    },
    { pattern: ["connectors", "*"], methods: { GET: (m) => herder.getInfo(m.params[0]), DELETE: (m) => herder.deleteConnector(m.params[0]) } },
    {
      pattern: ["connectors", "*", "config"],
      body: true,
      methods: {
        GET: (m) => herder.getConfig(m.params[0]),
        PUT: (m) => putConfig(m),
        ...(herder.atLeast(3, 8) ? { PATCH: (m: Match) => patchConfig(m) } : {}),
      },
    },
    { pattern: ["connectors", "*", "status"], methods: { GET: (m) => herder.getStatus(m.params[0]) } },
    { pattern: ["connectors", "*", "tasks"], methods: { GET: (m) => herder.getTasks(m.params[0]) } },
    { pattern: ["connectors", "*", "tasks-config"], methods: { GET: (m) => herder.getTasksConfig(m.params[0]) } },
    { pattern: ["connectors", "*", "tasks", "*", "status"], methods: { GET: (m) => herder.getTaskStatus(m.params[0], taskId(m.params[1])) } },
    { pattern: ["connectors", "*", "tasks", "*", "restart"], methods: { POST: (m) => herder.restartTask(m.params[0], taskId(m.params[1])) } },
    {
      pattern: ["connectors", "*", "restart"],
      methods: {
        POST: (m) => {
          const flags = herder.atLeast(3, 0);
          return herder.restart(m.params[0], flags && m.query.get("includeTasks") === "true", flags && m.query.get("onlyFailed") === "true");
        },
      },
    },
    { pattern: ["connectors", "*", "pause"], methods: { PUT: (m) => herder.pause(m.params[0]) } },
    { pattern: ["connectors", "*", "resume"], methods: { PUT: (m) => herder.resume(m.params[0]) } },
    ...(herder.atLeast(3, 5) ? [{ pattern: ["connectors", "*", "stop"], methods: { PUT: (m: Match) => herder.stop(m.params[0]) } }] : []),
    ...(herder.atLeast(3, 5)
      ? [
          {
            pattern: ["connectors", "*", "offsets"],
            body: true,
            methods: {
              GET: (m: Match) => herder.getOffsets(m.params[0]),
              ...(herder.atLeast(3, 6)
                ? {
                    PATCH: (m: Match) => {
                      const p = jackson(m.text);
                      return p.ok ? herder.alterOffsets(m.params[0], p.value) : p.reply;
                    },
                    DELETE: (m: Match) => herder.resetOffsets(m.params[0]),
                  }
                : {}),
            },
          },
        ]
      : []),
    { pattern: ["connectors", "*", "topics"], methods: { GET: (m) => herder.getTopics(m.params[0]) } },
    { pattern: ["connectors", "*", "topics", "reset"], methods: { PUT: (m) => herder.resetTopics(m.params[0]) } },
    {
      pattern: ["connector-plugins"],
      methods: { GET: (m) => herder.listPlugins(m.query.get("connectorsOnly") !== "false") },
    },
    ...(herder.atLeast(3, 2) ? [{ pattern: ["connector-plugins", "*", "config"], methods: { GET: (m: Match) => herder.pluginConfig(m.params[0]) } }] : []),
    {
      pattern: ["connector-plugins", "*", "config", "validate"],
      body: true,
      methods: {
        PUT: async (m) => {
          const p = jackson(m.text);
          if (!p.ok) return p.reply;
          const map = stringMap(p.value, m.text, p.positions, "", (k) => `java.util.HashMap["${k}"]`);
          if (!map.ok) return map.reply;
          return herder.validateEndpoint(m.params[0], map.map);
        },
      },
    },
  ];

  function taskId(s: string): number {
    return /^-?\d+$/.test(s) ? Number(s) : NaN;
  }

  async function create(m: Match): Promise<Reply> {
    const p = jackson(m.text);
    if (!p.ok) return p.reply;
    const body = (p.value ?? {}) as Record<string, unknown>;
    if (typeof body !== "object" || Array.isArray(body))
      return reply.error(500, jacksonMapMismatch(m.text, body, "org.apache.kafka.connect.runtime.rest.entities.CreateConnectorRequest"));
    let initial: "STARTED" | "PAUSED" | "STOPPED" | undefined;
    if (body.initial_state !== undefined && body.initial_state !== null) {
      if (!herder.atLeast(3, 7))
        return reply.error(
          500,
          `Unrecognized field "initial_state" (class org.apache.kafka.connect.runtime.rest.entities.CreateConnectorRequest), not marked as ignorable (2 known properties: "config", "name"])`,
        );
      const s = String(body.initial_state).toUpperCase();
      if (s === "RUNNING") initial = "STARTED";
      else if (s === "PAUSED" || s === "STOPPED") initial = s;
      else
        return reply.error(
          500,
          `Cannot deserialize value of type \`org.apache.kafka.connect.runtime.rest.entities.CreateConnectorRequest$InitialState\` from String "${String(body.initial_state)}": not one of the values accepted for Enum class: [PAUSED, STOPPED, RUNNING]`,
        );
    }
    const name = body.name === undefined || body.name === null ? "" : String(body.name).trim();
    if (body.config === undefined || body.config === null) return reply.error(500, `Cannot invoke "java.util.Map.get(Object)" because "connectorConfig" is null`);
    const map = stringMap(body.config, m.text, p.positions, "config", (k) => `org.apache.kafka.connect.runtime.rest.entities.CreateConnectorRequest["config"]->java.util.LinkedHashMap["${k}"]`);
    if (!map.ok) return map.reply;
    const mismatch = nameCheck(name, map.map);
    if (mismatch) return mismatch;
    const r = await herder.putConfig(name, map.map, { allowReplace: false, initial });
    if (r.status === 201 && mode === "distributed") r.body = { ...(r.body as object), tasks: [] };
    return r;
  }

  async function putConfig(m: Match): Promise<Reply> {
    const p = jackson(m.text);
    if (!p.ok) return p.reply;
    const map = stringMap(p.value, m.text, p.positions, "", (k) => `java.util.LinkedHashMap["${k}"]`);
    if (!map.ok) return map.reply;
    const mismatch = nameCheck(m.params[0], map.map);
    if (mismatch) return mismatch;
    const r = await herder.putConfig(m.params[0], map.map, { allowReplace: true });
    if (r.status === 201 && mode === "distributed") r.body = { ...(r.body as object), tasks: [] };
    return r;
  }

  async function patchConfig(m: Match): Promise<Reply> {
    const p = jackson(m.text);
    if (!p.ok) return p.reply;
    if (!p.value || typeof p.value !== "object" || Array.isArray(p.value))
      return reply.error(500, jacksonMapMismatch(m.text, p.value, "java.util.LinkedHashMap<java.lang.String,java.lang.String>"));
    const patch: Record<string, string | null> = {};
    for (const [k, v] of Object.entries(p.value as Record<string, unknown>)) patch[k] = v === null ? null : String(v);
    return herder.patchConfig(m.params[0], patch);
  }

  function pickFault(method: string, path: string): FaultRule | undefined {
    for (const rule of state.faults) {
      const d = defaultMatch(rule.kind);
      const methods = rule.method === undefined ? d.methods : Array.isArray(rule.method) ? rule.method : [rule.method];
      if (methods && !methods.includes(method)) continue;
      const pat = rule.path ?? d.path;
      if (pat && !(typeof pat === "string" ? path === pat || path.startsWith(pat) : pat.test(path))) continue;
      const limit = rule.count ?? (rule.probability !== undefined ? Infinity : 1);
      const n = fired.get(rule) ?? 0;
      if (n >= limit) continue;
      if (rule.probability !== undefined && random() >= rule.probability) continue;
      fired.set(rule, n + 1);
      return rule;
    }
    return undefined;
  }

  function authorized(req: http.IncomingMessage): boolean {
    if (!opts.auth) return true;
    const h = req.headers.authorization ?? "";
    const basic = opts.auth.basic;
    if (basic) {
      const m = /^Basic\s+(.+)$/i.exec(h);
      if (m && Buffer.from(m[1], "base64").toString("utf8") === `${basic.username}:${basic.password}`) return true;
    }
    if (opts.auth.bearer !== undefined && h === `Bearer ${opts.auth.bearer}`) return true;
    return false;
  }

  function acceptsJson(req: http.IncomingMessage): boolean {
    const a = req.headers.accept;
    if (!a) return true;
    return a.split(",").some((t) => /^\s*(application\/json|application\/\*|\*\/\*)\s*(;|$)/i.test(t));
  }

  async function route(req: http.IncomingMessage, text: string): Promise<Reply> {
    if (!authorized(req)) {
      if (opts.auth?.basic) return { status: 401, text: "User cannot access the resource." };
      return reply.error(401, "Unauthorized");
    }
    const u = new URL(req.url ?? "/", "http://double");
    let raw = u.pathname;
    // Jetty 12 (Connect 4.x) refuses an encoded slash in the path before Connect sees it (measured on 4.3:
    // 400 "Ambiguous URI path separator", an HTML page for GET, no body otherwise); Jetty 9 decoded it.
    if (herder.atLeast(4, 0) && /%2f/i.test(raw)) {
      return req.method === "GET" || req.method === "HEAD"
        ? { status: 400, text: AMBIGUOUS_HTML, contentType: "text/html;charset=iso-8859-1" }
        : { status: 400, emptyWithLength: true };
    }
    if (prefix) {
      if (raw !== prefix && !raw.startsWith(prefix + "/")) return reply.error(404, "HTTP 404 Not Found", true);
      raw = raw.slice(prefix.length) || "/";
    }
    let segments: string[];
    try {
      segments = raw.split("/").slice(1).map(decodeURIComponent);
    } catch {
      return reply.error(404, "HTTP 404 Not Found", true);
    }
    if (segments.length > 0 && segments[segments.length - 1] === "") segments.pop();
    const method = req.method ?? "GET";
    for (const r of routes) {
      if (r.pattern.length !== segments.length) continue;
      const params: string[] = [];
      let ok = true;
      for (let i = 0; i < r.pattern.length; i++) {
        if (r.pattern[i] === "*") params.push(segments[i]);
        else if (r.pattern[i] !== segments[i]) ok = false;
      }
      if (!ok) continue;
      const handler = r.methods[method];
      if (!handler) return reply.error(405, "HTTP 405 Method Not Allowed", true);
      if (!acceptsJson(req)) return reply.error(406, "HTTP 406 Not Acceptable", true);
      const ct = req.headers["content-type"];
      if (r.body && text.length > 0 && ct && !/application\/json/i.test(ct)) return reply.error(415, "HTTP 415 Unsupported Media Type", true);
      return handler({ params, query: u.searchParams, text, host: req.headers.host ?? `${host}:${port}` });
    }
    return reply.error(404, "HTTP 404 Not Found", true);
  }

  function send(res: http.ServerResponse, r: Reply, hostHeader: string, scheme: string): void {
    const headers: Record<string, string> = { server: herder.atLeast(4, 0) ? "Jetty(12.0.34)" : "Jetty(9.4.54.v20240208)" };
    let payload: string | undefined;
    if (r.text !== undefined) {
      payload = r.text;
      headers["content-type"] = r.contentType ?? "text/plain";
    } else if (r.body !== undefined) {
      payload = JSON.stringify(r.body);
      if (!r.noContentType) headers["content-type"] = "application/json";
    }
    if (payload !== undefined) headers["content-length"] = String(Buffer.byteLength(payload));
    else if (r.emptyWithLength) headers["content-length"] = "0";
    if (r.location !== undefined) headers.location = `${scheme}://${hostHeader}${prefix}/connectors/${encodeURIComponent(r.location).replace(/%2F/g, "/")}`;
    res.writeHead(r.status, headers);
    res.end(payload);
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString("utf8");
    const u = new URL(req.url ?? "/", "http://double");
    const below = prefix && u.pathname.startsWith(prefix) ? u.pathname.slice(prefix.length) || "/" : u.pathname;
    const path = below + u.search;
    const method = req.method ?? "GET";
    const rec: RequestRecord = { method, path };
    requests.push(rec);
    const fault = authorized(req) ? pickFault(method, path) : undefined;
    if (fault) rec.fault = fault.kind;
    if (fault?.kind === "drop-before") {
      req.socket.destroy();
      return;
    }
    if (fault?.kind === "conflict" || fault?.kind === "no-leader") {
      rec.status = 409;
      send(res, reply.error(409, fault.message ?? (fault.kind === "conflict" ? STALE : NO_LEADER)), req.headers.host ?? "", scheme);
      return;
    }
    if (fault?.kind === "rebalance") {
      rec.status = 500;
      send(res, reply.error(500, fault.message ?? REBALANCE), req.headers.host ?? "", scheme);
      return;
    }
    let r: Reply;
    try {
      r = await route(req, text);
    } catch (e) {
      r = reply.error(500, e instanceof Error ? e.message : String(e));
    }
    if (fault?.kind === "drop-after") {
      req.socket.destroy();
      return;
    }
    if (fault?.kind === "request-timeout") r = reply.error(500, fault.message ?? "Request timed out");
    if (fault?.kind === "slow") await new Promise((resolve) => setTimeout(resolve, fault.delayMs ?? 1000));
    rec.status = r.status;
    if (!res.destroyed && !req.socket.destroyed) send(res, r, req.headers.host ?? `${host}:${port}`, scheme);
  }

  const scheme = opts.tls ? "https" : "http";
  const sockets = new Set<Socket>();
  let server: http.Server | https.Server;

  function listen(): Promise<void> {
    const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
      handle(req, res).catch((e) => {
        herder.log(`ERROR REST handler failed: ${e instanceof Error ? e.message : String(e)}`);
        if (!res.headersSent && !res.destroyed) send(res, reply.error(500, String(e)), req.headers.host ?? "", scheme);
      });
    };
    server = opts.tls
      ? https.createServer(
          { cert: opts.tls.cert, key: opts.tls.key, ca: opts.tls.ca, requestCert: !!opts.tls.requestCert, rejectUnauthorized: !!opts.tls.requestCert },
          handler,
        )
      : http.createServer(handler);
    server.keepAliveTimeout = 30000;
    server.on("connection", (s: Socket) => {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
    });
    server.on("tlsClientError", () => undefined);
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => {
        port = (server.address() as AddressInfo).port;
        resolve();
      });
    });
  }

  async function closeServer(): Promise<void> {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const s of sockets) s.destroy();
    await closed;
  }

  await listen();
  let running = true;

  const double: ConnectDouble = {
    get url() {
      return `${scheme}://${host}:${port}${prefix}`;
    },
    get port() {
      return port;
    },
    get workerId() {
      return `${host}:${port}`;
    },
    topics: herder.topics,
    workerLog: herder.workerLog,
    requests,
    get faults() {
      return state.faults;
    },
    set faults(f: FaultRule[]) {
      state.faults = f;
    },
    timing,
    herder,
    injectFaults(...rules) {
      state.faults.push(...rules);
    },
    clearFaults() {
      state.faults = [];
    },
    storedOffsets: (name) => herder.storedOffsets(name),
    connectorNames: () => [...herder.connectors.keys()],
    async stopWorker() {
      if (!running) return;
      running = false;
      await closeServer();
      await herder.shutdown(mode === "standalone");
      herder.log("INFO Kafka Connect stopped");
    },
    async startWorker() {
      if (running) return;
      await listen();
      running = true;
      herder.restartAll();
      herder.log("INFO Kafka Connect started");
    },
    async close() {
      if (running) await closeServer();
      running = false;
      await herder.shutdown(true);
    },
  };
  return double;
}
