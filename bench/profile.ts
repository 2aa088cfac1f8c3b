/**
 * Timeline of one CdcPipeline create (`node build/bench/profile.js [tables]`):
 * every PostgreSQL session, Connect request and provider call with its start
 * and duration relative to the start of `engine.up`, to see where the time of
 * the benchmark's create goes. A diagnostic companion of run.ts.
 * PROFILE_CONNECT=real runs it against the real Kafka Connect + Debezium stack.
 */
import { performance } from "node:perf_hooks";
import { CdcPipeline } from "pulumi-postgres-cdc";
import * as connection from "#dist/postgres/connection.js";
import { ConnectClient } from "#dist/connect/client.js";
import { Engine } from "../test/support/engine";
import { startConnectDouble } from "../test/support/connect-double/server";
import { debeziumPostgresPlugin } from "../test/support/connect-double/debezium-postgres";
import { startPostgres, uniqueName } from "../test/support/postgres";
import { destroySharedStack, startConnectTarget } from "../test/support/connect-target";

const events: Array<{ at: number; ms: number; what: string }> = [];
let t0 = performance.now();
function timed<A extends unknown[], R>(what: (...a: A) => string, fn: (...a: A) => Promise<R>): (...a: A) => Promise<R> {
  return async (...a: A) => {
    const s = performance.now();
    try {
      return await fn(...a);
    } finally {
      events.push({ at: s - t0, ms: performance.now() - s, what: what(...a) });
    }
  };
}

async function main(): Promise<void> {
  const size = Number(process.argv[2] ?? 100);
  const conn = connection as unknown as Record<string, unknown>;
  const ws = connection.withSession;
  const verbose = process.env.PROFILE_SQL === "1";
  type Fn = (s: connection.Session) => Promise<unknown>;
  const wrapFn = (fn: Fn): Fn => (s) =>
    fn({
      ...s,
      query: (sql: string, params?: unknown[]) => {
        const q = s.query(sql, params);
        if (!verbose) return q;
        const st = performance.now();
        return q.finally(() => events.push({ at: st - t0, ms: performance.now() - st, what: `    sql: ${sql.replace(/\s+/g, " ").slice(0, 90)}` }));
      },
    } as connection.Session);
  conn.withSession = timed(
    (_c: unknown, what: string) => `pg session: ${what}`,
    ((c: never, what: string, fn: Fn) => ws(c, what, wrapFn(fn))) as (...a: unknown[]) => Promise<unknown>,
  );
  const proto = ConnectClient.prototype as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
  const attempt = proto.attempt;
  proto.attempt = function (this: unknown, method: unknown, segments: unknown) {
    const s = performance.now();
    return attempt.apply(this, [...arguments] as unknown[]).finally(() => events.push({ at: s - t0, ms: performance.now() - s, what: `http ${String(method)} /${(segments as string[]).join("/")}` }));
  };
  for (const file of ["replication-grant", "publication", "replication-slot", "debezium-connector"]) {
    const p = require(`#dist/providers/${file}.js`).provider as Record<string, (...a: unknown[]) => Promise<unknown>>;
    for (const m of ["check", "diff", "create"]) {
      const f = p[m];
      p[m] = timed(() => `provider ${file}.${m}`, (...a: unknown[]) => f.apply(p, a));
    }
  }
  const pg = await startPostgres({ major: 17 });
  // PROFILE_CONNECT=real: the real Kafka Connect + Debezium stack instead of the double.
  const double = process.env.PROFILE_CONNECT === "real" ? await startConnectTarget("real") : await startConnectDouble({ plugins: [debeziumPostgresPlugin()], timing: { tasksDelayMs: 0 } });
  try {
    const db = await pg.createDatabase("prof");
    const tables = Array.from({ length: size }, (_, i) => `public.t_${i + 1}`);
    await pg.query(tables.map((t) => `CREATE TABLE ${t} (id int primary key);`).join("\n"), [], db);
    for (let run = 0; run < 2; run++) {
      const role = uniqueName("prof");
      await pg.query(`CREATE ROLE ${role} LOGIN PASSWORD 'pw-prof-1'`);
      const name = uniqueName("prof").replace(/_/g, "-");
      const engine = new Engine();
      events.length = 0;
      const origError = console.error;
      console.error = () => undefined;
      t0 = performance.now();
      await engine.up(() => {
        const p = new CdcPipeline(name, {
          source: pg.connection(db),
          connectorSource: { user: role, password: "pw-prof-1" },
          connect: { url: double.url },
          tables,
          snapshotMode: "no_data",
        });
        return { s: p.connectorState };
      });
      const total = performance.now() - t0;
      console.error = origError;
      console.log(`run ${run}: ${size} tables, up ${total.toFixed(0)} ms`);
      for (const e of events.sort((a, b) => a.at - b.at)) console.log(`  ${e.at.toFixed(0).padStart(6)} +${e.ms.toFixed(0).padStart(5)}  ${e.what}`);
      const sum = (pick: (w: string) => boolean) => {
        const xs = events.filter((e) => pick(e.what));
        return `${xs.length} taking ${xs.reduce((a, e) => a + e.ms, 0).toFixed(0)} ms`;
      };
      console.log(`  PostgreSQL sessions: ${sum((w) => w.startsWith("pg session"))}; HTTP requests: ${sum((w) => w.startsWith("http "))}`);
      console.log(`  provider create calls: ${sum((w) => w.endsWith(".create"))}; check calls: ${sum((w) => w.endsWith(".check"))}`);
      await engine.destroy();
      await pg.query(`DROP OWNED BY ${role}`, [], db);
      await pg.query(`DROP ROLE ${role}`);
    }
  } finally {
    await double.close();
    await destroySharedStack();
    await pg.destroy();
  }
}

main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
