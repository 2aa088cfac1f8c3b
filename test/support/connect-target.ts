/**
 * One face for the two Kafka Connect clusters the suites run against:
 *
 * - `double`: the Connect double (in-process, fast, seeded faults);
 * - `real`: the real stack (Kafka 4 KRaft broker, two Connect workers in
 *   distributed mode, Debezium 3.6), shared by the whole mocha run.
 *
 * Suites written against {@link ConnectTarget} run unchanged on both, which
 * is also how the double is kept honest. For the real stack, requests go
 * through a recording pass-through proxy in front of worker 1, so a suite can
 * assert which REST calls the library made on either target.
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { startDebeziumDouble, type ChangeEvent } from "./debezium-fixture";
import type { ConnectDouble, ConnectDoubleOptions, RequestRecord } from "./connect-double/server";
import type { DebeziumPostgresOptions } from "./connect-double/debezium-postgres";
import { startStack, type KafkaStack } from "./stack/stack";
import { TopicReader } from "./stack/topics";

export type TargetKind = "double" | "real";

export type { ChangeEvent };

export interface StoredOffsetRecord {
  partition: Record<string, unknown>;
  offset: Record<string, unknown>;
}

export interface ConnectTarget {
  readonly kind: TargetKind;
  /** The REST URL the library is given. */
  readonly url: string;
  /** Worker ids tasks may report (`workerId` in status). */
  readonly workerIds: string[];
  /** REST calls the library (or the test) made, in order. */
  readonly requests: RequestRecord[];
  connectorNames(): Promise<string[]>;
  /** Change events (tombstones left out) on a topic, as far as they have arrived. */
  changeEvents(topic: string): Promise<ChangeEvent[]>;
  /** Every record (key and value) of a topic so far. */
  records(topic: string): Promise<Array<{ key: unknown; value: unknown }>>;
  /** Source offsets Connect keeps for a connector (also after it was deleted). */
  storedOffsets(name: string): Promise<StoredOffsetRecord[]>;
  /** Deletes every connector (REST DELETE, as an operator would) and waits until they are gone. */
  deleteAllConnectors(): Promise<void>;
  /** The double, when this is one (for what only it can do: faults, its request log). */
  readonly double?: ConnectDouble;
  /** The stack, when this is the real one. */
  readonly stack?: KafkaStack;
  close(): Promise<void>;
}

/** Targets this run covers: CONNECT_TARGETS=double,real (default both; "real" needs Java and Maven or KAFKA_HOME). */
export function connectTargets(): TargetKind[] {
  const env = process.env.CONNECT_TARGETS;
  if (!env) return ["double", "real"];
  return env.split(",").map((s) => s.trim()).filter((s): s is TargetKind => s === "double" || s === "real");
}

async function doubleTarget(opts: ConnectDoubleOptions, debezium?: DebeziumPostgresOptions): Promise<ConnectTarget> {
  const double = await startDebeziumDouble(opts, debezium);
  return {
    kind: "double",
    url: double.url,
    workerIds: [double.workerId],
    requests: double.requests,
    double,
    connectorNames: async () => double.connectorNames(),
    changeEvents: async (topic) => (double.topics.get(topic) ?? []).filter((r) => r.value !== null).map((r) => r.value as ChangeEvent),
    records: async (topic) => [...(double.topics.get(topic) ?? [])],
    storedOffsets: async (name) => double.storedOffsets(name),
    async deleteAllConnectors() {
      for (const name of double.connectorNames()) await fetch(`${double.url}/connectors/${encodeURIComponent(name)}`, { method: "DELETE" });
    },
    close: () => double.close(),
  };
}

/** A pass-through HTTP proxy that records method, path and status of every request. */
async function recordingProxy(upstream: () => string): Promise<{ url: string; requests: RequestRecord[]; close(): Promise<void> }> {
  const requests: RequestRecord[] = [];
  const server = http.createServer((req, res) => {
    const record: RequestRecord = { method: req.method ?? "GET", path: req.url ?? "/" };
    requests.push(record);
    const target = new URL(req.url ?? "/", upstream());
    const out = http.request(target, { method: req.method, headers: { ...req.headers, host: target.host } }, (up) => {
      record.status = up.statusCode;
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    out.on("error", () => {
      // The worker is down: drop the client's connection as the worker would have refused it.
      req.socket.destroy();
    });
    req.pipe(out);
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

let shared: Promise<{ stack: KafkaStack; topics: TopicReader }> | undefined;

/** The real stack, started once per test process (stopped by the root hooks). */
export function sharedStack(): Promise<{ stack: KafkaStack; topics: TopicReader }> {
  shared ??= (async () => {
    const stack = await startStack({ log: (l) => console.log(`      [stack] ${l}`) });
    return { stack, topics: new TopicReader(stack.bootstrap) };
  })();
  return shared;
}

/** Stops the shared real stack, if one was started. */
export async function destroySharedStack(): Promise<void> {
  const s = shared;
  shared = undefined;
  if (!s) return;
  const { stack, topics } = await s.catch(() => ({ stack: undefined, topics: undefined }));
  await topics?.close();
  await stack?.stop();
}

async function realTarget(): Promise<ConnectTarget> {
  const { stack, topics } = await sharedStack();
  const proxy = await recordingProxy(() => stack.connectUrl);
  const direct = stack.connectUrl;
  const names = async () => (await (await fetch(`${direct}/connectors`)).json()) as string[];
  const offsetsKey = (key: unknown) => (Array.isArray(key) ? (key[0] as string) : undefined);
  return {
    kind: "real",
    url: proxy.url,
    workerIds: stack.workers.map((w) => w.workerId),
    requests: proxy.requests,
    stack,
    connectorNames: names,
    changeEvents: (topic) => topics.values<ChangeEvent>(topic),
    records: async (topic) => (await topics.records(topic)).map(({ key, value }) => ({ key, value })),
    async storedOffsets(name) {
      // Connect's offsets topic: key ["<connector>", {partition}], value {offset} or null (reset).
      const latest = new Map<string, StoredOffsetRecord | null>();
      for (const r of await topics.records(stack.topics.offsets)) {
        if (offsetsKey(r.key) !== name) continue;
        const partition = (r.key as unknown[])[1] as Record<string, unknown>;
        latest.set(JSON.stringify(partition), r.value === null ? null : { partition, offset: r.value as Record<string, unknown> });
      }
      return [...latest.values()].filter((v): v is StoredOffsetRecord => v !== null);
    },
    async deleteAllConnectors() {
      for (const name of await names()) await fetch(`${direct}/connectors/${encodeURIComponent(name)}`, { method: "DELETE" });
      const deadline = Date.now() + 30000;
      while ((await names()).length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    },
    close: () => proxy.close(),
  };
}

/** Starts (or joins) a Connect target of the given kind. */
export function startConnectTarget(kind: TargetKind, opts: ConnectDoubleOptions = {}, debezium?: DebeziumPostgresOptions): Promise<ConnectTarget> {
  return kind === "double" ? doubleTarget(opts, debezium) : realTarget();
}

/**
 * PostgreSQL majors a suite covers on a target: all of PG_MAJORS on the
 * double; on the real stack REAL_PG_MAJORS (default: the oldest and the
 * newest of PG_MAJORS, 13 and 17 in CI).
 */
export function majorsFor(kind: TargetKind): number[] {
  const { pgMajors } = require("./postgres") as typeof import("./postgres");
  const all = pgMajors();
  if (kind === "double") return all;
  const env = process.env.REAL_PG_MAJORS;
  if (env) return env.split(",").map((s) => Number(s.trim())).filter((n) => all.includes(n));
  return [...new Set([all[0], all[all.length - 1]])].filter((n) => n !== undefined);
}
