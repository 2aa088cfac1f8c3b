/**
 * CdcPipeline end to end: Pulumi programs run through the engine harness
 * (providers executed from their serialized text, with state), against real
 * PostgreSQL, on both Connect targets: the real stack (Kafka Connect in
 * distributed mode with two workers, Debezium 3.6, change events read from
 * the real topics `<prefix>.<schema>.<table>`) and the Connect double running
 * its Debezium-like task.
 */
import { strict as assert } from "node:assert";
import type { CdcPipelineArgs } from "pulumi-postgres-cdc";
import { CdcPipeline } from "pulumi-postgres-cdc";
import { connectTargets, majorsFor, startConnectTarget, type ConnectTarget } from "../support/connect-target";
import { main as cli } from "#dist/cli/main.js";
import { Engine } from "../support/engine";
import { sharedPostgres, uniqueName, type PgServer } from "../support/postgres";

async function eventually<T>(fn: () => Promise<T | undefined> | T | undefined, what: string, timeoutMs = 20000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v as T;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

for (const kind of connectTargets()) for (const major of majorsFor(kind)) {
  describe(`CdcPipeline end to end on ${kind === "real" ? "real Kafka Connect + Debezium" : "the Connect double"} and PostgreSQL ${major} @pg${kind === "real" ? " @real" : ""}`, function () {
    this.timeout(kind === "real" ? 300000 : 180000);
    let pg: PgServer;
    let target: ConnectTarget;
    let db: string;
    let role: string;
    const rolePassword = "dbz-e2e-Secret-4471";

    before(async () => {
      pg = await sharedPostgres(major);
      target = await startConnectTarget(kind, { timing: { tasksDelayMs: 50 } }, { statusUpdateIntervalMs: 200, retriableRestartWaitMs: 500, slotRetryDelayMs: 300 });
    });
    after(async () => {
      await target?.deleteAllConnectors();
      await target?.close();
    });

    beforeEach(async () => {
      db = await pg.createDatabase("e2e");
      role = uniqueName("dbz");
      await pg.query(`CREATE ROLE ${role} LOGIN PASSWORD '${rolePassword}'`);
      await pg.query("CREATE TABLE customers (id int primary key, name text)", [], db);
      await pg.query("CREATE TABLE orders (id int primary key, customer_id int, total numeric)", [], db);
      await pg.query("CREATE TABLE invoices (id int primary key, amount numeric)", [], db);
      await pg.query("INSERT INTO customers VALUES (1, 'Ada'), (2, 'Grace')", [], db);
      await pg.query("INSERT INTO invoices VALUES (1, 10), (2, 20), (3, 30)", [], db);
    });

    function args(name: string, extra: Partial<CdcPipelineArgs> = {}): CdcPipelineArgs {
      return {
        source: pg.connection(db),
        connectorSource: { user: role, password: rolePassword },
        connect: { url: target.url },
        tables: ["public.customers", "public.orders"],
        replicaIdentityFull: true,
        readyTimeoutSeconds: 30,
        ...extra,
      };
    }

    const events = (prefix: string, table: string) => target.changeEvents(`${prefix}.public.${table}`);

    it("up builds the pipeline in order; changes stream with before-images; table list changes in place; refresh shows drift; destroy removes everything in reverse order", async () => {
      const name = uniqueName("shop");
      const engine = new Engine();
      const program = (extra: Partial<CdcPipelineArgs> = {}) => () => {
        const p = new CdcPipeline(name, args(name, extra));
        return { topics: p.topics, connectorState: p.connectorState, slotName: p.slotName, publicationName: p.publicationName, lagBytes: p.lagBytes };
      };
      const up1 = await engine.up(program());
      assert.equal(up1.outputs.connectorState, "RUNNING");
      assert.deepEqual(up1.outputs.topics, { "public.customers": `${name}.public.customers`, "public.orders": `${name}.public.orders` });
      const createOrder = up1.steps.filter((s) => s.op === "create").map((s) => s.key.split("::")[1]);
      assert.deepEqual(createOrder, [`${name}-grant`, `${name}-replica-identity`, `${name}-signal-table`, `${name}-publication`, `${name}-slot`, `${name}-connector`]);
      const signalTable = `public.${name}_signal`;

      // Snapshot of existing rows, then streamed changes with before-images.
      await eventually(async () => (await events(name, "customers")).filter((e) => e.op === "r").length === 2 || undefined, "snapshot events");
      await pg.query("INSERT INTO orders VALUES (10, 1, 99.50)", [], db);
      await pg.query("UPDATE customers SET name = 'Ada L.' WHERE id = 1", [], db);
      await pg.query("DELETE FROM customers WHERE id = 2", [], db);
      const update = await eventually(async () => (await events(name, "customers")).find((e) => e.op === "u"), "update event");
      assert.equal(update.before?.name, "Ada");
      assert.equal(update.after?.name, "Ada L.");
      const del = await eventually(async () => (await events(name, "customers")).find((e) => e.op === "d"), "delete event");
      assert.equal(del.before?.name, "Grace");
      await eventually(async () => (await events(name, "orders")).find((e) => e.op === "c"), "insert event");

      // The slot is held by Debezium.
      const [slot] = await pg.query<{ active: boolean }>("SELECT active FROM pg_replication_slots WHERE slot_name = $1", [up1.outputs.slotName]);
      assert.equal(slot.active, true);

      // Change the table list: the publication is altered in place, the connector updated, and the
      // rows already in the added table arrive by incremental snapshot (op "r"); the others are not read again.
      const customersBefore = (await events(name, "customers")).filter((e) => e.op === "r").length;
      const [{ oid: pubOid }] = await pg.query<{ oid: number }>("SELECT oid FROM pg_publication WHERE pubname = $1", [up1.outputs.publicationName], db);
      const up2 = await engine.up(program({ tables: ["public.customers", "public.orders", "public.invoices"] }));
      const ops = Object.fromEntries(up2.steps.map((s) => [s.key.split("::")[1], s.op]));
      assert.equal(ops[`${name}-publication`], "update");
      assert.equal(ops[`${name}-connector`], "update");
      assert.equal(ops[`${name}-slot`], "same");
      const [{ oid: pubOid2 }] = await pg.query<{ oid: number }>("SELECT oid FROM pg_publication WHERE pubname = $1", [up1.outputs.publicationName], db);
      assert.equal(pubOid2, pubOid);
      await pg.query("INSERT INTO invoices VALUES (7, 12.5)", [], db);
      await eventually(async () => (await events(name, "invoices")).find((e) => e.op === "c"), "event from the added table");
      const snapshotted = await eventually(async () => {
        const ids = new Set((await events(name, "invoices")).filter((e) => e.op === "r").map((e) => e.after?.id));
        return [1, 2, 3].every((id) => ids.has(id)) ? ids : undefined;
      }, "the added table's existing rows by incremental snapshot");
      assert.ok(snapshotted.size >= 3);
      assert.equal((await events(name, "customers")).filter((e) => e.op === "r").length, customersBefore, "the other tables are not read again");
      const [signal] = await pg.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${signalTable} WHERE type = 'execute-snapshot'`, [], db);
      assert.equal(signal?.n, 1, "one execute-snapshot signal");

      // Drift: a table dropped from the publication out of band shows on refresh.
      await pg.query(`ALTER PUBLICATION ${up1.outputs.publicationName} DROP TABLE invoices`, [], db);
      await engine.refresh();
      const pubOuts = engine.outputsOf(`${name}-publication`)!;
      assert.deepEqual((pubOuts.tables as string[]).sort(), ["public.customers", "public.orders", signalTable].sort());
      assert.equal(typeof engine.outputsOf(`${name}-slot`)!.retainedWalBytes, "number");

      // Destroy: connector first, then slot, publication, replica identity, grants.
      const before = engine.log.length;
      await engine.destroy();
      const deletes = engine.log.slice(before).filter((s) => s.op === "delete").map((s) => s.key.split("::")[1]);
      assert.deepEqual(deletes, [`${name}-connector`, `${name}-slot`, `${name}-publication`, `${name}-signal-table`, `${name}-replica-identity`, `${name}-grant`]);
      assert.equal((await pg.query("SELECT 1 FROM pg_class WHERE relname = $1", [`${name}_signal`], db)).length, 0, "the signal table is dropped");
      assert.equal((await pg.query("SELECT 1 FROM pg_replication_slots WHERE slot_name = $1", [up1.outputs.slotName])).length, 0);
      assert.equal((await pg.query("SELECT 1 FROM pg_publication WHERE pubname = $1", [up1.outputs.publicationName], db)).length, 0);
      assert.ok(!(await target.connectorNames()).includes(name));
      assert.deepEqual(await target.storedOffsets(name), []);
      const [priv] = await pg.query<{ sel: boolean; rep: boolean }>(
        `SELECT has_table_privilege($1, 'public.customers', 'SELECT') AS sel, (SELECT rolreplication FROM pg_roles WHERE rolname = $1) AS rep`,
        [role],
        db,
      );
      assert.deepEqual(priv, { sel: false, rep: false });
      const [ident] = await pg.query<{ r: string }>("SELECT relreplident AS r FROM pg_class WHERE relname = 'customers'", [], db);
      assert.equal(ident.r, "d");
    });

    it("re-snapshots chosen tables on demand: a new resnapshot nonce, the same nonce again (nothing), and the snapshot command", async () => {
      const name = uniqueName("resnap");
      const engine = new Engine();
      const program = (extra: Partial<CdcPipelineArgs> = {}) => () => {
        const p = new CdcPipeline(name, args(name, extra));
        return { connectorState: p.connectorState };
      };
      await engine.up(program());
      const snapshotRows = async (table: string) => (await events(name, table)).filter((e) => e.op === "r").length;
      await eventually(async () => ((await snapshotRows("customers")) === 2 ? true : undefined), "initial snapshot");
      const ordersBefore = await snapshotRows("orders");

      const up2 = await engine.up(program({ resnapshot: { tables: ["customers"], nonce: "2026-12-03" } }));
      assert.equal(Object.fromEntries(up2.steps.map((s) => [s.key.split("::")[1], s.op]))[`${name}-connector`], "update");
      await eventually(async () => ((await snapshotRows("customers")) === 4 ? true : undefined), "customers read again");
      assert.equal(await snapshotRows("orders"), ordersBefore, "only the named table is read again");

      const up3 = await engine.up(program({ resnapshot: { tables: ["customers"], nonce: "2026-12-03" } }));
      assert.equal(Object.fromEntries(up3.steps.map((s) => [s.key.split("::")[1], s.op]))[`${name}-connector`], "same", "the same nonce asks for nothing");

      const out: string[] = [];
      const err: string[] = [];
      const code = await cli(
        ["snapshot", pg.connectionString(db), "--connect", target.url, "--connector", name, "--signal-table", `public.${name}_signal`, "--tables", "public.customers"],
        { out: (t) => out.push(t), err: (t) => err.push(t), env: {} },
      );
      assert.equal(code, 0, err.join("\n"));
      assert.match(out.join("\n"), /signal pulumi-\S+: (running|read)/);
      await eventually(async () => ((await snapshotRows("customers")) === 6 ? true : undefined), "customers read a third time");
      assert.ok(!out.concat(err).join("\n").includes(pg.superPassword));
      await engine.destroy();
    });

    it("fails before creating anything when preflight finds problems, listing them all", async () => {
      await pg.query("CREATE TABLE nopk (v text)", [], db);
      const name = uniqueName("pre");
      const engine = new Engine();
      await assert.rejects(
        engine.up(() => new CdcPipeline(name, args(name, { tables: ["public.nopk", "public.missing_table"], replicaIdentityFull: false }))),
        (e: Error) => /preflight/.test(e.message) && /nopk/.test(e.message) && /missing_table/.test(e.message) && !e.message.includes(rolePassword),
      );
      assert.equal(engine.snapshot().resources.length, 0);
      assert.equal((await pg.query("SELECT 1 FROM pg_publication", [], db)).length, 0);
    });

    it("refuses to start while another backend holds the slot, naming it", async () => {
      const name = uniqueName("busy");
      const slotName = `${name}_slot`;
      await pg.query("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", [slotName], db);
      const { Client } = await import("pg");
      const holder = new Client({ ...pg.connection(db), replication: "database", application_name: "someone-else" } as never);
      holder.on("error", () => undefined);
      await holder.connect();
      await pg.query(`CREATE PUBLICATION ${name}_pub FOR TABLE customers, orders`, [], db);
      holder.query(`START_REPLICATION SLOT ${slotName} LOGICAL 0/0 (proto_version '1', publication_names '${name}_pub')`).catch(() => undefined);
      try {
        await eventually(async () => (await pg.query<{ active: boolean }>("SELECT active FROM pg_replication_slots WHERE slot_name = $1", [slotName]))[0]?.active || undefined, "holder active");
        const engine = new Engine();
        await assert.rejects(engine.up(() => new CdcPipeline(name, args(name))), (e: Error) => /someone-else/.test(e.message) && /PID \d+/.test(e.message));
        assert.ok(!(await target.connectorNames()).includes(name));
        assert.equal(engine.snapshot().resources.length, 0, "nothing was created");
      } finally {
        await holder.end().catch(() => undefined);
      }
    });

    it("detects a slot lost out of band: fails by default, re-snapshots when asked; a source host change resumes from offsets", async () => {
      const name = uniqueName("loss");
      const engine = new Engine();
      const program = (extra: Partial<CdcPipelineArgs> = {}) => () => {
        new CdcPipeline(name, args(name, extra));
      };
      await engine.up(program());
      await eventually(async () => (await events(name, "customers")).filter((e) => e.op === "r").length === 2 || undefined, "first snapshot");

      // Source failover: the workers reach the database under another host name; Debezium resumes, no new snapshot.
      await engine.up(program({ connectorSource: { host: "localhost", user: role, password: rolePassword } }));
      await pg.query("INSERT INTO orders VALUES (20, 1, 5)", [], db);
      await eventually(async () => (await events(name, "orders")).find((e) => e.op === "c"), "event after failover");
      assert.equal((await events(name, "customers")).filter((e) => e.op === "r").length, 2, "no re-snapshot after a host change");

      // Lose the slot while the connector is stopped (as a provider does with long-inactive slots).
      const moved = { connectorSource: { host: "localhost", user: role, password: rolePassword } };
      await engine.up(program({ ...moved, state: "stopped" }));
      await eventually(async () => ((await pg.query<{ active: boolean }>("SELECT active FROM pg_replication_slots WHERE slot_name = $1", [`${name}_slot`]))[0]?.active === false) || undefined, "slot released");
      await pg.query("SELECT pg_drop_replication_slot($1)", [`${name}_slot`]);
      await assert.rejects(engine.up(program(moved)), /no longer exists[\s\S]*lost/);
      assert.equal((await pg.query("SELECT 1 FROM pg_replication_slots WHERE slot_name = $1", [`${name}_slot`])).length, 0, "the slot is not recreated behind the offsets");

      await engine.up(program({ ...moved, onSlotLoss: "resnapshot" }));
      await eventually(async () => (await events(name, "customers")).filter((e) => e.op === "r").length >= 4 || undefined, "second snapshot");
      await engine.destroy();
    });
  });
}
