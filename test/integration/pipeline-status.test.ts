/**
 * pipelineStatus and the `status` command against real PostgreSQL and the
 * Connect double running the Debezium-like task.
 */
import { strict as assert } from "node:assert";
import { main } from "#dist/cli/main.js";
import { ConnectClient } from "#dist/connect/client.js";
import { waitForState } from "#dist/connect/wait.js";
import { pipelineStatus } from "#dist/pipeline/status.js";
import type { ConnectDouble } from "../support/connect-double/server";
import { deleteAllConnectors, setupDebeziumDatabase, startDebeziumDouble, type DebeziumDatabase } from "../support/debezium-fixture";
import { pgMajors, sharedPostgres } from "../support/postgres";

const major = Math.max(...pgMajors());

describe(`pipeline status on PostgreSQL ${major} @pg`, function () {
  this.timeout(60000);
  let double: ConnectDouble;
  let d: DebeziumDatabase;
  let client: ConnectClient;

  before(async () => {
    d = await setupDebeziumDatabase(await sharedPostgres(major), "status");
    double = await startDebeziumDouble();
    client = new ConnectClient({ url: double.url });
  });
  after(async () => {
    await deleteAllConnectors(double);
    await client.close();
    await double.close();
    await d.dropSlots();
  });

  const io = () => {
    const out: string[] = [];
    const err: string[] = [];
    return { out, err, io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t), env: { PGPASSWORD: d.pg.superPassword } } };
  };
  const url = () => `postgres://postgres@127.0.0.1:${d.pg.port}/${d.db}?sslmode=disable`;

  it("reports Running with the slot held by Debezium and the WAL it retains; the command prints it and exits 0", async () => {
    const slot = await d.createSlot("st");
    await client.putConfig("status-ok", d.connectorConfig(slot));
    await waitForState(client, "status-ok", "RUNNING", { timeoutMs: 15000 });
    await d.waitForSlot(slot, true);
    const s = await pipelineStatus({ source: d.connection(), connect: { url: double.url }, connectorName: "status-ok", slotName: slot });
    assert.equal(s.status, "Running");
    assert.equal(s.connectorState, "RUNNING");
    assert.deepEqual(s.tasks.map((t) => t.state), ["RUNNING"]);
    assert.equal(s.slotActive, true);
    assert.match(s.slotHolder?.applicationName ?? "", /Debezium/);
    assert.equal(typeof s.retainedWalBytes, "number");
    assert.equal(typeof s.confirmedLagBytes, "number");
    assert.deepEqual(s.problems, []);

    const c = io();
    const code = await main(["status", url(), "--connect", double.url, "--connector", "status-ok", "--slot", slot], c.io);
    assert.equal(code, 0, c.err.join("\n"));
    assert.match(c.out.join("\n"), /status-ok .*: Running/);
    assert.match(c.out.join("\n"), /slot: +active \(PID \d+/);
    assert.ok(!c.out.join("\n").includes(d.pg.superPassword));

    await client.stop("status-ok");
    await waitForState(client, "status-ok", "STOPPED", { timeoutMs: 15000 });
    const stopped = await pipelineStatus({ source: d.connection(), connect: { url: double.url }, connectorName: "status-ok", slotName: slot });
    assert.equal(stopped.status, "Stopped");
  });

  it("reports Degraded with the task trace when the task failed, and Missing (exit 1) for an unknown connector", async () => {
    const slot = await d.createSlot("st");
    await client.putConfig("status-failed", d.connectorConfig(slot, { "publication.name": "no_such_publication" }));
    await assert.rejects(waitForState(client, "status-failed", "RUNNING", { timeoutMs: 15000 }));
    const s = await pipelineStatus({ source: d.connection(), connect: { url: double.url }, connectorName: "status-failed", slotName: slot });
    assert.equal(s.status, "Degraded");
    assert.match(s.problems.join("\n"), /task 0 FAILED: .*Publication autocreation is disabled/);

    const c = io();
    const code = await main(["status", url(), "--connect", double.url, "--connector", "nope", "--slot", slot, "--json"], c.io);
    assert.equal(code, 1);
    const json = JSON.parse(c.out.join("\n")) as { status: string };
    assert.equal(json.status, "Missing");
  });

  it("says what is missing on a bad command line", async () => {
    const c = io();
    assert.equal(await main(["status", url(), "--connect", double.url], c.io), 2);
    assert.match(c.err.join("\n"), /--connect, --connector and --slot are required/);
  });
});
