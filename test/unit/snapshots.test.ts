/**
 * Incremental snapshots by signal, the pure parts: which tables an update
 * snapshots, the signal's data, and what the connector's offsets say about it.
 */
import { strict as assert } from "node:assert";
import fc from "fast-check";
import { collectionRegex, snapshotSignalData } from "#dist/debezium/collections.js";
import { committedLsn, signalProgress, tablesToSnapshot, type SnapshotIntent } from "#dist/debezium/snapshots.js";
import { formatLsn, lsnToNumber } from "#dist/postgres/lsn.js";
import { signalShapeProblem } from "#dist/postgres/signals.js";

const intent = (tables: string[], extra: Partial<SnapshotIntent> = {}): SnapshotIntent => ({ tables, onTablesAdded: "snapshot", ...extra });

describe("incremental snapshot planning (pure)", () => {
  it("snapshots exactly the added tables, nothing on a first deployment, nothing when stream-only", () => {
    assert.deepEqual(tablesToSnapshot(intent(["public.a"]), intent(["public.a", "public.c", "public.b"])), ["public.b", "public.c"]);
    assert.deepEqual(tablesToSnapshot(undefined, intent(["public.a", "public.b"])), []);
    assert.deepEqual(tablesToSnapshot(intent(["public.a"]), intent(["public.a", "public.b"], { onTablesAdded: "stream-only" })), []);
    assert.deepEqual(tablesToSnapshot(intent(["public.a", "public.b"]), intent(["public.a"])), [], "a removed table is not read again");
    assert.deepEqual(tablesToSnapshot(intent([]), intent(["public.a"])), [], "from all tables to a list: the publication decides, nothing is new");
    assert.deepEqual(tablesToSnapshot(intent(["public.a"]), intent([])), []);
  });

  it("re-snapshots on a new nonce only, together with added tables", () => {
    const r1 = { tables: ["public.a"], nonce: "2026-12-03" };
    assert.deepEqual(tablesToSnapshot(intent(["public.a"]), intent(["public.a"], { resnapshot: r1 })), ["public.a"]);
    assert.deepEqual(tablesToSnapshot(intent(["public.a"], { resnapshot: r1 }), intent(["public.a"], { resnapshot: r1 })), []);
    assert.deepEqual(tablesToSnapshot(intent(["public.a"], { resnapshot: r1 }), intent(["public.a", "public.b"], { resnapshot: { ...r1, nonce: "2" } })), ["public.a", "public.b"]);
  });

  it("never snapshots a table that was already captured unless asked by nonce, and always the new ones (property)", () => {
    const table = fc.constantFrom("public.a", "public.b", "public.c", "s.d", "s.E");
    fc.assert(
      fc.property(fc.uniqueArray(table, { minLength: 1 }), fc.uniqueArray(table, { minLength: 1 }), (before, after) => {
        const got = tablesToSnapshot(intent(before), intent(after));
        assert.deepEqual(got, after.filter((t) => !before.includes(t)).sort());
      }),
    );
  });

  it("writes data-collections as regexes matching exactly each table", () => {
    const data = JSON.parse(snapshotSignalData(["public.Orders", "inv.stock.items"])) as { "data-collections": string[]; type: string };
    assert.equal(data.type, "incremental");
    assert.deepEqual(data["data-collections"], ["(?-i:public\\.Orders)", "(?-i:inv\\.stock\\.items)"]);
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.string({ minLength: 1 }), (schema, table) => {
        fc.pre(!schema.includes("."));
        const re = new RegExp(`^${collectionRegex(`${schema}.${table}`).replace("(?-i:", "(?:")}$`, "u");
        assert.ok(re.test(`${schema}.${table}`));
      }),
    );
  });

  it("reads Debezium's offsets: running while the correlation id is ours, read once the committed LSN is past the signal", () => {
    const lsn = lsnToNumber("0/1540000");
    assert.equal(lsn, 0x1540000);
    assert.equal(lsnToNumber("1/0"), 2 ** 32);
    assert.equal(formatLsn(lsnToNumber("16/B374D848")), "16/B374D848");
    fc.assert(fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (n) => lsnToNumber(formatLsn(n)) === n));
    assert.equal(committedLsn([{ offset: { lsn: 5, lsn_commit: 7 } }, { offset: null }]), 7);
    assert.equal(committedLsn([{ offset: { lsn: 5 } }]), 5);
    // An idle heartbeat moves lsn_proc and lsn past lsn_commit, and Debezium confirms that position to the slot.
    assert.equal(committedLsn([{ offset: { lsn_commit: 7, lsn_proc: 9, lsn: 9 } }]), 9);
    assert.equal(committedLsn([{ offset: { ts_usec: 1 } }]), undefined);
    const off = (o: Record<string, unknown>) => [{ offset: o }];
    assert.equal(signalProgress(off({ incremental_snapshot_correlation_id: "sig", lsn: lsn - 10 }), "sig", lsn), "running");
    assert.equal(signalProgress(off({ incremental_snapshot_correlation_id: "other", lsn: lsn - 10, lsn_commit: lsn - 10 }), "sig", lsn), "pending");
    assert.equal(signalProgress(off({ lsn_commit: lsn + 100, lsn: lsn + 100 }), "sig", lsn), "read");
    assert.equal(signalProgress(off({ last_snapshot_record: true, lsn: lsn - 1, snapshot_completed: true }), "sig", lsn), "pending");
    assert.equal(signalProgress([], "sig", lsn), "pending");
  });

  it("accepts only three text columns as a signal table", () => {
    const col = (name: string, type: string) => ({ name, type });
    assert.equal(signalShapeProblem([col("id", "character varying(64)"), col("type", "character varying(32)"), col("data", "text")]), undefined);
    assert.match(signalShapeProblem([col("id", "integer"), col("type", "text"), col("data", "text")]) ?? "", /three text columns/);
    assert.match(signalShapeProblem([col("id", "text"), col("type", "text")]) ?? "", /id text, type text/);
  });
});
