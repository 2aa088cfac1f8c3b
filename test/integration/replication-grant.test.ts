import { strict as assert } from "node:assert";
import { providerStub } from "#dist/providers/stub.js";
import { grantStats } from "#dist/postgres/grants/index.js";
import { postgresStats } from "#dist/postgres/connection.js";
import { HostedResource, hostedProvider } from "../support/dynamic-host";
import { pgMajors, sharedPostgres, uniqueName, type PgServer } from "../support/postgres";

type GrantInputs = Record<string, unknown>;

const HOSTILE = "x; drop table keep_me; --";

async function newResource(): Promise<HostedResource<GrantInputs>> {
  const { provider, text } = await hostedProvider(providerStub("replication-grant"));
  return new HostedResource<GrantInputs>(provider, text);
}

interface RoleFacts {
  replication: boolean;
  selects: string[];
  usage: string[];
  create: boolean;
}

for (const major of pgMajors()) {
  describe(`ReplicationGrant on PostgreSQL ${major} @pg`, function () {
    this.timeout(120000);
    let pg: PgServer;
    let db: string;

    /** Direct (ACL) privileges of a role in the test database. */
    async function facts(role: string): Promise<RoleFacts> {
      const [r] = await pg.query<RoleFacts>(
        `SELECT (SELECT rolreplication FROM pg_roles WHERE rolname = $1) AS replication,
           coalesce((SELECT array_agg(n.nspname || '.' || c.relname ORDER BY n.nspname || '.' || c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace,
                    aclexplode(c.relacl) a WHERE a.grantee = (SELECT oid FROM pg_roles WHERE rolname = $1) AND a.privilege_type = 'SELECT'), '{}') AS selects,
           coalesce((SELECT array_agg(n.nspname::text ORDER BY n.nspname::text) FROM pg_namespace n, aclexplode(n.nspacl) a
                    WHERE a.grantee = (SELECT oid FROM pg_roles WHERE rolname = $1) AND a.privilege_type = 'USAGE'), '{}') AS usage,
           EXISTS (SELECT 1 FROM pg_database d, aclexplode(d.datacl) a WHERE d.datname = current_database()
                   AND a.grantee = (SELECT oid FROM pg_roles WHERE rolname = $1) AND a.privilege_type = 'CREATE') AS create`,
        [role],
        db,
      );
      return r;
    }

    async function newRole(attrs = ""): Promise<string> {
      const role = uniqueName("dbz");
      await pg.query(`CREATE ROLE ${role} LOGIN PASSWORD 'dbz-pw-1234' ${attrs}`);
      return role;
    }

    before(async () => {
      pg = await sharedPostgres(major);
      db = await pg.createDatabase("grant");
      await pg.query(
        `CREATE TABLE orders (id int PRIMARY KEY);
         CREATE TABLE customers (id int PRIMARY KEY);
         CREATE TABLE keep_me (id int PRIMARY KEY);
         CREATE TABLE "${HOSTILE}" (id int PRIMARY KEY);
         CREATE TABLE "Order Items" (id int PRIMARY KEY);
         CREATE SCHEMA inventory;
         CREATE TABLE inventory.items (id int PRIMARY KEY);
         CREATE TABLE inventory.parts (id int PRIMARY KEY);
         CREATE SCHEMA shared;
         INSERT INTO orders VALUES (1);`,
        [],
        db,
      );
    });

    it("serializes a small provider and grants REPLICATION, SELECT, USAGE and CREATE, read back as privileges", async () => {
      const res = await newResource();
      const role = await newRole();
      const outs = await res.create({
        connection: pg.connection(db),
        role,
        tables: ["orders", "public.Order Items"],
        createOnDatabase: true,
      });
      assert.deepEqual(outs.privileges, [
        "REPLICATION",
        "USAGE ON SCHEMA public",
        "SELECT ON public.Order Items",
        "SELECT ON public.orders",
        "CREATE ON DATABASE " + db,
      ]);
      assert.equal(outs.role, role);
      assert.equal(outs.database, db);
      assert.equal(outs.replicationVia, "attribute");
      assert.deepEqual(outs.tables, ["public.Order Items", "public.orders"]);
      assert.equal(res.id, `${db}/${role}`);
      const f = await facts(role);
      assert.equal(f.replication, true);
      assert.deepEqual(f.selects, ["public.Order Items", "public.orders"]);
      assert.deepEqual(f.usage, ["public"]);
      assert.equal(f.create, true);
      // The role can really read the table.
      const rows = await pg.query("SELECT 1", [], db).then(async () => {
        const { Client } = await import("pg");
        const c = new Client({ ...pg.connection(db, { user: role, password: "dbz-pw-1234" }), ssl: false });
        await c.connect();
        try {
          return (await c.query("SELECT id FROM orders")).rows;
        } finally {
          await c.end();
        }
      });
      assert.deepEqual(rows, [{ id: 1 }]);

      await res.delete();
      const after = await facts(role);
      assert.deepEqual(after, { replication: false, selects: [], usage: [], create: false });
    });

    it("revokes exactly what it granted: what the role had before stays", async () => {
      const role = await newRole("REPLICATION");
      await pg.query(`GRANT SELECT ON orders TO ${role}; GRANT USAGE ON SCHEMA public TO ${role}; GRANT CREATE ON DATABASE "${db}" TO ${role}`, [], db);
      const res = await newResource();
      const outs = await res.create({ connection: pg.connection(db), role, tables: ["orders", "customers"], createOnDatabase: true });
      assert.deepEqual(outs.granted, [{ privilege: "SELECT", schema: "public", table: "customers" }]);
      assert.equal((outs.kept as unknown[]).length, 4);
      assert.deepEqual(outs.privileges, ["REPLICATION", "USAGE ON SCHEMA public", "SELECT ON public.customers", "SELECT ON public.orders", `CREATE ON DATABASE ${db}`]);
      await res.delete();
      const f = await facts(role);
      assert.deepEqual(f, { replication: true, selects: ["public.orders"], usage: ["public"], create: true });
      // Delete is idempotent.
      await res.delete();
    });

    it("updates tables and schemas in place with a constant statement count, and replaces on a role change", async () => {
      const role = await newRole();
      const res = await newResource();
      await res.create({ connection: pg.connection(db), role, replication: false, tables: ["orders"] });
      assert.deepEqual((await facts(role)).selects, ["public.orders"]);

      const r1 = await res.up({ connection: pg.connection(db), role, replication: false, tables: ["customers", "keep_me"] });
      assert.equal(r1.action, "update");
      assert.deepEqual(r1.diff.replaces, []);
      assert.deepEqual((await facts(role)).selects, ["public.customers", "public.keep_me"]);
      const smallCount = grantStats.lastStatements;

      const r2 = await res.up({ connection: pg.connection(db), role, replication: false, tables: ["customers", "keep_me"], schemas: ["inventory"] });
      assert.equal(r2.action, "update");
      assert.deepEqual((await facts(role)).selects, ["inventory.items", "inventory.parts", "public.customers", "public.keep_me"]);
      assert.ok(grantStats.lastStatements <= smallCount + 2, `${grantStats.lastStatements} statements`);

      const none = await res.up({ connection: pg.connection(db), role, replication: false, tables: ["keep_me", "public.customers", "customers"], schemas: ["inventory"] });
      assert.equal(none.action, "none", "order and spelling of table names do not make a diff");

      const role2 = await newRole();
      const r3 = await res.up({ connection: pg.connection(db), role: role2, replication: false, tables: ["orders"] });
      assert.equal(r3.action, "replace");
      assert.deepEqual(r3.diff.replaces, ["role"]);
      assert.equal(r3.diff.deleteBeforeReplace, true);
      assert.deepEqual((await facts(role)).selects, []);
      assert.deepEqual((await facts(role2)).selects, ["public.orders"]);
      await res.delete();
      assert.deepEqual((await facts(role2)).selects, []);
    });

    it("grants a constant number of statements for 200 tables as for 2", async () => {
      const names = Array.from({ length: 200 }, (_, i) => `bulk_${i}`);
      await pg.query(names.map((n) => `CREATE TABLE ${n} (id int PRIMARY KEY);`).join("\n"), [], db);
      const role = await newRole();
      const small = await newResource();
      let before = postgresStats.statements;
      await small.create({ connection: pg.connection(db), role, tables: names.slice(0, 2) });
      const smallCount = postgresStats.statements - before;
      await small.delete();
      const big = await newResource();
      const t0 = Date.now();
      before = postgresStats.statements;
      const outs = await big.create({ connection: pg.connection(db), role, tables: names });
      const bigCount = postgresStats.statements - before;
      const ms = Date.now() - t0;
      console.log(`      200 tables granted with ${bigCount} SQL statements in ${ms} ms (2 tables: ${smallCount})`);
      assert.equal(bigCount, smallCount);
      assert.equal((outs.privileges as string[]).length, 202);
      await big.delete();
      assert.deepEqual((await facts(role)).selects, []);
      await pg.query(`DROP TABLE ${names.join(", ")}`, [], db);
    });

    it("grants schemas with future tables, and revokes the SELECT that the default gave later tables", async () => {
      const role = await newRole();
      const res = await newResource();
      const outs = await res.create({ connection: pg.connection(db), role, replication: false, schemas: ["inventory"] });
      assert.deepEqual(outs.privileges, ["USAGE ON SCHEMA inventory", "SELECT ON ALL TABLES IN SCHEMA inventory", "SELECT ON FUTURE TABLES IN SCHEMA inventory"]);
      await pg.query("CREATE TABLE inventory.later (id int)", [], db);
      assert.deepEqual((await facts(role)).selects, ["inventory.items", "inventory.later", "inventory.parts"]);
      await res.delete();
      assert.deepEqual((await facts(role)).selects, []);
      assert.deepEqual((await facts(role)).usage, []);
      const [d] = await pg.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_default_acl da, aclexplode(da.defaclacl) a WHERE a.grantee = (SELECT oid FROM pg_roles WHERE rolname = $1)`,
        [role],
        db,
      );
      assert.equal(d.n, 0);
      await pg.query("DROP TABLE inventory.later", [], db);
    });

    it("fails listing every missing table, schema and the role at once, changing nothing", async () => {
      const res = await newResource();
      const ghost = uniqueName("ghost");
      await assert.rejects(
        res.create({ connection: pg.connection(db), role: ghost, tables: ["orders", "nope1", "nosuch.t"], schemas: ["nosuch2"] }),
        (err: Error) => {
          assert.match(err.message, new RegExp(`ReplicationGrant for role "${ghost}": nothing was changed`));
          assert.match(err.message, new RegExp(`role "${ghost}" does not exist`));
          assert.match(err.message, /schema "nosuch", schema "nosuch2", table "public.nope1" do not exist/);
          return true;
        },
      );
      const role = await newRole();
      await assert.rejects(res.create({ connection: pg.connection(db), role, tables: ["orders", "nope1"] }), /table "public.nope1" does not exist/);
      assert.deepEqual(await facts(role), { replication: false, selects: [], usage: [], create: false });
    });

    it("grants a hostile table name as that exact name", async () => {
      const role = await newRole();
      const res = await newResource();
      const outs = await res.create({ connection: pg.connection(db), role, replication: false, tables: [HOSTILE] });
      assert.deepEqual(outs.privileges, ["USAGE ON SCHEMA public", `SELECT ON public.${HOSTILE}`]);
      const [k] = await pg.query<{ n: number }>("SELECT count(*)::int AS n FROM keep_me", [], db);
      assert.equal(k.n, 0);
      assert.deepEqual((await facts(role)).selects, [`public.${HOSTILE}`]);
      await res.delete();
      assert.deepEqual((await facts(role)).selects, []);
    });

    it("reads drift: a privilege revoked out of band shows, the next up grants it again; a dropped role is gone", async () => {
      const role = await newRole();
      const res = await newResource();
      const inputs = { connection: pg.connection(db), role, tables: ["orders", "customers"] };
      await res.create(inputs);
      await pg.query(`REVOKE SELECT ON customers FROM ${role}; ALTER ROLE ${role} NOREPLICATION`, [], db);
      const read = await res.read();
      assert.deepEqual(read.props?.privileges, ["USAGE ON SCHEMA public", "SELECT ON public.orders"]);
      assert.deepEqual((read.inputs as Record<string, unknown>).tables, ["public.customers", "public.orders"]);
      const again = await res.up(inputs);
      assert.equal(again.action, "update");
      assert.deepEqual(again.outs.privileges, ["REPLICATION", "USAGE ON SCHEMA public", "SELECT ON public.customers", "SELECT ON public.orders"]);
      assert.equal((await facts(role)).replication, true);

      await pg.query(`DROP OWNED BY ${role}; DROP ROLE ${role}`, [], db);
      const gone = await res.read();
      assert.equal(gone.id, undefined);
      await res.delete(); // role gone: nothing to revoke
    });

    it("survives 4 grants on one schema created in parallel (catalog races retried)", async () => {
      const roles = await Promise.all([1, 2, 3, 4].map(() => newRole()));
      await pg.query("CREATE TABLE shared.a (id int); CREATE TABLE shared.b (id int)", [], db);
      const resources = await Promise.all(roles.map(() => newResource()));
      const retriesBefore = grantStats.raceRetries;
      await Promise.all(resources.map((r, i) => r.create({ connection: pg.connection(db), role: roles[i], replication: false, schemas: ["shared"], tables: ["orders"] })));
      for (const role of roles) assert.deepEqual((await facts(role)).selects, ["public.orders", "shared.a", "shared.b"]);
      await Promise.all(resources.map((r) => r.delete()));
      console.log(`      catalog races retried: ${grantStats.raceRetries - retriesBefore}`);
      for (const role of roles) assert.deepEqual(await facts(role), { replication: false, selects: [], usage: [], create: false });
    });

    it("survives parallel first-time default privileges on a fresh schema (unique-index races retried)", async () => {
      const roles = await Promise.all([1, 2, 3, 4].map(() => newRole()));
      const schema = uniqueName("fresh");
      await pg.query(`CREATE SCHEMA ${schema}; GRANT USAGE ON SCHEMA ${schema} TO ${roles.join(", ")}`, [], db);
      const resources = await Promise.all(roles.map(() => newResource()));
      const retriesBefore = grantStats.raceRetries;
      await Promise.all(resources.map((r, i) => r.create({ connection: pg.connection(db), role: roles[i], replication: false, schemas: [schema] })));
      console.log(`      catalog races retried: ${grantStats.raceRetries - retriesBefore}`);
      await Promise.all(resources.map((r) => r.delete()));
      for (const role of roles) assert.deepEqual(await facts(role), { replication: false, selects: [], usage: [schema], create: false });
    });

    it("fails before changing anything when the connecting user may not give REPLICATION, saying what to run", async () => {
      const role = await newRole();
      const owner = await newRole("CREATEROLE");
      await pg.query(`ALTER TABLE customers OWNER TO ${owner}`, [], db);
      const res = await newResource();
      try {
        await assert.rejects(
          res.create({ connection: pg.connection(db, { user: owner, password: "dbz-pw-1234" }), role, tables: ["customers"] }),
          (err: Error) => {
            assert.match(err.message, /nothing was changed/);
            assert.match(err.message, new RegExp(`cannot give role "${role}" REPLICATION`));
            assert.match(err.message, new RegExp(`ALTER ROLE "${role}" REPLICATION`));
            if (major >= 16) assert.match(err.message, /CREATEROLE, ADMIN OPTION on role .* and the REPLICATION attribute itself/);
            else assert.match(err.message, /only a superuser may change the REPLICATION attribute/);
            assert.doesNotMatch(err.message, /dbz-pw-1234/);
            return true;
          },
        );
        assert.deepEqual(await facts(role), { replication: false, selects: [], usage: [], create: false });
        // Without replication the table owner can grant what it owns (USAGE on public is in effect through PUBLIC).
        const outs = await res.create({ connection: pg.connection(db, { user: owner, password: "dbz-pw-1234" }), role, replication: false, tables: ["customers"] });
        assert.deepEqual(outs.privileges, ["USAGE ON SCHEMA public", "SELECT ON public.customers"]);
        await res.delete();
        assert.deepEqual((await facts(role)).selects, []);
      } finally {
        await pg.query(`ALTER TABLE customers OWNER TO postgres`, [], db);
      }
    });

    if (major >= 16) {
      it("lets a CREATEROLE user with REPLICATION and ADMIN OPTION set the attribute (PostgreSQL 16+)", async () => {
        const role = await newRole();
        const admin = await newRole("CREATEROLE REPLICATION");
        await pg.query(`GRANT ${role} TO ${admin} WITH ADMIN OPTION`);
        const res = await newResource();
        const outs = await res.create({ connection: pg.connection(db, { user: admin, password: "dbz-pw-1234" }), role });
        assert.deepEqual(outs.privileges, ["REPLICATION"]);
        assert.equal((await facts(role)).replication, true);
        await res.delete();
        assert.equal((await facts(role)).replication, false);
      });
    }

    it("grants rds_replication instead of REPLICATION where that role exists (RDS/Aurora)", async () => {
      const role = await newRole();
      const admin = await newRole();
      await pg.query(`CREATE ROLE rds_replication; GRANT rds_replication TO ${admin} WITH ADMIN OPTION`);
      try {
        const res = await newResource();
        const conn = pg.connection(db, { user: admin, password: "dbz-pw-1234" });
        const outs = await res.create({ connectionString: `postgres://${admin}:dbz-pw-1234@127.0.0.1:${pg.port}/${db}?sslmode=disable`, role });
        void conn;
        assert.deepEqual(outs.privileges, ["MEMBER OF rds_replication"]);
        assert.equal(outs.replicationVia, "rds_replication");
        const [m] = await pg.query<{ member: boolean; attr: boolean }>(
          "SELECT pg_has_role($1, 'rds_replication', 'MEMBER') AS member, (SELECT rolreplication FROM pg_roles WHERE rolname = $1) AS attr",
          [role],
        );
        assert.deepEqual(m, { member: true, attr: false });
        const noChange = await res.up({ connectionString: `postgres://${admin}:dbz-pw-1234@127.0.0.1:${pg.port}/${db}?sslmode=disable`, role });
        assert.equal(noChange.action, "none");
        await res.delete();
        const [m2] = await pg.query<{ member: boolean }>("SELECT pg_has_role($1, 'rds_replication', 'MEMBER') AS member", [role]);
        assert.equal(m2.member, false);

        // Without ADMIN OPTION on rds_replication: a clear error naming the master-user command.
        const plain = await newRole();
        await assert.rejects(
          res.create({ connection: pg.connection(db, { user: plain, password: "dbz-pw-1234" }), role }),
          /cannot grant rds_replication to role .*: user .* has no ADMIN OPTION on rds_replication. On RDS\/Aurora run as the master user: GRANT rds_replication TO/,
        );
      } finally {
        await pg.query("DROP ROLE rds_replication");
      }
    });
  });
}
