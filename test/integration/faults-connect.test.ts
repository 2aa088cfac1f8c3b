/**
 * CdcPipeline against a flaky Kafka Connect: 30% of all REST requests are
 * answered with a transient failure (409 stale config / no leader, 500
 * rebalance / request timed out, or a connection dropped before or after the
 * request was applied), seeded. Each run deploys a fresh pipeline, checks that
 * exactly one connector of that name runs with Debezium holding the slot, then
 * destroys it and checks that nothing is left.
 *
 * FAULT_RUNS (default 5) sets the number of runs; `FAULT_RUNS=100` is the
 * long soak. Runs on the highest PostgreSQL major of the run only.
 */
import { strict as assert } from "node:assert";
import type { CdcPipelineArgs } from "pulumi-postgres-cdc";
import { CdcPipeline } from "pulumi-postgres-cdc";
import { connectStats } from "#dist/connect/client.js";
import { startConnectDouble, type ConnectDouble, type FaultRule } from "../support/connect-double/server";
import { debeziumPostgresPlugin } from "../support/connect-double/debezium-postgres";
import { Engine } from "../support/engine";
import { pgMajors, sharedPostgres, uniqueName, type PgServer } from "../support/postgres";

const RUNS = Math.max(1, Number(process.env.FAULT_RUNS ?? 5) || 5);
const FAULT_RATE = 0.3;
const SEED = Number(process.env.FAULT_SEED ?? 20240611);
const major = Math.max(...pgMajors());

type Kind = FaultRule["kind"];

/**
 * Rules that fault `rate` of the requests of one method class, spread evenly over `kinds`.
 * Rules are tried in order and each draws only when it matches, so rule i fires with the
 * conditional probability share / (1 - (i-1) * share).
 */
function evenFaults(methods: string[], kinds: Kind[], rate: number): FaultRule[] {
  const share = rate / kinds.length;
  return kinds.map((kind, i) => ({ kind, method: methods, path: /./, probability: share / (1 - i * share) }));
}

const WRITES = ["POST", "PUT", "PATCH", "DELETE"];
const FAULTS: FaultRule[] = [
  ...evenFaults(["GET"], ["rebalance", "drop-before", "drop-after"], FAULT_RATE),
  ...evenFaults(WRITES, ["conflict", "no-leader", "request-timeout", "drop-before", "drop-after"], FAULT_RATE),
];

describe(`CdcPipeline under Kafka Connect faults (${RUNS} runs, ${FAULT_RATE * 100}% of requests faulted) on PostgreSQL ${major} @pg`, function () {
  this.timeout(120000);
  let pg: PgServer;
  let double: ConnectDouble;
  let db: string;
  let role: string;
  const rolePassword = "dbz-faults-Secret-8812";
  const upMs: number[] = [];
  const destroyMs: number[] = [];
  let retries0 = 0;
  let requests0 = 0;

  before(async () => {
    pg = await sharedPostgres(major);
    double = await startConnectDouble({
      plugins: [debeziumPostgresPlugin({ statusUpdateIntervalMs: 200, retriableRestartWaitMs: 300, slotRetryDelayMs: 200 })],
      timing: { tasksDelayMs: 50, pauseDelayMs: 50, restartDelayMs: 50, taskShutdownTimeoutMs: 3000 },
      faults: FAULTS,
      seed: SEED,
    });
    db = await pg.createDatabase("faults");
    role = uniqueName("dbz");
    await pg.query(`CREATE ROLE ${role} LOGIN PASSWORD '${rolePassword}'`);
    await pg.query("CREATE TABLE customers (id int primary key, name text); CREATE TABLE orders (id int primary key, total numeric)", [], db);
    await pg.query("INSERT INTO customers VALUES (1, 'Ada'), (2, 'Grace')", [], db);
    retries0 = connectStats.retries;
    requests0 = connectStats.requests;
  });

  after(async () => {
    if (!double) return;
    const byKind: Record<string, number> = {};
    for (const r of double.requests) if (r.fault) byKind[r.fault] = (byKind[r.fault] ?? 0) + 1;
    const faulted = Object.values(byKind).reduce((a, b) => a + b, 0);
    const stat = (xs: number[]) =>
      xs.length ? `min ${Math.min(...xs)} ms, median ${[...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]} ms, max ${Math.max(...xs)} ms` : "-";
    console.log(
      `      faults-connect: ${upMs.length}/${RUNS} runs converged (seed ${SEED}); ${double.requests.length} requests to the double, ${faulted} faulted ` +
        `(${((100 * faulted) / Math.max(1, double.requests.length)).toFixed(1)}%): ${JSON.stringify(byKind)}; ` +
        `client: ${connectStats.requests - requests0} attempts, ${connectStats.retries - retries0} retries; ` +
        `up ${stat(upMs)}; destroy ${stat(destroyMs)}`,
    );
    await double.close();
  });

  function args(): CdcPipelineArgs {
    return {
      source: pg.connection(db),
      connectorSource: { user: role, password: rolePassword },
      connect: { url: double.url },
      tables: ["public.customers", "public.orders"],
      replicaIdentityFull: true,
      readyTimeoutSeconds: 30,
    };
  }

  async function slotRow(slot: string) {
    const rows = await pg.query<{ active: boolean; application_name: string | null }>(
      `SELECT s.active, a.application_name FROM pg_replication_slots s LEFT JOIN pg_stat_activity a ON a.pid = s.active_pid WHERE s.slot_name = $1`,
      [slot],
    );
    return rows;
  }

  for (let run = 1; run <= RUNS; run++) {
    it(`run ${run}: up converges (one RUNNING connector, Debezium holds the slot), destroy leaves nothing`, async () => {
      const name = uniqueName(`flt${run}`);
      const engine = new Engine();
      const t0 = Date.now();
      const up = await engine.up(() => {
        const p = new CdcPipeline(name, args());
        return { connectorState: p.connectorState, slotName: p.slotName, publicationName: p.publicationName };
      });
      upMs.push(Date.now() - t0);
      assert.equal(up.outputs.connectorState, "RUNNING");
      assert.deepEqual(double.connectorNames(), [name], "exactly one connector, with the pipeline's name");
      const status = double.herder.getStatus(name).body as { connector: { state: string }; tasks: Array<{ state: string }> };
      assert.equal(status.connector.state, "RUNNING");
      assert.deepEqual(status.tasks.map((t) => t.state), ["RUNNING"]);
      const slots = await slotRow(up.outputs.slotName as string);
      assert.equal(slots.length, 1);
      assert.equal(slots[0].active, true, "the slot is active");
      assert.match(slots[0].application_name ?? "", /Debezium/);
      assert.equal((await pg.query("SELECT 1 FROM pg_publication", [], db)).length, 1, "one publication");

      const t1 = Date.now();
      await engine.destroy();
      destroyMs.push(Date.now() - t1);
      assert.deepEqual(double.connectorNames(), [], "no connector left");
      assert.deepEqual(double.storedOffsets(name), [], "offsets reset");
      assert.equal((await slotRow(up.outputs.slotName as string)).length, 0, "no slot left");
      assert.equal((await pg.query("SELECT 1 FROM pg_replication_slots WHERE database = $1", [db])).length, 0, "no slot in the database");
      assert.equal((await pg.query("SELECT 1 FROM pg_publication", [], db)).length, 0, "no publication left");
      assert.equal(engine.snapshot().resources.length, 0);
    });
  }

  it("the faults were really injected: 409s, 500s and dropped connections (every kind in longer soaks)", () => {
    const faulted = double.requests.filter((r) => r.fault);
    const kinds = new Set(faulted.map((r) => r.fault));
    assert.ok(kinds.has("conflict") || kinds.has("no-leader"), "a 409 was injected");
    assert.ok(kinds.has("rebalance") || kinds.has("request-timeout"), "a 500 was injected");
    assert.ok(kinds.has("drop-before") || kinds.has("drop-after"), "a connection was dropped");
    if (RUNS >= 20) for (const k of ["rebalance", "conflict", "no-leader", "request-timeout", "drop-before", "drop-after"]) assert.ok(kinds.has(k as Kind), `fault ${k} injected`);
    const rate = faulted.length / double.requests.length;
    assert.ok(rate > 0.15 && rate < 0.45, `fault rate ${rate}`);
    assert.ok(connectStats.retries - retries0 >= faulted.length, "every fault was retried");
  });
});
