/**
 * Source failover under writes with the real Pulumi CLI, real Kafka Connect +
 * Debezium and a real streaming standby (failover-scenario.ts):
 *   - PostgreSQL 17 with `standby`: the failover slot synchronized to the
 *     standby lets the connector resume on the promoted server: every row
 *     reaches its topic, no snapshot. FAILOVER_RUNS (default 1) repeats it.
 *   - PostgreSQL 16: the promoted server has no slot; the up stops and names
 *     the gap (from which LSN); with onSlotLoss "resnapshot" the data is
 *     complete again through a snapshot.
 * (The checks of `standby` run in standby-checks.test.ts.) Tagged @real but
 * not @engine although it drives the real CLI: `npm test` runs it with the
 * real-stack suites, whose group has room, and CI's Node 22 leg (the
 * @engine suites) leaves it out like the other data proofs (@writer).
 */
import { strict as assert } from "node:assert";
import { connectTargets, startConnectTarget, type ConnectTarget } from "../support/connect-target";
import { failoverRun } from "../support/failover-scenario";
import { pgMajors } from "../support/postgres";

const enabled = process.env.REAL_ENGINE !== "off" && connectTargets().includes("real");

(enabled ? describe : describe.skip)("source failover under writes: a real standby, the real Pulumi CLI and the real stack @pg @real @writer", function () {
  this.timeout(900000);
  let target: ConnectTarget;
  before(async () => {
    target = await startConnectTarget("real");
  });
  after(async () => {
    await target?.close();
  });

  const runs = Number(process.env.FAILOVER_RUNS ?? 1);
  (pgMajors().includes(17) ? it : it.skip)(`PostgreSQL 17, failover slot: the connector resumes on the promoted server from the synchronized slot, 0 rows lost, no snapshot (${runs} run(s))`, async () => {
    for (let n = 1; n <= runs; n++) {
      const r = await failoverRun(target, { major: 17, failoverSlot: true, log: (l) => console.log(`      run ${n}: ${l}`) });
      assert.equal(r.moveError, undefined, `run ${n}: the up on the promoted server failed`);
      assert.deepEqual(r.lostByDatabase, [], `run ${n}: acknowledged rows missing on the promoted server`);
      assert.deepEqual(r.lost, [], `run ${n}: rows on the promoted server never reached the topic`);
      assert.equal(r.snapshotEventsAfterFailover, 0, `run ${n}: snapshot events after the failover`);
      assert.ok(r.written > 50, `run ${n}: the writer wrote (${r.written})`);
    }
  });

  (pgMajors().includes(16) ? it : it.skip)("PostgreSQL 16, no failover slot: the up on the promoted server stops and names the gap; onSlotLoss resnapshot makes the data complete again", async () => {
    const r = await failoverRun(target, { major: 16, failoverSlot: false, resnapshotOnGap: true, log: (l) => console.log(`      ${l}`) });
    assert.ok(r.moveError, "the up on the promoted server stopped");
    assert.match(r.moveError!, /the source moved from 127\.0\.0\.1:\d+ to 127\.0\.0\.1:\d+ \(connector "[^"]+" committed up to [0-9A-F]+\/[0-9A-F]+\), which has no replication slot/);
    assert.match(r.moveError!, /PostgreSQL 16 cannot synchronize slots to a standby/);
    assert.match(r.moveError!, /changes committed after [0-9A-F]+\/[0-9A-F]+ up to the new slot's start are not captured/);
    assert.match(r.moveError!, /Nothing was changed/);
    assert.deepEqual(r.lostByDatabase, [], "acknowledged rows missing on the promoted server");
    assert.deepEqual(r.lost, [], "after the re-snapshot every row on the promoted server is in the topic");
    // Rows written while the snapshot ran may arrive by streaming instead; every row of the table before it is read again.
    assert.ok(r.snapshotEventsAfterFailover >= r.existing, `the re-snapshot read the table again (${r.snapshotEventsAfterFailover} "r" events)`);
  });
});
