import { strict as assert } from "node:assert";
import { ConnectClient, buildPath, kafkaVersion, normalizeConfig, sameConnectorConfig, validationErrors } from "#dist/connect/client.js";
import { describeStatus, trimTrace } from "#dist/connect/wait.js";

describe("connect URL building and helpers", () => {
  it("encodes every path segment on its own (a name with a space and a slash)", () => {
    assert.equal(buildPath(["connectors", "bad name/", "config"]), "/connectors/bad%20name%2F/config");
    assert.equal(buildPath([]), "/");
    assert.equal(buildPath(["connectors"], [["expand", "status"], ["expand", "info"]]), "/connectors?expand=status&expand=info");
    assert.equal(buildPath(["connector-plugins", "io.debezium.connector.postgresql.PostgresConnector", "config", "validate"]), "/connector-plugins/io.debezium.connector.postgresql.PostgresConnector/config/validate");
    assert.equal(buildPath(["connectors", "a?b#c%d"]), "/connectors/a%3Fb%23c%25d");
  });

  it("keeps a path prefix and strips credentials from the URL", async () => {
    const c = new ConnectClient({ url: "https://user:s3cret@host.example/api/connect/v1/clusters/x/" });
    assert.equal(c.url, "https://host.example/api/connect/v1/clusters/x");
    assert.ok(!c.scrub("user:s3cret and czNjcmV0").includes("s3cret"));
    await c.close();
  });

  it("rejects URLs that are not http(s)", () => {
    assert.throws(() => new ConnectClient({ url: "localhost:8083" }), /http:\/\/ or https:\/\//);
    assert.throws(() => new ConnectClient({ url: "not a url" }), /not a valid URL/);
  });

  it("parses Apache Kafka and Confluent Platform versions", () => {
    assert.deepEqual(kafkaVersion("3.7.1"), [3, 7]);
    assert.deepEqual(kafkaVersion("4.1.0"), [4, 1]);
    assert.deepEqual(kafkaVersion("7.6.0-ccs"), [3, 6]);
    assert.deepEqual(kafkaVersion("8.0.0-ce"), [4, 0]);
    assert.deepEqual(kafkaVersion("garbage"), [0, 0]);
  });

  it("stores values as Connect does and compares configs ignoring __internal keys and masked values", () => {
    assert.deepEqual(normalizeConfig({ "tasks.max": 1, "slot.drop.on.stop": false, a: "x" }), { "tasks.max": "1", "slot.drop.on.stop": "false", a: "x" });
    assert.equal(sameConnectorConfig({ a: "1", name: "n", "__internal.config.version": "2" }, { a: "1", name: "n" }), true);
    assert.equal(sameConnectorConfig({ a: "1", "database.password": "****" }, { a: "1", "database.password": "pw" }), true);
    assert.equal(sameConnectorConfig({ a: "1" }, { a: "2" }), false);
    assert.equal(sameConnectorConfig({ a: "1" }, { a: "1", b: "2" }), false);
  });

  it("extracts per-property validation errors", () => {
    const infos = {
      name: "X",
      error_count: 2,
      groups: [],
      configs: [
        { definition: null, value: { name: "a", value: null, recommended_values: [], errors: ["bad a"], visible: true } },
        { definition: null, value: { name: "b", value: null, recommended_values: [], errors: [], visible: true } },
        { definition: null, value: { name: "c", value: null, recommended_values: [], errors: ["bad c"], visible: true } },
      ],
    };
    assert.deepEqual(validationErrors(infos), [{ name: "a", errors: ["bad a"] }, { name: "c", errors: ["bad c"] }]);
  });

  it("trims Java traces to the exception, a few frames and every cause", () => {
    const frames = Array.from({ length: 40 }, (_, i) => `\tat a.b.C.m${i}(C.java:${i})`);
    const trace = ["io.debezium.DebeziumException: Couldn't obtain encoding for database inventory", ...frames, "Caused by: org.postgresql.util.PSQLException: Connection to 127.0.0.1:55432 refused.", ...frames, "\t... 12 more"].join("\n");
    const t = trimTrace(trace);
    assert.match(t, /^io\.debezium\.DebeziumException: Couldn't obtain encoding/);
    assert.match(t, /Caused by: org\.postgresql\.util\.PSQLException: Connection to 127\.0\.0\.1:55432 refused\./);
    assert.ok(t.split("\n").length <= 12, t);
    assert.match(t, /\.\.\. \d+ more lines/);
  });

  it("describes a status in one line", () => {
    assert.equal(
      describeStatus({ name: "n", type: "source", connector: { state: "RUNNING", worker_id: "w" }, tasks: [{ id: 0, state: "RUNNING", worker_id: "w" }, { id: 1, state: "FAILED", worker_id: "w" }] }),
      "connector RUNNING, tasks [0 RUNNING, 1 FAILED]",
    );
    assert.match(describeStatus(undefined), /no status yet/);
  });
});
