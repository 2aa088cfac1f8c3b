/**
 * DebeziumConnector through the serialized provider (as Pulumi's dynamic
 * provider host runs it), streaming from a real PostgreSQL server per major,
 * on both Connect targets: the real stack (Kafka Connect 4 in distributed
 * mode with two workers, Debezium 3.6; change events read from Kafka) and the
 * Connect double with its Debezium PostgreSQL plugin. The same assertions run
 * on both, so a behaviour of the double that drifts from the real system
 * fails here.
 */
import { strict as assert } from "node:assert";
import type * as dynamic from "@pulumi/pulumi/dynamic";
import type { Client as PgClient, ClientConfig } from "pg";
import { providerStub } from "#dist/providers/stub.js";
import { connectTargets, majorsFor, startConnectTarget, type ConnectTarget } from "../support/connect-target";
import { setupDebeziumDatabase, waitFor, type DebeziumDatabase } from "../support/debezium-fixture";
import { HostedResource, hostedProvider } from "../support/dynamic-host";
import { sharedPostgres, uniqueName } from "../support/postgres";

type Inputs = Record<string, unknown>;
interface Task {
  id: number;
  state: string;
  workerId: string;
  trace?: string;
}

let hosted: { provider: dynamic.ResourceProvider; text: string };

before(async () => {
  hosted = await hostedProvider(providerStub("debezium-connector"));
});


/** Runs `fn` and returns what it wrote to console.error (the provider's progress lines). */
async function withProgress<T>(fn: () => Promise<T>): Promise<{ value: T; lines: string[] }> {
  const lines: string[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => lines.push(args.map(String).join(" "));
  try {
    return { value: await fn(), lines };
  } finally {
    console.error = original;
  }
}

/** A logical replication connection that holds a slot until released (another consumer). */
async function holdSlot(dbz: DebeziumDatabase, slot: string): Promise<{ pid: number; release(): Promise<void> }> {
  const { Client } = require("pg") as typeof import("pg");
  const client: PgClient = new Client({ ...dbz.connection(), application_name: "cdc-test-holder", replication: "database" } as unknown as ClientConfig);
  client.on("error", () => undefined);
  await client.connect();
  client.query(`START_REPLICATION SLOT ${slot} LOGICAL 0/0 (proto_version '1', publication_names '${dbz.publication}')`).catch(() => undefined);
  const row = await dbz.waitForSlot(slot, true);
  return { pid: row.active_pid!, release: () => client.end().catch(() => undefined) };
}

for (const kind of connectTargets()) for (const major of majorsFor(kind)) {
  describe(`DebeziumConnector on ${kind === "real" ? "real Kafka Connect + Debezium" : "the Connect double"} and PostgreSQL ${major} @pg${kind === "real" ? " @real" : ""}`, function () {
    this.timeout(kind === "real" ? 180000 : 60000);
    let dbz: DebeziumDatabase;
    let target: ConnectTarget;
    const messages: string[] = [];
    const resource = () => new HostedResource<Inputs>(hosted.provider, hosted.text);
    const inputs = (name: string, config: Record<string, unknown>, extra: Inputs = {}): Inputs => ({ connect: { url: target.url }, name, config, ...extra });
    const streaming = (slotName: string) => ({ connection: dbz.connection(), slotName, timeoutSeconds: 20 });
    const status = async (name: string) => (await (await fetch(`${target.url}/connectors/${encodeURIComponent(name)}/status`)).json()) as { connector: { state: string }; tasks: Task[] };
    const liveConfig = async (name: string) => (await (await fetch(`${target.url}/connectors/${encodeURIComponent(name)}/config`)).json()) as Record<string, string>;
    /** One task, RUNNING, on one of the target's workers. */
    const assertRunningTasks = (tasks: unknown) => {
      const list = tasks as Task[];
      assert.deepEqual(list.map((t) => [t.id, t.state]), [[0, "RUNNING"]], JSON.stringify(tasks));
      assert.ok(target.workerIds.includes(list[0].workerId), `task on ${list[0].workerId}, workers ${target.workerIds.join(", ")}`);
    };
    /** Asserts a rejection, records its message for the final secret check, returns the message. */
    const rejects = async (p: Promise<unknown>, ...patterns: RegExp[]): Promise<string> => {
      let message = "";
      await assert.rejects(p, (err: Error) => {
        message = err.message;
        return true;
      });
      messages.push(message);
      for (const re of patterns) assert.match(message, re);
      return message;
    };

    before(async () => {
      const pg = await sharedPostgres(major);
      dbz = await setupDebeziumDatabase(pg);
      target = await startConnectTarget(kind);
    });

    afterEach(async () => {
      target.double?.clearFaults();
      await target.deleteAllConnectors();
      await dbz.dropSlots();
    });

    after(async () => {
      await target?.close();
    });

    it("validates first: every invalid property is listed and nothing is created", async () => {
      const slot = await dbz.createSlot();
      const config = dbz.connectorConfig(slot, { "topic.prefix": undefined, "snapshot.mode": "sometimes", "slot.name": "Bad-Slot!" });
      const msg = await rejects(resource().create(inputs(uniqueName("badcfg"), config)), /rejected the configuration \(3 errors\)/, /topic\.prefix: .*A value is required/, /snapshot\.mode: .*Value must be one of/, /slot\.name: .*Valid replication slot name/, /nothing was changed/);
      assert.doesNotMatch(msg, new RegExp(dbz.password));
      assert.deepEqual((await target.connectorNames()), []);
      assert.equal(target.requests.filter((r) => r.method !== "GET" && !r.path.includes("/validate")).length, 0, "no write besides validate");
    });

    it("a wrong database password is caught by validate: clear error, no password, nothing created", async () => {
      const slot = await dbz.createSlot();
      const wrong = "Wrong-db-pass-4821";
      const msg = await rejects(
        resource().create(inputs(uniqueName("badpw"), dbz.connectorConfig(slot, { "database.password": wrong }))),
        /database\.hostname: Error while validating connector config: FATAL: password authentication failed for user/,
      );
      assert.ok(!msg.includes(wrong) && !msg.includes(dbz.password), msg);
      assert.deepEqual((await target.connectorNames()), []);
    });

    it("a role without REPLICATION: create fails at once naming the role and the fix, without its password", async () => {
      const slot = await dbz.createSlot();
      const role = uniqueName("norep");
      const rolePassword = "No-repl-pass-6612";
      await dbz.query(`CREATE ROLE ${role} LOGIN PASSWORD '${rolePassword}'; GRANT SELECT ON ALL TABLES IN SCHEMA public TO ${role}`);
      const name = uniqueName("norep");
      const started = Date.now();
      const msg = await rejects(
        resource().create(inputs(name, dbz.connectorConfig(slot, { "database.user": role, "database.password": rolePassword }), { streaming: streaming(slot), runningTimeoutSeconds: 30 })),
        new RegExp(`DebeziumConnector "${name}"`),
        new RegExp(`${role}[\\s\\S]*REPLICATION|REPLICATION[\\s\\S]*${role}`),
      );
      assert.ok(Date.now() - started < 15000, `failed after ${Date.now() - started} ms, not at the timeout`);
      assert.ok(!msg.includes(rolePassword) && !msg.includes(dbz.password), msg);
    });

    it("creates: waits for RUNNING and for Debezium to hold the slot, reporting progress; outputs as Connect stores them", async () => {
      const slot = await dbz.createSlot();
      const name = uniqueName("orders");
      const config = dbz.connectorConfig(slot, { "heartbeat.interval.ms": 1000, "tombstones.on.delete": false });
      const r = resource();
      const { value: outs, lines } = await withProgress(() => r.create(inputs(name, config, { streaming: streaming(slot), runningTimeoutSeconds: 30 })));
      // Returned only once the slot is held by Debezium's streaming connection.
      const held = await dbz.slot(slot);
      assert.equal(held?.active, true);
      assert.equal(held?.application_name, "Debezium Streaming");
      assert.ok(lines.some((l) => l.includes(`connector "${name}"`) && /RUNNING/.test(l)), `progress lines: ${JSON.stringify(lines)}`);
      assert.equal(r.id, name);
      assert.equal(outs.name, name);
      assert.equal(outs.connectorState, "RUNNING");
      assertRunningTasks(outs.tasks);
      assert.equal(outs.type, "source");
      const stored = outs.config as Record<string, unknown>;
      assert.ok(Object.values(stored).every((v) => typeof v === "string"), JSON.stringify(stored));
      assert.equal(stored["tasks.max"], "1");
      assert.equal(stored["database.port"], String(dbz.pg.port));
      assert.equal(stored["tombstones.on.delete"], "false");
      assert.equal(stored["heartbeat.interval.ms"], "1000");
      assert.deepEqual((await target.connectorNames()), [name]);
      const live = await liveConfig(name);
      assert.equal(live["tasks.max"], "1");
      assert.equal(live.name, name);
      // The snapshot reached the topic.
      const topic = `${config["topic.prefix"]}.public.orders`;
      const snap = await waitFor("snapshot events", async () => {
        const e = (await target.changeEvents(topic)).filter((x) => x.op === "r");
        return e.length === 2 && e;
      });
      assert.deepEqual(snap.map((e) => e.after?.id).sort(), [1, 2]);
    });

    it("streams inserts, updates and deletes to <prefix>.<schema>.<table>, with before-images under REPLICA IDENTITY FULL", async () => {
      const slot = await dbz.createSlot();
      const name = uniqueName("e2e");
      const config = dbz.connectorConfig(slot);
      await resource().create(inputs(name, config, { streaming: streaming(slot) }));
      await dbz.query("INSERT INTO orders VALUES (100, 'new', 1); UPDATE orders SET qty = 2 WHERE id = 100; DELETE FROM orders WHERE id = 100; UPDATE items SET label = 'uno' WHERE id = 1");
      const orders = `${config["topic.prefix"]}.public.orders`;
      const items = `${config["topic.prefix"]}.public.items`;
      const events = await waitFor("c/u/d events", async () => {
        const e = (await target.changeEvents(orders)).filter((x) => x.op !== "r");
        return e.length >= 3 && e;
      });
      assert.deepEqual(events.map((e) => e.op), ["c", "u", "d"]);
      assert.equal(events[0].before, null);
      assert.deepEqual(events[0].after, { id: 100, name: "new", qty: 1 });
      assert.deepEqual(events[1].before, { id: 100, name: "new", qty: 1 });
      assert.deepEqual(events[1].after, { id: 100, name: "new", qty: 2 });
      assert.deepEqual(events[2].before, { id: 100, name: "new", qty: 2 });
      assert.equal(events[2].after, null);
      const itemUpdate = await waitFor("items update", async () => (await target.changeEvents(items)).find((e) => e.op === "u"));
      assert.equal(itemUpdate.before, null, "default replica identity: no before-image");
      assert.deepEqual(itemUpdate.after, { id: 1, label: "uno" });
      await dbz.query("UPDATE items SET label = 'one' WHERE id = 1");
    });

    it("diff compares as Connect stores config, ignores name, __internal.* and masked values; a new name replaces, a state change updates", async () => {
      const slot = await dbz.createSlot();
      const name = uniqueName("diff");
      const config = dbz.connectorConfig(slot);
      const r = resource();
      const outs = await r.create(inputs(name, config));
      const diff = async (news: Inputs, olds: Record<string, unknown> = outs) => {
        const checked = await hosted.provider.check!(olds, { ...news, __provider: hosted.text });
        assert.equal(checked.failures, undefined, JSON.stringify(checked.failures));
        return hosted.provider.diff!(name, olds, checked.inputs);
      };
      const asStrings = Object.fromEntries(Object.entries(config).map(([k, v]) => [k, String(v)]));
      assert.equal((await diff(inputs(name, config))).changes, false, "numbers and booleans equal their strings");
      assert.equal((await diff(inputs(name, asStrings))).changes, false);
      assert.equal((await diff(inputs(name, { ...config, name }))).changes, false, "config.name equal to the name is ignored");
      const served = { ...outs, config: { ...(outs.config as Record<string, string>), name, "__internal.generation": "7", "database.password": "****" } };
      assert.equal((await diff(inputs(name, config), served)).changes, false, "server keys and masked values are ignored");
      const renamed = await diff(inputs(`${name}_v2`, config));
      assert.equal(renamed.changes, true);
      assert.deepEqual(renamed.replaces, ["name"]);
      assert.equal(renamed.deleteBeforeReplace, true);
      const paused = await diff(inputs(name, config, { state: "paused" }));
      assert.equal(paused.changes, true);
      assert.deepEqual(paused.replaces, []);
      const changed = await diff(inputs(name, { ...config, "heartbeat.interval.ms": 500 }));
      assert.equal(changed.changes, true);
      assert.deepEqual(changed.replaces, []);

      // The replace itself: old connector deleted first, the new one takes over the slot.
      const replaced = await r.up(inputs(`${name}_v2`, config, { streaming: streaming(slot) }));
      assert.equal(replaced.action, "replace");
      assert.deepEqual((await target.connectorNames()), [`${name}_v2`]);
      assert.equal(replaced.outs.connectorState, "RUNNING");
      assert.equal((await dbz.waitForSlot(slot, true, 3000)).application_name, "Debezium Streaming");
    });

    it("updates config in place and waits RUNNING again; running -> paused -> stopped -> running with pause/stop/resume", async () => {
      const slot = await dbz.createSlot();
      const name = uniqueName("upd");
      const config = dbz.connectorConfig(slot);
      const r = resource();
      const base = (extra: Inputs = {}, cfg: Record<string, unknown> = config) => inputs(name, cfg, { streaming: streaming(slot), ...extra });
      await r.create(base());
      const newConfig = { ...config, "table.include.list": "public.orders", "heartbeat.interval.ms": 300 };
      const upd = await r.up(base({}, newConfig));
      assert.equal(upd.action, "update");
      assert.equal(upd.outs.connectorState, "RUNNING");
      assert.deepEqual((upd.outs.tasks as Task[]).map((t) => t.state), ["RUNNING"]);
      const live = await liveConfig(name);
      assert.equal(live["table.include.list"], "public.orders");
      assert.equal(live["heartbeat.interval.ms"], "300");
      // The old task's backend may linger a moment after its restart, so the new holder is awaited briefly.
      assert.equal((await dbz.waitForSlot(slot, true, 3000)).application_name, "Debezium Streaming", "streaming again after the config change");
      assert.equal(target.requests.filter((q) => q.method === "PUT" && q.path === `/connectors/${name}/config`).length, 1);
      // Heartbeats now flow.
      await waitFor("heartbeat records", async () => (await target.records(`__debezium-heartbeat.${config["topic.prefix"]}`)).length > 0);

      const paused = await r.up(base({ state: "paused" }, newConfig));
      assert.equal(paused.action, "update");
      assert.equal(paused.outs.connectorState, "PAUSED");
      const ps = await status(name);
      assert.equal(ps.connector.state, "PAUSED");
      assert.deepEqual(ps.tasks.map((t) => t.state), ["PAUSED"]);
      assert.equal((await dbz.slot(slot))?.active, true, "a paused connector keeps its slot");
      assert.equal((await r.up(base({ state: "paused" }, newConfig))).action, "none");

      const stopped = await r.up(base({ state: "stopped" }, newConfig));
      assert.equal(stopped.outs.connectorState, "STOPPED");
      assert.deepEqual(stopped.outs.tasks, []);
      const ss = await status(name);
      assert.equal(ss.connector.state, "STOPPED");
      assert.deepEqual(ss.tasks, []);
      await dbz.waitForSlot(slot, false, 5000);

      const resumed = await r.up(base({ state: "running" }, newConfig));
      assert.equal(resumed.outs.connectorState, "RUNNING");
      assert.deepEqual((resumed.outs.tasks as Task[]).map((t) => t.state), ["RUNNING"]);
      assert.equal((await dbz.slot(slot))?.application_name, "Debezium Streaming", "resumed and streaming when up returns");
      const writes = target.requests.filter((q) => /\/(pause|stop|resume)$/.test(q.path)).map((q) => q.path.split("/").pop());
      assert.deepEqual(writes, ["pause", "stop", "resume"]);
    });

    it("restarts FAILED tasks found in stored outputs (after a refresh that saw them)", async () => {
      const slot = await dbz.createSlot();
      const name = uniqueName("restart");
      const config = dbz.connectorConfig(slot, { "errors.max.retries": 0 });
      const r = resource();
      const news = inputs(name, config, { streaming: streaming(slot) });
      await r.create(news);
      const held = await dbz.slot(slot);
      await dbz.query("SELECT pg_terminate_backend($1)", [held?.active_pid]);
      await waitFor("task FAILED", async () => (await status(name)).tasks[0]?.state === "FAILED");
      const refreshed = await r.read();
      assert.equal(refreshed.id, name);
      const tasks = refreshed.props?.tasks as Task[];
      assert.equal(tasks[0].state, "FAILED");
      assert.match(tasks[0].trace ?? "", /An exception occurred in the change event producer/);
      const up = await r.up(news);
      assert.equal(up.diff.changes, true, "FAILED tasks in state are a change");
      assert.equal(up.action, "update");
      assert.deepEqual((up.outs.tasks as Task[]).map((t) => t.state), ["RUNNING"]);
      assert.ok(target.requests.some((q) => q.method === "POST" && q.path.startsWith(`/connectors/${name}/restart?`) && /onlyFailed=true/.test(q.path)));
      assert.equal((await dbz.slot(slot))?.application_name, "Debezium Streaming");
      assert.equal((await r.up(news)).action, "none", "nothing more to do once RUNNING");
    });

    it("a FAILED task fails create with its trace and without the password; the connector is recorded, and the next up restarts it", async () => {
      const slot = await dbz.createSlot();
      const name = uniqueName("nopub");
      const pub = uniqueName("late_pub");
      const r = resource();
      const news = inputs(name, dbz.connectorConfig(slot, { "publication.name": pub }), { runningTimeoutSeconds: 20, streaming: streaming(slot) });
      const msg = await rejects(r.create(news), new RegExp(`Connector "${name}"`), /task 0 FAILED/, /Publication autocreation is disabled, please create one and restart the connector/);
      assert.ok(!msg.includes(dbz.password), msg);
      // A partial create: Pulumi records the connector (with its FAILED task) instead of orphaning it.
      assert.equal(r.id, name);
      assert.equal(r.outs?.connectorState, "RUNNING");
      assert.equal((r.outs?.tasks as Task[])[0].state, "FAILED");
      assert.equal(typeof r.outs?.__provider, "string");
      await dbz.query(`CREATE PUBLICATION ${pub} FOR TABLE orders, items`);
      const fixed = await r.up(news);
      assert.equal(fixed.action, "update");
      assert.deepEqual((fixed.outs.tasks as Task[]).map((t) => t.state), ["RUNNING"]);
      assert.equal((await dbz.slot(slot))?.application_name, "Debezium Streaming");
      assert.deepEqual((await target.connectorNames()), [name]);
      await r.delete();

      // With validate: false, Connect still validates on create (a wrong password never gets as far as a task).
      const wrong = "Wrong-task-pass-7731";
      const before = (await target.connectorNames()).length;
      const msg2 = await rejects(
        resource().create(inputs(uniqueName("badpwtask"), dbz.connectorConfig(slot, { "database.password": wrong }), { validate: false, runningTimeoutSeconds: 20 })),
        /rejected the connector configuration/,
        /password authentication failed/,
      );
      assert.ok(!msg2.includes(wrong) && !msg2.includes(dbz.password), msg2);
      assert.equal((await target.connectorNames()).length, before, "nothing created");
    });

    it("read returns live config and status; a connector deleted out of band reads as gone", async () => {
      const slot = await dbz.createSlot();
      const name = uniqueName("read");
      const config = dbz.connectorConfig(slot);
      const r = resource();
      await r.create(inputs(name, config));
      const put = await fetch(`${target.url}/connectors/${name}/config`, {
        method: "PUT",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ ...(await liveConfig(name)), "snapshot.mode": "no_data" }),
      });
      assert.equal(put.status, 200);
      await waitFor("RUNNING after out-of-band change", async () => (await status(name)).tasks[0]?.state === "RUNNING");
      const read = await r.read();
      assert.equal(read.id, name);
      const props = read.props as Record<string, unknown>;
      assert.equal((props.config as Record<string, string>)["snapshot.mode"], "no_data");
      assert.equal((props.config as Record<string, string>).name, undefined, "server keys are not kept");
      assert.equal(props.connectorState, "RUNNING");
      assertRunningTasks(props.tasks);
      assert.equal((read.inputs?.config as Record<string, string>)["snapshot.mode"], "no_data");
      // The drift shows: the program's config differs from the refreshed state.
      const up = await r.up(inputs(name, config));
      assert.equal(up.action, "update");
      assert.equal((await liveConfig(name))["snapshot.mode"], undefined);

      assert.equal((await fetch(`${target.url}/connectors/${name}`, { method: "DELETE" })).status, 204);
      const gone = await r.read();
      assert.ok(!gone.id, JSON.stringify(gone));
    });

    it("adopts an existing connector with an equal config; a different config fails naming the keys, not their values", async () => {
      const slot = await dbz.createSlot();
      const name = uniqueName("adopt");
      const config = dbz.connectorConfig(slot);
      const asStrings = Object.fromEntries(Object.entries(config).map(([k, v]) => [k, String(v)]));
      const post = await fetch(`${target.url}/connectors`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name, config: asStrings }) });
      assert.equal(post.status, 201);
      const posts = () => target.requests.filter((q) => q.method === "POST" && q.path === "/connectors").length;
      const before = posts();
      const { value: outs, lines } = await withProgress(() => resource().create(inputs(name, config, { streaming: streaming(slot) })));
      assert.equal(posts(), before, "no second create");
      assert.ok(lines.some((l) => /adopting the existing connector/.test(l)), JSON.stringify(lines));
      assert.equal(outs.connectorState, "RUNNING");
      assert.deepEqual((await target.connectorNames()), [name]);

      const other = uniqueName("adopt2");
      const otherPassword = "Other-secret-9921";
      const slot2 = await dbz.createSlot();
      const theirs = { ...Object.fromEntries(Object.entries(dbz.connectorConfig(slot2)).map(([k, v]) => [k, String(v)])), "snapshot.mode": "no_data" };
      const created = await fetch(`${target.url}/connectors`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: other, config: theirs }) });
      assert.equal(created.status, 201, await created.text());
      const mine = { ...theirs, "database.password": otherPassword, "snapshot.mode": undefined };
      delete mine["snapshot.mode"];
      const msg = await rejects(resource().create(inputs(other, mine, { validate: false })), /already exists .* with a different config/, /database\.password \(changed\)/, /snapshot\.mode \(removed\)/);
      assert.ok(!msg.includes(otherPassword) && !msg.includes(dbz.password), msg);
      assert.equal((await liveConfig(other))["snapshot.mode"], "no_data", "the other connector is left as it was");
    });

    it("delete waits until gone and is idempotent; offsets stay unless resetOffsetsOnDelete, which makes a re-created connector snapshot again", async () => {
      const slot = await dbz.createSlot();
      const name = uniqueName("del");
      const config = dbz.connectorConfig(slot);
      const topic = `${config["topic.prefix"]}.public.orders`;
      const snapshots = async () => (await target.changeEvents(topic)).filter((e) => e.op === "r").length;

      // Without resetOffsetsOnDelete: offsets survive, a re-created connector resumes without a snapshot.
      const keep = resource();
      await keep.create(inputs(name, config, { streaming: streaming(slot) }));
      await waitFor("snapshot", async () => (await snapshots()) === 2);
      await waitFor("committed offsets", async () => (await target.storedOffsets(name)).length > 0);
      await keep.delete();
      assert.deepEqual((await target.connectorNames()), []);
      assert.ok((await target.storedOffsets(name)).length > 0, "offsets kept");
      await dbz.waitForSlot(slot, false, 3000);
      await keep.delete(); // 404 is success

      const again = resource();
      await again.create(inputs(name, config, { streaming: streaming(slot), resetOffsetsOnDelete: true }));
      await dbz.query("INSERT INTO orders VALUES (200, 'resumed', 1)");
      await waitFor("insert event", async () => (await target.changeEvents(topic)).some((e) => e.op === "c" && e.after?.id === 200));
      assert.equal(await snapshots(), 2, "resumed from offsets: no new snapshot");

      // With resetOffsetsOnDelete: stop, delete offsets, delete.
      await again.delete();
      assert.deepEqual((await target.connectorNames()), []);
      assert.deepEqual((await target.storedOffsets(name)), []);
      assert.equal((await dbz.slot(slot))?.active, false, "slot released after delete");
      const paths = target.requests.map((q) => `${q.method} ${q.path}`);
      const stopAt = paths.lastIndexOf(`PUT /connectors/${name}/stop`);
      const offsetsAt = paths.lastIndexOf(`DELETE /connectors/${name}/offsets`);
      const deleteAt = paths.lastIndexOf(`DELETE /connectors/${name}`);
      assert.ok(stopAt >= 0 && stopAt < offsetsAt && offsetsAt < deleteAt, paths.slice(-8).join("\n"));
      await again.delete();

      const fresh = resource();
      await fresh.create(inputs(name, config, { streaming: streaming(slot) }));
      await waitFor("a new snapshot", async () => (await snapshots()) === 2 + 3, 30000); // rows 1, 2 and 200
      await fresh.delete();
      await dbz.query("DELETE FROM orders WHERE id = 200");
    });

    it("refuses to create when another backend holds the slot, naming its PID and application_name", async () => {
      const slot = await dbz.createSlot();
      const holder = await holdSlot(dbz, slot);
      try {
        const msg = await rejects(
          resource().create(inputs(uniqueName("held"), dbz.connectorConfig(slot), { streaming: streaming(slot) })),
          new RegExp(`replication slot "${slot}" is already held by another backend, PID ${holder.pid} \\(application_name "cdc-test-holder"`),
        );
        assert.ok(!msg.includes(dbz.password));
        assert.deepEqual((await target.connectorNames()), []);
      } finally {
        await holder.release();
      }
    });

    it("no password appears in any error message of this file", () => {
      const secrets = [dbz.password, "No-repl-pass-6612", "Wrong-db-pass-4821", "Wrong-task-pass-7731", "Other-secret-9921", dbz.pg.superPassword];
      assert.ok(messages.length >= 5, `collected ${messages.length} error messages`);
      for (const m of messages) for (const s of secrets) assert.ok(!m.includes(s), `a secret leaked into: ${m}`);
    });
  });
}
