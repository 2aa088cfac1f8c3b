import { strict as assert } from "node:assert";
import fc from "fast-check";
import {
  listedStandbySlots,
  missingStandbySlotProblems,
  primaryFailoverProblems,
  standbyProblems,
  type PrimaryFailoverFacts,
  type StandbyFacts,
} from "#dist/postgres/standby.js";
import { formatStatus } from "#dist/cli/main.js";
import type { PipelineStatus } from "#dist/pipeline/status.js";

const primary = (over: Partial<PrimaryFailoverFacts> = {}): PrimaryFailoverFacts => ({
  major: 17,
  synchronizedStandbySlots: "standby1",
  physicalSlots: [{ name: "standby1", active: true, lagBytes: 0 }],
  ...over,
});
const standby = (over: Partial<StandbyFacts> = {}): StandbyFacts => ({
  major: 17,
  inRecovery: true,
  syncReplicationSlots: "on",
  hotStandbyFeedback: "on",
  primarySlotName: "standby1",
  walLevel: "logical",
  primaryConninfo: "host=10.0.0.1 user=replicator password=hunter2 dbname=postgres",
  ...over,
});

describe("failover slots: what the primary and the standby need (pure)", () => {
  it("reads synchronized_standby_slots as PostgreSQL lists it", () => {
    assert.deepEqual(listedStandbySlots(""), []);
    assert.deepEqual(listedStandbySlots(null), []);
    assert.deepEqual(listedStandbySlots("a, b ,\"c\""), ["a", "b", "c"]);
    fc.assert(fc.property(fc.uniqueArray(fc.stringMatching(/^[a-z0-9_]{1,20}$/), { minLength: 1 }), (names) => {
      assert.deepEqual(listedStandbySlots(names.join(", ")), names);
    }));
  });

  it("accepts a primary that has the standby's physical slot and waits for it", () => {
    assert.deepEqual(primaryFailoverProblems(primary(), "standby1"), []);
    assert.deepEqual(primaryFailoverProblems(primary({ synchronizedStandbySlots: "other, standby1" }), "standby1"), []);
    assert.deepEqual(primaryFailoverProblems(primary({ synchronizedStandbySlots: "*" }), "standby1"), []);
  });

  it("names each missing piece on the primary with the statement that fixes it", () => {
    const p = primaryFailoverProblems(primary({ synchronizedStandbySlots: "", physicalSlots: [] }), "standby1");
    assert.deepEqual(p.map((x) => x.check), ["standby_slot", "synchronized_standby_slots"]);
    assert.match(p[0]!.fix, /pg_create_physical_replication_slot\('standby1', true\)/);
    assert.match(p[1]!.message, /synchronized_standby_slots is empty and does not list "standby1"/);
    assert.match(p[1]!.fix, /ALTER SYSTEM SET synchronized_standby_slots = 'standby1'; SELECT pg_reload_conf\(\);/);
    const other = primaryFailoverProblems(primary({ synchronizedStandbySlots: "replica2" }), "standby1");
    assert.match(other[0]!.fix, /= 'replica2,standby1'/, "keeps what is listed already");
  });

  it("refuses failover slots before PostgreSQL 17, naming the version and the alternative", () => {
    const p = primaryFailoverProblems(primary({ major: 16, synchronizedStandbySlots: null }), "standby1");
    assert.equal(p.length, 1);
    assert.match(p[0]!.message, /need PostgreSQL 17 or later, but the primary runs 16/);
    assert.match(p[0]!.fix, /onSlotLoss: "resnapshot"/);
  });

  it("finds listed standby slots that do not exist (a promoted standby that kept the old primary's setting)", () => {
    assert.deepEqual(missingStandbySlotProblems(primary()), []);
    const p = missingStandbySlotProblems(primary({ synchronizedStandbySlots: "standby1,gone", physicalSlots: [{ name: "standby1", active: true, lagBytes: 0 }] }));
    assert.equal(p.length, 1);
    assert.equal(p[0]!.object, "gone");
    assert.match(p[0]!.message, /Debezium would stall/);
    assert.match(p[0]!.fix, /synchronized_standby_slots = 'standby1'/);
  });

  it("accepts a standby set up to synchronize, and names every missing setting", () => {
    assert.deepEqual(standbyProblems(standby(), "standby1"), []);
    const p = standbyProblems(
      standby({ syncReplicationSlots: "off", hotStandbyFeedback: "off", primarySlotName: "", walLevel: "replica", primaryConninfo: "host=10.0.0.1 password=hunter2" }),
      "standby1",
    );
    assert.deepEqual(p.map((x) => x.check), ["sync_replication_slots", "hot_standby_feedback", "primary_slot_name", "wal_level", "primary_conninfo"]);
    assert.match(p[2]!.fix, /ALTER SYSTEM SET primary_slot_name = 'standby1'/);
    assert.match(p[3]!.fix, /restart/);
    assert.ok(p.every((x) => !`${x.message} ${x.fix}`.includes("hunter2")), "never the password from primary_conninfo");
  });

  it("skips primary_conninfo when the role may not read it, and refuses a server that is not in recovery", () => {
    assert.deepEqual(standbyProblems(standby({ primaryConninfo: null }), "standby1"), []);
    const p = standbyProblems(standby({ inRecovery: false }), "standby1");
    assert.deepEqual(p.map((x) => x.check), ["standby"]);
    assert.match(p[0]!.message, /not in recovery/);
  });

  it("the status command shows the failover protection", () => {
    const s: PipelineStatus = {
      connectorName: "orders",
      slotName: "orders_slot",
      status: "Running",
      connectorState: "RUNNING",
      tasks: [],
      slotExists: true,
      slotActive: true,
      slotHolder: { pid: 1, applicationName: "Debezium Streaming" },
      retainedWalBytes: 10,
      confirmedLagBytes: 0,
      walStatus: "reserved",
      failover: { slotFailover: true, physicalSlot: "standby1", standbyConnected: true, standbyLagBytes: 128, standbySlot: "ready", standbySlotConfirmedFlushLsn: "0/1A2B3C8" },
      problems: [],
      checkedAt: "2026-12-07T00:00:00.000Z",
    };
    const text = formatStatus(s);
    assert.match(text, /failover slot: +yes/);
    assert.match(text, /standby: +streaming through "standby1", 128 bytes behind/);
    assert.match(text, /standby's slot: +ready \(confirmed 0\/1A2B3C8\)/);
  });
});
