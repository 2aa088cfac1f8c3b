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
import { mock } from "node:test";
import type * as dynamic from "@pulumi/pulumi/dynamic";
import { providerStub } from "#dist/providers/stub.js";
import { connectTargets, majorsFor, startConnectTarget, type ConnectTarget } from "../support/connect-target";
import { setupDebeziumDatabase, type DebeziumDatabase } from "../support/debezium-fixture";
import { HostedResource, hostedProvider } from "../support/dynamic-host";
import { sharedPostgres, uniqueName } from "../support/postgres";

type Inputs = Record<string, unknown>;

let hosted: { provider: dynamic.ResourceProvider; text: string };

before(async () => {
  hosted = await hostedProvider(providerStub("debezium-connector"));
});

/** Runs `fn` and returns what it wrote to console.error (the provider's progress lines). */
async function withProgress<T>(fn: () => Promise<T>): Promise<{ value: T; lines: string[] }> {
  const spy = mock.method(console, "error", () => undefined);
  try {
    const value = await fn();
    return { value, lines: spy.mock.calls.map((c) => c.arguments.map(String).join(" ")) };
  } finally {
    spy.mock.restore();
  }
}

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
    const posts = () => target.requests.filter((q) => q.method === "POST" && q.path === "/connectors").length;
    const asStrings = (c: Record<string, unknown>) => Object.fromEntries(Object.entries(c).map(([k, v]) => [k, String(v)]));
    /** Creates a connector by hand through the REST API, as an operator would. */
    const createByHand = async (name: string, config: Record<string, string>) => {
      const res = await fetch(`${target.url}/connectors`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name, config }) });
      assert.equal(res.status, 201, await res.text());
    };
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

    it("create adopts a connector made by hand whose config is equivalent for Debezium (another include-list spelling, defaults left out or written out, numbers and booleans spelled otherwise); the next up PUTs the config as written", async () => {
      const slot = await dbz.createSlot();
      const name = uniqueName("handmade");
      const mine = dbz.connectorConfig(slot, { "heartbeat.interval.ms": 1000, "snapshot.mode": "initial", "slot.drop.on.stop": false }); // table.include.list public.orders,public.items
      const handMade: Record<string, string> = {
        ...asStrings(mine),
        "table.include.list": "public\\.items , public\\.orders",
        "plugin.name": "PGOUTPUT",
        "slot.drop.on.stop": "False",
        "heartbeat.interval.ms": "01000",
        "tombstones.on.delete": "true", // Debezium's default, written out
      };
      delete handMade["tasks.max"]; // Connect's default, 1
      delete handMade["snapshot.mode"]; // Debezium's default, initial
      await createByHand(name, handMade);
      await dbz.waitForSlot(slot, true, kind === "real" ? 60000 : 15000);
      const before = posts();
      const r = resource();
      const { value: outs, lines } = await withProgress(() => r.create(inputs(name, mine, { streaming: streaming(slot) })));
      assert.equal(posts(), before, "no second create");
      const adopting = lines.find((l) => /adopting the existing connector/.test(l));
      assert.ok(adopting, JSON.stringify(lines));
      assert.match(adopting, /equivalent for Debezium but written differently \(.*table\.include\.list \(changed\)/);
      assert.ok(!adopting.includes(dbz.password), adopting);
      assert.equal(outs.connectorState, "RUNNING");
      assert.deepEqual(await target.connectorNames(), [name]);
      assert.equal((await liveConfig(name))["table.include.list"], "public\\.items , public\\.orders", "adoption changes nothing on the cluster");

      // The next up writes the config as the program has it, so what Connect stores converges.
      const puts0 = puts(name);
      const up = await r.up(inputs(name, mine, { streaming: streaming(slot) }));
      assert.equal(up.action, "update");
      assert.equal(puts(name), puts0 + 1);
      const live = await liveConfig(name);
      assert.equal(live["table.include.list"], "public.orders,public.items");
      assert.equal(live["tasks.max"], "1");
      assert.equal(live["snapshot.mode"], "initial");
      assert.equal(live["plugin.name"], "pgoutput");
      assert.equal(live["tombstones.on.delete"], undefined);
      assert.equal(up.outs.connectorState, "RUNNING");
      assert.equal((await dbz.waitForSlot(slot, true, 5000)).application_name, "Debezium Streaming");
      assert.equal((await r.up(inputs(name, mine, { streaming: streaming(slot) }))).action, "none", "converged");
    });

    it("create refuses a connector made by hand that Debezium would run differently, naming the Debezium properties and no value; that connector is left as it was", async () => {
      const slot = await dbz.createSlot();
      const name = uniqueName("handdiff");
      const mine = dbz.connectorConfig(slot);
      const handMade: Record<string, string> = { ...asStrings(mine), "table.include.list": "public\\.orders" };
      delete handMade["publication.autocreate.mode"]; // Debezium's default is all_tables, not disabled
      await createByHand(name, handMade);
      let message = "";
      await assert.rejects(resource().create(inputs(name, mine, { streaming: streaming(slot) })), (err: Error) => {
        message = err.message;
        return true;
      });
      assert.match(message, new RegExp(`DebeziumConnector "${name}": a connector with this name already exists on .* with a different config \\(publication\\.autocreate\\.mode \\(added\\), table\\.include\\.list \\(changed\\); Debezium would run it differently\\)`));
      assert.match(message, /delete that connector, give this one another name, or make these properties match/);
      assert.ok(!message.includes(dbz.password) && !message.includes("public.items"), message);
      assert.deepEqual(await target.connectorNames(), [name]);
      const live = await liveConfig(name);
      assert.equal(live["table.include.list"], "public\\.orders", "the other connector is left as it was");
      assert.equal(live["publication.autocreate.mode"], undefined);
    });
  });
}
