/**
 * The Connect REST client against the Connect double: every method, error
 * paths, auth, path prefix, TLS and mutual TLS, injected faults (409s, 500
 * rebalance, lost answers, slow answers), waits for states, and no secret in
 * any error.
 */
import { strict as assert } from "node:assert";
import { ConnectClient, connectStats, validationErrors, type ConnectClientOptions } from "#dist/connect/client.js";
import { ConnectError } from "#dist/connect/errors.js";
import { waitForState } from "#dist/connect/wait.js";
import { debeziumStandInPlugin, failingSourcePlugin, jdbcSinkPlugin, noopSourcePlugin } from "../support/connect-double/builtin-plugins";
import type { ConnectorPlugin } from "../support/connect-double/plugin";
import { startConnectDouble, type ConnectDouble, type ConnectDoubleOptions } from "../support/connect-double/server";
import { makeCertAuthority } from "../support/certs";

const DB_PASSWORD = "dbz-Secret-9f2";
const BASIC_PASSWORD = "basic-Pw-77x";
const TOKEN = "tok-Bearer-5521";
const SECRETS = [DB_PASSWORD, BASIC_PASSWORD, TOKEN, Buffer.from(`admin:${BASIC_PASSWORD}`).toString("base64")];

const FAST = { tasksDelayMs: 30, pauseDelayMs: 30, restartDelayMs: 30, statusWindowMs: 60, taskShutdownTimeoutMs: 500 };
const dbz = () => debeziumStandInPlugin({ servers: [{ host: "127.0.0.1", port: 55432, users: { dbz: DB_PASSWORD }, databases: ["inventory"] }] });
const CONFIG = {
  "connector.class": "io.debezium.connector.postgresql.PostgresConnector",
  "tasks.max": 1,
  "database.hostname": "127.0.0.1",
  "database.port": 55432,
  "database.user": "dbz",
  "database.password": DB_PASSWORD,
  "database.dbname": "inventory",
  "topic.prefix": "shop",
  "plugin.name": "pgoutput",
  "slot.name": "dbz_slot",
};

/** Every error seen by these tests, checked for secrets at the end. */
const seen: string[] = [];
async function failure(p: Promise<unknown>): Promise<ConnectError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof ConnectError, `expected a ConnectError, got ${String(e)}`);
    seen.push(e.message, e.connectMessage ?? "", JSON.stringify(e));
    return e;
  }
  assert.fail("expected a failure");
}

const doubles: ConnectDouble[] = [];
const clients: ConnectClient[] = [];
async function setup(opts: ConnectDoubleOptions = {}, client: Partial<ConnectClientOptions> = {}): Promise<{ double: ConnectDouble; client: ConnectClient }> {
  const double = await startConnectDouble({ plugins: [dbz(), noopSourcePlugin(), jdbcSinkPlugin(), failingSourcePlugin()], timing: FAST, ...opts });
  doubles.push(double);
  const c = new ConnectClient({ url: double.url, requestTimeoutMs: 5000, deadlineMs: 5000, backoff: { initialDelayMs: 10, maxDelayMs: 100 }, ...client });
  clients.push(c);
  return { double, client: c };
}

describe("Connect client against the Connect double", function () {
  this.timeout(30000);
  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await Promise.all(doubles.map((d) => d.close()));
    const all = seen.join("\n");
    for (const s of SECRETS) assert.ok(!all.includes(s), `a secret leaked into an error: ${s}`);
  });

  describe("methods", () => {
    let double: ConnectDouble;
    let client: ConnectClient;
    before(async () => ({ double, client } = await setup()));

    it("reads the server info, plugins and plugin definitions", async () => {
      const info = await client.serverInfo();
      assert.equal(info.version, "3.7.1");
      assert.deepEqual(await client.kafkaVersion(), [3, 7]);
      const plugins = await client.plugins();
      assert.ok(plugins.some((p) => p.class === "io.debezium.connector.postgresql.PostgresConnector" && p.type === "source"));
      assert.ok((await client.plugins(false)).some((p) => p.type === "transformation"));
      const defs = await client.pluginConfig("PostgresConnector");
      assert.equal(defs.length, 116);
      const e = await failure(client.pluginConfig("com.example.Nope"));
      assert.equal(e.status, 404);
      assert.equal(e.connectMessage, "Unknown plugin com.example.Nope.");
    });

    it("validates: 200 with per-property errors, secrets hidden", async () => {
      const ok = await client.validate("io.debezium.connector.postgresql.PostgresConnector", { ...CONFIG, name: "probe" });
      assert.equal(ok.error_count, 0);
      const bad = await client.validate("io.debezium.connector.postgresql.PostgresConnector", { ...CONFIG, name: "probe", "database.password": "wrong", "snapshot.mode": "sometimes" });
      assert.deepEqual(validationErrors(bad), [
        { name: "snapshot.mode", errors: ["The 'snapshot.mode' value is invalid: Value must be one of always, never, initial_only, configuration_based, when_needed, initial, custom, no_data"] },
      ]);
      const pw = await client.validate("PostgresConnector", { ...CONFIG, name: "probe", "database.password": "wrong" });
      assert.deepEqual(validationErrors(pw), [{ name: "database.hostname", errors: ['Error while validating connector config: FATAL: password authentication failed for user "dbz"'] }]);
      const noop = await client.validate("org.example.connect.NoopSourceConnector", { name: "n", "noop.secret": "hush-hush" });
      assert.equal(noop.configs.find((c) => c.value?.name === "noop.secret")?.value?.value, null);
    });

    it("creates with POST (201), refuses a duplicate with 409, and reads everything back", async () => {
      const before = connectStats.requests;
      const r = await client.create("orders cdc/1", CONFIG);
      assert.equal(r.created, true);
      assert.equal(r.adopted, false);
      assert.equal(r.info.name, "orders cdc/1");
      assert.equal(r.info.config["tasks.max"], "1");
      assert.equal(r.info.config.name, "orders cdc/1");
      assert.ok(connectStats.requests > before);
      const dup = await failure(client.create("orders cdc/1", CONFIG));
      assert.equal(dup.status, 409);
      assert.match(dup.message, /already exists/);
      assert.match(dup.message, /PUT \/connectors\/\{name\}\/config/);
      const st = await waitForState(client, "orders cdc/1", "RUNNING", { timeoutMs: 5000 });
      assert.equal(st.tasks.length, 1);
      assert.equal((await client.getConnector("orders cdc/1"))?.type, "source");
      assert.equal((await client.getConfig("orders cdc/1"))?.["database.port"], "55432");
      const tasks = await client.getTasks("orders cdc/1");
      assert.equal(tasks[0].config["task.class"], "io.debezium.connector.postgresql.PostgresConnectorTask");
      assert.equal((await client.getTaskStatus("orders cdc/1", 0))?.state, "RUNNING");
      assert.equal(await client.getTaskStatus("orders cdc/1", 5), undefined);
      assert.deepEqual(await client.listNames(), ["orders cdc/1"]);
      const all = await client.list();
      assert.equal(all["orders cdc/1"].status?.connector.state, "RUNNING");
      assert.equal(all["orders cdc/1"].info?.name, "orders cdc/1");
      assert.deepEqual([...double.topics.keys()], ["shop.public.products"]);
    });

    it("upserts with PUT: 201 then 200, restarting tasks only on a change", async () => {
      const a = await client.putConfig("sink-1", { "connector.class": "io.debezium.connector.jdbc.JdbcSinkConnector", topics: "shop.public.products", "connection.url": "jdbc:postgresql://db/x" });
      assert.equal(a.created, true);
      assert.equal(a.info.type, "sink");
      await waitForState(client, "sink-1", "RUNNING", { timeoutMs: 5000 });
      const same = await client.putConfig("sink-1", { "connector.class": "io.debezium.connector.jdbc.JdbcSinkConnector", topics: "shop.public.products", "connection.url": "jdbc:postgresql://db/x" });
      assert.equal(same.created, false);
      assert.equal((await client.getStatus("sink-1"))?.tasks.length, 1, "no restart for an unchanged config");
      await client.putConfig("sink-1", { "connector.class": "io.debezium.connector.jdbc.JdbcSinkConnector", topics: "shop.public.products", "connection.url": "jdbc:postgresql://db/y" });
      assert.deepEqual((await client.getStatus("sink-1"))?.tasks, [], "tasks restart after a change");
      await waitForState(client, "sink-1", "RUNNING", { timeoutMs: 5000 });
      assert.equal((await client.getConfig("sink-1"))?.["connection.url"], "jdbc:postgresql://db/y");
    });

    it("lists every error line of an invalid config, and the 'no connector type' case without the password", async () => {
      const e = await failure(client.create("bad", { ...CONFIG, "topic.prefix": "", "database.port": "abc" }));
      assert.equal(e.status, 400);
      assert.deepEqual(e.configErrors, [
        "The 'topic.prefix' value is invalid: A value is required",
        "The 'database.port' value is invalid: An integer is expected",
        "The 'database.port' value is invalid: An integer is expected",
      ]);
      assert.match(e.message, /rejected the connector configuration with 3 error\(s\):\n {2}- The 'topic\.prefix'/);
      const { "connector.class": _c, ...noClass } = CONFIG;
      const n = await failure(client.putConfig("no-class", { ...noClass, "database.password": "pw" }));
      assert.equal(n.status, 400);
      assert.match(n.connectMessage ?? "", /database\.password=\[redacted\]/);
      assert.ok(!/=pw[,}]/.test(n.message));
      assert.match(n.message, /Set connector\.class/);
      const u = await failure(client.create("bad-class", { ...CONFIG, "connector.class": "com.example.NoSuchConnector" }));
      assert.equal(u.status, 500);
      assert.match(u.message, /Install the connector plugin/);
    });

    it("pauses, resumes, stops, restarts and manages offsets", async () => {
      const name = "life";
      await client.create(name, { "connector.class": "org.example.connect.NoopSourceConnector", "noop.records": 2, "noop.topic": "life" });
      await waitForState(client, name, "RUNNING", { timeoutMs: 5000 });
      await client.pause(name);
      await waitForState(client, name, "PAUSED", { timeoutMs: 5000 });
      await client.resume(name);
      await waitForState(client, name, "RUNNING", { timeoutMs: 5000 });
      assert.equal(await client.restart(name), undefined);
      const r = await client.restart(name, { includeTasks: true });
      assert.equal(r?.tasks[0].state, "RESTARTING");
      await waitForState(client, name, "RUNNING", { timeoutMs: 5000 });
      await client.restartTask(name, 0);
      await waitForState(client, name, "RUNNING", { timeoutMs: 5000 });
      const t = await failure(client.restartTask(name, 9));
      assert.equal(t.status, 404);
      assert.equal(t.connectMessage, "Task life-9 not found");
      // Each task start produces noop.records more: the first start, the restart with tasks, the task restart.
      const offsets = await client.getOffsets(name);
      assert.deepEqual(offsets.offsets, [{ partition: { task: 0 }, offset: { position: 6 } }]);
      assert.equal(double.topics.get("life")?.length, 6);
      const refused = await failure(client.deleteOffsets(name));
      assert.equal(refused.status, 400);
      assert.match(refused.message, /Stop the connector first/);
      await client.stop(name);
      await failure(waitForState(client, name, "STOPPED", { timeoutMs: 300 })); // the phantom task 9 (standalone quirk) stays FAILED
      assert.match(await client.alterOffsets(name, [{ partition: { task: 0 }, offset: { position: 7 } }]), /altered successfully/);
      assert.deepEqual((await client.getOffsets(name)).offsets, [{ partition: { task: 0 }, offset: { position: 7 } }]);
      assert.match(await client.deleteOffsets(name), /reset successfully/);
      assert.deepEqual((await client.getOffsets(name)).offsets, []);
      assert.equal(await client.delete(name), true);
      assert.equal(await client.delete(name), false);
      assert.equal(await client.getConnector(name), undefined);
      assert.equal(await client.getConfig(name), undefined);
      assert.equal(await client.getStatus(name), undefined);
    });

    it("reports missing connectors as the recorded errors", async () => {
      assert.equal((await failure(client.pause("nope"))).connectMessage, "Unknown connector nope");
      const stop = await failure(client.stop("nope"));
      assert.equal(stop.status, 500);
      assert.equal(stop.connectMessage, "No connector `nope` configured");
      assert.equal((await failure(client.restart("nope"))).status, 500);
      assert.equal((await failure(client.getOffsets("nope"))).connectMessage, "Connector nope not found");
      assert.equal((await failure(client.getTasks("nope"))).status, 404);
    });
  });

  describe("versions", () => {
    it("creates PAUSED/STOPPED with initial_state on 3.7 and falls back to create + pause on 3.6", async () => {
      const { client } = await setup();
      await client.create("p", { "connector.class": "org.example.connect.NoopSourceConnector" }, "PAUSED");
      await waitForState(client, "p", "PAUSED", { timeoutMs: 5000 });
      await client.create("s", { "connector.class": "org.example.connect.NoopSourceConnector" }, "STOPPED");
      await waitForState(client, "s", "STOPPED", { timeoutMs: 5000 });
      const old = await setup({ version: "3.6.2" });
      await old.client.create("p", { "connector.class": "org.example.connect.NoopSourceConnector" }, "PAUSED");
      await waitForState(old.client, "p", "PAUSED", { timeoutMs: 5000 });
      assert.ok(!old.double.requests.some((r) => r.status === 500), "initial_state is not sent to 3.6");
    });

    it("refuses stop and offset changes on workers too old for them", async () => {
      const { client } = await setup({ version: "3.4.0" });
      await client.create("o", { "connector.class": "org.example.connect.NoopSourceConnector" });
      const e = await failure(client.stop("o"));
      assert.equal(e.kind, "unsupported");
      assert.match(e.message, /needs Kafka Connect 3\.5 or later.*runs 3\.4\.0/);
      const v35 = await setup({ version: "3.5.1" });
      await v35.client.create("o", { "connector.class": "org.example.connect.NoopSourceConnector" });
      assert.deepEqual((await v35.client.getOffsets("o")).offsets, []);
      assert.equal((await failure(v35.client.deleteOffsets("o"))).kind, "unsupported");
    });
  });

  describe("auth, path prefix and TLS", () => {
    it("sends basic auth; a wrong password gets 401 with advice and no password", async () => {
      const { double } = await setup({ auth: { basic: { username: "admin", password: BASIC_PASSWORD } } });
      const ok = new ConnectClient({ url: double.url, username: "admin", password: BASIC_PASSWORD });
      clients.push(ok);
      assert.equal((await ok.serverInfo()).version, "3.7.1");
      const bad = new ConnectClient({ url: double.url, username: "admin", password: "not-" + BASIC_PASSWORD, secrets: [] });
      clients.push(bad);
      const e = await failure(bad.serverInfo());
      assert.equal(e.status, 401);
      assert.match(e.message, /check the Connect credentials/i);
      assert.ok(!e.message.includes("not-" + BASIC_PASSWORD));
      const inUrl = new ConnectClient({ url: double.url.replace("://", `://admin:${BASIC_PASSWORD}@`) });
      clients.push(inUrl);
      assert.equal((await inUrl.serverInfo()).version, "3.7.1");
    });

    it("sends a bearer header and serves under a path prefix", async () => {
      const { double } = await setup({ auth: { bearer: TOKEN }, pathPrefix: "/api/connect/v1/clusters/lkc-1" });
      assert.match(double.url, /\/api\/connect\/v1\/clusters\/lkc-1$/);
      const c = new ConnectClient({ url: double.url, headers: { Authorization: `Bearer ${TOKEN}` } });
      clients.push(c);
      await c.create("prefixed", { "connector.class": "org.example.connect.NoopSourceConnector" });
      await waitForState(c, "prefixed", "RUNNING", { timeoutMs: 5000 });
      const wrong = new ConnectClient({ url: double.url, headers: { Authorization: "Bearer nope-" + TOKEN } });
      clients.push(wrong);
      const e = await failure(wrong.listNames());
      assert.equal(e.status, 401);
      const noPrefix = new ConnectClient({ url: double.url.replace(/\/api.*$/, ""), headers: { Authorization: `Bearer ${TOKEN}` } });
      clients.push(noPrefix);
      const np = await failure(noPrefix.getConnector("prefixed"));
      assert.equal(np.status, 404);
      assert.match(np.message, /check the url \(and its path prefix\)/);
    });

    it("talks HTTPS with a custom CA, and says so when the CA is missing", async () => {
      const ca = makeCertAuthority();
      const server = ca.issue("localhost", { dns: ["localhost"], ips: ["127.0.0.1"] });
      const { double } = await setup({ tls: { cert: server.certPem, key: server.keyPem } });
      assert.match(double.url, /^https:/);
      const c = new ConnectClient({ url: double.url, tls: { ca: ca.caPem } });
      clients.push(c);
      assert.equal((await c.serverInfo()).version, "3.7.1");
      const untrusting = new ConnectClient({ url: double.url, deadlineMs: 2000 });
      clients.push(untrusting);
      const started = Date.now();
      const e = await failure(untrusting.serverInfo());
      assert.equal(e.kind, "network");
      assert.match(e.message, /not trusted: set tls\.ca/);
      assert.ok(Date.now() - started < 1500, "a TLS trust error is not retried");
    });

    it("does mutual TLS and is refused with a client certificate from another CA", async () => {
      const ca = makeCertAuthority();
      const other = makeCertAuthority("other-ca");
      const server = ca.issue("localhost", { dns: ["localhost"], ips: ["127.0.0.1"] });
      const good = ca.issue("pulumi");
      const bad = other.issue("intruder");
      const { double } = await setup({ tls: { cert: server.certPem, key: server.keyPem, ca: ca.caPem, requestCert: true } });
      const c = new ConnectClient({ url: double.url, tls: { ca: ca.caPem, cert: good.certPem, key: good.keyPem } });
      clients.push(c);
      assert.equal((await c.serverInfo()).version, "3.7.1");
      const wrong = new ConnectClient({ url: double.url, tls: { ca: ca.caPem, cert: bad.certPem, key: bad.keyPem }, deadlineMs: 800, backoff: { initialDelayMs: 50 } });
      clients.push(wrong);
      const e = await failure(wrong.serverInfo());
      assert.equal(e.kind, "network");
      assert.match(e.message, /certificate|TLS|closed/i);
      assert.ok(!e.message.includes("PRIVATE KEY"));
      const none = new ConnectClient({ url: double.url, tls: { ca: ca.caPem }, deadlineMs: 800 });
      clients.push(none);
      assert.equal((await failure(none.serverInfo())).kind, "network");
    });

    it("says to check the url when nothing listens", async () => {
      const { double } = await setup();
      const url = double.url;
      await double.stopWorker();
      const c = new ConnectClient({ url, deadlineMs: 300, backoff: { initialDelayMs: 20 } });
      clients.push(c);
      const e = await failure(c.serverInfo());
      assert.equal(e.networkCode, "ECONNREFUSED");
      assert.match(e.message, /check the url and that the Connect worker is running/);
    });
  });

  describe("injected faults", () => {
    it("three 409s on writes still create exactly one connector", async () => {
      const { double, client } = await setup({ mode: "distributed", faults: [{ kind: "conflict", count: 2 }, { kind: "no-leader", count: 1 }] });
      const r = await client.create("c409", CONFIG);
      assert.equal(r.created, true);
      assert.deepEqual(double.connectorNames(), ["c409"]);
      assert.equal(double.requests.filter((q) => q.method === "POST" && q.fault).length, 3);
      await waitForState(client, "c409", "RUNNING", { timeoutMs: 5000 });
    });

    it("adopts a create whose answer was lost (exactly one connector, no 409 error)", async () => {
      const { double, client } = await setup({ faults: [{ kind: "drop-after", method: "POST", path: "/connectors" }] });
      const r = await client.create("lost", CONFIG);
      assert.equal(r.created, true);
      assert.equal(r.adopted, true);
      assert.equal(r.info.name, "lost");
      assert.deepEqual(double.connectorNames(), ["lost"]);
      assert.equal(double.requests.filter((q) => q.method === "POST").length, 1, "the state was checked before posting again");
    });

    it("resolves a 409 'already exists' after a lost answer by comparing configs", async () => {
      // The first POST is applied but its answer lost; the check before the retry hits a rebalance 500 twice,
      // and the retried POST gets 409 "already exists": equal configs mean our create happened.
      const { double, client } = await setup({
        mode: "distributed",
        faults: [
          { kind: "request-timeout", method: "POST", path: "/connectors" },
          { kind: "drop-before", method: "GET", path: /\/config$/, count: 1 },
        ],
      });
      const r = await client.create("raced", CONFIG);
      assert.equal(r.adopted, true);
      assert.deepEqual(double.connectorNames(), ["raced"]);
      const other = await setup({ faults: [{ kind: "drop-after", method: "POST", path: "/connectors" }] });
      await other.client.putConfig("taken", { ...CONFIG, "topic.prefix": "theirs" });
      other.double.clearFaults();
      other.double.injectFaults({ kind: "request-timeout", method: "POST", path: "/connectors" });
      const e = await failure(other.client.create("taken", CONFIG));
      assert.equal(e.status, 409);
      assert.match(e.message, /already exists|different configuration/);
    });

    it("retries 500 'rebalance is expected' on reads and 'Request timed out' on writes", async () => {
      const { double, client } = await setup({ mode: "distributed" });
      await client.putConfig("rb", { "connector.class": "org.example.connect.NoopSourceConnector" });
      double.injectFaults({ kind: "rebalance", count: 3 });
      assert.equal((await client.getConnector("rb"))?.name, "rb");
      assert.equal(double.requests.filter((q) => q.fault === "rebalance").length, 3);
      double.injectFaults({ kind: "request-timeout", method: "PUT", count: 1 });
      const before = connectStats.retries;
      await client.putConfig("rb", { "connector.class": "org.example.connect.NoopSourceConnector", "noop.topic": "x" });
      assert.ok(connectStats.retries > before);
      assert.equal((await client.getConfig("rb"))?.["noop.topic"], "x");
      double.injectFaults({ kind: "rebalance", probability: 1 });
      const impatient = new ConnectClient({ url: double.url, deadlineMs: 300, backoff: { initialDelayMs: 20 } });
      clients.push(impatient);
      const e = await failure(impatient.getConnector("rb"));
      assert.equal(e.status, 500);
      assert.match(e.message, /rebalanc/);
    });

    it("fails with a timeout when answers are slower than requestTimeoutMs", async () => {
      const { double } = await setup({ faults: [{ kind: "slow", method: "GET", delayMs: 600, probability: 1 }] });
      const c = new ConnectClient({ url: double.url, requestTimeoutMs: 150, deadlineMs: 400, backoff: { initialDelayMs: 20 } });
      clients.push(c);
      const started = Date.now();
      const e = await failure(c.listNames());
      assert.equal(e.kind, "timeout");
      assert.match(e.message, /no answer within 150 ms \(requestTimeoutMs\)/);
      assert.ok(Date.now() - started < 1500);
    });

    it("is reproducible: the same seed fires the same probabilistic faults", async () => {
      const run = async () => {
        const { double, client } = await setup({ seed: 42, faults: [{ kind: "conflict", probability: 0.5, count: 50 }] });
        for (let i = 0; i < 6; i++) await client.putConfig(`s${i}`, { "connector.class": "org.example.connect.NoopSourceConnector" });
        return double.requests.map((r) => r.fault ?? "-").join(",");
      };
      assert.equal(await run(), await run());
    });
  });

  describe("waiting for states", () => {
    it("reaches RUNNING through the distributed 404 window and reports progress", async () => {
      const { client } = await setup({ mode: "distributed", timing: { ...FAST, statusWindowMs: 150 } });
      const r = await client.create("w", CONFIG);
      assert.deepEqual(r.info.tasks, [], "distributed: tasks [] in the 201");
      assert.equal(await client.getStatus("w"), undefined, "404 No status found right after create");
      const lines: string[] = [];
      const st = await waitForState(client, "w", "RUNNING", { timeoutMs: 5000, onProgress: (l) => lines.push(l) });
      assert.equal(st.tasks[0].state, "RUNNING");
      assert.match(lines[0], /no status yet/);
      assert.match(lines[lines.length - 1], /connector RUNNING, tasks \[0 RUNNING\]/);
    });

    it("fails at once with the trimmed trace when a task FAILS", async () => {
      const { client } = await setup();
      await client.create("f", { "connector.class": "org.example.connect.FailingSourceConnector", "fail.message": "boom at the source" });
      const started = Date.now();
      const e = await failure(waitForState(client, "f", "RUNNING", { timeoutMs: 20000 }));
      assert.ok(Date.now() - started < 3000);
      assert.equal(e.kind, "state");
      assert.match(e.message, /task 0 FAILED:\norg\.apache\.kafka\.connect\.errors\.ConnectException: boom at the source/);
      assert.match(e.message, /Caused by: java\.io\.IOException/);
      assert.match(e.message, /restart\?includeTasks=true&onlyFailed=true/);
      assert.ok(e.message.split("\n").length < 25, "trace trimmed");
      await client.restart("f", { includeTasks: true, onlyFailed: true });
    });

    it("times out with the last status", async () => {
      const { double, client } = await setup({ timing: { ...FAST, tasksDelayMs: 5000 } });
      await client.create("slow", { "connector.class": "org.example.connect.NoopSourceConnector" });
      const e = await failure(waitForState(client, "slow", "RUNNING", { timeoutMs: 400, zeroTaskGraceMs: 10000 }));
      assert.match(e.message, /did not reach RUNNING within 0 s; last status: connector RUNNING, tasks \[\]/);
      double.timing.tasksDelayMs = 30;
    });

    it("accepts a connector without tasks by design after the grace period", async () => {
      const zero: ConnectorPlugin = { ...noopSourcePlugin(), className: "org.example.connect.ZeroTaskConnector", taskCount: () => 0 };
      const { client } = await setup({ plugins: [zero] });
      await client.create("z", { "connector.class": "org.example.connect.ZeroTaskConnector" });
      const lines: string[] = [];
      const st = await waitForState(client, "z", "RUNNING", { timeoutMs: 5000, zeroTaskGraceMs: 200, onProgress: (l) => lines.push(l) });
      assert.deepEqual(st.tasks, []);
      assert.match(lines.join("\n"), /has no tasks/);
    });
  });
});
