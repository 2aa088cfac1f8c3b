/**
 * checkSlotLoss against a slot that PostgreSQL really invalidated: still in
 * pg_replication_slots, wal_status 'lost', because it retained more WAL than
 * max_slot_wal_keep_size allows. Each suite runs its own PostgreSQL server
 * (the setting is changed with ALTER SYSTEM while the slot is lost, then
 * reset), on both Connect targets: the connector side (stop, offsets,
 * resume, the new snapshot) is real Kafka Connect + Debezium or the double.
 */
import { strict as assert } from "node:assert";
import { ConnectClient } from "#dist/connect/client.js";
import { checkSlotLoss, type SlotLossCheck } from "#dist/pipeline/slot-loss.js";
import { resolveConnection } from "#dist/validation/connection.js";
import { connectTargets, majorsFor, startConnectTarget, type ConnectTarget } from "../support/connect-target";
import { setupDebeziumDatabase, waitFor, type DebeziumDatabase } from "../support/debezium-fixture";
import { startPostgres, uniqueName, type PgServer } from "../support/postgres";

interface SlotState {
  wal_status: string | null;
  restart_lsn: string | null;
  plugin: string;
  active: boolean;
}

/**
 * Makes PostgreSQL invalidate a slot: max_slot_wal_keep_size 1MB, then WAL written, switched and
 * checkpointed until the slot's WAL is removed and its wal_status is 'lost'. The setting is reset after.
 */
async function loseSlot(pg: PgServer, db: string, slot: string): Promise<void> {
  await pg.query("ALTER SYSTEM SET max_slot_wal_keep_size = '1MB'");
  await pg.query("SELECT pg_reload_conf()");
  try {
    await pg.query("CREATE TABLE IF NOT EXISTS wal_filler (id int, pad text)", [], db);
    await waitFor(
      `slot ${slot} lost`,
      async () => {
        await pg.query("INSERT INTO wal_filler SELECT g, repeat('x', 500) FROM generate_series(1, 4000) g", [], db);
        await pg.query("SELECT pg_switch_wal()");
        await pg.query("CHECKPOINT");
        const rows = await pg.query<SlotState>("SELECT wal_status FROM pg_replication_slots WHERE slot_name = $1", [slot]);
        return rows[0]?.wal_status === "lost";
      },
      60000,
    );
  } finally {
    await pg.query("ALTER SYSTEM RESET max_slot_wal_keep_size");
    await pg.query("SELECT pg_reload_conf()");
  }
}

for (const kind of connectTargets()) for (const major of majorsFor(kind)) {
  describe(`checkSlotLoss with a slot PostgreSQL ${major} invalidated (wal_status 'lost'), on ${kind === "real" ? "real Kafka Connect + Debezium" : "the Connect double"} @pg${kind === "real" ? " @real" : ""}`, function () {
    this.timeout(kind === "real" ? 240000 : 90000);
    let pg: PgServer;
    let dbz: DebeziumDatabase;
    let target: ConnectTarget;
    let client: ConnectClient;

    before(async () => {
      pg = await startPostgres({ major });
      dbz = await setupDebeziumDatabase(pg, "slotloss");
      target = await startConnectTarget(kind);
      client = new ConnectClient({ url: target.url });
    });

    afterEach(async () => {
      await target.deleteAllConnectors();
      await dbz.dropSlots();
    });

    after(async () => {
      await client?.close();
      await target?.close();
      await pg?.destroy();
    });

    const slotState = async (slot: string) => (await pg.query<SlotState>("SELECT wal_status, restart_lsn::text AS restart_lsn, plugin::text AS plugin, active FROM pg_replication_slots WHERE slot_name = $1", [slot]))[0];
    const connectorState = async (name: string) => (await client.getStatus(name))?.connector.state;

    /** A connector that snapshotted, streams and committed offsets. */
    async function streamingConnector(): Promise<{ name: string; slot: string; topic: string; snapshotRows: () => Promise<number> }> {
      const slot = await dbz.createSlot();
      const name = uniqueName("lost");
      const config = dbz.connectorConfig(slot);
      const topic = `${config["topic.prefix"]}.public.orders`;
      const res = await fetch(`${target.url}/connectors`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name, config }) });
      assert.equal(res.status, 201, await res.text());
      const snapshotRows = async () => (await target.changeEvents(topic)).filter((e) => e.op === "r").length;
      await waitFor("first snapshot", async () => (await snapshotRows()) === 2, 60000);
      await waitFor("committed offsets", async () => (await target.storedOffsets(name)).length > 0, 60000);
      await dbz.waitForSlot(slot, true, 30000);
      return { name, slot, topic, snapshotRows };
    }

    /** A connector that snapshotted and committed offsets, then stopped (as one left stopped for a long time), and its slot lost. */
    async function connectorWithLostSlot(): Promise<{ name: string; slot: string; topic: string; snapshotRows: () => Promise<number> }> {
      const { name, slot, topic, snapshotRows } = await streamingConnector();
      await client.stop(name);
      await waitFor("connector STOPPED", async () => (await connectorState(name)) === "STOPPED", 30000);
      await dbz.waitForSlot(slot, false, 30000);
      await loseSlot(pg, dbz.db, slot);
      return { name, slot, topic, snapshotRows };
    }

    const check = (name: string, slot: string, over: Partial<SlotLossCheck> = {}): { run: () => ReturnType<typeof checkSlotLoss>; log: string[] } => {
      const log: string[] = [];
      const c: SlotLossCheck = {
        pipeline: "shop",
        source: resolveConnection({ connection: dbz.connection() }, "test"),
        client,
        connectorName: name,
        slotName: slot,
        policy: "fail",
        preview: false,
        timeoutMs: 60000,
        log: (l) => log.push(l),
        spec: { name: slot, plugin: "pgoutput", twoPhase: false, failover: false },
        ...over,
      };
      return { run: () => checkSlotLoss(c), log };
    };

    it("onSlotLoss fail: an error naming the slot, the connector, the gap and the fix; preview only warns; nothing is changed", async () => {
      const { name, slot } = await connectorWithLostSlot();
      assert.equal((await slotState(slot))?.wal_status, "lost");
      const offsets = await target.storedOffsets(name);

      const preview = check(name, slot, { preview: true });
      assert.equal(await preview.run(), "reported");
      assert.equal(preview.log.length, 1);
      assert.match(preview.log[0], new RegExp(`warning: replication slot "${slot}" still exists, but PostgreSQL invalidated it \\(wal_status 'lost'\\)`));

      let message = "";
      await assert.rejects(check(name, slot).run(), (err: Error) => {
        message = err.message;
        return true;
      });
      assert.match(message, new RegExp(`^CdcPipeline "shop": replication slot "${slot}" still exists, but PostgreSQL invalidated it \\(wal_status 'lost'\\)`));
      assert.match(message, new RegExp(`the WAL that connector "${name}" still needs was removed`));
      assert.match(message, /max_slot_wal_keep_size, currently -1/, "the setting as it is now (reset after the loss)");
      assert.match(message, /cannot resume from its stored offsets \(last confirmed position [0-9A-F]+\/[0-9A-F]+\): every change made since then is gone from the WAL/);
      assert.match(message, new RegExp(`Set onSlotLoss: "resnapshot" to stop the connector, clear its offsets, drop and recreate the slot \\(pg_drop_replication_slot\\('${slot}'\\)\\) and snapshot all tables again`));
      assert.match(message, /raise max_slot_wal_keep_size/);
      assert.ok(!message.includes(dbz.password) && !message.includes(pg.superPassword), message);

      assert.equal((await slotState(slot))?.wal_status, "lost", "the slot is left as it was");
      assert.equal(await connectorState(name), "STOPPED");
      assert.deepEqual(await target.storedOffsets(name), offsets, "offsets kept");
    });

    it("onSlotLoss resnapshot: stops the connector, clears its offsets, drops and recreates the slot (wal_status 'reserved'), resumes, and Debezium snapshots again", async () => {
      const { name, slot, topic, snapshotRows } = await connectorWithLostSlot();
      const c = check(name, slot, { policy: "resnapshot" });
      assert.equal(await c.run(), "resnapshotted");
      assert.ok(c.log.some((l) => l.includes(`replication slot "${slot}" still exists, but PostgreSQL invalidated it`) && l.includes("dropping and recreating the slot")), c.log.join("\n"));

      const fresh = await slotState(slot);
      assert.equal(fresh?.wal_status, "reserved");
      assert.ok(fresh?.restart_lsn, "a fresh slot reserves WAL from now");
      assert.equal(fresh?.plugin, "pgoutput");
      await waitFor("connector RUNNING", async () => (await connectorState(name)) === "RUNNING", 60000);
      await waitFor("a second snapshot", async () => (await snapshotRows()) === 4, 90000);
      await dbz.waitForSlot(slot, true, 60000);
      // Streaming from the new slot: a new row arrives.
      await dbz.query("INSERT INTO orders VALUES (300, 'after the loss', 1)");
      await waitFor("the insert streamed from the new slot", async () => (await target.changeEvents(topic)).some((e) => e.op === "c" && e.after?.id === 300), 60000);
      await dbz.query("DELETE FROM orders WHERE id = 300");
      assert.equal((await slotState(slot))?.wal_status, "reserved");
      assert.equal(await check(name, slot).run(), "none", "a healthy slot is no loss");
    });

    it("a source move (the connector is to use another address): the slot there resumes; a missing one is a gap named from the committed LSN; resnapshot creates it and leaves the connector stopped for its update", async () => {
      const { name, slot, snapshotRows } = await streamingConnector();
      await dbz.query("INSERT INTO orders VALUES (400, 'before the move', 1)");
      await waitFor("offsets past the insert", async () => (await target.storedOffsets(name)).some((o) => Number(o.offset.lsn_commit ?? o.offset.lsn ?? 0) > 0), 60000);
      // The same server under another name: the slot is the one the connector used, never past its committed offset.
      const moved = { connectorTarget: { host: "localhost", port: pg.port } };
      const same = check(name, slot, moved);
      assert.equal(await same.run(), "resumes-after-move", same.log.join("\n"));
      assert.match(same.log[0] ?? "", new RegExp(`the source moved from 127\\.0\\.0\\.1:${pg.port} to localhost:${pg.port} \\(connector "${name}" committed up to [0-9A-F]+/[0-9A-F]+\\); replication slot "${slot}" there exists at [0-9A-F]+/[0-9A-F]+: Debezium resumes from it without a snapshot`));

      // The new server has no slot (a PostgreSQL 16 standby, or no failover slot): the gap, from the committed LSN.
      await client.stop(name);
      await waitFor("connector STOPPED", async () => (await connectorState(name)) === "STOPPED", 30000);
      await dbz.waitForSlot(slot, false, 30000);
      await pg.query("SELECT pg_drop_replication_slot($1)", [slot]);
      const offsets = await target.storedOffsets(name);
      let message = "";
      await assert.rejects(check(name, slot, { ...moved, sourceMajor: 16 }).run(), (err: Error) => ((message = err.message), true));
      assert.match(message, new RegExp(`the source moved from 127\\.0\\.0\\.1:${pg.port} to localhost:${pg.port} \\(connector "${name}" committed up to ([0-9A-F]+/[0-9A-F]+)\\), which has no replication slot "${slot}": PostgreSQL 16 cannot synchronize slots to a standby`));
      assert.match(message, /changes committed after [0-9A-F]+\/[0-9A-F]+ up to the new slot's start are not captured/);
      assert.match(message, /Set onSlotLoss: "resnapshot" to stop the connector, clear its offsets, create the slot and snapshot all tables again \(on PostgreSQL 17, a failover slot synchronized to the standby avoids the gap: see `standby`\)\. Nothing was changed\./);
      assert.deepEqual(await target.storedOffsets(name), offsets, "offsets kept");
      assert.equal(await slotState(slot), undefined, "no slot created");

      const r = check(name, slot, { ...moved, policy: "resnapshot" });
      assert.equal(await r.run(), "resnapshotted");
      assert.ok(r.log.some((l) => l.includes("connector stopped without offsets; it snapshots again once it points at localhost")), r.log.join("\n"));
      assert.equal((await slotState(slot))?.plugin, "pgoutput", "the slot exists again");
      assert.equal(await connectorState(name), "STOPPED", "left to the connector's update");
      assert.deepEqual((await client.getOffsets(name)).offsets, [], "offsets cleared");
      await client.resume(name);
      await waitFor("a second snapshot", async () => (await snapshotRows()) >= 4, 90000);
    });
  });
}
