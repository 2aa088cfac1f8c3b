/**
 * PostgreSQL going away in the middle of an operation: the server restarted
 * (stop + start of a dedicated server) or the provider's own sessions
 * terminated (pg_terminate_backend of application_name 'pulumi-postgres-cdc').
 * Operations either complete or fail cleanly in bounded time with a message
 * naming the object, and the next up converges to exactly one slot,
 * publication and connector; destroy then leaves nothing.
 */
import { strict as assert } from "node:assert";
import { Client } from "pg";
import type { CdcPipelineArgs } from "pulumi-postgres-cdc";
import { CdcPipeline, Publication, ReplicationSlot } from "pulumi-postgres-cdc";
import { startConnectDouble, type ConnectDouble } from "../support/connect-double/server";
import { debeziumPostgresPlugin } from "../support/connect-double/debezium-postgres";
import { FAST_CONNECT, waitFor } from "../support/debezium-fixture";
import { Engine } from "../support/engine";
import { pgMajors, startPostgres, uniqueName, type PgServer } from "../support/postgres";

const major = Math.max(...pgMajors());
const APP = "pulumi-postgres-cdc";

/** Fails the test instead of hanging: the operation must settle within `ms`. */
async function bounded<T>(p: Promise<T>, ms: number, what: string): Promise<{ ok: true; value: T } | { ok: false; error: Error }> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms (hang)`)), ms)));
  try {
    return await Promise.race([p.then((value) => ({ ok: true as const, value }), (error: Error) => ({ ok: false as const, error })), hang]);
  } finally {
    clearTimeout(timer);
  }
}

describe(`PostgreSQL restarts and terminated sessions mid-operation on PostgreSQL ${major} @pg`, function () {
  this.timeout(120000);
  let pg: PgServer;
  let double: ConnectDouble;
  let db: string;
  let role: string;
  const rolePassword = "dbz-pgf-Secret-7731";
  const holders: Client[] = [];
  const figures: string[] = [];

  before(async () => {
    // A stuck logical consumer holds a fast shutdown for wal_sender_timeout: keep restarts short.
    pg = await startPostgres({ major, settings: { wal_sender_timeout: "2s" } });
    db = await pg.createDatabase("pgf");
    role = uniqueName("dbz");
    await pg.query(`CREATE ROLE ${role} LOGIN PASSWORD '${rolePassword}'`);
    await pg.query("CREATE TABLE customers (id int primary key, name text); CREATE TABLE orders (id int primary key, total numeric)", [], db);
    await pg.query("INSERT INTO customers VALUES (1, 'Ada'), (2, 'Grace')", [], db);
    double = await startConnectDouble({
      plugins: [debeziumPostgresPlugin({ statusUpdateIntervalMs: 200, retriableRestartWaitMs: 300, slotRetryDelayMs: 200, connectTimeoutMs: 2000 })],
      timing: FAST_CONNECT,
    });
  });
  afterEach(async () => {
    for (const h of holders.splice(0)) await h.end().catch(() => undefined);
    // A failed case must not leave objects that the next case's "exactly one" checks would see.
    for (const n of double.connectorNames()) await double.herder.deleteConnector(n);
    await waitFor("slots released", async () => (await pg.query("SELECT 1 FROM pg_replication_slots WHERE active")).length === 0, 10000).catch(() => undefined);
    await pg.query("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE NOT active");
    for (const { pubname } of await pg.query<{ pubname: string }>("SELECT pubname FROM pg_publication", [], db)) await pg.query(`DROP PUBLICATION ${pubname}`, [], db);
    await pg.query("ALTER TABLE customers REPLICA IDENTITY DEFAULT; ALTER TABLE orders REPLICA IDENTITY DEFAULT", [], db);
  });
  after(async () => {
    console.log(`      faults-postgres: ${figures.join("; ")}`);
    await double?.close();
    await pg?.destroy();
  });

  const slotRow = async (name: string) =>
    (
      await pg.query<{ active: boolean; active_pid: number | null; app: string | null }>(
        "SELECT s.active, s.active_pid, a.application_name AS app FROM pg_replication_slots s LEFT JOIN pg_stat_activity a ON a.pid = s.active_pid WHERE s.slot_name = $1",
        [name],
      )
    )[0];

  async function holdSlot(slotName: string, pubName: string): Promise<Client> {
    const client = new Client({ ...pg.connection(db), replication: "database", application_name: "stuck-consumer" } as never);
    client.on("error", () => undefined);
    await client.connect();
    holders.push(client);
    client.query(`START_REPLICATION SLOT ${slotName} LOGICAL 0/0 (proto_version '1', publication_names '${pubName}')`).catch(() => undefined);
    await waitFor("slot held", async () => (await slotRow(slotName))?.active);
    return client;
  }

  /** Terminates every session of the provider (not the test's, not Debezium's). */
  const terminateProviderSessions = async () =>
    (
      await pg.query<{ pid: number }>(
        // OFFSET 0 keeps the filter apart from pg_terminate_backend, which must never see this session.
        "SELECT pid FROM (SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid() OFFSET 0) s WHERE pg_terminate_backend(pid)",
        [APP],
      )
    ).length;

  /** A Publication + ReplicationSlot("wait") stack whose slot delete is made to wait on a holder. */
  async function waitingDelete(name: string) {
    const engine = new Engine();
    const conn = pg.connection(db);
    await engine.up(() => {
      const pub = new Publication(`${name}-pub`, { connection: conn, name: `${name}_pub`, tables: ["public.customers"] });
      new ReplicationSlot(`${name}-slot`, { connection: conn, name: `${name}_slot`, onDeleteWhileActive: "wait", deleteTimeoutSeconds: 30 }, { dependsOn: [pub] });
    });
    await holdSlot(`${name}_slot`, `${name}_pub`);
    return engine;
  }

  it("server restarted while a ReplicationSlot delete waits for the holder: the delete fails at once with a clear message; the next destroy drops the slot", async () => {
    const name = uniqueName("rsw");
    const engine = await waitingDelete(name);
    const t0 = Date.now();
    let settledAt = 0;
    const destroying = bounded(engine.destroy(), 20000, "destroy during a restart").finally(() => (settledAt = Date.now()));
    await new Promise((r) => setTimeout(r, 700));
    const stopAt = Date.now();
    await pg.stop();
    const stopped = Date.now();
    await pg.start();
    const r = await destroying;
    const took = settledAt - t0;
    assert.ok(settledAt <= stopped + 1000, "the delete failed as the server went down, not later");
    assert.equal(r.ok, false, "the waiting delete cannot survive its session");
    const msg = (r as { error: Error }).error.message;
    assert.match(msg, new RegExp(`ReplicationSlot "${name}_slot"`));
    assert.match(msg, /connection to PostgreSQL was lost/i);
    assert.match(msg, /run .*again/i);
    assert.ok(!msg.includes(pg.superPassword));
    assert.ok(took < 15000, `bounded (${took} ms)`);
    figures.push(`restart during slot delete: failed ${took} ms after the destroy started (shutdown took ${stopped - stopAt} ms)`);
    // The slot survived the restart (logical slots are persistent) and the holder is gone with the old server.
    assert.equal((await slotRow(`${name}_slot`))?.active, false);
    await engine.destroy();
    assert.equal(await slotRow(`${name}_slot`), undefined);
    assert.equal((await pg.query("SELECT 1 FROM pg_publication WHERE pubname = $1", [`${name}_pub`], db)).length, 0);
  });

  it("provider session terminated while a ReplicationSlot delete waits: the delete fails with a clear message; the next destroy, once released, drops the slot", async () => {
    const name = uniqueName("tsw");
    const engine = await waitingDelete(name);
    const t0 = Date.now();
    const destroying = bounded(engine.destroy(), 20000, "destroy with a terminated session");
    await waitFor("the delete's session", async () => (await pg.query("SELECT 1 FROM pg_stat_activity WHERE application_name = $1", [APP])).length > 0);
    await new Promise((r) => setTimeout(r, 300));
    const killed = await terminateProviderSessions();
    assert.ok(killed >= 1);
    const r = await destroying;
    const took = Date.now() - t0;
    assert.equal(r.ok, false);
    const msg = (r as { error: Error }).error.message;
    assert.match(msg, new RegExp(`ReplicationSlot "${name}_slot"`));
    assert.match(msg, /terminating connection due to administrator command/);
    assert.match(msg, /connection to PostgreSQL was lost/i);
    assert.ok(took < 10000, `bounded (${took} ms)`);
    figures.push(`terminated during slot delete: failed after ${took} ms`);
    assert.equal((await slotRow(`${name}_slot`))?.active, true, "the holder still holds the slot");
    for (const h of holders.splice(0)) await h.end().catch(() => undefined);
    await waitFor("released", async () => (await slotRow(`${name}_slot`))?.active === false);
    await engine.destroy();
    assert.equal(await slotRow(`${name}_slot`), undefined);
  });

  function pipelineArgs(): CdcPipelineArgs {
    return {
      source: pg.connection(db),
      connectorSource: { user: role, password: rolePassword },
      connect: { url: double.url },
      tables: ["public.customers", "public.orders"],
      replicaIdentityFull: true,
      readyTimeoutSeconds: 20,
    };
  }

  async function assertConverged(name: string) {
    const slots = await pg.query<{ slot_name: string }>("SELECT slot_name FROM pg_replication_slots WHERE database = $1", [db]);
    assert.deepEqual(slots.map((s) => s.slot_name), [`${name}_slot`], "exactly one slot");
    const pubs = await pg.query<{ pubname: string }>("SELECT pubname FROM pg_publication", [], db);
    assert.deepEqual(pubs.map((p) => p.pubname), [`${name}_pub`], "exactly one publication");
    assert.deepEqual(double.connectorNames(), [name], "exactly one connector");
    const row = await waitFor("Debezium streaming", async () => {
      const r = await slotRow(`${name}_slot`);
      return r?.active && /Debezium/.test(r.app ?? "") ? r : undefined;
    });
    assert.ok(row);
  }

  async function assertNothingLeft(name: string) {
    assert.equal((await pg.query("SELECT 1 FROM pg_replication_slots WHERE database = $1", [db])).length, 0, "no slot left");
    assert.equal((await pg.query("SELECT 1 FROM pg_publication", [], db)).length, 0, "no publication left");
    assert.deepEqual(double.connectorNames(), [], "no connector left");
    assert.deepEqual(double.storedOffsets(name), []);
    const [ident] = await pg.query<{ r: string }>("SELECT string_agg(relreplident::text, '' ORDER BY relname) AS r FROM pg_class WHERE relname IN ('customers', 'orders')", [], db);
    assert.equal(ident.r, "dd", "replica identities restored");
  }

  const program = (name: string) => () => {
    const p = new CdcPipeline(name, pipelineArgs());
    return { connectorState: p.connectorState };
  };

  it("provider sessions terminated at random moments during pipeline ups: each up completes or fails cleanly, none leaves a duplicate; once the killing stops the next up converges; destroy leaves nothing", async () => {
    const name = uniqueName("tup");
    const engine = new Engine();
    let kills = 0;
    let killing = true;
    const killer = (async () => {
      while (killing) {
        kills += await terminateProviderSessions().catch(() => 0);
        await new Promise((r) => setTimeout(r, 5 + Math.floor(Math.random() * 60)));
      }
    })();
    const outcomes: string[] = [];
    try {
      // Ups until the killer has hit a few of them (at most 8 ups).
      for (let attempt = 1; attempt <= 8 && outcomes.filter((o) => o !== "completed").length < 3; attempt++) {
        const r = await bounded(engine.up(program(name)), 60000, `up ${attempt} under terminated sessions`);
        if (r.ok) {
          outcomes.push("completed");
          continue;
        }
        const first = r.error.message.split("\n")[0];
        // Newer @pulumi/pulumi releases prefix failures that surface through the stack outputs with 'error serializing property "outputs": '.
        assert.match(first, /^(error serializing property "[^"]+": )?(CdcPipeline|Publication|ReplicationSlot|ReplicationGrant|ReplicaIdentity|SignalTable|DebeziumConnector)\b[^:]*"[^"]+"/, `names the object: ${first}`);
        assert.match(r.error.message, /connection to PostgreSQL was lost/i);
        assert.ok(!r.error.message.includes(pg.superPassword));
        outcomes.push(first.split(":")[0]);
        // Never more than one of each object, whatever the interrupted up got to.
        assert.ok((await pg.query("SELECT 1 FROM pg_replication_slots WHERE database = $1", [db])).length <= 1);
        assert.ok((await pg.query("SELECT 1 FROM pg_publication", [], db)).length <= 1);
        assert.ok(double.connectorNames().length <= 1);
      }
    } finally {
      killing = false;
      await killer;
    }
    assert.ok(kills > 0 && outcomes.some((o) => o !== "completed"), "the killer hit at least one up");
    figures.push(`${outcomes.length} ups under a session killer (${kills} sessions terminated): ${outcomes.join(", ")}`);
    const t1 = Date.now();
    await engine.up(program(name));
    figures.push(`next up converged in ${Date.now() - t1} ms`);
    await assertConverged(name);
    await engine.destroy();
    await assertNothingLeft(name);
  });

  for (const when of ["slot", "connector"] as const) {
    it(`server restarted during a pipeline up (once the ${when} exists): it completes or fails cleanly; the next up converges; destroy leaves nothing`, async () => {
      const name = uniqueName(`rup${when[0]}`);
      const engine = new Engine();
      const t0 = Date.now();
      const upping = bounded(engine.up(program(name)), 60000, "up during a restart");
      await waitFor(`the ${when}`, async () =>
        when === "slot" ? !!(await slotRow(`${name}_slot`).catch(() => undefined)) : double.connectorNames().includes(name), 30000);
      await pg.stop();
      await new Promise((r) => setTimeout(r, 300));
      await pg.start();
      const r = await upping;
      const took = Date.now() - t0;
      if (!r.ok) {
        assert.match(r.error.message, /(CdcPipeline|Publication|ReplicationSlot|ReplicationGrant|ReplicaIdentity|SignalTable|DebeziumConnector)[^\n]*"/, "names the object");
        assert.ok(!r.error.message.includes(pg.superPassword));
      }
      figures.push(`restart during up at the ${when}: ${r.ok ? "completed" : `failed cleanly: ${r.error.message.split("\n")[0].slice(0, 160)}`} after ${took} ms`);
      await engine.up(program(name));
      await assertConverged(name);
      await engine.destroy();
      await assertNothingLeft(name);
    });
  }
});
