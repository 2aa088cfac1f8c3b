/**
 * The checks of a CdcPipeline's `standby` (PostgreSQL 17 failover slots)
 * against a real primary and a real streaming standby, through the engine
 * harness and the Connect double: every missing piece on either server is
 * named with its fix before anything is created; once set up, the slot is a
 * failover slot, the standby holds a synchronized copy, and the status shows
 * both. The failover itself runs in failover.test.ts (real CLI, real stack).
 */
import { strict as assert } from "node:assert";
import type { CdcPipelineArgs } from "pulumi-postgres-cdc";
import { CdcPipeline } from "pulumi-postgres-cdc";
import { pipelineStatus } from "#dist/pipeline/status.js";
import { startConnectTarget, type ConnectTarget } from "../support/connect-target";
import { Engine } from "../support/engine";
import { pgMajors, sharedPostgres, startPostgres, startStandby, uniqueName, type PgServer } from "../support/postgres";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

(pgMajors().includes(17) ? describe : describe.skip)("CdcPipeline standby: failover slot checks on a real primary and standby (PostgreSQL 17, 16) @pg", function () {
  this.timeout(180000);
  let primary: PgServer;
  let standby: PgServer;
  let target: ConnectTarget;
  let db: string;

  before(async () => {
    primary = await startPostgres({ major: 17 });
    // A standby that is not set up to synchronize slots yet.
    standby = await startStandby(primary, { physicalSlot: "standby1", settings: { sync_replication_slots: "off", hot_standby_feedback: "off" } });
    db = await primary.createDatabase("sb");
    await primary.query("CREATE TABLE orders (id int PRIMARY KEY, v text)", [], db);
    target = await startConnectTarget("double");
  });
  after(async () => {
    await target?.deleteAllConnectors();
    await target?.close();
    await standby?.destroy();
    await primary?.destroy();
  });

  const args = (extra: Partial<CdcPipelineArgs> = {}): CdcPipelineArgs => ({
    source: primary.connection(db),
    connect: { url: target.url },
    tables: ["public.orders"],
    readyTimeoutSeconds: 30,
    standby: { physicalSlot: "standby1", connection: standby.connection(db) },
    ...extra,
  });

  it("names every missing piece on the primary and on the standby with its fix, and creates nothing", async () => {
    const name = uniqueName("sbx");
    const engine = new Engine();
    let message = "";
    await assert.rejects(engine.up(() => new CdcPipeline(name, args())), (e: Error) => ((message = e.message), true));
    assert.match(message, /preflight found 3 problems/);
    assert.match(message, /standby1: synchronized_standby_slots is empty and does not list "standby1"/);
    assert.match(message, /fix: on the primary: ALTER SYSTEM SET synchronized_standby_slots = 'standby1'; SELECT pg_reload_conf\(\);/);
    assert.match(message, /standby 127\.0\.0\.1:\d+: sync_replication_slots is off/);
    assert.match(message, /standby 127\.0\.0\.1:\d+: hot_standby_feedback is off/);
    assert.ok(!message.includes(primary.superPassword), "no password in the message");
    assert.equal(engine.snapshot().resources.length, 0);
    assert.equal((await primary.query("SELECT 1 FROM pg_replication_slots WHERE slot_type = 'logical'")).length, 0, "no slot");
    assert.equal((await primary.query("SELECT 1 FROM pg_publication", [], db)).length, 0, "no publication");
  });

  it("once both servers are set up: a failover slot, synchronized to the standby, shown by the status", async () => {
    await primary.query("ALTER SYSTEM SET synchronized_standby_slots = 'standby1'");
    await primary.query("SELECT pg_reload_conf()");
    await standby.query("ALTER SYSTEM SET sync_replication_slots = on");
    await standby.query("ALTER SYSTEM SET hot_standby_feedback = on");
    await standby.query("SELECT pg_reload_conf()");
    const name = uniqueName("sbok");
    const engine = new Engine();
    const up = await engine.up(() => {
      const p = new CdcPipeline(name, args());
      return { slotName: p.slotName, connectorName: p.connectorName };
    });
    const slotName = up.outputs.slotName as string;
    const [slot] = await primary.query<{ failover: boolean }>("SELECT failover FROM pg_replication_slots WHERE slot_name = $1", [slotName]);
    assert.equal(slot?.failover, true, "the pipeline's slot is a failover slot");
    const config = await (await fetch(`${target.url}/connectors/${encodeURIComponent(up.outputs.connectorName as string)}/config`)).json() as Record<string, string>;
    assert.equal(config["slot.failover"], "true", "Debezium's own setting is set too");

    await primary.query("INSERT INTO orders VALUES (1, 'a')", [], db);
    const input = { source: primary.connection(db), connect: { url: target.url }, connectorName: up.outputs.connectorName as string, slotName, standby: { physicalSlot: "standby1", connection: standby.connection(db) } };
    let status = await pipelineStatus(input);
    for (let i = 2; status.failover.standbySlot !== "ready" && i < 300; i++) {
      // The standby's copy turns persistent once the primary's slot, confirmed by the consumer, has moved past
      // a running-transactions record (PostgreSQL logs one every 15 s on its own): log one, then commit a row
      // for the connector to confirm.
      await primary.query("SELECT pg_log_standby_snapshot()");
      await primary.query("INSERT INTO orders VALUES ($1, 'b')", [i], db);
      await sleep(200);
      status = await pipelineStatus(input);
    }
    assert.equal(status.failover.slotFailover, true);
    assert.equal(status.failover.standbyConnected, true);
    assert.equal(typeof status.failover.standbyLagBytes, "number");
    assert.equal(status.failover.standbySlot, "ready", "the standby has a persistent synchronized copy");
    assert.match(status.failover.standbySlotConfirmedFlushLsn ?? "", /^[0-9A-F]+\/[0-9A-F]+$/);
    assert.deepEqual(status.problems, []);
    await engine.destroy();
  });

  it("refuses `standby` for a slot created without failover, with the steps to convert it", async () => {
    const name = uniqueName("sbconv");
    const engine = new Engine();
    await engine.up(() => new CdcPipeline(name, args({ standby: undefined })));
    await assert.rejects(engine.up(() => new CdcPipeline(name, args())), (e: Error) => {
      assert.match(e.message, new RegExp(`${name}_slot: replication slot "${name}_slot" exists without failover`));
      assert.match(e.message, /ALTER_REPLICATION_SLOT .* \(FAILOVER true\)/);
      return true;
    });
    await engine.destroy();
  });

  (pgMajors().includes(16) ? it : it.skip)("on PostgreSQL 16 says failover slots need 17 and names the alternative", async () => {
    const pg16 = await sharedPostgres(16);
    const db16 = await pg16.createDatabase("sb16");
    await pg16.query("CREATE TABLE orders (id int PRIMARY KEY, v text)", [], db16);
    const engine = new Engine();
    await assert.rejects(
      engine.up(() => new CdcPipeline(uniqueName("sb16"), args({ source: pg16.connection(db16), standby: { physicalSlot: "standby1" } }))),
      (e: Error) => /failover slots need PostgreSQL 17 or later, but the primary runs 16/.test(e.message) && /onSlotLoss: "resnapshot"/.test(e.message),
    );
    assert.equal(engine.snapshot().resources.length, 0);
  });
});
