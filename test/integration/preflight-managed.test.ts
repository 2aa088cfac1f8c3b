/**
 * Preflight against managed-service markers created on real PostgreSQL, and
 * preflight run by a role that is not a superuser.
 *
 * A managed service cannot run here, so each test creates the markers the
 * service exposes and preflight recognises it by (see detectFlavour):
 * - RDS: role rds_replication and a placeholder setting rds.logical_replication
 *   (ALTER DATABASE ... SET, seen by current_setting(name, true));
 * - Aurora: role rds_replication and a function aurora_version() in the database;
 * - Cloud SQL: role cloudsqlsuperuser and setting cloudsql.logical_decoding;
 * - Azure: role azure_pg_admin (Flexible Server), plus setting
 *   azure.replication_support (Single Server);
 * - Neon: settings neon.timeline_id and neon.tenant_id, role neon_superuser;
 * - Aiven: a schema aiven_extras, what CREATE EXTENSION aiven_extras creates (the
 *   extension itself cannot be installed here, and pg_available_extensions
 *   reads the server's extension directory, which the test leaves alone).
 * Roles are cluster-wide, so every test's markers are removed after it, and
 * the server is this file's own (wal_level=replica, one WAL sender), so that
 * the wal_level fix shows and a single WAL sender fills max_wal_senders.
 */
import { strict as assert } from "node:assert";
import { Client, type ClientConfig } from "pg";
import { closeIdleSessions } from "#dist/postgres/connection.js";
import { preflight, type PreflightFinding, type PreflightOptions, type PreflightReport } from "#dist/postgres/preflight.js";
import { resolveConnection } from "#dist/validation/connection.js";
import { pgMajors, startPostgres, uniqueName, type PgServer } from "../support/postgres";

const PW = "managed-pw-5r1q";
const MARKER_ROLES = ["rds_replication", "cloudsqlsuperuser", "azure_pg_admin", "neon_superuser"];

for (const major of pgMajors()) {
  describe(`preflight on managed PostgreSQL flavours, PostgreSQL ${major} @pg`, function () {
    this.timeout(120000);
    let pg: PgServer;
    let db: string;
    let weak: string; // no REPLICATION
    let admin: string; // LOGIN CREATEROLE, owns the tables, not a superuser

    // A new session each time: the flavour markers set with ALTER DATABASE apply when a session starts.
    const run = async (opts: PreflightOptions = { role: weak, tables: ["orders"] }, asAdmin = false): Promise<PreflightReport> => {
      await closeIdleSessions();
      return preflight(resolveConnection({ connection: pg.connection(db, asAdmin ? { user: admin, password: PW } : {}) }, "t"), opts);
    };
    const find = (items: PreflightFinding[], check: string): PreflightFinding => {
      const hit = items.find((p) => p.check === check);
      assert.ok(hit, `${check} in ${JSON.stringify(items)}`);
      return hit;
    };

    /** Creates the markers (cluster-wide SQL, then SQL in the test database) and checks what preflight recognises. */
    const recognised = async (flavour: string, markers: string[], clusterSql: string, databaseSql = ""): Promise<PreflightReport> => {
      if (clusterSql) await pg.query(clusterSql);
      if (databaseSql) await pg.query(databaseSql, [], db);
      const r = await run();
      assert.equal(r.flavour, flavour);
      assert.deepEqual(r.flavourMarkers, markers);
      return r;
    };

    before(async () => {
      pg = await startPostgres({ major, settings: { wal_level: "replica", max_wal_senders: 1 } });
      db = await pg.createDatabase("managed");
      weak = uniqueName("weak");
      admin = uniqueName("admin");
      await pg.query(`CREATE ROLE ${weak} LOGIN PASSWORD '${PW}'; CREATE ROLE ${admin} LOGIN CREATEROLE PASSWORD '${PW}'`);
      await pg.query(`CREATE TABLE orders (id int PRIMARY KEY, note text); ALTER TABLE orders OWNER TO ${admin}; GRANT SELECT ON orders TO ${weak};`, [], db);
    });

    after(async () => {
      await pg?.destroy();
    });

    afterEach(async () => {
      await pg.query(`ALTER DATABASE ${db} RESET ALL; DROP FUNCTION IF EXISTS aurora_version(); DROP SCHEMA IF EXISTS aiven_extras;`, [], db);
      await pg.query(MARKER_ROLES.map((r) => `DROP ROLE IF EXISTS ${r};`).join(" "));
      const clean = await run();
      assert.equal(clean.flavour, "self-managed", `markers left behind: ${JSON.stringify(clean.flavourMarkers)}`);
    });

    it("without markers: self-managed, with the ALTER SYSTEM and ALTER ROLE fixes", async () => {
      const r = await run();
      assert.equal(r.flavour, "self-managed");
      assert.deepEqual(r.flavourMarkers, []);
      assert.equal(find(r.problems, "wal_level").message, 'wal_level is "replica"; logical decoding needs "logical"');
      assert.equal(find(r.problems, "wal_level").fix, "ALTER SYSTEM SET wal_level = logical; then restart PostgreSQL");
      assert.equal(find(r.problems, "replication").fix, `ALTER ROLE "${weak}" REPLICATION; (as a superuser), or use a ReplicationGrant`);
    });

    it("RDS: role rds_replication and rds.logical_replication; the parameter group fix and GRANT rds_replication, whose membership then counts", async () => {
      const r = await recognised("rds", ["role rds_replication", 'setting rds.logical_replication = "off"'], "CREATE ROLE rds_replication", `ALTER DATABASE ${db} SET rds.logical_replication = 'off'`);
      const wal = find(r.problems, "wal_level");
      assert.equal(wal.message, 'wal_level is "replica" on this Amazon RDS instance (rds.logical_replication is "off"); logical decoding needs "logical"');
      assert.match(wal.fix, /^set rds.logical_replication = 1 in the instance's DB parameter group and reboot the instance/);
      const repl = find(r.problems, "replication");
      assert.match(repl.message, /is not a member of rds_replication on this Amazon RDS instance/);
      assert.equal(repl.fix, `GRANT rds_replication TO "${weak}"; (as the master user)`);

      await pg.query(`GRANT rds_replication TO ${weak}`);
      assert.deepEqual((await run()).problems.map((p) => p.check), ["wal_level"]);
    });

    it("Aurora: aurora_version() besides the RDS role; the cluster parameter group fix", async () => {
      const aurora = `CREATE FUNCTION aurora_version() RETURNS text LANGUAGE sql AS $$ SELECT '${major}.4.1' $$`;
      const r = await recognised("aurora", ["function aurora_version()", "role rds_replication"], "CREATE ROLE rds_replication", aurora);
      assert.match(find(r.problems, "wal_level").message, /on this Amazon Aurora cluster; /);
      assert.match(find(r.problems, "wal_level").fix, /^set rds.logical_replication = 1 in the DB cluster parameter group and reboot the writer instance/);
      assert.equal(find(r.problems, "replication").fix, `GRANT rds_replication TO "${weak}"; (as the master user)`);
    });

    it("Cloud SQL: role cloudsqlsuperuser and flag cloudsql.logical_decoding; the gcloud fix and ALTER USER as a cloudsqlsuperuser member", async () => {
      const flag = `ALTER DATABASE ${db} SET cloudsql.logical_decoding = 'off'`;
      const r = await recognised("cloudsql", ["role cloudsqlsuperuser", 'setting cloudsql.logical_decoding = "off"'], "CREATE ROLE cloudsqlsuperuser", flag);
      assert.match(find(r.problems, "wal_level").message, /on this Cloud SQL instance \(cloudsql.logical_decoding is "off"\)/);
      assert.match(find(r.problems, "wal_level").fix, /^gcloud sql instances patch <instance> --database-flags=cloudsql.logical_decoding=on /);
      assert.match(find(r.problems, "replication").fix, new RegExp(`^ALTER USER "${weak}" WITH REPLICATION; \\(as a member of cloudsqlsuperuser`));
    });

    it("Azure: role azure_pg_admin; wal_level as a server parameter, azure.replication_support on Single Server", async () => {
      const flexible = await recognised("azure", ["role azure_pg_admin"], "CREATE ROLE azure_pg_admin");
      assert.match(find(flexible.problems, "wal_level").fix, /^set the server parameter wal_level = logical .*and restart the server$/);
      assert.equal(find(flexible.problems, "replication").fix, `ALTER ROLE "${weak}" WITH REPLICATION; (as the server admin, a member of azure_pg_admin)`);

      await pg.query(`ALTER DATABASE ${db} SET azure.replication_support = 'REPLICA'`);
      const single = await run();
      assert.match(find(single.problems, "wal_level").message, /on this Azure Database for PostgreSQL server \(azure.replication_support is "REPLICA"\)/);
      assert.match(find(single.problems, "wal_level").fix, /^set the server parameter azure.replication_support = logical /);
    });

    it("Neon: neon.* settings; the console switch, and REPLICATION only for neon_superuser members", async () => {
      const settings = `ALTER DATABASE ${db} SET neon.timeline_id = 'a1b2c3'; ALTER DATABASE ${db} SET neon.tenant_id = 'd4e5f6'`;
      const r = await recognised("neon", ['setting neon.timeline_id = "a1b2c3"', 'setting neon.tenant_id = "d4e5f6"'], "", settings);
      assert.match(find(r.problems, "wal_level").fix, /^enable logical replication for the project in the Neon console .*cannot be turned off again/);
      assert.match(find(r.problems, "replication").fix, /only roles created in the Neon console, CLI or API \(members of neon_superuser/);

      await pg.query(`CREATE ROLE neon_superuser; GRANT neon_superuser TO ${weak}`);
      const member = await run();
      assert.equal(member.flavour, "neon");
      assert.match(find(member.problems, "replication").fix, /is a member of neon_superuser, which gets REPLICATION once logical replication is enabled/);
    });

    it("Aiven: schema aiven_extras; avnadmin for REPLICATION, and aiven_extras for a FOR ALL TABLES publication by a non-superuser", async () => {
      const r = await recognised("aiven", ["schema aiven_extras"], "", "CREATE SCHEMA aiven_extras");
      assert.match(find(r.problems, "wal_level").fix, /^Aiven runs PostgreSQL with wal_level = logical/);
      assert.match(find(r.problems, "replication").fix, major >= 16 ? new RegExp(`avnadmin.*ALTER ROLE "${weak}" REPLICATION;`) : /before PostgreSQL 16 only a superuser/);
      assert.equal(r.warnings.filter((w) => w.check === "publication").length, 0, "a table list needs no FOR ALL TABLES");

      const all = await run({}, true);
      const pub = find(all.warnings, "publication");
      assert.match(pub.message, new RegExp(`role "${admin}" is not a superuser, so it cannot create a FOR ALL TABLES publication`));
      assert.match(pub.fix, /CREATE EXTENSION IF NOT EXISTS aiven_extras CASCADE; SELECT \* FROM aiven_extras.pg_create_publication_for_all_tables\(/);
      assert.equal((await run({})).warnings.filter((w) => w.check === "publication").length, 0, "a superuser may create it");
    });

    it("as a non-superuser table owner: counts a hidden WAL sender, says the view is partial and which hidden transaction it cannot time", async () => {
      const hidden = new Client({ ...pg.connection(db) } as ClientConfig);
      const sender = new Client({ ...pg.connection(db), replication: "database" } as ClientConfig);
      await hidden.connect();
      await sender.connect();
      try {
        await hidden.query("BEGIN");
        await hidden.query("INSERT INTO orders VALUES (1, 'held open by a superuser')");
        const [{ pid }] = (await hidden.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows;

        const r = await run({ tables: ["orders"] }, true);
        assert.equal(r.role, admin);
        assert.equal(find(r.problems, "wal_senders").message, "no free WAL sender: max_wal_senders is 1 and 1 is in use (pg_stat_replication lists them)");
        const w = find(r.warnings, "stats_visibility");
        assert.equal(w.object, admin);
        assert.match(w.message, new RegExp(`^role "${admin}", which runs this preflight, is neither a superuser nor a member of pg_read_all_stats, so pg_stat_activity hides `));
        assert.match(w.message, new RegExp(`1 of them holds a transaction ID, and creating a replication slot waits until it ends: PID ${pid} \\(user postgres, address hidden \\(needs pg_read_all_stats\\)\\)`));
        assert.ok(!w.message.includes("local socket"), w.message);
        assert.equal(w.fix, `GRANT pg_read_all_stats TO "${admin}"; (as a superuser or the provider's admin role) and run the preflight again, or run it as a role that has it`);
        assert.ok(!JSON.stringify(r).includes(PW));

        await pg.query(`GRANT pg_read_all_stats TO ${admin}`);
        const full = await run({ tables: ["orders"] }, true);
        assert.equal(full.warnings.filter((x) => x.check === "stats_visibility").length, 0);
        assert.equal(find(full.problems, "wal_senders").message, "no free WAL sender: max_wal_senders is 1 and 1 is in use (pg_stat_replication lists them)");
      } finally {
        await hidden.query("ROLLBACK").catch(() => undefined);
        await hidden.end();
        await sender.end();
        await pg.query(`REVOKE pg_read_all_stats FROM ${admin}`);
      }
    });
  });
}
