import { strict as assert } from "node:assert";
import * as fc from "fast-check";
import { UNKNOWN } from "#dist/validation/common.js";
import { diffReplicationSlot, provider } from "#dist/providers/replication-slot.js";
import { createSlotCall, describeHolder, readSlotSql, slotDifferences, type LiveSlot } from "#dist/postgres/slots.js";

const connection = { host: "db.example", port: 5432, database: "app", user: "cdc", password: "pw-123456", sslMode: "prefer" };

async function checked(inputs: Record<string, unknown>): Promise<Record<string, unknown>> {
  const r = await provider.check({}, { ...inputs, __provider: "text" });
  assert.equal(r.failures, undefined, JSON.stringify(r.failures));
  return r.inputs as Record<string, unknown>;
}

const liveOutputs = {
  database: "app",
  active: true,
  activePid: 4242,
  restartLsn: "0/1A2B3C8",
  confirmedFlushLsn: "0/1A2B400",
  walStatus: "reserved",
  retainedWalBytes: 123456,
};

describe("ReplicationSlot validation", () => {
  it("fills defaults", async () => {
    const c = await checked({ connection, name: "orders_cdc" });
    assert.deepEqual(
      { plugin: c.plugin, twoPhase: c.twoPhase, failover: c.failover, onDeleteWhileActive: c.onDeleteWhileActive, deleteTimeoutSeconds: c.deleteTimeoutSeconds },
      { plugin: "pgoutput", twoPhase: false, failover: false, onDeleteWhileActive: "wait", deleteTimeoutSeconds: 300 },
    );
  });

  it("names resource, field and fix", async () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ name: "Orders" }, /^name \| ReplicationSlot "Orders": name: slot names may only contain lower case letters, digits and underscores/],
      [{ name: "a-b" }, /^name \| .*pick a name like 'orders_cdc'/],
      [{ name: "a".repeat(64) }, /^name \| /],
      [{ name: "" }, /^name \| /],
      [{ name: "ok", plugin: "wal2json" }, /^plugin \| .*unsupported plugin "wal2json"; allowed: pgoutput, decoderbufs/],
      [{ name: "ok", onDeleteWhileActive: "drop" }, /^onDeleteWhileActive \| .*must be one of wait, terminate, fail, not "drop"/],
      [{ name: "ok", deleteTimeoutSeconds: "10" }, /^deleteTimeoutSeconds \| .*must be a number of seconds/],
      [{ name: "ok", twoPhase: "yes" }, /^twoPhase \| .*twoPhase must be true or false/],
      [{ name: "ok", connection: undefined }, /^connection \| .*give either connection/],
    ];
    for (const [inputs, re] of cases) {
      const r = await provider.check({}, { connection, ...inputs, __provider: "t" });
      const lines = (r.failures ?? []).map((f) => `${f.property} | ${f.reason}`);
      assert.ok(lines.some((l) => re.test(l)), `${JSON.stringify(inputs)}:\n${lines.join("\n")}`);
    }
  });

  it("accepts exactly PostgreSQL's slot names (property)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 70 }), async (name) => {
        const r = await provider.check({}, { connection, name, __provider: "t" });
        const valid = /^[a-z0-9_]+$/.test(name) && Buffer.byteLength(name) <= 63;
        assert.equal(!r.failures, valid, name);
      }),
      { numRuns: 300 },
    );
  });

  it("passes unknown values through during preview", async () => {
    const news = { connection, name: UNKNOWN, plugin: UNKNOWN, __provider: "t" };
    const r = await provider.check({}, news);
    assert.equal(r.failures, undefined);
    assert.deepEqual(r.inputs, news);
  });
});

describe("ReplicationSlot diff", () => {
  it("replaces on name, database, plugin, twoPhase, failover; updates on delete settings and connection; ignores live outputs", async () => {
    const olds = { ...(await checked({ connection, name: "s1" })), ...liveOutputs, __provider: "old" };
    const cases: Array<[Record<string, unknown>, boolean, string[]]> = [
      [{}, false, []],
      [{ name: "s2" }, true, ["name"]],
      [{ connection: { ...connection, database: "other" } }, true, ["database"]],
      [{ plugin: "decoderbufs" }, true, ["plugin"]],
      [{ twoPhase: true }, true, ["twoPhase"]],
      [{ failover: true }, true, ["failover"]],
      [{ onDeleteWhileActive: "terminate" }, true, []],
      [{ deleteTimeoutSeconds: 5 }, true, []],
      [{ connection: { ...connection, password: "rotated-pw" } }, true, []],
    ];
    for (const [change, changes, replaces] of cases) {
      const d = diffReplicationSlot(olds, await checked({ connection, name: "s1", ...change }));
      assert.equal(d.changes, changes, JSON.stringify(change));
      assert.deepEqual(d.replaces, replaces, JSON.stringify(change));
      assert.equal(d.deleteBeforeReplace, true);
    }
  });

  it("tolerates unknown values (preview)", async () => {
    const olds = { ...(await checked({ connection, name: "s1" })), ...liveOutputs };
    assert.deepEqual(diffReplicationSlot(olds, { connection, name: UNKNOWN }).replaces, ["name"]);
    assert.deepEqual(diffReplicationSlot(olds, { connection: UNKNOWN, name: "s1" }).replaces, ["database"]);
    const d = diffReplicationSlot(olds, { connection, name: "s1", deleteTimeoutSeconds: UNKNOWN });
    assert.deepEqual([d.changes, d.replaces], [true, []]);
    // raw (unchecked) inputs equal to the stored ones do not differ
    assert.equal(diffReplicationSlot(olds, { connection: { ...connection, port: undefined }, name: "s1" }).changes, false);
  });
});

describe("ReplicationSlot SQL", () => {
  const spec = { name: "s1", plugin: "pgoutput" as const, twoPhase: true, failover: true };
  it("passes twophase from 14 and failover from 17, values as parameters", () => {
    assert.deepEqual(createSlotCall(spec, 13), {
      sql: "SELECT slot_name::text AS slot_name, lsn::text AS lsn FROM pg_catalog.pg_create_logical_replication_slot($1, $2, false)",
      params: ["s1", "pgoutput"],
    });
    assert.match(createSlotCall(spec, 14).sql, /\(\$1, \$2, false, \$3\)$/);
    assert.deepEqual(createSlotCall(spec, 16).params, ["s1", "pgoutput", true]);
    assert.match(createSlotCall(spec, 17).sql, /\(\$1, \$2, false, \$3, \$4\)$/);
    assert.deepEqual(createSlotCall(spec, 17).params, ["s1", "pgoutput", true, true]);
  });

  it("reads version-dependent columns only where they exist", () => {
    assert.match(readSlotSql(13), /false AS two_phase/);
    assert.match(readSlotSql(14), /s\.two_phase AS two_phase/);
    assert.match(readSlotSql(16), /false AS failover/);
    assert.match(readSlotSql(17), /s\.failover AS failover/);
    assert.match(readSlotSql(16), /false AS synced/);
    assert.match(readSlotSql(17), /s\.synced AS synced/);
  });

  it("names every difference of an existing slot", () => {
    const live: LiveSlot = {
      name: "s1", plugin: "test_decoding", slotType: "logical", database: "other", temporary: false, active: false, activePid: null,
      restartLsn: null, confirmedFlushLsn: null, walStatus: null, retainedWalBytes: null, twoPhase: false, failover: false, synced: false,
      holderApplication: null, holderAddress: null, holderUser: null,
    };
    assert.deepEqual(slotDifferences(spec, live, "app", 17), [
      'database: existing "other", wanted "app"',
      "plugin: existing test_decoding, wanted pgoutput",
      "twoPhase: existing false, wanted true",
      "failover: existing false, wanted true",
    ]);
    assert.deepEqual(slotDifferences(spec, { ...live, plugin: "pgoutput", database: "app" }, "app", 13), []);
  });

  it("describes the holder of a slot", () => {
    assert.equal(
      describeHolder(42, { holderApplication: "Debezium", holderAddress: "10.0.0.5", holderUser: "cdc" }),
      'PID 42 (application_name "Debezium", client 10.0.0.5, user cdc)',
    );
    assert.equal(describeHolder(7), "PID 7");
  });
});
