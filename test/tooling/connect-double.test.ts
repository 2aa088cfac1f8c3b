/**
 * The Connect double's task lifecycle through the plugin contract: which
 * operations start and stop tasks (and so hold or release a replication slot
 * for the Debezium plugin), records held while paused, offsets kept across a
 * delete, distributed-mode status window, worker restarts.
 */
import { strict as assert } from "node:assert";
import { request } from "undici";
import type { ConnectorPlugin, TaskContext } from "../support/connect-double/plugin";
import { startConnectDouble, type ConnectDouble } from "../support/connect-double/server";

/** A plugin that records every task start and stop, and exposes the live contexts. */
function trackingPlugin() {
  const events: string[] = [];
  const live = new Map<string, TaskContext>();
  const plugin: ConnectorPlugin = {
    className: "org.example.connect.TrackingSourceConnector",
    type: "source",
    version: "1.0.0",
    definitions: [],
    async validate() {
      return {};
    },
    taskCount: (c) => Number(c["tasks.max"] ?? "1"),
    startTask(ctx) {
      const key = `${ctx.connector}-${ctx.taskId}`;
      events.push(`start ${key}`);
      live.set(key, ctx);
      ctx.report("RUNNING");
      return {
        async stop() {
          events.push(`stop ${key}`);
          live.delete(key);
        },
      };
    },
  };
  return { plugin, events, live };
}

async function call(d: ConnectDouble, method: string, path: string, body?: unknown) {
  const res = await request(d.url + path, {
    method: method as "GET",
    headers: { accept: "application/json", ...(body ? { "content-type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.body.text();
  return { status: res.statusCode, body: text ? JSON.parse(text) : undefined, headers: res.headers };
}

const until = async (what: string, f: () => Promise<boolean> | boolean, ms = 3000) => {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await f()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`timed out waiting for ${what}`);
};

const FAST = { tasksDelayMs: 30, pauseDelayMs: 30, restartDelayMs: 30, statusWindowMs: 100, taskShutdownTimeoutMs: 300 };
const CLASS = "org.example.connect.TrackingSourceConnector";

describe("Connect double task lifecycle", function () {
  this.timeout(20000);
  const doubles: ConnectDouble[] = [];
  after(async () => Promise.all(doubles.map((d) => d.close())));

  async function start(mode: "standalone" | "distributed" = "standalone") {
    const t = trackingPlugin();
    const d = await startConnectDouble({ mode, plugins: [t.plugin], timing: FAST });
    doubles.push(d);
    const state = async (n: string) => {
      const s = await call(d, "GET", `/connectors/${n}/status`);
      return s.status === 200 ? `${s.body.connector.state} [${s.body.tasks.map((x: { id: number; state: string }) => `${x.id}:${x.state}`).join(",")}]` : String(s.status);
    };
    return { d, ...t, state };
  }

  it("pause keeps tasks allocated and holds their records; stop and delete stop them; resume from STOPPED starts them again", async () => {
    const { d, events, live, state } = await start();
    assert.equal((await call(d, "POST", "/connectors", { name: "a", config: { "connector.class": CLASS, "tasks.max": 2 } })).status, 201);
    await until("RUNNING", async () => (await state("a")) === "RUNNING [0:RUNNING,1:RUNNING]");
    assert.deepEqual(events.sort(), ["start a-0", "start a-1"]);
    events.length = 0;

    assert.equal((await call(d, "PUT", "/connectors/a/pause")).status, 202);
    assert.equal(await state("a"), "PAUSED [0:RUNNING,1:RUNNING]");
    await until("PAUSED", async () => (await state("a")) === "PAUSED [0:PAUSED,1:PAUSED]");
    assert.deepEqual(events, [], "pause stops no task (the slot stays active)");
    live.get("a-0")?.produce("t", 1, "while paused");
    live.get("a-0")?.commitOffset({ p: 0 }, { n: 1 });
    assert.equal(d.topics.get("t"), undefined, "records are held while paused");
    assert.equal((await call(d, "PUT", "/connectors/a/resume")).status, 202);
    assert.equal(await state("a"), "RUNNING [0:RUNNING,1:RUNNING]");
    assert.deepEqual(d.topics.get("t"), [{ key: 1, value: "while paused" }]);
    assert.deepEqual(d.storedOffsets("a"), [{ partition: { p: 0 }, offset: { n: 1 } }]);

    assert.equal((await call(d, "PUT", "/connectors/a/stop")).status, 204);
    assert.deepEqual(events.sort(), ["stop a-0", "stop a-1"], "stop releases every task before answering");
    assert.equal(await state("a"), "STOPPED []");
    assert.deepEqual((await call(d, "GET", "/connectors/a/tasks")).body, []);
    live.get("a-0")?.report("FAILED", "late");
    assert.equal(await state("a"), "STOPPED []", "reports from stopped tasks are ignored");
    events.length = 0;
    await call(d, "PUT", "/connectors/a/resume");
    assert.equal(await state("a"), "RUNNING []");
    await until("tasks again", async () => (await state("a")) === "RUNNING [0:RUNNING,1:RUNNING]");
    assert.deepEqual(events.sort(), ["start a-0", "start a-1"]);
    events.length = 0;

    assert.equal((await call(d, "DELETE", "/connectors/a")).status, 204);
    assert.deepEqual(events.sort(), ["stop a-0", "stop a-1"]);
    assert.equal((await call(d, "GET", "/connectors/a/status")).status, 404);
    assert.deepEqual(d.storedOffsets("a"), [{ partition: { p: 0 }, offset: { n: 1 } }], "offsets survive a delete");
    assert.ok(d.workerLog.some((l) => /Connector deleted/.test(l)));
  });

  it("a config change restarts the tasks; the same config does not", async () => {
    const { d, events, state } = await start();
    await call(d, "PUT", "/connectors/b/config", { "connector.class": CLASS });
    await until("RUNNING", async () => (await state("b")) === "RUNNING [0:RUNNING]");
    events.length = 0;
    assert.equal((await call(d, "PUT", "/connectors/b/config", { "connector.class": CLASS, "tasks.max": "1" })).status, 200);
    assert.deepEqual(events, ["stop b-0"]);
    assert.equal(await state("b"), "RUNNING []");
    await until("restarted", async () => (await state("b")) === "RUNNING [0:RUNNING]");
    events.length = 0;
    assert.equal((await call(d, "PUT", "/connectors/b/config", { "connector.class": CLASS, "tasks.max": 1 })).status, 200);
    assert.deepEqual(events, [], "unchanged config (1 and \"1\" are the same stored string)");
  });

  it("restarts: task restart shows UNASSIGNED, includeTasks shows RESTARTING, a failed task recovers with onlyFailed", async () => {
    const { d, events, live, state } = await start();
    await call(d, "POST", "/connectors", { name: "c", config: { "connector.class": CLASS } });
    await until("RUNNING", async () => (await state("c")) === "RUNNING [0:RUNNING]");
    events.length = 0;
    assert.equal((await call(d, "POST", "/connectors/c/tasks/0/restart")).status, 204);
    assert.equal(await state("c"), "RUNNING [0:UNASSIGNED]");
    await until("RUNNING", async () => (await state("c")) === "RUNNING [0:RUNNING]");
    assert.deepEqual(events, ["stop c-0", "start c-0"]);
    live.get("c-0")?.report("FAILED", "java.lang.IllegalStateException: broken\n\tat x.y(Z.java:1)");
    const failed = await call(d, "GET", "/connectors/c/status");
    assert.equal(failed.body.tasks[0].trace.split("\n")[0], "java.lang.IllegalStateException: broken");
    const r = await call(d, "POST", "/connectors/c/restart?includeTasks=true&onlyFailed=true");
    assert.equal(r.status, 202);
    assert.equal(r.body.connector.state, "RUNNING");
    assert.equal(r.body.tasks[0].state, "RESTARTING");
    assert.match(r.body.tasks[0].trace, /broken/);
    await until("recovered", async () => (await state("c")) === "RUNNING [0:RUNNING]");
    const plain = await call(d, "POST", "/connectors/c/restart");
    assert.equal(plain.status, 204);
    assert.equal(plain.headers["content-type"], undefined);
  });

  it("distributed mode: status 404 right after a create, omitted from expand=status, unknown-connector 404s", async () => {
    const { d, state } = await start("distributed");
    const created = await call(d, "POST", "/connectors?forward=true", { name: "d", config: { "connector.class": CLASS } });
    assert.equal(created.status, 201);
    assert.deepEqual(created.body.tasks, []);
    assert.equal(await state("d"), "404");
    assert.deepEqual((await call(d, "GET", "/connectors?expand=status")).body, {});
    assert.deepEqual(Object.keys((await call(d, "GET", "/connectors?expand=info")).body), ["d"]);
    await until("RUNNING", async () => (await state("d")) === "RUNNING [0:RUNNING]");
    assert.equal((await call(d, "PUT", "/connectors/nope/stop")).body.message, "Unknown connector nope");
    assert.equal((await call(d, "POST", "/connectors/nope/restart")).body.message, "Unknown connector: nope");
    const t = await call(d, "POST", "/connectors/d/tasks/7/restart");
    assert.equal(t.body.message, "Unknown task: d-7");
    assert.equal(await state("d"), "RUNNING [0:RUNNING]", "no phantom task in distributed mode");
  });

  it("a standalone worker restart loses REST-created connectors but keeps offsets; a distributed one keeps them", async () => {
    for (const mode of ["standalone", "distributed"] as const) {
      const { d, events, live, state } = await start(mode);
      await call(d, "PUT", "/connectors/e/config", { "connector.class": CLASS });
      await until("RUNNING", async () => (await state("e")) === "RUNNING [0:RUNNING]");
      live.get("e-0")?.commitOffset({ p: 1 }, { at: 5 });
      events.length = 0;
      await d.stopWorker();
      assert.deepEqual(events, ["stop e-0"]);
      await assert.rejects(call(d, "GET", "/"));
      await d.startWorker();
      if (mode === "standalone") {
        assert.deepEqual((await call(d, "GET", "/connectors")).body, []);
        assert.deepEqual(d.storedOffsets("e"), [{ partition: { p: 1 }, offset: { at: 5 } }]);
      } else {
        assert.deepEqual((await call(d, "GET", "/connectors")).body, ["e"]);
        await until("RUNNING again", async () => (await state("e")) === "RUNNING [0:RUNNING]");
      }
    }
  });

  it("answers unknown paths, wrong methods and Accept: text/plain like Jersey (no Content-Type)", async () => {
    const { d } = await start();
    for (const [method, path, status] of [
      ["GET", "/nope", 404],
      ["PATCH", "/connectors/x", 405],
    ] as const) {
      const r = await call(d, method, path);
      assert.equal(r.status, status);
      assert.equal(r.headers["content-type"], undefined);
    }
    const res = await request(d.url + "/", { headers: { accept: "text/plain" } });
    assert.equal(res.statusCode, 406);
    assert.deepEqual(JSON.parse(await res.body.text()), { error_code: 406, message: "HTTP 406 Not Acceptable" });
  });
});
