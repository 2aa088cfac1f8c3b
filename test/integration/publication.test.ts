import { strict as assert } from "node:assert";
import type * as dynamic from "@pulumi/pulumi/dynamic";
import { postgresStats } from "#dist/postgres/connection.js";
import { providerStub } from "#dist/providers/stub.js";
import { HostedResource, hostedProvider } from "../support/dynamic-host";
import { pgMajors, sharedPostgres, type PgServer } from "../support/postgres";

type Inputs = Record<string, unknown>;

let hosted: { provider: dynamic.ResourceProvider; text: string };

before(async () => {
  hosted = await hostedProvider(providerStub("publication"));
});


for (const major of pgMajors()) {
  describe(`Publication on PostgreSQL ${major} @pg`, function () {
    this.timeout(60000);
    let pg: PgServer;
    let db: string;
    const q = <R = Record<string, unknown>>(sql: string, params?: unknown[]) => pg.query<R>(sql, params, db);
    const resource = () => new HostedResource<Inputs>(hosted.provider, hosted.text);
    const base = (name: string, extra: Inputs): Inputs => ({ connection: pg.connection(db), name, ...extra });
    const pubRow = async (name: string) =>
      (await q<{ oid: string; pubinsert: boolean; pubupdate: boolean; pubdelete: boolean; pubtruncate: boolean; puballtables: boolean }>(
        "SELECT oid::text, pubinsert, pubupdate, pubdelete, pubtruncate, puballtables FROM pg_publication WHERE pubname = $1",
        [name],
      ))[0];
    const published = async (name: string) =>
      (await q<{ t: string }>("SELECT schemaname || '.' || tablename AS t FROM pg_publication_tables WHERE pubname = $1 ORDER BY 1", [name])).map((r) => r.t);
    const expectFailure = async (p: Promise<unknown>, re: RegExp) => {
      await assert.rejects(p, (err: Error) => {
        assert.match(err.message, re);
        return true;
      });
    };

    before(async () => {
      pg = await sharedPostgres(major);
      db = await pg.createDatabase("pub");
      await q(`CREATE SCHEMA shop;
        CREATE TABLE orders (id int PRIMARY KEY, status text, note text);
        CREATE TABLE customers (id int PRIMARY KEY);
        CREATE TABLE "Order Items" (id int PRIMARY KEY);
        CREATE TABLE shop.items (id int PRIMARY KEY);
        CREATE TABLE shop."CustomerAccounts" (id int PRIMARY KEY);
        CREATE TABLE "we""ird" (id int PRIMARY KEY);
        CREATE TABLE keep_me (id int PRIMARY KEY);
        CREATE TABLE "x; drop table keep_me; --" (id int PRIMARY KEY);`);
    });

    it("creates with bare, schema-qualified, quoted, mixed-case and space-containing table names", async () => {
      const r = resource();
      const outs = await r.create(
        base("pub_names", { tables: ["orders", "shop.items", "public.Order Items", "shop.CustomerAccounts", 'we"ird'] }),
      );
      const want = ["public.Order Items", "public.orders", 'public.we"ird', "shop.CustomerAccounts", "shop.items"];
      assert.deepEqual(outs.tables, want);
      assert.deepEqual(await published("pub_names"), want);
      assert.equal(outs.database, db);
      assert.equal(outs.allTables, false);
      assert.deepEqual(outs.operations, ["insert", "update", "delete", "truncate"]);
      assert.equal(outs.publishViaPartitionRoot, false);
      assert.deepEqual(outs.connection, { ...pg.connection(db), port: pg.port });
      await r.delete();
      assert.equal(await pubRow("pub_names"), undefined);
      await r.delete(); // missing = success
    });

    it("publishes the table named `x; drop table keep_me; --` as that exact name and keep_me survives", async () => {
      const r = resource();
      const outs = await r.create(base("pub_inject", { tables: ["x; drop table keep_me; --"] }));
      assert.deepEqual(outs.tables, ["public.x; drop table keep_me; --"]);
      assert.deepEqual(await published("pub_inject"), ["public.x; drop table keep_me; --"]);
      assert.equal((await q("SELECT to_regclass('public.keep_me') IS NOT NULL AS ok"))[0].ok, true);
      await r.delete();
    });

    it("creates FOR ALL TABLES", async () => {
      const r = resource();
      const outs = await r.create(base("pub_all", { allTables: true }));
      assert.equal(outs.allTables, true);
      assert.deepEqual(outs.tables, []);
      assert.ok((outs.publishedTables as string[]).includes("shop.items"));
      assert.equal((await pubRow("pub_all")).puballtables, true);
      await r.delete();
    });

    it("publishes a subset of operations and publishViaPartitionRoot", async () => {
      const r = resource();
      const outs = await r.create(base("pub_ops", { tables: ["orders"], operations: ["update", "insert"], publishViaPartitionRoot: true }));
      assert.deepEqual(outs.operations, ["insert", "update"]);
      assert.equal(outs.publishViaPartitionRoot, true);
      const row = await pubRow("pub_ops");
      assert.deepEqual([row.pubinsert, row.pubupdate, row.pubdelete, row.pubtruncate], [true, true, false, false]);
      await r.delete();
    });

    it("updates tables and operations in place (same oid), and replaces on a name change", async () => {
      const r = resource();
      await r.create(base("pub_upd", { tables: ["orders"] }));
      const oid = (await pubRow("pub_upd")).oid;
      const up = await r.up(base("pub_upd", { tables: ["orders", "customers", "shop.items"], operations: ["insert", "delete"] }));
      assert.equal(up.action, "update");
      assert.deepEqual(up.diff.replaces, []);
      assert.deepEqual(up.outs.tables, ["public.customers", "public.orders", "shop.items"]);
      assert.deepEqual(up.outs.operations, ["insert", "delete"]);
      assert.equal((await pubRow("pub_upd")).oid, oid);
      assert.deepEqual(await published("pub_upd"), ["public.customers", "public.orders", "shop.items"]);
      const row = await pubRow("pub_upd");
      assert.deepEqual([row.pubinsert, row.pubupdate, row.pubdelete, row.pubtruncate], [true, false, true, false]);

      const same = await r.up(base("pub_upd", { tables: ["shop.items", "public.customers", "orders"], operations: ["delete", "insert"] }));
      assert.equal(same.action, "none");

      const renamed = await r.up(base("pub_upd2", { tables: ["orders"] }));
      assert.equal(renamed.action, "replace");
      assert.deepEqual(renamed.diff.replaces, ["name"]);
      assert.equal(renamed.diff.deleteBeforeReplace, true);
      assert.equal(await pubRow("pub_upd"), undefined);
      assert.deepEqual(await published("pub_upd2"), ["public.orders"]);
      await r.delete();
    });

    it("refresh shows tables added and dropped out of band; up puts them back; a dropped publication reads as gone", async () => {
      const r = resource();
      const inputs = base("pub_drift", { tables: ["orders", "customers"] });
      await r.create(inputs);
      await q('ALTER PUBLICATION pub_drift ADD TABLE shop.items; ALTER PUBLICATION pub_drift DROP TABLE customers; ALTER PUBLICATION pub_drift SET (publish = \'insert\')');
      const read = await r.read();
      assert.ok(read.id);
      assert.deepEqual(read.props!.tables, ["public.orders", "shop.items"]);
      assert.deepEqual(read.props!.operations, ["insert"]);
      assert.deepEqual((read.inputs as Inputs).tables, [{ name: "public.orders" }, { name: "shop.items" }]);
      const up = await r.up(inputs);
      assert.equal(up.action, "update");
      assert.deepEqual(up.outs.tables, ["public.customers", "public.orders"]);
      assert.deepEqual(await published("pub_drift"), ["public.customers", "public.orders"]);

      await q("DROP PUBLICATION pub_drift");
      const gone = await r.read();
      assert.equal(gone.id, undefined);
      await r.delete();
    });

    it("adopts a matching publication and refuses one that differs, naming the differences", async () => {
      await q('CREATE PUBLICATION pub_adopt FOR TABLE orders, shop.items WITH (publish = \'insert, update\')');
      const oid = (await pubRow("pub_adopt")).oid;
      const r = resource();
      const outs = await r.create(base("pub_adopt", { tables: ["shop.items", "orders"], operations: ["insert", "update"] }));
      assert.deepEqual(outs.tables, ["public.orders", "shop.items"]);
      assert.equal((await pubRow("pub_adopt")).oid, oid);

      await q("CREATE PUBLICATION pub_other FOR TABLE orders, customers WITH (publish = 'insert')");
      await expectFailure(
        resource().create(base("pub_other", { tables: ["orders", "shop.items"] })),
        /already exists[\s\S]*operations: existing insert, wanted insert, update, delete, truncate[\s\S]*missing from the existing publication: shop\.items[\s\S]*not wanted: public\.customers/,
      );
      assert.deepEqual(await published("pub_other"), ["public.customers", "public.orders"]);
      await r.delete();
      await q("DROP PUBLICATION pub_other");
    });

    it("lists every missing table in one error and creates nothing", async () => {
      await expectFailure(
        resource().create(base("pub_missing", { tables: ["orders", "nope_one", "shop.Nope Two"] })),
        /these tables do not exist: public\.nope_one, shop\.Nope Two/,
      );
      assert.equal(await pubRow("pub_missing"), undefined);
    });

    it("rejects bad inputs in check, before any SQL, naming the field", async () => {
      const r = resource();
      const cases: Array<[Inputs, RegExp]> = [
        [base("pub_bad1", { allTables: true, tables: ["orders"] }), /allTables.*remove them or set allTables to false/],
        [base("pub_bad2", { allTables: true, schemas: ["shop"] }), /allTables/],
        [base("pub_bad3", {}), /tables: a publication needs something to publish/],
        [base("pub_bad4", { tables: [], allTables: false }), /needs something to publish/],
        [base("pub_bad5", { tables: ["orders"], operations: ["insert", "upsert"] }), /unknown operation "upsert"; allowed: insert, update, delete, truncate/],
        [base("p".repeat(64), { tables: ["orders"] }), /name: name is longer than 63 bytes/],
        [base("pub_bad7", { tables: [`public.${"t".repeat(64)}`] }), /longer than 63 bytes/],
        [base("pub_bad8", { tables: [{ name: "orders", where: "true); drop table keep_me; --" }] }), /row filter/],
        [base("pub_bad9", { tables: [{ name: "orders", columns: ["c".repeat(64)] }] }), /column name is longer than 63 bytes/],
        [{ name: "pub_bad10", tables: ["orders"] }, /connection: give either connection/],
      ];
      for (const [inputs, re] of cases) {
        const c = await r.check(inputs);
        assert.ok(c.failures && c.failures.length, `expected failures for ${JSON.stringify(inputs.tables ?? inputs.name)}`);
        const reasons = c.failures!.map((f) => f.reason).join("\n");
        assert.match(reasons, re);
        assert.match(reasons, /^Publication( "[^"]+")?: /);
        await assert.rejects(r.create(inputs), /check failed/);
      }
      const n = await q<{ n: number }>("SELECT count(*)::int AS n FROM pg_publication WHERE pubname LIKE 'pub_bad%' OR pubname LIKE 'ppp%'");
      assert.equal(n[0].n, 0);
      assert.equal((await q("SELECT to_regclass('public.keep_me') IS NOT NULL AS ok"))[0].ok, true);
    });

    if (major >= 15) {
      it("publishes schemas (FOR TABLES IN SCHEMA) and updates them in place", async () => {
        const r = resource();
        const outs = await r.create(base("pub_schema", { schemas: ["shop"], tables: ["orders"] }));
        assert.deepEqual(outs.schemas, ["shop"]);
        assert.deepEqual(outs.tables, ["public.orders"]);
        assert.deepEqual(outs.publishedTables, ["public.orders", "shop.CustomerAccounts", "shop.items"]);
        const oid = (await pubRow("pub_schema")).oid;
        const up = await r.up(base("pub_schema", { tables: ["customers"] }));
        assert.equal(up.action, "update");
        assert.deepEqual(up.outs.schemas, []);
        assert.deepEqual(await published("pub_schema"), ["public.customers"]);
        assert.equal((await pubRow("pub_schema")).oid, oid);
        await r.delete();
      });

      it("publishes a row filter and a column list, adopts the same definition, and sees filter drift", async () => {
        const r = resource();
        const inputs = base("pub_filter", { tables: [{ name: "orders", columns: ["status", "id"], where: "status <> 'draft'" }, "customers"] });
        const outs = await r.create(inputs);
        const defs = outs.tableDefinitions as Array<Record<string, unknown>>;
        assert.deepEqual(defs[1].columns, ["id", "status"]);
        assert.equal(defs[1].where, "status <> 'draft'");
        const rows = await q<{ attnames: string[]; rowfilter: string }>("SELECT attnames::text[] AS attnames, rowfilter FROM pg_publication_tables WHERE pubname = 'pub_filter' AND tablename = 'orders'");
        assert.deepEqual([...rows[0].attnames].sort(), ["id", "status"]);
        assert.match(rows[0].rowfilter, /status <> 'draft'/);
        assert.equal((await r.up(inputs)).action, "none");
        assert.equal((await r.read()).id !== undefined, true);
        assert.equal((await r.up(inputs)).action, "none", "refresh without drift keeps the user's filter text");

        await q("ALTER PUBLICATION pub_filter SET TABLE orders (id, status) WHERE (status <> 'void'), customers");
        const read = await r.read();
        const drifted = (read.props!.tableDefinitions as Array<Record<string, unknown>>)[1];
        assert.match(String(drifted.where), /void/);
        const up = await r.up(inputs);
        assert.equal(up.action, "update");
        const after = await q<{ rowfilter: string }>("SELECT rowfilter FROM pg_publication_tables WHERE pubname = 'pub_filter' AND tablename = 'orders'");
        assert.match(after[0].rowfilter, /draft/);

        // A second resource with the same definition adopts it (filter compared in PostgreSQL's printed form).
        const adopted = await resource().create(inputs);
        assert.deepEqual(adopted.tables, ["public.customers", "public.orders"]);
        await expectFailure(
          resource().create(base("pub_filter", { tables: [{ name: "orders", columns: ["status", "id"], where: "status <> 'other'" }, "customers"] })),
          /row filter of public\.orders: existing .*draft.*, wanted .*other/,
        );
        await r.delete();
      });
    } else {
      it("refuses schemas, column lists and row filters with the server version and the minimum, creating nothing", async () => {
        await expectFailure(resource().create(base("pub_gate1", { schemas: ["shop"] })), new RegExp(`schemas \\(FOR TABLES IN SCHEMA\\) needs PostgreSQL 15 or later, but .* runs PostgreSQL ${major}`));
        await expectFailure(
          resource().create(base("pub_gate2", { tables: [{ name: "orders", columns: ["id"] }] })),
          new RegExp(`column lists .* needs PostgreSQL 15 or later, but .* runs PostgreSQL ${major}`),
        );
        await expectFailure(
          resource().create(base("pub_gate3", { tables: [{ name: "orders", where: "id > 0" }] })),
          new RegExp(`row filters .* needs PostgreSQL 15 or later, but .* runs PostgreSQL ${major}`),
        );
        const n = await q<{ n: number }>("SELECT count(*)::int AS n FROM pg_publication WHERE pubname LIKE 'pub_gate%'");
        assert.equal(n[0].n, 0);
        // and on update
        const r = resource();
        await r.create(base("pub_gate4", { tables: ["orders"] }));
        await expectFailure(r.up(base("pub_gate4", { tables: ["orders"], schemas: ["shop"] })), /needs PostgreSQL 15 or later/);
        assert.deepEqual(await published("pub_gate4"), ["public.orders"]);
        await r.delete();
      });
    }

    it("uses the same number of statements for 1 table and for 300 tables", async () => {
      await q("CREATE SCHEMA many; DO $$ BEGIN FOR i IN 1..300 LOOP EXECUTE format('CREATE TABLE many.%I (id int PRIMARY KEY)', 'T ' || i); END LOOP; END $$");
      const count = async (name: string, tables: string[]) => {
        const r = resource();
        const before = postgresStats.statements;
        await r.create(base(name, { tables }));
        await r.read();
        await r.up(base(name, { tables: tables.slice(0, Math.max(1, tables.length - 1)), operations: ["insert"] }));
        await r.delete();
        return postgresStats.statements - before;
      };
      const one = await count("pub_one", ["many.T 1"]);
      const many = await count("pub_many", Array.from({ length: 300 }, (_, i) => `many.T ${i + 1}`));
      console.log(`      statements for create+read+update+delete: 1 table ${one}, 300 tables ${many}`);
      assert.equal(many, one);
    });

    it("connects with connectionString as well", async () => {
      const r = resource();
      const outs = await r.create({ connectionString: pg.connectionString(db), name: "pub_url", tables: ["orders"] });
      assert.equal(outs.database, db);
      assert.equal((await r.read()).id !== undefined, true);
      await r.delete();
      assert.equal(await pubRow("pub_url"), undefined);
    });
  });
}
