/**
 * A `pulumi up` of a CdcPipeline killed after each step of its creation
 * (grant, replica identity, publication, slot, connector), then run again
 * with the same state: it converges with no orphaned or duplicate slot,
 * publication or connector, and destroy leaves nothing.
 *
 * Two kinds of kill:
 * - after the step was recorded (the state knows the object);
 * - after the provider finished the step but before the engine recorded it
 *   (the object exists on the server, the state does not know it): the next
 *   up's create must adopt the identical existing object.
 */
import { strict as assert } from "node:assert";
import type { CdcPipelineArgs } from "pulumi-postgres-cdc";
import { CdcPipeline } from "pulumi-postgres-cdc";
import { startConnectDouble, type ConnectDouble } from "../support/connect-double/server";
import { debeziumPostgresPlugin } from "../support/connect-double/debezium-postgres";
import { Engine, EngineInterrupted } from "../support/engine";
import { pgMajors, sharedPostgres, uniqueName, type PgServer } from "../support/postgres";

const major = Math.max(...pgMajors());
const STEPS = ["grant", "replica-identity", "signal-table", "publication", "slot", "connector"] as const;

describe(`CdcPipeline up killed after each creation step, then run again, on PostgreSQL ${major} @pg`, function () {
  this.timeout(120000);
  let pg: PgServer;
  let double: ConnectDouble;
  let db: string;
  const rolePassword = "dbz-intr-Secret-5120";
  const timings: string[] = [];

  before(async () => {
    pg = await sharedPostgres(major);
    double = await startConnectDouble({
      plugins: [debeziumPostgresPlugin({ statusUpdateIntervalMs: 200, retriableRestartWaitMs: 300, slotRetryDelayMs: 200 })],
      timing: { tasksDelayMs: 50, pauseDelayMs: 50, restartDelayMs: 50, taskShutdownTimeoutMs: 3000 },
    });
    db = await pg.createDatabase("intr");
    await pg.query("CREATE TABLE customers (id int primary key, name text); CREATE TABLE orders (id int primary key, total numeric)", [], db);
    await pg.query("INSERT INTO customers VALUES (1, 'Ada'), (2, 'Grace')", [], db);
  });
  after(async () => {
    console.log(`      interruption: ${timings.join("; ")}`);
    await double?.close();
  });
  afterEach(async () => {
    // Leftovers that an unrecorded grant/identity step leaves by design (see the tests) must not leak into the next case.
    await pg.query("ALTER TABLE customers REPLICA IDENTITY DEFAULT; ALTER TABLE orders REPLICA IDENTITY DEFAULT", [], db);
  });

  const catalog = async (name: string) => ({
    slots: (await pg.query<{ slot_name: string }>("SELECT slot_name FROM pg_replication_slots WHERE database = $1", [db])).map((r) => r.slot_name),
    publications: (await pg.query<{ pubname: string; oid: number }>("SELECT pubname, oid FROM pg_publication", [], db)).map((r) => `${r.pubname}:${r.oid}`),
    connectors: double.connectorNames(),
    posts: double.requests.filter((r) => r.method === "POST" && r.path === "/connectors").length,
    offsets: double.storedOffsets(name).length,
  });

  const privileges = async (role: string) =>
    (
      await pg.query<{ sel: boolean; rep: boolean }>(
        `SELECT has_table_privilege($1, 'public.customers', 'SELECT') AS sel, (SELECT rolreplication FROM pg_roles WHERE rolname = $1) AS rep`,
        [role],
        db,
      )
    )[0];
  const identities = async () =>
    (await pg.query<{ relname: string; r: string }>("SELECT relname, relreplident AS r FROM pg_class WHERE relname IN ('customers', 'orders') ORDER BY relname", [], db)).map((x) => x.r).join("");

  for (const lose of [false, true]) {
    for (let n = 1; n <= STEPS.length; n++) {
      const step = STEPS[n - 1];
      const title = lose
        ? `killed after the ${step} was created but before the state recorded it (step ${n}): the next up adopts it`
        : `killed after step ${n} (${step}) was recorded: the next up finishes the rest`;
      it(title, async () => {
        const name = uniqueName(`in${n}${lose ? "l" : "r"}`);
        const role = uniqueName("dbz");
        await pg.query(`CREATE ROLE ${role} LOGIN PASSWORD '${rolePassword}'`);
        const args: CdcPipelineArgs = {
          source: pg.connection(db),
          connectorSource: { user: role, password: rolePassword },
          connect: { url: double.url },
          tables: ["public.customers", "public.orders"],
          replicaIdentityFull: true,
          readyTimeoutSeconds: 30,
        };
        const program = () => {
          const p = new CdcPipeline(name, args);
          return { connectorState: p.connectorState, slotName: p.slotName, publicationName: p.publicationName };
        };
        const engine = new Engine();
        const postsBefore = (await catalog(name)).posts;
        const t0 = Date.now();
        await assert.rejects(engine.up(program, { interruptAfterSteps: n, interruptBeforeRecording: lose }), EngineInterrupted);
        const t1 = Date.now();
        const recorded = engine.snapshot().resources.filter((r) => r.dynamic).map((r) => r.name.slice(name.length + 1));
        assert.deepEqual(recorded, STEPS.slice(0, lose ? n - 1 : n), "the state holds exactly the recorded steps");
        const mid = await catalog(name);
        // What exists on the server after the kill: the first n steps, recorded or not.
        const at = (step: (typeof STEPS)[number]) => STEPS.indexOf(step) + 1;
        assert.equal(mid.publications.length, n >= at("publication") ? 1 : 0);
        assert.deepEqual(mid.slots, n >= at("slot") ? [`${name}_slot`] : []);
        assert.deepEqual(mid.connectors, n >= at("connector") ? [name] : []);

        const up = await engine.up(program);
        const t2 = Date.now();
        assert.equal(up.outputs.connectorState, "RUNNING");
        const ops = Object.fromEntries(up.steps.filter((s) => s.key.includes(name)).map((s) => [s.key.split("::")[1].slice(name.length + 1), s.op]));
        for (const [i, s] of STEPS.entries()) {
          const wasRecorded = i < (lose ? n - 1 : n);
          assert.equal(ops[s], wasRecorded ? "same" : "create", `${s} on the second up`);
        }
        const end = await catalog(name);
        assert.deepEqual(end.slots, [`${name}_slot`], "exactly one slot");
        assert.equal(end.publications.length, 1, "exactly one publication");
        if (n >= at("publication")) assert.deepEqual(end.publications, mid.publications, "the publication made before the kill was kept (same oid), not recreated");
        assert.deepEqual(end.connectors, [name], "exactly one connector");
        assert.equal(end.posts - postsBefore, 1, "the connector was POSTed once over both ups (adopted, not created twice)");
        const [slot] = await pg.query<{ active: boolean; app: string | null }>(
          "SELECT s.active, a.application_name AS app FROM pg_replication_slots s LEFT JOIN pg_stat_activity a ON a.pid = s.active_pid WHERE s.slot_name = $1",
          [`${name}_slot`],
        );
        assert.equal(slot.active, true);
        assert.match(slot.app ?? "", /Debezium/);
        assert.equal(engine.snapshot().resources.filter((r) => r.dynamic).length, STEPS.length);

        await engine.destroy();
        const t3 = Date.now();
        const gone = await catalog(name);
        assert.deepEqual(gone.slots, [], "no slot left");
        assert.deepEqual(gone.publications, [], "no publication left");
        assert.deepEqual(gone.connectors, [], "no connector left");
        assert.equal(gone.offsets, 0, "no offsets left");
        // A grant or identity applied by a lost step is indistinguishable from one the role/table already had,
        // so the adopting resource keeps it ("kept", never revoked/restored): the safe side, documented here.
        const priv = await privileges(role);
        if (lose && step === "grant") assert.deepEqual(priv, { sel: true, rep: true }, "a lost grant step is adopted as pre-existing and kept");
        else assert.deepEqual(priv, { sel: false, rep: false }, "grants revoked");
        const ident = await identities();
        if (lose && step === "replica-identity") assert.equal(ident, "ff", "a lost identity step is adopted as pre-existing and kept");
        else assert.equal(ident, "dd", "replica identities restored");
        timings.push(`${lose ? "lost" : "recorded"} ${step}: ${t1 - t0}+${t2 - t1}+${t3 - t2} ms`);
        await pg.query(`DROP OWNED BY ${role}; DROP ROLE ${role}`, [], db).catch(() => undefined);
      });
    }
  }
});
