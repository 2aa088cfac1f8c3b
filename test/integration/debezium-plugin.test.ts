import { strict as assert } from "node:assert";
import { debeziumPostgresPlugin } from "../support/connect-double/debezium-postgres";
import type { ConnectorPlugin, TaskContext, TaskRuntime } from "../support/connect-double/plugin";
import { freePort, pgMajors, sharedPostgres, startPostgres, uniqueName, type PgServer } from "../support/postgres";

/** A TaskContext that records what the task does, with an offset store that outlives tasks (like Connect's). */
class Recorder implements TaskContext {
  readonly reports: Array<{ state: "RUNNING" | "FAILED"; trace?: string }> = [];
  readonly records: Array<{ topic: string; key: unknown; value: unknown }> = [];
  readonly offsets: Array<{ partition: Record<string, unknown>; offset: Record<string, unknown> }> = [];
  readonly logs: string[] = [];
  readonly connector: string;
  readonly taskId = 0;
  constructor(
    readonly config: Readonly<Record<string, string>>,
    private readonly store: Map<string, Record<string, unknown>> = new Map(),
  ) {
    this.connector = config.name ?? "dbz-test";
  }
  report(state: "RUNNING" | "FAILED", trace?: string): void {
    this.reports.push({ state, trace });
  }
  produce(topic: string, key: unknown, value: unknown): void {
    this.records.push({ topic, key, value });
  }
  commitOffset(partition: Record<string, unknown>, offset: Record<string, unknown>): void {
    this.offsets.push({ partition, offset });
    this.store.set(JSON.stringify(partition), offset);
  }
  readOffset(partition: Record<string, unknown>): Record<string, unknown> | undefined {
    return this.store.get(JSON.stringify(partition));
  }
  log(line: string): void {
    this.logs.push(line);
  }
  /** A task sharing this recorder's offset store (a restart of the same connector). */
  restarted(config: Readonly<Record<string, string>> = this.config): Recorder {
    return new Recorder(config, this.store);
  }
  state(): string | undefined {
    return this.reports[this.reports.length - 1]?.state;
  }
  /** Change events (not tombstones, not heartbeats) on a topic. */
  events(topic: string): Array<{ key: unknown; value: Envelope }> {
    return this.records.filter((r) => r.topic === topic && r.value !== null).map((r) => ({ key: r.key, value: r.value as Envelope }));
  }
}

interface Envelope {
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  source: Record<string, unknown>;
  op: string;
  ts_ms: number;
}

async function waitFor<T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 30000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const FAST = { statusUpdateIntervalMs: 200, retriableRestartWaitMs: 300, slotRetryDelayMs: 100, connectTimeoutMs: 5000 };

for (const major of pgMajors()) {
  describe(`Debezium PostgreSQL plugin of the Connect double on PostgreSQL ${major} @pg`, function () {
    this.timeout(60000);
    let pg: PgServer;
    let db: string;
    const plugin: ConnectorPlugin = debeziumPostgresPlugin(FAST);
    const user = uniqueName("dbz");
    const password = `Dbz-${Math.random().toString(36).slice(2, 12)}`;
    const noReplUser = uniqueName("norepl");
    const noSelectUser = uniqueName("nosel");
    const running: TaskRuntime[] = [];
    const slots: string[] = [];

    const slotState = async (slot: string) =>
      (await pg.query<{ active: boolean; confirmed_flush_lsn: string }>("SELECT active, confirmed_flush_lsn::text AS confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = $1", [slot]))[0];

    function config(overrides: Record<string, string> = {}): Record<string, string> {
      const slot = uniqueName("dbzslot");
      slots.push(slot);
      return {
        name: uniqueName("conn"),
        "connector.class": "io.debezium.connector.postgresql.PostgresConnector",
        "tasks.max": "1",
        "database.hostname": "127.0.0.1",
        "database.port": String(pg.port),
        "database.user": user,
        "database.password": password,
        "database.dbname": db,
        "topic.prefix": uniqueName("shop"),
        "plugin.name": "pgoutput",
        "slot.name": slot,
        "publication.name": "dbz_pub",
        "publication.autocreate.mode": "disabled",
        "database.sslmode": "disable",
        ...overrides,
      };
    }

    function start(ctx: Recorder): TaskRuntime {
      const t = plugin.startTask(ctx);
      running.push(t);
      return t;
    }

    before(async () => {
      pg = await sharedPostgres(major);
      db = await pg.createDatabase("dbz");
      await pg.query(
        `CREATE TABLE orders (id int PRIMARY KEY, name text NOT NULL, qty int, big bigint, flag boolean);
         ALTER TABLE orders REPLICA IDENTITY FULL;
         CREATE TABLE items (id int PRIMARY KEY, label text);
         CREATE TABLE hb (id serial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now());
         CREATE PUBLICATION dbz_pub FOR TABLE orders, items, hb;
         INSERT INTO orders VALUES (1, 'first', 10, 9007199254740990, true), (2, 'second', 20, NULL, false);
         INSERT INTO items VALUES (1, 'one');`,
        [],
        db,
      );
      await pg.query(`CREATE ROLE ${user} LOGIN REPLICATION PASSWORD '${password}'`);
      await pg.query(`CREATE ROLE ${noReplUser} LOGIN PASSWORD '${password}'`);
      await pg.query(`CREATE ROLE ${noSelectUser} LOGIN REPLICATION PASSWORD '${password}'`);
      await pg.query(`GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA public TO ${user}, ${noReplUser}; GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO ${user}`, [], db);
    });

    afterEach(async () => {
      await Promise.all(running.splice(0).map((t) => t.stop()));
      const names = slots.splice(0);
      await pg.query("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = ANY($1) AND NOT active", [names]);
    });

    describe("validate", () => {
      it("exposes the 97 recorded Debezium definitions, snapshot.mode with the 2.6 values", () => {
        assert.equal(plugin.definitions.length, 97);
        const mode = plugin.definitions.find((d) => d.name === "snapshot.mode");
        assert.deepEqual(mode?.recommended, ["always", "never", "initial_only", "configuration_based", "when_needed", "initial", "custom", "no_data"]);
        assert.equal(mode?.default_value, "initial");
        assert.equal(plugin.definitions.find((d) => d.name === "database.password")?.type, "PASSWORD");
        assert.equal(plugin.taskCount(config()), 1);
      });

      it("accepts a good config with 0 errors, without checking slot, publication or REPLICATION", async () => {
        assert.deepEqual(await plugin.validate(config()), {});
        const preferTls = config();
        delete preferTls["database.sslmode"]; // Debezium 2.6 default "prefer": TLS first, plain when the server has no TLS
        assert.deepEqual(await plugin.validate(preferTls), {});
        assert.deepEqual(await plugin.validate(config({ "database.sslmode": "require" })), {
          "database.hostname": ["Error while validating connector config: The server does not support SSL."],
        });
        assert.deepEqual(await plugin.validate(config({ "database.sslmode": "verify-ca", "database.sslrootcert": "/nonexistent/root.crt" })), {
          "database.hostname": ["Error while validating connector config: Could not open SSL root certificate file /nonexistent/root.crt."],
        });
        assert.deepEqual(await plugin.validate(config({ "publication.name": "no_such_pub", "slot.name": "no_such_slot", "database.user": noReplUser })), {});
      });

      it("reports each recorded bad case in Debezium's wording", async () => {
        const deadPort = await freePort();
        const cases: Array<[Record<string, string>, Record<string, string[]>]> = [
          [{ "database.password": "Wrong-pass-123" }, { "database.hostname": [`Error while validating connector config: FATAL: password authentication failed for user "${user}"`] }],
          [{ "topic.prefix": "" }, { "topic.prefix": ["The 'topic.prefix' value is invalid: A value is required"] }],
          [{ "topic.prefix": "bad prefix!" }, { "topic.prefix": ["The 'topic.prefix' value is invalid: bad prefix! has invalid format (only the underscore, hyphen, dot and alphanumeric characters are allowed)"] }],
          [
            { "snapshot.mode": "sometimes" },
            { "snapshot.mode": ["The 'snapshot.mode' value is invalid: Value must be one of always, never, initial_only, configuration_based, when_needed, initial, custom, no_data"] },
          ],
          [
            { "database.port": String(deadPort) },
            {
              "database.hostname": [
                `Error while validating connector config: Connection to 127.0.0.1:${deadPort} refused. Check that the hostname and port are correct and that the postmaster is accepting TCP/IP connections.`,
              ],
            },
          ],
          [{ "database.port": "abc" }, { "database.port": ["The 'database.port' value is invalid: An integer is expected", "The 'database.port' value is invalid: An integer is expected"] }],
          [{ "database.dbname": "nosuchdb" }, { "database.hostname": ['Error while validating connector config: FATAL: database "nosuchdb" does not exist'] }],
          [{ "plugin.name": "wal2jsonx" }, { "plugin.name": ["The 'plugin.name' value is invalid: Value must be one of decoderbufs, pgoutput"] }],
          // tasks.max is Connect's key: the double's herder reports it (once, as recorded in 03-validate), not the plugin.
          [{ "tasks.max": "0" }, {}],
          [{ "database.hostname": "" }, { "database.hostname": ["The 'database.hostname' value is invalid: A value is required"] }],
          [{ "database.user": "" }, { "database.user": ["The 'database.user' value is invalid: A value is required"] }],
          [
            { "slot.name": "Bad-Slot!" },
            { "slot.name": ["The 'slot.name' value is invalid: Valid replication slot name must contain only digits, lowercase characters and underscores with length <= 63"] },
          ],
        ];
        for (const [overrides, expected] of cases) {
          const cfg = config(overrides);
          if (overrides["topic.prefix"] === "") delete cfg["topic.prefix"];
          assert.deepEqual(await plugin.validate(cfg), expected, JSON.stringify(overrides));
        }
      });
    });

    describe("task", () => {
      it("snapshots existing rows (op r), streams c/u/d with Debezium envelopes, commits offsets and acknowledges LSNs", async () => {
        const ctx = new Recorder(config());
        const prefix = ctx.config["topic.prefix"];
        const slot = ctx.config["slot.name"];
        start(ctx);
        await waitFor("RUNNING", () => ctx.state() === "RUNNING");
        const ordersTopic = `${prefix}.public.orders`;
        const itemsTopic = `${prefix}.public.items`;
        await waitFor("snapshot records", () => ctx.events(ordersTopic).length >= 2 && ctx.events(itemsTopic).length >= 1);
        const snap = ctx.events(ordersTopic);
        assert.deepEqual(
          snap.map((e) => [e.key, e.value.op, e.value.before, e.value.after]),
          [
            [{ id: 1 }, "r", null, { id: 1, name: "first", qty: 10, big: 9007199254740990, flag: true }],
            [{ id: 2 }, "r", null, { id: 2, name: "second", qty: 20, big: null, flag: false }],
          ],
        );
        const s0 = snap[0].value.source;
        assert.equal(s0.version, "2.6.2.Final");
        assert.equal(s0.connector, "postgresql");
        assert.equal(s0.name, prefix);
        assert.equal(s0.db, db);
        assert.equal(s0.schema, "public");
        assert.equal(s0.table, "orders");
        assert.equal(s0.snapshot, "true");
        assert.equal(typeof s0.lsn, "number");
        assert.equal(ctx.records.filter((r) => r.value !== null && (r.value as Envelope).op === "r").length, 3);
        assert.equal((ctx.records[0].value as Envelope).source.snapshot, "first");
        assert.equal((ctx.records[ctx.records.length - 1].value as Envelope).source.snapshot, "last");

        await waitFor("slot active", async () => (await slotState(slot))?.active === true);
        const flushBefore = (await slotState(slot)).confirmed_flush_lsn;

        await pg.query(
          `INSERT INTO orders VALUES (3, 'third', 30, 5, true);
           UPDATE orders SET qty = 11 WHERE id = 1;
           DELETE FROM orders WHERE id = 2;
           UPDATE items SET label = 'uno' WHERE id = 1;
           DELETE FROM items WHERE id = 1;`,
          [],
          db,
        );
        await waitFor("streamed events", () => ctx.events(ordersTopic).length >= 5 && ctx.events(itemsTopic).length >= 3);
        const orders = ctx.events(ordersTopic).slice(2);
        assert.deepEqual(
          orders.map((e) => [e.key, e.value.op, e.value.before, e.value.after]),
          [
            [{ id: 3 }, "c", null, { id: 3, name: "third", qty: 30, big: 5, flag: true }],
            [{ id: 1 }, "u", { id: 1, name: "first", qty: 10, big: 9007199254740990, flag: true }, { id: 1, name: "first", qty: 11, big: 9007199254740990, flag: true }],
            [{ id: 2 }, "d", { id: 2, name: "second", qty: 20, big: null, flag: false }, null],
          ],
        );
        const src = orders[0].value.source;
        assert.equal(src.snapshot, "false");
        assert.equal(typeof src.txId, "number");
        assert.equal(typeof src.lsn, "number");
        assert.equal(typeof orders[0].value.ts_ms, "number");
        // all three statements ran in one transaction (one multi-statement query)
        assert.equal(new Set(orders.map((e) => e.value.source.txId)).size, 1);
        // a tombstone follows the delete
        const tomb = ctx.records.filter((r) => r.topic === ordersTopic && r.value === null);
        assert.deepEqual(tomb.map((r) => r.key), [{ id: 2 }]);

        const items = ctx.events(itemsTopic).slice(1);
        assert.deepEqual(
          items.map((e) => [e.key, e.value.op, e.value.before, e.value.after]),
          [
            [{ id: 1 }, "u", null, { id: 1, label: "uno" }], // REPLICA IDENTITY DEFAULT: no before-image on update
            [{ id: 1 }, "d", { id: 1, label: null }, null], // only the key columns on delete
          ],
        );

        const last = ctx.offsets[ctx.offsets.length - 1];
        assert.deepEqual(last.partition, { server: prefix });
        assert.equal(typeof last.offset.lsn, "number");
        assert.equal(last.offset.txId, src.txId);
        assert.equal(typeof last.offset.ts_usec, "number");
        await waitFor("confirmed_flush_lsn to advance", async () => (await slotState(slot)).confirmed_flush_lsn !== flushBefore);
      });

      it("resumes from committed offsets after a restart without a new snapshot, and releases the slot once stopped", async () => {
        const ctx = new Recorder(config());
        const prefix = ctx.config["topic.prefix"];
        const slot = ctx.config["slot.name"];
        const task = start(ctx);
        await waitFor("slot active", async () => (await slotState(slot))?.active === true);
        // The snapshot's records reach the recorder on their own schedule (a loaded machine once had none yet here).
        await waitFor("snapshot records", () => ctx.records.filter((r) => (r.value as Envelope | null)?.op === "r").length >= 2);
        await pg.query("INSERT INTO items VALUES (100, 'before restart')", [], db);
        await waitFor("insert before restart", () => ctx.events(`${prefix}.public.items`).some((e) => e.value.after?.id === 100));

        await task.stop();
        // Behaviour, not speed: the slot is let go (a loaded CI machine makes any tight bound flaky).
        await waitFor("slot inactive after stop()", async () => (await slotState(slot))?.active === false);

        await pg.query("INSERT INTO items VALUES (101, 'while stopped')", [], db);
        const again = ctx.restarted();
        start(again);
        await waitFor("RUNNING after restart", () => again.state() === "RUNNING");
        await waitFor("slot active again", async () => (await slotState(slot))?.active === true);
        await pg.query("INSERT INTO items VALUES (102, 'after restart')", [], db);
        await waitFor("insert after restart", () => again.events(`${prefix}.public.items`).some((e) => e.value.after?.id === 102));
        assert.equal(again.records.filter((r) => (r.value as Envelope | null)?.op === "r").length, 0, "no re-snapshot");
        assert.deepEqual(
          again.events(`${prefix}.public.items`).map((e) => [e.value.op, e.value.after?.id]),
          [
            ["c", 101],
            ["c", 102],
          ],
          "no event delivered twice, none lost while stopped",
        );
      });

      it("fails with the recorded trace when the publication is missing and autocreation is disabled", async () => {
        const ctx = new Recorder(config({ "publication.name": "no_such_pub" }));
        start(ctx);
        await waitFor("FAILED", () => ctx.state() === "FAILED");
        const trace = ctx.reports[ctx.reports.length - 1].trace ?? "";
        assert.equal(trace.split("\n")[0], "org.apache.kafka.connect.errors.ConnectException: Publication autocreation is disabled, please create one and restart the connector.");
        assert.match(trace, /\n\tat io\.debezium\.connector\.postgresql\.connection\.PostgresReplicationConnection\.initPublication/);
        assert.ok(!ctx.reports.some((r) => r.state === "RUNNING"));
      });

      it("fails with the password-authentication trace on a wrong password, never showing the password", async () => {
        const wrong = "Wr0ng-Secret-9xq";
        const ctx = new Recorder(config({ "database.password": wrong }));
        start(ctx);
        await waitFor("FAILED", () => ctx.state() === "FAILED");
        const trace = ctx.reports[ctx.reports.length - 1].trace ?? "";
        assert.equal(trace.split("\n")[0], `io.debezium.DebeziumException: Couldn't obtain encoding for database ${db}`);
        assert.match(trace, new RegExp(`Caused by: org\\.postgresql\\.util\\.PSQLException: FATAL: password authentication failed for user "${user}"`));
        assert.ok(!trace.includes(wrong));
        assert.ok(!trace.includes(password));
        assert.ok(!ctx.logs.join("\n").includes(wrong));
      });

      it("fails with 'Creation of replication slot failed' when the role lacks REPLICATION and the slot is missing", async () => {
        const ctx = new Recorder(config({ "database.user": noReplUser }));
        start(ctx);
        await waitFor("FAILED", () => ctx.state() === "FAILED");
        const trace = ctx.reports[ctx.reports.length - 1].trace ?? "";
        assert.equal(trace.split("\n")[0], "io.debezium.DebeziumException: Creation of replication slot failed");
        const walsender =
          major >= 16
            ? "Caused by: org.postgresql.util.PSQLException: FATAL: permission denied to start WAL sender\n  Detail: Only roles with the REPLICATION attribute may start a WAL sender process."
            : "Caused by: org.postgresql.util.PSQLException: FATAL: must be superuser or replication role to start walsender";
        assert.ok(trace.includes(walsender), trace);
        assert.equal(await slotState(ctx.config["slot.name"]), undefined);
      });

      it("stays RUNNING and retries when the role lacks REPLICATION on an existing slot", async () => {
        const cfg = config({ "database.user": noReplUser, "snapshot.mode": "no_data" });
        await pg.query("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", [cfg["slot.name"]], db);
        const ctx = new Recorder(cfg);
        start(ctx);
        await waitFor("two retries", () => ctx.logs.filter((l) => l.includes("Going to restart connector after")).length >= 2);
        assert.deepEqual(ctx.reports.map((r) => r.state), ["RUNNING"]);
        const refusal = major >= 16 ? "FATAL: permission denied to start WAL sender" : "FATAL: must be superuser or replication role to start walsender";
        assert.ok(ctx.logs.some((l) => l.includes(`Producer failure -- org.postgresql.util.PSQLException: ${refusal}`)), ctx.logs.join("\n"));
        assert.ok(ctx.logs.some((l) => l.includes("Retry 2 of unlimited retries will be attempted")));
      });

      it("stays RUNNING and logs retries while another backend holds the slot; FAILED once errors.max.retries=1 is exceeded", async () => {
        const holder = new Recorder(config({ "snapshot.mode": "no_data" }));
        const slot = holder.config["slot.name"];
        start(holder);
        await waitFor("holder active", async () => (await slotState(slot))?.active === true);

        const retryTimings = { "slot.name": slot, "slot.max.retries": "1", "slot.retry.delay.ms": "100", "retriable.restart.connector.wait.ms": "200", "snapshot.mode": "no_data" };
        const contender = new Recorder(config(retryTimings));
        start(contender);
        await waitFor("two restarts", () => contender.logs.filter((l) => l.includes("Going to restart connector after")).length >= 2);
        assert.deepEqual(contender.reports.map((r) => r.state), ["RUNNING"]);
        const logs = contender.logs.join("\n");
        assert.match(logs, /WARN  \[[^\]]+\|task-0\] Failed to start replication stream at LSN\{[0-9A-F]+\/[0-9A-F]+\}, waiting for PT0\.1S ms and retrying, attempt number 1 over 1 -- org\.postgresql\.util\.PSQLException: ERROR: replication slot "[a-z0-9_]+" is active for PID \d+/);
        assert.match(logs, /ERROR \[[^\]]+\] Producer failure -- io\.debezium\.DebeziumException: Failed to start replication stream at LSN\{[^}]+\}; when setting up multiple connectors for the same database host, please make sure to use a distinct replication slot name for each\. Caused by: org\.postgresql\.util\.PSQLException: ERROR: replication slot "[a-z0-9_]+" is active for PID \d+/);
        assert.match(logs, /Retry 1 of unlimited retries will be attempted/);
        assert.match(logs, /Going to restart connector after 0\.2 sec\. after a retriable exception/);

        const limited = new Recorder(config({ ...retryTimings, "errors.max.retries": "1" }));
        start(limited);
        await waitFor("FAILED", () => limited.state() === "FAILED");
        assert.deepEqual(limited.reports.map((r) => r.state), ["RUNNING", "FAILED"]);
        assert.equal(limited.logs.filter((l) => l.includes("Retry 1 of 1 retries will be attempted")).length, 1);
        const trace = limited.reports[1].trace ?? "";
        assert.equal(trace.split("\n")[0], "org.apache.kafka.connect.errors.ConnectException: An exception occurred in the change event producer. This connector will be stopped.");
        assert.match(trace, /Caused by: io\.debezium\.DebeziumException: Failed to start replication stream at LSN\{/);
        assert.match(trace, /Caused by: org\.postgresql\.util\.PSQLException: ERROR: replication slot "[a-z0-9_]+" is active for PID \d+/);
        // the holder was never disturbed
        assert.deepEqual(holder.reports.map((r) => r.state), ["RUNNING"]);
      });

      it("stays RUNNING and retries when the role lacks SELECT for the snapshot", async () => {
        const ctx = new Recorder(config({ "database.user": noSelectUser }));
        start(ctx);
        await waitFor("two retries", () => ctx.logs.filter((l) => l.includes("Going to restart connector after")).length >= 2);
        assert.deepEqual(ctx.reports.map((r) => r.state), ["RUNNING"]);
        assert.ok(ctx.logs.some((l) => /Producer failure -- org\.postgresql\.util\.PSQLException: ERROR: permission denied for (table|relation) (orders|items|hb)/.test(l)), ctx.logs.join("\n"));
        assert.equal(ctx.records.length, 0);
      });

      it("drops the slot on stop when slot.drop.on.stop=true", async () => {
        const ctx = new Recorder(config({ "slot.drop.on.stop": "true", "snapshot.mode": "no_data" }));
        const slot = ctx.config["slot.name"];
        const task = start(ctx);
        await waitFor("slot active", async () => (await slotState(slot))?.active === true);
        assert.ok(ctx.logs.some((l) => l.includes("slot.drop.on.stop = true")));
        await task.stop();
        assert.equal(await slotState(slot), undefined);
      });

      it("creates a filtered publication, runs the heartbeat action query and emits heartbeat records", async () => {
        const pub = uniqueName("pub");
        await pg.query(`GRANT CREATE ON DATABASE ${db} TO ${user}; ALTER TABLE hb OWNER TO ${user}`, [], db);
        const ctx = new Recorder(
          config({
            "publication.name": pub,
            "publication.autocreate.mode": "filtered",
            "table.include.list": "public.hb",
            "snapshot.mode": "no_data",
            "heartbeat.interval.ms": "150",
            "heartbeat.action.query": "INSERT INTO hb DEFAULT VALUES",
          }),
        );
        const prefix = ctx.config["topic.prefix"];
        start(ctx);
        await waitFor("heartbeat-driven events", () => ctx.events(`${prefix}.public.hb`).length >= 2);
        assert.ok(ctx.records.some((r) => r.topic === `__debezium-heartbeat.${prefix}` && (r.key as { serverName?: string }).serverName === prefix));
        const tables = await pg.query<{ t: string }>("SELECT schemaname || '.' || tablename AS t FROM pg_publication_tables WHERE pubname = $1", [pub], db);
        assert.deepEqual(tables.map((r) => r.t), ["public.hb"]);
        assert.ok(ctx.records.every((r) => !r.topic.endsWith(".orders")));
      });
    });
  });
}

describe("Debezium PostgreSQL plugin when the database goes away while streaming @pg", () => {
  it("stays RUNNING, retries, then goes FAILED with the recorded encoding trace when the restart cannot connect", async function () {
    this.timeout(90000);
    const major = pgMajors()[pgMajors().length - 1];
    const pg = await startPostgres({ major });
    try {
      const db = await pg.createDatabase("dbzdown");
      await pg.query("CREATE TABLE t (id int PRIMARY KEY); CREATE PUBLICATION dbz_pub FOR TABLE t", [], db);
      const plugin = debeziumPostgresPlugin({ ...FAST, retriableRestartWaitMs: 1000 });
      const ctx = new Recorder({
        name: "inventory-cdc-dbdown",
        "connector.class": "io.debezium.connector.postgresql.PostgresConnector",
        "database.hostname": "127.0.0.1",
        "database.port": String(pg.port),
        "database.user": pg.superuser,
        "database.password": pg.superPassword,
        "database.dbname": db,
        "topic.prefix": "down",
        "plugin.name": "pgoutput",
        "slot.name": "dbz_slot",
        "publication.name": "dbz_pub",
        "publication.autocreate.mode": "disabled",
        "database.sslmode": "disable",
      });
      const task = plugin.startTask(ctx);
      try {
        await waitFor("slot active", async () => (await pg.query<{ active: boolean }>("SELECT active FROM pg_replication_slots WHERE slot_name = 'dbz_slot'"))[0]?.active === true);
        await pg.stop();
        await waitFor("producer failure logged", () => ctx.logs.some((l) => l.includes("Producer failure")));
        assert.equal(ctx.state(), "RUNNING");
        assert.ok(ctx.logs.some((l) => l.includes("Retry 1 of unlimited retries will be attempted")));
        await waitFor("FAILED", () => ctx.state() === "FAILED", 10000);
        const trace = ctx.reports[ctx.reports.length - 1].trace ?? "";
        const lines = trace.split("\n");
        assert.equal(lines[0], `io.debezium.DebeziumException: Couldn't obtain encoding for database ${db}`);
        assert.ok(lines.includes("\tat io.debezium.connector.common.BaseSourceTask.startIfNeededAndPossible(BaseSourceTask.java:375)"));
        assert.ok(
          lines.includes(
            `Caused by: org.postgresql.util.PSQLException: Connection to 127.0.0.1:${pg.port} refused. Check that the hostname and port are correct and that the postmaster is accepting TCP/IP connections.`,
          ),
          trace,
        );
        assert.ok(lines.includes("Caused by: java.net.ConnectException: Connection refused"));
        assert.ok(!trace.includes(pg.superPassword));
      } finally {
        await task.stop();
      }
    } finally {
      await pg.destroy();
    }
  });
});
