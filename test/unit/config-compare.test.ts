import { strict as assert } from "node:assert";
import fc from "fast-check";
import {
  configDifferences,
  isMaskedValue,
  mergeLiveConfig,
  stringifyConfig,
} from "pulumi-postgres-cdc/dist/connect/config-compare.js";
import { isSecretKey } from "pulumi-postgres-cdc/dist/connect/errors.js";

describe("connector config comparison", () => {
  it("compares as Connect stores config: strings, ignoring name and __internal keys", () => {
    const wanted = stringifyConfig({ "tasks.max": 1, "database.port": 5432, "slot.drop.on.stop": false, "topic.prefix": "shop" });
    const live = { ...wanted, name: "shop-cdc", "__internal.version": "7" };
    assert.deepEqual(configDifferences(live, wanted), []);
  });

  it("ignores masked secrets but sees real changes, additions and removals", () => {
    const wanted = { "database.password": "s3cret", "snapshot.mode": "initial", "heartbeat.interval.ms": "1000" };
    const live = { "database.password": "****", "snapshot.mode": "no_data", "signal.data.collection": "public.signals" };
    assert.deepEqual(configDifferences(live, wanted), [
      { key: "heartbeat.interval.ms", kind: "added" },
      { key: "signal.data.collection", kind: "removed" },
      { key: "snapshot.mode", kind: "changed" },
    ]);
  });

  it("keeps known secrets when the live config masks them", () => {
    const merged = mergeLiveConfig({ "database.password": "[hidden]", "topic.prefix": "x", name: "n" }, { "database.password": "pw" });
    assert.deepEqual(merged, { "database.password": "pw", "topic.prefix": "x" });
  });

  it("recognises masks and secret keys", () => {
    for (const m of ["[hidden]", "****", "••••••", "${file:/secrets:pw}"]) assert.ok(isMaskedValue(m), m);
    assert.ok(!isMaskedValue("hunter2"));
    for (const k of ["database.password", "sasl.jaas.config", "ssl.key", "connection.password", "api.secret"]) assert.ok(isSecretKey(k), k);
    assert.ok(!isSecretKey("topic.prefix"));
  });

  it("a config never differs from itself, whatever Connect adds (property)", () => {
    const cfg = fc.dictionary(fc.string({ minLength: 1, maxLength: 12 }).filter((k) => k !== "name" && !k.startsWith("__internal.")), fc.oneof(fc.string(), fc.integer(), fc.boolean()));
    fc.assert(
      fc.property(cfg, fc.string(), (c, n) => {
        const wanted = stringifyConfig(c);
        assert.deepEqual(configDifferences({ ...wanted, name: n, "__internal.x": "1" }, wanted), []);
      }),
      { numRuns: 200 },
    );
  });
});
