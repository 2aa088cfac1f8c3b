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

  it("recognises masks and secret keys; a config-provider reference is not a mask", () => {
    for (const m of ["[hidden]", "****", "••••••"]) assert.ok(isMaskedValue(m), m);
    for (const v of ["hunter2", "${file:/secrets:pw}", "${env:PG_PASSWORD}", "${vault:secret/pg:password}"]) assert.ok(!isMaskedValue(v), v);
    for (const k of ["database.password", "sasl.jaas.config", "ssl.key", "connection.password", "api.secret"]) assert.ok(isSecretKey(k), k);
    assert.ok(!isSecretKey("topic.prefix"));
  });

  it("config-provider references are values: unchanged is no difference, another reference is a change", () => {
    const wanted = { "database.password": "${file:/etc/connect/pg.properties:password}", "custom.token": "${env:TOKEN_A}" };
    assert.deepEqual(configDifferences({ ...wanted, name: "n" }, wanted), [], "a reference Connect returns as written");
    assert.deepEqual(configDifferences(wanted, { ...wanted, "custom.token": "${env:TOKEN_B}" }), [{ key: "custom.token", kind: "changed" }]);
    assert.deepEqual(configDifferences(wanted, { ...wanted, "database.password": "${file:/etc/connect/other.properties:password}" }), [{ key: "database.password", kind: "changed" }]);
    assert.deepEqual(configDifferences(wanted, { ...wanted, "custom.token": "plain" }), [{ key: "custom.token", kind: "changed" }], "a reference replaced by a plain value");
    // A refresh keeps the reference Connect returned, not the value the program had.
    assert.deepEqual(mergeLiveConfig({ "custom.token": "${env:TOKEN_B}" }, { "custom.token": "${env:TOKEN_A}" }), { "custom.token": "${env:TOKEN_B}" });
  });

  it("two different config-provider references always differ (property)", () => {
    const part = fc.stringMatching(/^[A-Za-z0-9_./:-]{1,20}$/);
    const reference = fc.tuple(fc.constantFrom("file", "env", "vault", "directory"), part).map(([p, rest]) => `\${${p}:${rest}}`);
    fc.assert(
      fc.property(reference, reference, (a, b) => {
        const d = configDifferences({ "x.ref": a }, { "x.ref": b });
        assert.deepEqual(d, a === b ? [] : [{ key: "x.ref", kind: "changed" }]);
      }),
      { numRuns: 300 },
    );
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
