/**
 * The real-engine part of the benchmark: `pulumi up` as users run it (the
 * real Pulumi CLI from test/support/tools, a project that installed the packed
 * package, a local file backend), against embedded PostgreSQL and the real
 * Kafka Connect + Debezium stack. Measures, asserts nothing about time:
 *
 * - the CLI's own fixed cost: `pulumi up` of a stack with no resources;
 * - `pulumi up` of one pipeline and of PIPELINES pipelines in one stack (each
 *   pipeline its own table, publication, slot and connector; ready = Debezium
 *   holds the slot), and the ratio of the two;
 * - a no-change `pulumi preview` and `pulumi up` of those pipelines: wall
 *   time, PostgreSQL transactions (pg_stat_database, every database), rows
 *   written (inserted + updated + deleted) and Kafka Connect requests (a
 *   recording proxy in front of the workers) with their methods;
 * - state bytes per pipeline (`pulumi stack export`), and the largest
 *   `__provider` text stored;
 * - peak RSS of the dynamic-provider host process during the big up.
 *
 * BENCH_REAL=off skips it (it needs Java and Maven, or KAFKA_HOME, and Go, or
 * a pulumi on PATH); BENCH_PIPELINES sets the number of pipelines (default 20).
 */
import * as fs from "node:fs";
import { performance } from "node:perf_hooks";
import { startConnectTarget, destroySharedStack, type ConnectTarget } from "../test/support/connect-target";
import { startPostgres, type PgServer } from "../test/support/postgres";
import { cliProject, type CliProject } from "../test/support/real-engine";

const PIPELINES = Math.max(2, Number(process.env.BENCH_PIPELINES ?? 20));
const ROLE_PASSWORD = "bench-Engine-pw-7731";
const UP = ["up", "--yes", "--skip-preview", "--skip-plugin-pre-install"];

/** N pipelines, one table each, configured from stack config. */
const PROGRAM = `
import * as pulumi from "@pulumi/pulumi";
import { CdcPipeline } from "pulumi-postgres-cdc";

const config = new pulumi.Config();
const count = config.requireNumber("pipelines");
const source = {
  host: "127.0.0.1",
  port: config.requireNumber("pgPort"),
  database: "bench",
  user: "postgres",
  password: config.requireSecret("pgPassword"),
  sslMode: "disable" as const,
};
export const states: pulumi.Output<string>[] = [];
for (let i = 1; i <= count; i++) {
  const n = String(i).padStart(2, "0");
  const p = new CdcPipeline(\`bench-\${n}\`, {
    source,
    connectorSource: { user: "bench_dbz", password: config.requireSecret("dbzPassword") },
    connect: { url: config.require("connectUrl") },
    tables: [\`public.t_\${n}\`],
    topicPrefix: \`bench\${n}\`,
    snapshotMode: "no_data",
  });
  states.push(p.connectorState);
}
`;

export interface EngineRow {
  what: string;
  value: string;
  target: string;
  ok?: boolean;
}

interface DbCounters {
  xacts: number;
  writes: number;
}

async function dbCounters(pg: PgServer): Promise<DbCounters> {
  // Counters are flushed at the end of each backend's transactions (and by this call for this backend).
  if (pg.major >= 15) await pg.query("SELECT pg_stat_force_next_flush()");
  await new Promise((r) => setTimeout(r, 1100));
  const [row] = await pg.query<{ xacts: string; writes: string }>(
    "SELECT sum(xact_commit + xact_rollback)::text AS xacts, sum(tup_inserted + tup_updated + tup_deleted)::text AS writes FROM pg_stat_database",
  );
  return { xacts: Number(row.xacts), writes: Number(row.writes) };
}

/** Peak RSS (kB) of processes whose command line matches, sampled every 100 ms until stopped. */
function rssSampler(match: RegExp): { stop(): number } {
  let peak = 0;
  const sample = () => {
    for (const pid of fs.readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
      try {
        const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ");
        if (!match.test(cmd)) continue;
        const rss = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
        if (rss) peak = Math.max(peak, Number(rss[1]));
      } catch {
        /* gone meanwhile */
      }
    }
  };
  const timer = setInterval(sample, 100);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return peak;
    },
  };
}

const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export async function benchRealEngine(major: number, log: (line: string) => void): Promise<{ rows: EngineRow[]; json: Record<string, unknown> }> {
  const rows: EngineRow[] = [];
  const json: Record<string, unknown> = { pipelines: PIPELINES };
  let pg: PgServer | undefined;
  let target: ConnectTarget | undefined;
  const projects: CliProject[] = [];
  try {
    log(`bench: real engine: PostgreSQL ${major}, the real stack and the Pulumi CLI`);
    pg = await startPostgres({ major, settings: { max_replication_slots: PIPELINES + 10, max_wal_senders: PIPELINES + 10 } });
    await pg.query("CREATE DATABASE bench");
    const tables = Array.from({ length: PIPELINES }, (_, i) => `CREATE TABLE public.t_${String(i + 1).padStart(2, "0")} (id int PRIMARY KEY, v text);`).join("\n");
    await pg.query(tables, [], "bench");
    await pg.query(`CREATE ROLE bench_dbz LOGIN REPLICATION PASSWORD '${ROLE_PASSWORD}'`);
    target = await startConnectTarget("real");
    const t = target;
    const server = pg;

    const project = async (count: number): Promise<CliProject> => {
      const p = await cliProject("local", { files: { "index.ts": PROGRAM }, transpileOnly: true, stack: `n${count}` });
      projects.push(p);
      await p.config("pipelines", String(count));
      await p.config("pgPort", String(server.port));
      await p.config("connectUrl", t.url);
      await p.config("pgPassword", server.superPassword, true);
      await p.config("dbzPassword", ROLE_PASSWORD, true);
      return p;
    };
    const timed = async (fn: () => Promise<unknown>): Promise<number> => {
      const t0 = performance.now();
      await fn();
      return performance.now() - t0;
    };

    // The CLI's fixed cost: a program that declares nothing.
    const empty = await project(0);
    fs.writeFileSync(`${empty.dir}/index.ts`, "export {};\n");
    await empty.pulumi(UP); // first run: plugin and project caches
    const emptyMs = await timed(() => empty.pulumi(UP));
    rows.push({ what: "Real CLI: pulumi up of an empty stack (fixed cost)", value: secs(emptyMs), target: "-" });
    json.emptyUpMs = Math.round(emptyMs);

    // One pipeline.
    const one = await project(1);
    const oneMs = await timed(() => one.pulumi(UP));
    rows.push({ what: "Real CLI: pulumi up, 1 pipeline (until Debezium streams)", value: secs(oneMs), target: "-" });
    json.upOneMs = Math.round(oneMs);
    const destroyOneMs = await timed(() => one.pulumi(["destroy", "--yes", "--skip-preview", "--skip-plugin-pre-install"]));
    json.destroyOneMs = Math.round(destroyOneMs);

    // Many pipelines in one stack.
    const many = await project(PIPELINES);
    const sampler = rssSampler(/dynamic-provider/);
    const manyMs = await timed(() => many.pulumi(UP));
    const peakKb = sampler.stop();
    const ratio = manyMs / oneMs;
    rows.push({ what: `Real CLI: pulumi up, ${PIPELINES} pipelines in one stack`, value: secs(manyMs), target: "-" });
    rows.push({ what: `Real CLI: ${PIPELINES} pipelines / 1 pipeline`, value: ratio.toFixed(2), target: "<= 3", ok: ratio <= 3 });
    rows.push({ what: `Dynamic-provider host peak RSS during the ${PIPELINES}-pipeline up`, value: `${(peakKb / 1024).toFixed(0)} MB`, target: "-" });
    json.upManyMs = Math.round(manyMs);
    json.manyOverOne = Number(ratio.toFixed(3));
    json.providerHostPeakRssMb = Math.round(peakKb / 1024);
    const connectors = await t.connectorNames();
    if (connectors.filter((c) => c.startsWith("bench-")).length !== PIPELINES) throw new Error(`expected ${PIPELINES} connectors, Connect has ${connectors.length}`);

    // No-change preview and up: time, transactions, writes, Connect requests.
    for (const [label, args] of [
      ["preview", ["preview", "--skip-plugin-pre-install"]],
      ["up", UP],
    ] as const) {
      const before = await dbCounters(server);
      const r0 = t.requests.length;
      const ms = await timed(() => many.pulumi([...args]));
      const after = await dbCounters(server);
      const reqs = t.requests.slice(r0);
      const methods = [...new Set(reqs.map((r) => r.method))].sort().join("/") || "none";
      const writes = reqs.filter((r) => r.method !== "GET").length;
      rows.push({
        what: `Real CLI: no-change pulumi ${label}, ${PIPELINES} pipelines`,
        value: `${secs(ms)}; ${after.xacts - before.xacts} PostgreSQL transactions, ${after.writes - before.writes} rows written; ${reqs.length} Connect requests (${methods}), ${writes} writes`,
        target: "no writes",
        ok: writes === 0,
      });
      json[`noChange${label === "up" ? "Up" : "Preview"}`] = { ms: Math.round(ms), pgTransactions: after.xacts - before.xacts, rowsWritten: after.writes - before.writes, connectRequests: reqs.length, connectWrites: writes };
    }

    // State size.
    const exported = await many.pulumi(["stack", "export"]);
    const state = JSON.parse(exported.stdout) as { deployment?: { resources?: Array<{ outputs?: Record<string, unknown> }> } };
    const resources = state.deployment?.resources ?? [];
    const providerBytes = Math.max(0, ...resources.map((r) => (typeof r.outputs?.__provider === "string" ? Buffer.byteLength(r.outputs.__provider) : 0)));
    const perPipeline = Buffer.byteLength(exported.stdout) / PIPELINES;
    rows.push({ what: "State per pipeline (pulumi stack export)", value: `${(perPipeline / 1024).toFixed(1)} KB (${resources.length} resources in the stack)`, target: "-" });
    rows.push({ what: "Largest __provider text in state", value: `${providerBytes} B`, target: "<= 2048 B", ok: providerBytes <= 2048 });
    json.stateBytesPerPipeline = Math.round(perPipeline);
    json.providerBytesInState = providerBytes;

    const destroyManyMs = await timed(() => many.pulumi(["destroy", "--yes", "--skip-preview", "--skip-plugin-pre-install"]));
    rows.push({ what: `Real CLI: pulumi destroy, 1 / ${PIPELINES} pipelines`, value: `${secs(destroyOneMs)} / ${secs(destroyManyMs)}`, target: "-" });
    json.destroyManyMs = Math.round(destroyManyMs);
  } finally {
    for (const p of projects) {
      await p.pulumi(["destroy", "--yes", "--skip-preview", "--skip-plugin-pre-install"], { allowFailure: true }).catch(() => undefined);
      p.close();
    }
    await target?.close().catch(() => undefined);
    await destroySharedStack().catch(() => undefined);
    await pg?.destroy().catch(() => undefined);
  }
  return { rows, json };
}
