/**
 * How DebeziumConnector compares connector configs with what Kafka Connect
 * stores, on both Connect targets (the real stack: Kafka Connect 4.3 in
 * distributed mode, Debezium 3.6.1; and the Connect double), streaming from
 * a real PostgreSQL server:
 *
 * - config-provider references (`${env:...}`, `${file:...}`) are values:
 *   Connect returns them as written, so an unchanged one is no difference
 *   and a changed one is PUT;
 * - create adopts a connector made by hand whose config is equivalent for
 *   Debezium (another include-list spelling, defaults written out or left
 *   out, numbers and booleans spelled otherwise), and refuses one that
 *   differs, naming the Debezium property.
 */
import { strict as assert } from "node:assert";
import type * as dynamic from "@pulumi/pulumi/dynamic";
import { providerStub } from "pulumi-postgres-cdc/dist/providers/stub.js";
import { connectTargets, majorsFor, startConnectTarget, type ConnectTarget } from "../support/connect-target";
import { setupDebeziumDatabase, type DebeziumDatabase } from "../support/debezium-fixture";
import { HostedResource, hostedProvider } from "../support/dynamic-host";
import { sharedPostgres, uniqueName } from "../support/postgres";

type Inputs = Record<string, unknown>;

let hosted: { provider: dynamic.ResourceProvider; text: string };

before(async () => {
  hosted = await hostedProvider(providerStub("debezium-connector"));
});

for (const kind of connectTargets()) for (const major of majorsFor(kind)) {
  describe(`DebeziumConnector config comparison on ${kind === "real" ? "real Kafka Connect + Debezium" : "the Connect double"} and PostgreSQL ${major} @pg${kind === "real" ? " @real" : ""}`, function () {
    this.timeout(kind === "real" ? 180000 : 60000);
    let dbz: DebeziumDatabase;
    let target: ConnectTarget;
    const resource = () => new HostedResource<Inputs>(hosted.provider, hosted.text);
    const inputs = (name: string, config: Record<string, unknown>, extra: Inputs = {}): Inputs => ({ connect: { url: target.url }, name, config, ...extra });
    const streaming = (slotName: string) => ({ connection: dbz.connection(), slotName, timeoutSeconds: 20 });
    const liveConfig = async (name: string) => (await (await fetch(`${target.url}/connectors/${encodeURIComponent(name)}/config`)).json()) as Record<string, string>;
    const puts = (name: string) => target.requests.filter((q) => q.method === "PUT" && q.path === `/connectors/${name}/config`).length;
    const diffOf = async (r: HostedResource<Inputs>, news: Inputs) => {
      const checked = await r.check(news, r.outs);
      assert.equal(checked.failures, undefined, JSON.stringify(checked.failures));
      return hosted.provider.diff!(r.id!, r.outs!, checked.inputs);
    };

    before(async () => {
      const pg = await sharedPostgres(major);
      dbz = await setupDebeziumDatabase(pg, "cfgcmp");
      target = await startConnectTarget(kind);
    });

    afterEach(async () => {
      await target.deleteAllConnectors();
      await dbz.dropSlots();
    });

    after(async () => {
      await target?.close();
    });

    it("a config-provider reference is kept as written: unchanged is no diff (also after a refresh), another reference is a change that update PUTs", async () => {
      const slot = await dbz.createSlot();
      const name = uniqueName("ref");
      // A key Debezium neither resolves nor validates; the workers have no config.providers, so Connect keeps the reference as is.
      const config = dbz.connectorConfig(slot, { "cdc.test.token": "${env:CDC_TEST_TOKEN_A}" });
      const r = resource();
      await r.create(inputs(name, config, { streaming: streaming(slot) }));
      assert.equal((await liveConfig(name))["cdc.test.token"], "${env:CDC_TEST_TOKEN_A}", "Connect returns the reference as written");

      assert.equal((await diffOf(r, inputs(name, config, { streaming: streaming(slot) }))).changes, false, "the same reference is no change");
      const read = await r.read();
      assert.equal((read.props?.config as Record<string, string>)["cdc.test.token"], "${env:CDC_TEST_TOKEN_A}");
      assert.equal((read.inputs?.config as Record<string, string>)["cdc.test.token"], "${env:CDC_TEST_TOKEN_A}", "refresh keeps the reference in the inputs");
      assert.equal((await diffOf(r, inputs(name, config, { streaming: streaming(slot) }))).changes, false, "no change after a refresh either");

      const changed = { ...config, "cdc.test.token": "${env:CDC_TEST_TOKEN_B}" };
      const d = await diffOf(r, inputs(name, changed, { streaming: streaming(slot) }));
      assert.equal(d.changes, true, "another reference is a change");
      assert.deepEqual(d.replaces, []);
      const before = puts(name);
      const up = await r.up(inputs(name, changed, { streaming: streaming(slot) }));
      assert.equal(up.action, "update");
      assert.equal(puts(name), before + 1, "update PUT the config");
      assert.equal((await liveConfig(name))["cdc.test.token"], "${env:CDC_TEST_TOKEN_B}", "Connect has the new reference");
      assert.equal(up.outs.connectorState, "RUNNING");
      assert.equal((await dbz.waitForSlot(slot, true, 5000)).application_name, "Debezium Streaming", "streaming again after the change");
      assert.equal((await r.up(inputs(name, changed, { streaming: streaming(slot) }))).action, "none", "converged");
      assert.equal(puts(name), before + 1);
    });
  });
}
