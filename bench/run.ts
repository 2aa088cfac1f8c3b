/**
 * The benchmark (`npm run bench`): measures, asserts nothing about time.
 *
 * What runs (one process, one PostgreSQL server of the newest installed
 * major, one Kafka Connect double; everything is removed at the end):
 *
 * 1. Serialized provider bytes per resource type (Pulumi's closure
 *    serializer, as dynamic.Resource stores `__provider` in state).
 * 2. CdcPipeline create for 10, 100 and 1,000 tables through the engine
 *    harness (providers executed from their serialized text), against real
 *    PostgreSQL and the Connect double: wall time, SQL statements
 *    (postgresStats.statements delta, program-side preflight included) and
 *    HTTP requests (connectStats.requests delta).
 * 3. The same pipeline built by a "floor" script that issues only the minimal
 *    SQL and REST calls directly on one connection (ALTER ROLE REPLICATION,
 *    GRANT SELECT, CREATE PUBLICATION, pg_create_logical_replication_slot;
 *    PUT /connectors/{name}/config; GET .../status every 20 ms until the
 *    connector and its task are RUNNING; then pg_replication_slots every
 *    20 ms until Debezium holds the slot). Ratio = our time / floor time.
 *    2 and 3 run against the double, then against the real Kafka Connect +
 *    Debezium stack (BENCH_REAL=off leaves the real stack out).
 * 4. Time from the double first reporting the connector and its task RUNNING
 *    (the plugin's task report, timestamped) to `engine.up` returning.
 * 5. A no-change `up` of the 100-table pipeline, and destroy times.
 * 6. 50 pipelines registered under pulumi.runtime.setMocks with a trivial
 *    newResource (preflight: false): wall time from the first constructor to
 *    every output resolved and every registration settled (the first run is
 *    cold: Pulumi's closure serializer loads then).
 *
 * The connector plugin: the Debezium-like plugin (test/support/connect-double/
 * debezium-postgres.ts), which really streams from the slot, with
 * `snapshot.mode=no_data` (no snapshot: the task streams as soon as it
 * reports RUNNING) and the double's `tasksDelayMs: 0` (tasks start at once
 * after a create). The pipeline keeps its real readiness ("ready means
 * streaming": Connect RUNNING, then Debezium holding the slot), so our time
 * includes that wait, which in this set-up is the double's streaming start-up
 * (tens of ms); the floor waits for the same.
 * Why not a no-op plugin registered under the Debezium class name: it would
 * report RUNNING but never hold the slot, and CdcPipeline always waits for
 * streaming, so it would time out; composing the resources by hand without
 * `streaming` would no longer measure CdcPipeline.
 *
 * 8. The 10-table create again, ours and the floor, with a latency proxy
 *    adding BENCH_LATENCY_MS (default 10) each way in front of PostgreSQL and
 *    Connect: wall time, ratio, and round trips counted by the proxies (the
 *    connector's own task reaches PostgreSQL directly in both).
 * 7. The real Pulumi CLI on the real Kafka Connect + Debezium stack
 *    (bench/real-engine.ts): the CLI's fixed cost, one pipeline against 20 in
 *    one stack, no-change preview and up, state size, the provider host's
 *    memory. BENCH_REAL=off or BENCH_REAL=stack leaves it out.
 *
 * Also printed: PostgreSQL connections the create opened
 * (postgresStats.connections delta; the floor opens 1) and what one session
 * of the library costs alone, which together explain most of the fixed part
 * of the ratio. bench/profile.ts prints the timeline of one create.
 *
 * Timed measurements are repeated BENCH_REPS times (default 3), alternating
 * ours and the floor, after one untimed warm-up; the median is reported.
 * Environment: BENCH_PG_MAJOR (default: newest installed), BENCH_REPS,
 * BENCH_SIZES (default "10,100,1000").
 */
import { performance } from "node:perf_hooks";
import * as pulumi from "@pulumi/pulumi";
import { CdcPipeline, type CdcPipelineArgs } from "pulumi-postgres-cdc";
import { closeIdleSessions, postgresStats, withSession } from "#dist/postgres/connection.js";
import { connectStats } from "#dist/connect/client.js";
import { providerStub } from "#dist/providers/stub.js";
import { debeziumConfig } from "#dist/pipeline/debezium-config.js";
import { postgresConnectionSchema } from "#dist/validation/common.js";
import { Engine } from "../test/support/engine";
import { serializeProvider } from "../test/support/dynamic-host";
import { startConnectDouble, type ConnectDouble } from "../test/support/connect-double/server";
import { debeziumPostgresPlugin } from "../test/support/connect-double/debezium-postgres";
import type { ConnectorPlugin } from "../test/support/connect-double/plugin";
import { ALL_MAJORS, startPostgres, uniqueName, type PgServer } from "../test/support/postgres";
import { benchRealEngine } from "./real-engine";
import { startConnectTarget } from "../test/support/connect-target";
import { startLatencyProxy } from "./latency-proxy";

const REPS = Math.max(1, Number(process.env.BENCH_REPS ?? 3));
/**
 * Runs per measurement on the real stack (BENCH_REAL_REPS, default 5): there a create waits for the two workers
 * to rebalance, which happens at a worker's next group heartbeat (0 to 2 s on the test stack), for ours and the
 * floor alike, so more runs are needed for a stable median.
 */
const REAL_REPS = Math.max(1, Number(process.env.BENCH_REAL_REPS ?? 5));
/**
 * Before each create on the real stack: long enough for the rebalance that the previous delete started to
 * finish (the workers' heartbeat.interval.ms is 2 s), so no run pays for the clean-up of the one before.
 */
const REAL_SETTLE_MS = 3000;
const settle = (side: { kind: string }) => (side.kind === "real" ? sleep(REAL_SETTLE_MS) : Promise.resolve());
const SIZES = (process.env.BENCH_SIZES ?? "10,100,1000").split(",").map((s) => Number(s.trim())).filter((n) => n > 0);
const NO_CHANGE_SIZE = SIZES.includes(100) ? 100 : SIZES[SIZES.length - 1];
const MOCK_PIPELINES = 50;
const FLOOR_POLL_MS = 20;
const ROLE_PASSWORD = "bench-Role-pw-5521";

const TARGETS = {
  providerBytes: 2048,
  ratio: 1.3,
  runningToReturnMs: 250,
  mocksMs: 3000,
  latencyRatio: 1.5,
};
/** Latency added in each direction in front of PostgreSQL and Connect (BENCH_LATENCY_MS, default 10: a 20 ms round trip). */
const LATENCY_ONE_WAY_MS = Number(process.env.BENCH_LATENCY_MS ?? 10);

const now = () => performance.now();
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---- quiet progress lines (the providers report progress on stderr) ----

const captured: string[] = [];
const realError = console.error;
function quiet<T>(fn: () => Promise<T>): Promise<T> {
  console.error = (...a: unknown[]) => {
    captured.push(a.map(String).join(" "));
    if (captured.length > 2000) captured.splice(0, 1000);
  };
  return fn().finally(() => {
    console.error = realError;
  });
}

// ---- the Connect double, with the moment each connector's task first reports RUNNING ----

const runningAt = new Map<string, number>();

/** Wraps a plugin so the first RUNNING report of each connector's task is timestamped. */
function timedPlugin(inner: ConnectorPlugin): ConnectorPlugin {
  return {
    ...inner,
    validate: (c) => inner.validate(c),
    taskCount: (c) => inner.taskCount(c),
    startTask(ctx) {
      return inner.startTask({
        ...ctx,
        report(state, trace) {
          if (state === "RUNNING" && !runningAt.has(ctx.connector)) runningAt.set(ctx.connector, now());
          ctx.report(state, trace);
        },
      });
    },
  };
}

// ---- fixtures ----

interface Fixture {
  size: number;
  db: string;
  tables: string[];
}

async function makeFixture(pg: PgServer, size: number): Promise<Fixture> {
  const db = await pg.createDatabase(`bench${size}`);
  const names = Array.from({ length: size }, (_, i) => `t_${String(i + 1).padStart(4, "0")}`);
  for (let i = 0; i < names.length; i += 250) {
    const sql = names.slice(i, i + 250).map((n) => `CREATE TABLE public.${n} (id int PRIMARY KEY, v text);`).join("\n");
    await pg.query(sql, [], db);
  }
  return { size, db, tables: names.map((n) => `public.${n}`) };
}

async function newRole(pg: PgServer): Promise<string> {
  const role = uniqueName("bench");
  await pg.query(`CREATE ROLE ${role} LOGIN PASSWORD '${ROLE_PASSWORD}'`);
  return role;
}

async function dropRole(pg: PgServer, f: Fixture, role: string): Promise<void> {
  await pg.query(`DROP OWNED BY ${role}`, [], f.db);
  await pg.query(`DROP ROLE ${role}`);
}

// ---- ours: CdcPipeline through the engine harness ----

interface OursRun {
  ms: number;
  statements: number;
  connections: number;
  requests: number;
  runningToReturnMs: number;
  noChange?: { ms: number; statements: number; requests: number };
  destroyMs: number;
  providerBytes: Record<string, number>;
}

/** Where the library and the floor reach PostgreSQL and Connect: directly, or through latency proxies. */
interface Via {
  pgPort: number;
  connectUrl: string;
  /** Called the moment the create is done (before clean-up), to read the proxies' counters. */
  created?: () => void;
}

/** The Kafka Connect a create runs against: the double (whose task reports are timestamped) or the real stack. */
interface ConnectSide {
  kind: "double" | "real";
  url: string;
}

async function runOurs(pg: PgServer, connect: ConnectSide, f: Fixture, withNoChange: boolean, via?: Via): Promise<OursRun> {
  const role = await newRole(pg);
  const name = uniqueName(`cdc${f.size}`).replace(/_/g, "-");
  const args: CdcPipelineArgs = {
    source: { ...pg.connection(f.db), port: via?.pgPort ?? pg.port },
    // The connector's task reaches PostgreSQL directly (as the floor's does): only the library's own traffic pays the latency.
    connectorSource: { host: pg.host, port: pg.port, user: role, password: ROLE_PASSWORD },
    connect: { url: via?.connectUrl ?? connect.url },
    tables: f.tables,
    snapshotMode: "no_data",
    readyTimeoutSeconds: 120,
  };
  const program = () => {
    const p = new CdcPipeline(name, args);
    return { connectorState: p.connectorState, slotName: p.slotName };
  };
  const engine = new Engine();
  // Each create starts without an idle session, as a new `pulumi up` process does.
  await closeIdleSessions();
  try {
    const s0 = postgresStats.statements;
    const c0 = postgresStats.connections;
    const r0 = connectStats.requests;
    const t0 = now();
    const up = await quiet(() => engine.up(program));
    const t1 = now();
    via?.created?.();
    const statements = postgresStats.statements - s0;
    const connections = postgresStats.connections - c0;
    const requests = connectStats.requests - r0;
    if (up.outputs.connectorState !== "RUNNING") throw new Error(`pipeline ${name}: connector state ${String(up.outputs.connectorState)}`);
    const running = runningAt.get(name);
    if (connect.kind === "double" && running === undefined) throw new Error(`pipeline ${name}: the double never reported the task RUNNING`);
    const [slot] = await pg.query<{ active: boolean }>("SELECT active FROM pg_replication_slots WHERE slot_name = $1", [up.outputs.slotName]);
    if (!slot?.active) throw new Error(`pipeline ${name}: slot not active after create`);

    const providerBytes: Record<string, number> = {};
    for (const r of engine.snapshot().resources) {
      const p = r.outputs.__provider;
      if (r.dynamic && typeof p === "string") providerBytes[r.type.split(":").pop()!] = Buffer.byteLength(p);
    }

    let noChange: OursRun["noChange"];
    if (withNoChange) {
      const s1 = postgresStats.statements;
      const r1 = connectStats.requests;
      const n0 = now();
      const again = await quiet(() => engine.up(program));
      const n1 = now();
      const changed = again.steps.filter((s) => s.op !== "same");
      if (changed.length) throw new Error(`pipeline ${name}: no-change up changed ${changed.map((s) => `${s.op} ${s.key}`).join(", ")}`);
      noChange = { ms: n1 - n0, statements: postgresStats.statements - s1, requests: connectStats.requests - r1 };
    }

    const d0 = now();
    await quiet(() => engine.destroy());
    const d1 = now();
    return { ms: t1 - t0, statements, connections, requests, runningToReturnMs: running === undefined ? NaN : t1 - running, noChange, destroyMs: d1 - d0, providerBytes };
  } catch (err) {
    await quiet(() => engine.destroy()).catch(() => undefined);
    throw err;
  } finally {
    await dropRole(pg, f, role).catch(() => undefined);
  }
}

// ---- the floor: minimal SQL and REST calls, issued directly ----

async function runFloor(pg: PgServer, connect: ConnectSide, f: Fixture, via?: Via): Promise<number> {
  const role = await newRole(pg);
  const name = uniqueName(`floor${f.size}`).replace(/_/g, "-");
  const base = name.replace(/-/g, "_");
  const slot = `${base}_slot`;
  const pub = `${base}_pub`;
  const list = f.tables.join(", ");
  const config = debeziumConfig({
    source: { host: pg.host, port: pg.port, database: f.db, user: role, password: ROLE_PASSWORD, sslMode: "disable" },
    topicPrefix: name,
    slotName: slot,
    publicationName: pub,
    tables: f.tables,
    snapshotMode: "no_data",
  });
  const { Client } = require("pg") as typeof import("pg");
  const conn = { ...pg.connection(f.db), port: via?.pgPort ?? pg.port };
  const url = `${via?.connectUrl ?? connect.url}/connectors/${encodeURIComponent(name)}`;
  let ms = 0;
  try {
    const t0 = now();
    const c = new Client({ host: conn.host, port: conn.port, database: conn.database, user: conn.user, password: conn.password });
    await c.connect();
    try {
      await c.query(`ALTER ROLE ${role} REPLICATION`);
      await c.query(`GRANT SELECT ON ${list} TO ${role}`);
      await c.query(`CREATE PUBLICATION ${pub} FOR TABLE ${list}`);
      await c.query("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", [slot]);
      const put = await fetch(`${url}/config`, { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify(config) });
      if (put.status !== 201 && put.status !== 200) throw new Error(`floor: PUT config answered ${put.status}: ${await put.text()}`);
      for (;;) {
        const r = await fetch(`${url}/status`);
        if (r.ok) {
          const s = (await r.json()) as { connector: { state: string }; tasks: Array<{ state: string }> };
          if (s.connector.state === "RUNNING" && s.tasks.length > 0 && s.tasks.every((t) => t.state === "RUNNING")) break;
          if (s.tasks.some((t) => t.state === "FAILED")) throw new Error(`floor: task FAILED: ${JSON.stringify(s)}`);
        } else await r.text();
        if (now() - t0 > 120000) throw new Error("floor: connector not RUNNING within 120 s");
        await sleep(FLOOR_POLL_MS);
      }
      // Streaming: Debezium's replication connection holds the slot (the same session, polled like the status).
      for (;;) {
        const { rows } = await c.query<{ active: boolean }>("SELECT active FROM pg_replication_slots WHERE slot_name = $1", [slot]);
        if (rows[0]?.active) break;
        if (now() - t0 > 120000) throw new Error("floor: Debezium does not hold the slot within 120 s");
        await sleep(FLOOR_POLL_MS);
      }
      ms = now() - t0;
    } finally {
      await c.end();
    }
    via?.created?.();
  } finally {
    await fetch(url, { method: "DELETE" }).then((r) => r.text()).catch(() => undefined);
    for (let i = 0; i < 600; i++) {
      const [s] = await pg.query<{ active: boolean }>("SELECT active FROM pg_replication_slots WHERE slot_name = $1", [slot]);
      if (!s) break;
      if (!s.active) {
        await pg.query("SELECT pg_drop_replication_slot($1)", [slot]).catch(() => undefined);
        continue;
      }
      await sleep(50);
    }
    await pg.query(`DROP PUBLICATION IF EXISTS ${pub}`, [], f.db);
    await dropRole(pg, f, role).catch(() => undefined);
  }
  return ms;
}

/** What one of the library's PostgreSQL sessions costs by itself: connect, authenticate (SCRAM), SHOW server_version_num, one SELECT, close. */
async function sessionCost(pg: PgServer, f: Fixture): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < 12; i++) {
    await closeIdleSessions(); // a new connection each time, not the idle one
    const t0 = now();
    await withSession(postgresConnectionSchema.parse(pg.connection(f.db)), "bench", (s) => s.query("SELECT 1"));
    times.push(now() - t0);
  }
  return median(times.slice(2));
}

// ---- 50 pipelines under mocks ----

async function runMocks(rep: number): Promise<number> {
  await pulumi.runtime.setMocks(
    {
      newResource: (a) => ({ id: `${a.name}-id`, state: a.inputs }),
      call: () => ({}),
    },
    "bench",
    "mocks",
    false,
  );
  const { waitForRPCs } = require("@pulumi/pulumi/runtime/settings") as { waitForRPCs: () => Promise<void> };
  const tables = Array.from({ length: 10 }, (_, i) => `public.t_${i + 1}`);
  const t0 = now();
  const pipelines = Array.from(
    { length: MOCK_PIPELINES },
    (_, i) =>
      new CdcPipeline(`mock${rep}-${i}`, {
        source: { host: "db", database: "app", user: "admin", password: "admin-pw" },
        connectorSource: { user: "dbz", password: "dbz-pw" },
        connect: { url: "http://connect:8083" },
        tables,
        preflight: false,
      }),
  );
  await Promise.all(pipelines.map((p) => new Promise<unknown>((resolve) => p.connectorName.apply(resolve))));
  await waitForRPCs();
  return now() - t0;
}

// ---- report ----

const fmtMs = (ms: number) => (ms >= 10000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`);

interface Row {
  what: string;
  value: string;
  target: string;
  ok?: boolean;
}

function printTable(rows: Row[]): void {
  const cells = rows.map((r) => [r.what, r.value, r.target, r.ok === undefined ? "" : r.ok ? "yes" : "NO"]);
  const head = ["Measurement", "Value", "Target", "Met"];
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) => `| ${c.map((x, i) => x.padEnd(widths[i])).join(" | ")} |`;
  console.log(line(head));
  console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
  for (const c of cells) console.log(line(c));
}

/** Runs `ours` and `floor` `reps` times, swapping their order each run so neither always runs on a warmer server. */
async function alternate(reps: number, label: (run: number) => string, ours: () => Promise<unknown>, floor: () => Promise<unknown>): Promise<void> {
  for (let r = 0; r < reps; r++) {
    process.stderr.write(`${label(r + 1)}\n`);
    const [first, second] = r % 2 === 0 ? [ours, floor] : [floor, ours];
    await first();
    await second();
  }
}

/** Creates of every fixture size against one Connect side, ours and the floor alternating; rows and JSON per size. */
async function measureCreates(
  pg: PgServer,
  side: ConnectSide,
  fixtures: Fixture[],
  label: string,
  reps = REPS,
): Promise<{ rows: Row[]; json: Record<string, unknown>; statements: number[]; providerBytes?: Record<string, number> }> {
  const rows: Row[] = [];
  // Warm-up (module loading, first connections, the workers' first connector), not reported.
  process.stderr.write(`bench: ${label}: warm-up\n`);
  await runOurs(pg, side, fixtures[0], false);
  await runFloor(pg, side, fixtures[0]);
  const perSize: Array<{ size: number; ours: OursRun[]; floor: number[] }> = [];
  for (const f of fixtures) {
    const ours: OursRun[] = [];
    const floor: number[] = [];
    const noChange = side.kind === "double" && f.size === NO_CHANGE_SIZE;
    await alternate(
      reps,
      (r) => `bench: ${label}: ${f.size} tables, run ${r}/${reps}`,
      async () => (await settle(side), ours.push(await runOurs(pg, side, f, noChange))),
      async () => (await settle(side), floor.push(await runFloor(pg, side, f))),
    );
    perSize.push({ size: f.size, ours, floor });
  }
  const json: Record<string, unknown> = {};
  const on = side.kind === "double" ? "" : ", real stack";
  for (const { size, ours, floor } of perSize) {
    const ms = median(ours.map((o) => o.ms));
    const floorMs = median(floor);
    const ratio = ms / floorMs;
    const statements = median(ours.map((o) => o.statements));
    const connections = median(ours.map((o) => o.connections));
    const requests = median(ours.map((o) => o.requests));
    const destroyMs = median(ours.map((o) => o.destroyMs));
    const range = (xs: number[]) => `${fmtMs(Math.min(...xs))} to ${fmtMs(Math.max(...xs))}`;
    rows.push({ what: `Pipeline create${on}, ${size} tables: wall time`, value: `${fmtMs(ms)} (runs ${range(ours.map((o) => o.ms))})`, target: "-" });
    rows.push({ what: `Pipeline create${on}, ${size} tables: SQL statements`, value: `${statements} (runs: ${ours.map((o) => o.statements).join(", ")})`, target: "constant in table count" });
    rows.push({ what: `Pipeline create${on}, ${size} tables: PostgreSQL connections`, value: `${connections} (floor: 1)`, target: "-" });
    rows.push({ what: `Pipeline create${on}, ${size} tables: HTTP requests`, value: `${requests} (runs: ${ours.map((o) => o.requests).join(", ")})`, target: "-" });
    rows.push({ what: `Floor script${on}, ${size} tables: wall time`, value: `${fmtMs(floorMs)} (runs ${range(floor)})`, target: "-" });
    rows.push({ what: `Pipeline / floor${on}, ${size} tables`, value: ratio.toFixed(2), target: `<= ${TARGETS.ratio}`, ok: ratio <= TARGETS.ratio });
    const entry: Record<string, unknown> = {
      createMs: Math.round(ms),
      createRunsMs: ours.map((o) => Math.round(o.ms)),
      statements,
      statementRuns: ours.map((o) => o.statements),
      connections,
      httpRequests: requests,
      floorMs: Math.round(floorMs),
      floorRunsMs: floor.map(Math.round),
      ratio: Number(ratio.toFixed(3)),
      destroyMs: Math.round(destroyMs),
    };
    if (side.kind === "double") {
      const runningToReturn = median(ours.map((o) => o.runningToReturnMs));
      rows.push({ what: `Double RUNNING -> create returned, ${size} tables`, value: fmtMs(runningToReturn), target: `<= ${TARGETS.runningToReturnMs} ms`, ok: runningToReturn <= TARGETS.runningToReturnMs });
      entry.runningToReturnMs = Math.round(runningToReturn);
    }
    rows.push({ what: `Destroy${on}, ${size} tables`, value: fmtMs(destroyMs), target: "-" });
    const nc = ours.map((o) => o.noChange).filter((x): x is NonNullable<OursRun["noChange"]> => !!x);
    if (nc.length) {
      const ncMs = median(nc.map((x) => x.ms));
      rows.push({ what: `No-change up, ${size} tables`, value: `${fmtMs(ncMs)} (${median(nc.map((x) => x.statements))} statements, ${median(nc.map((x) => x.requests))} requests)`, target: "-" });
      entry.noChangeUpMs = Math.round(ncMs);
      entry.noChangeStatements = median(nc.map((x) => x.statements));
      entry.noChangeHttpRequests = median(nc.map((x) => x.requests));
    }
    json[String(size)] = entry;
  }
  return { rows, json, statements: perSize.map((p) => median(p.ours.map((o) => o.statements))), providerBytes: perSize[0]?.ours[0]?.providerBytes };
}

/** The create of fixture `f`, ours and the floor, with LATENCY_ONE_WAY_MS added each way in front of PostgreSQL and Connect. */
async function measureLatency(pg: PgServer, connect: ConnectSide, f: Fixture, reps = REPS): Promise<{ rows: Row[]; json: Record<string, unknown> }> {
  const rows: Row[] = [];
  const oneWay = LATENCY_ONE_WAY_MS;
  const on = connect.kind === "double" ? "" : ", real stack";
  const pgProxy = await startLatencyProxy(pg.port, oneWay);
  const connectProxy = await startLatencyProxy(Number(new URL(connect.url).port), oneWay);
  const runs = { ours: [] as number[], floor: [] as number[], oursPg: [] as number[], floorPg: [] as number[], oursHttp: [] as number[], floorHttp: [] as number[] };
  let at = { pg: 0, http: 0 };
  const via: Via = {
    pgPort: pgProxy.port,
    connectUrl: `http://127.0.0.1:${connectProxy.port}`,
    created: () => (at = { pg: pgProxy.counts().roundTrips, http: connectProxy.counts().roundTrips }),
  };
  const measure = async (side: "ours" | "floor") => {
    await settle(connect);
    pgProxy.reset();
    connectProxy.reset();
    const ms = side === "ours" ? (await runOurs(pg, connect, f, false, via)).ms : await runFloor(pg, connect, f, via);
    runs[side].push(ms);
    (side === "ours" ? runs.oursPg : runs.floorPg).push(at.pg);
    (side === "ours" ? runs.oursHttp : runs.floorHttp).push(at.http);
  };
  try {
    await alternate(reps, (r) => `bench: ${f.size} tables${on} with ${2 * oneWay} ms round-trip time, run ${r}/${reps}`, () => measure("ours"), () => measure("floor"));
  } finally {
    await pgProxy.close();
    await connectProxy.close();
  }
  const ms = median(runs.ours);
  const floorMs = median(runs.floor);
  const ratio = ms / floorMs;
  const rtt = `${2 * oneWay} ms RTT`;
  rows.push({ what: `Pipeline create${on}, ${f.size} tables, ${rtt}: wall time (floor)`, value: `${fmtMs(ms)} (${fmtMs(floorMs)})`, target: "-" });
  rows.push({
    what: `Round trips per create${on}, ${rtt}: PostgreSQL + Connect (floor)`,
    value: `${median(runs.oursPg)} + ${median(runs.oursHttp)} (${median(runs.floorPg)} + ${median(runs.floorHttp)})`,
    target: "-",
  });
  rows.push({ what: `Pipeline / floor${on}, ${f.size} tables, ${rtt}`, value: ratio.toFixed(2), target: `<= ${TARGETS.latencyRatio}`, ok: ratio <= TARGETS.latencyRatio });
  return {
    rows,
    json: {
      roundTripMs: 2 * oneWay,
      tables: f.size,
      createMs: Math.round(ms),
      floorMs: Math.round(floorMs),
      ratio: Number(ratio.toFixed(3)),
      roundTrips: { postgres: median(runs.oursPg), connect: median(runs.oursHttp) },
      floorRoundTrips: { postgres: median(runs.floorPg), connect: median(runs.floorHttp) },
    },
  };
}

async function main(): Promise<void> {
  const started = now();
  const major = Number(process.env.BENCH_PG_MAJOR ?? ALL_MAJORS[ALL_MAJORS.length - 1]);
  const rows: Row[] = [];
  const json: Record<string, unknown> = { postgresMajor: major, reps: REPS, sizes: SIZES };

  // 1. provider sizes
  const files: Record<string, string> = {
    Publication: "publication",
    ReplicationSlot: "replication-slot",
    ReplicationGrant: "replication-grant",
    ReplicaIdentity: "replica-identity",
    DebeziumConnector: "debezium-connector",
  };
  const bytes: Record<string, number> = {};
  for (const [type, file] of Object.entries(files)) bytes[type] = Buffer.byteLength(await serializeProvider(providerStub(file)));
  for (const [type, n] of Object.entries(bytes)) rows.push({ what: `Serialized provider, ${type}`, value: `${n} B`, target: `<= ${TARGETS.providerBytes} B`, ok: n <= TARGETS.providerBytes });
  json.providerBytes = bytes;

  // 6. mocks (no servers needed)
  const mockTimes: number[] = [];
  for (let r = 0; r < REPS; r++) mockTimes.push(await quiet(() => runMocks(r)));

  let pg: PgServer | undefined;
  let double: ConnectDouble | undefined;
  try {
    process.stderr.write(`bench: starting PostgreSQL ${major} and the Connect double\n`);
    pg = await startPostgres({ major });
    double = await startConnectDouble({
      plugins: [timedPlugin(debeziumPostgresPlugin())],
      timing: { tasksDelayMs: 0 },
    });

    const fixtures: Fixture[] = [];
    for (const size of SIZES) fixtures.push(await makeFixture(pg, size));

    const doubleSide: ConnectSide = { kind: "double", url: double.url };
    const sessionMs = await sessionCost(pg, fixtures[0]);
    rows.push({ what: "One PostgreSQL session (connect, auth, version, 1 query)", value: `${sessionMs.toFixed(1)} ms`, target: "-" });
    json.sessionMs = Number(sessionMs.toFixed(1));

    const onDouble = await measureCreates(pg, doubleSide, fixtures, "Connect double");
    rows.push(...onDouble.rows);
    const pipelines = onDouble.json;
    // 8. the same create with network latency in front of PostgreSQL and Connect (bench/latency-proxy.ts)
    const slow = await measureLatency(pg, doubleSide, fixtures[0]);
    rows.push(...slow.rows);
    json.latency = slow.json;

    const stmts = onDouble.statements;
    const constant = Math.max(...stmts) - Math.min(...stmts) <= 2;
    rows.push({ what: `SQL statements across ${SIZES.join(" / ")} tables`, value: stmts.join(" / "), target: "no growth with tables", ok: constant });
    json.pipelines = pipelines;
    json.statementsConstant = constant;
    // Provider text actually stored in state by the runs, for comparison with the serialized stubs above.
    json.providerBytesInState = onDouble.providerBytes;

    // 2b. the same creates against the real Kafka Connect + Debezium stack; the floor waits until Debezium streams too.
    if (process.env.BENCH_REAL !== "off") {
      process.stderr.write("bench: starting the real Kafka + Connect + Debezium stack\n");
      const real = await startConnectTarget("real");
      try {
        const onReal = await measureCreates(pg, { kind: "real", url: real.url }, fixtures, "real Connect + Debezium", REAL_REPS);
        rows.push(...onReal.rows);
        json.realStack = onReal.json;
        const slowReal = await measureLatency(pg, { kind: "real", url: real.url }, fixtures[0], REAL_REPS);
        rows.push(...slowReal.rows);
        json.realStackLatency = slowReal.json;
      } finally {
        await real.close().catch(() => undefined);
      }
    }
  } finally {
    await double?.close().catch(() => undefined);
    await pg?.destroy().catch(() => undefined);
  }

  // 7. the real engine on the real stack (bench/real-engine.ts)
  if (process.env.BENCH_REAL !== "off" && process.env.BENCH_REAL !== "stack") {
    const real = await quiet(() => benchRealEngine(major, (l) => process.stderr.write(`${l}\n`)));
    rows.push(...real.rows);
    json.realEngine = real.json;
  }

  const mocksMs = median(mockTimes);
  rows.push({ what: `${MOCK_PIPELINES} pipelines registered under mocks`, value: fmtMs(mocksMs), target: `<= ${TARGETS.mocksMs / 1000} s`, ok: mocksMs <= TARGETS.mocksMs });
  json.mocksMs = Math.round(mocksMs);
  json.mocksRunsMs = mockTimes.map(Math.round);
  json.benchSeconds = Number(((now() - started) / 1000).toFixed(1));

  console.log(
    `\nBenchmark: PostgreSQL ${major}; the Connect double (Debezium-like plugin, tasks start at once)` +
      `${process.env.BENCH_REAL === "off" ? "" : ", then the real Kafka Connect + Debezium stack (rows marked real stack)"}; snapshot.mode=no_data; median of ${REPS} runs (${REAL_REPS} on the real stack)\n`,
  );
  printTable(rows);
  console.log(
    `\nFloor: one connection (ALTER ROLE, GRANT, CREATE PUBLICATION, pg_create_logical_replication_slot), PUT config, GET status every ${FLOOR_POLL_MS} ms until RUNNING,` +
      `\nthen pg_replication_slots every ${FLOOR_POLL_MS} ms until Debezium holds the slot.` +
      `\nOurs adds: preflight and slot-loss check, catalog reads before and after each change, Connect validation, an adoption check,` +
      `\nthe signal table, and the status-poll backoff (from 25 ms, growing 1.3x). Timeline: node build/bench/profile.js <tables>.`,
  );
  console.log(`\nTotal bench time: ${json.benchSeconds} s`);
  console.log(JSON.stringify(json));
}

main().then(
  () => process.exit(0),
  (err) => {
    realError(captured.slice(-40).join("\n"));
    realError(`bench failed: ${(err as Error)?.stack ?? String(err)}`);
    process.exit(1);
  },
);
