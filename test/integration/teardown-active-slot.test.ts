/**
 * Deleting a ReplicationSlot while a consumer still holds it, for each
 * onDeleteWhileActive mode. The pieces are built by hand (Publication,
 * ReplicationSlot, DebeziumConnector with resetOffsetsOnDelete) and the slot
 * is removed from the program while the connector keeps running, so the
 * engine deletes the slot while Debezium streams from it; or the slot is held
 * by a separate replication connection.
 * - "fail": the delete errors at once naming the holder's PID and application;
 * - "terminate": the holder is ended and the slot dropped;
 * - "wait": the slot is dropped once the holder lets go; when it never does,
 *   the delete fails after deleteTimeoutSeconds with a clear message.
 */
import { strict as assert } from "node:assert";
import { Client } from "pg";
import { DebeziumConnector, Publication, ReplicationSlot } from "pulumi-postgres-cdc";
import { FAST_CONNECT, setupDebeziumDatabase, waitFor, type DebeziumDatabase } from "../support/debezium-fixture";
import { startConnectDouble, type ConnectDouble } from "../support/connect-double/server";
import { debeziumPostgresPlugin } from "../support/connect-double/debezium-postgres";
import { Engine } from "../support/engine";
import { pgMajors, sharedPostgres, uniqueName } from "../support/postgres";

const major = Math.max(...pgMajors());
type Mode = "wait" | "terminate" | "fail";

describe(`ReplicationSlot delete while the slot is held, per onDeleteWhileActive, on PostgreSQL ${major} @pg`, function () {
  this.timeout(90000);
  let double: ConnectDouble;
  let dbz: DebeziumDatabase;
  const holders: Client[] = [];

  before(async () => {
    const pg = await sharedPostgres(major);
    dbz = await setupDebeziumDatabase(pg, "tdown");
    double = await startConnectDouble({
      plugins: [debeziumPostgresPlugin({ statusUpdateIntervalMs: 200, retriableRestartWaitMs: 300, slotRetryDelayMs: 200 })],
      timing: FAST_CONNECT,
    });
  });
  afterEach(async () => {
    for (const h of holders.splice(0)) await h.end().catch(() => undefined);
  });
  after(async () => {
    await double?.close();
    await dbz?.dropSlots();
  });

  /** A stack of Publication -> ReplicationSlot(mode) -> DebeziumConnector; `withSlot: false` drops the slot from the program. */
  function stack(name: string, mode: Mode, deleteTimeoutSeconds: number, withConnector: boolean) {
    const slotName = `${name}_slot`;
    const pubName = `${name}_pub`;
    const conn = dbz.connection();
    return (withSlot: boolean) => () => {
      const pub = new Publication(`${name}-pub`, { connection: conn, name: pubName, tables: ["public.orders", "public.items"] });
      const slot = withSlot
        ? new ReplicationSlot(`${name}-slot`, { connection: conn, name: slotName, onDeleteWhileActive: mode, deleteTimeoutSeconds }, { dependsOn: [pub] })
        : undefined;
      if (withConnector) {
        new DebeziumConnector(
          `${name}-connector`,
          {
            connect: { url: double.url },
            name,
            config: dbz.connectorConfig(slotName, { "publication.name": pubName, "topic.prefix": name }),
            resetOffsetsOnDelete: true,
            runningTimeoutSeconds: 30,
            streaming: { connection: conn, slotName, timeoutSeconds: 30 },
          },
          { dependsOn: slot ? [slot] : [pub] },
        );
      }
    };
  }

  /** Holds a slot with a plain logical replication connection (application_name `app`). */
  async function holdSlot(slotName: string, pubName: string, app: string): Promise<{ client: Client; ended: Promise<string> }> {
    const client = new Client({ ...dbz.connection(), replication: "database", application_name: app } as never);
    let resolveEnded: (why: string) => void = () => undefined;
    const ended = new Promise<string>((r) => (resolveEnded = r));
    client.on("error", (e) => resolveEnded(e.message));
    client.on("end", () => resolveEnded("connection ended"));
    await client.connect();
    holders.push(client);
    client.query(`START_REPLICATION SLOT ${slotName} LOGICAL 0/0 (proto_version '1', publication_names '${pubName}')`).catch((e: Error) => resolveEnded(e.message));
    const row = await dbz.waitForSlot(slotName, true);
    assert.equal(row.application_name, app);
    return { client, ended };
  }

  const slotRow = (name: string) => dbz.slot(name);

  it('"fail": deleting the slot Debezium streams from errors at once, naming the PID and application; the slot stays', async () => {
    const name = uniqueName("tdf");
    const engine = new Engine();
    const program = stack(name, "fail", 30, true);
    await engine.up(program(true));
    const held = await dbz.waitForSlot(`${name}_slot`, true);
    assert.match(held.application_name ?? "", /Debezium/);
    const t0 = Date.now();
    await assert.rejects(engine.up(program(false)), (e: Error) => {
      assert.match(e.message, new RegExp(`ReplicationSlot "${name}_slot"`));
      assert.match(e.message, new RegExp(`PID ${held.active_pid}\\b`));
      assert.match(e.message, /application_name "Debezium Streaming"/);
      assert.match(e.message, /onDeleteWhileActive is "fail"/);
      assert.ok(!e.message.includes(dbz.password));
      return true;
    });
    assert.ok(Date.now() - t0 < 5000, "fails at once");
    assert.equal((await slotRow(`${name}_slot`))?.active, true, "the slot is still there and streaming");
    assert.ok(engine.resource(`${name}-slot`), "the slot stays in state");

    // destroy deletes the connector first; the slot is then free and "fail" drops it.
    await engine.destroy();
    assert.equal(await slotRow(`${name}_slot`), undefined);
    assert.deepEqual(double.connectorNames(), []);
  });

  it('"terminate": the holding backend is ended and the slot dropped', async () => {
    const name = uniqueName("tdt");
    const engine = new Engine();
    const program = stack(name, "terminate", 10, false);
    await engine.up(program(true));
    const holder = await holdSlot(`${name}_slot`, `${name}_pub`, "someone-else");
    const t0 = Date.now();
    await engine.destroy();
    assert.ok(Date.now() - t0 < 10000);
    assert.equal(await slotRow(`${name}_slot`), undefined, "slot dropped");
    assert.match(await holder.ended, /terminat|ended|Connection/i, "the holder's connection was ended");
  });

  it('"terminate" with Debezium still running: its WAL sender is ended and the slot dropped, and Debezium (retrying) creates a new slot of that name that no resource manages', async () => {
    const name = uniqueName("tdd");
    const engine = new Engine();
    const program = stack(name, "terminate", 10, true);
    await engine.up(program(true));
    const held = await dbz.waitForSlot(`${name}_slot`, true);
    dbz.trackSlot(`${name}_slot`);
    await engine.up(program(false));
    assert.equal(engine.resource(`${name}-slot`), undefined, "the slot left the state");
    // Debezium treats the ended WAL sender as retriable, restarts, finds no slot and creates one (a new position).
    const again = await waitFor("Debezium's new slot", async () => {
      const r = await slotRow(`${name}_slot`);
      return r?.active && r.active_pid !== held.active_pid ? r : undefined;
    });
    assert.match(again.application_name ?? "", /Debezium/);
    assert.ok(double.workerLog.some((l) => l.includes(name) && /terminating connection due to administrator command/.test(l)));
    assert.ok(double.workerLog.some((l) => l.includes(name) && /Creating replication slot/.test(l)));
    await engine.destroy();
    assert.deepEqual(double.connectorNames(), []);
    // The recreated slot is not in any state: terminate is for stray consumers, not for a connector that is still deployed.
    assert.equal((await dbz.waitForSlot(`${name}_slot`, false)).active, false, "an unmanaged slot is left behind");
    await dbz.dropSlots();
    assert.equal(await slotRow(`${name}_slot`), undefined);
  });

  it('"wait": the delete waits while Debezium holds the slot and drops it once the connector lets go (~1 s later)', async () => {
    const name = uniqueName("tdw");
    const engine = new Engine();
    const program = stack(name, "wait", 30, true);
    await engine.up(program(true));
    await dbz.waitForSlot(`${name}_slot`, true);
    const t0 = Date.now();
    let releasedAt = 0;
    const release = (async () => {
      await new Promise((r) => setTimeout(r, 1000));
      // The operator stops the connector (REST, as from a console): Debezium ends its WAL sender.
      const r = await double.herder.stop(name);
      assert.equal(r.status, 204);
      releasedAt = Date.now();
    })();
    await engine.up(program(false));
    await release;
    const took = Date.now() - t0;
    assert.ok(releasedAt > 0 && took >= 1000, `the delete waited for the release (${took} ms)`);
    assert.ok(took < 10000, `and finished soon after (${took} ms)`);
    assert.equal(await slotRow(`${name}_slot`), undefined, "slot dropped");
    assert.equal(engine.resource(`${name}-slot`), undefined);
    await engine.destroy();
    assert.deepEqual(double.connectorNames(), []);
    assert.equal(await slotRow(`${name}_slot`), undefined, "no slot came back");
  });

  it('"wait": a holder that never lets go fails the delete after deleteTimeoutSeconds, naming it; the slot stays', async () => {
    const name = uniqueName("tdx");
    const engine = new Engine();
    const program = stack(name, "wait", 2, false);
    await engine.up(program(true));
    await holdSlot(`${name}_slot`, `${name}_pub`, "stuck-consumer");
    const t0 = Date.now();
    await assert.rejects(engine.destroy(), (e: Error) => {
      assert.match(e.message, new RegExp(`ReplicationSlot "${name}_slot"`));
      assert.match(e.message, /still in use after 2 s \(deleteTimeoutSeconds 2, onDeleteWhileActive "wait"\)/);
      assert.match(e.message, /PID \d+ \(application_name "stuck-consumer"/);
      assert.match(e.message, /terminate/);
      return true;
    });
    const took = Date.now() - t0;
    assert.ok(took >= 2000 && took < 5000, `bounded by deleteTimeoutSeconds (${took} ms)`);
    assert.equal((await slotRow(`${name}_slot`))?.active, true, "the slot is still there");
    assert.ok(engine.resource(`${name}-slot`), "and still in state");
    // Once the consumer is gone, destroy goes through.
    for (const h of holders.splice(0)) await h.end().catch(() => undefined);
    await waitFor("holder gone", async () => (await slotRow(`${name}_slot`))?.active === false);
    await engine.destroy();
    assert.equal(await slotRow(`${name}_slot`), undefined);
  });
});
