import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import * as path from "node:path";
import { postgresStats } from "#dist/postgres/connection.js";
import { preflight, type PreflightReport } from "#dist/postgres/preflight.js";
import { main } from "#dist/cli/main.js";
import { resolveConnection } from "#dist/validation/connection.js";
import { pgMajors, sharedPostgres, startPostgres, uniqueName, type PgServer } from "../support/postgres";

const CLI = path.resolve(__dirname, "..", "..", "..", "dist", "cli", "main.js");
const ROLE_PW = "preflight-pw-8s2k";

function runCli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += String(d)));
    child.stderr.on("data", (d) => (stderr += String(d)));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

const checks = (r: PreflightReport) => r.problems.map((p) => `${p.check}${p.object ? ` ${p.object}` : ""}`).sort();

for (const major of pgMajors()) {
  describe(`preflight on PostgreSQL ${major} @pg`, function () {
    this.timeout(120000);
    let pg: PgServer;
    let db: string;
    let weak: string; // no REPLICATION, no SELECT
    let good: string; // REPLICATION and SELECT on the good tables

    before(async () => {
      pg = await sharedPostgres(major);
      db = await pg.createDatabase("pre");
      weak = uniqueName("weak");
      good = uniqueName("good");
      await pg.query(`CREATE ROLE ${weak} LOGIN PASSWORD '${ROLE_PW}'; CREATE ROLE ${good} LOGIN REPLICATION PASSWORD '${ROLE_PW}'`);
      await pg.query(
        `CREATE TABLE orders (id int PRIMARY KEY, note text);
         CREATE TABLE nopk (a int, b text);
         CREATE TABLE fullident (a int); ALTER TABLE fullident REPLICA IDENTITY FULL;
         CREATE TABLE "Order Items" (id int PRIMARY KEY);
         CREATE VIEW orders_v AS SELECT * FROM orders;
         CREATE SCHEMA hidden; CREATE TABLE hidden.secret (id int PRIMARY KEY);
         GRANT SELECT ON orders, fullident, "Order Items" TO ${good};`,
        [],
        db,
      );
    });

    it("reports every problem in one report", async () => {
      const report = await preflight(resolveConnection({ connection: pg.connection(db) }, "t"), {
        role: weak,
        tables: ["orders", "nopk", "missing_table", "nosuchschema.t", "orders_v", "hidden.secret"],
      });
      assert.equal(report.ok, false);
      assert.equal(report.major, major);
      assert.match(report.serverVersion, new RegExp(`^${major}\\.`));
      assert.deepEqual(checks(report), [
        `replica_identity public.nopk`,
        `replication ${weak}`,
        `select hidden.secret`,
        `select public.nopk`,
        `select public.orders`,
        `table_kind public.orders_v`,
        `table_missing nosuchschema.t`,
        `table_missing public.missing_table`,
        `usage hidden`,
      ]);
      const byCheck = (c: string) => report.problems.find((p) => p.check === c)!;
      assert.match(byCheck("replication").fix, new RegExp(`ALTER ROLE "${weak}" REPLICATION`));
      assert.match(byCheck("replica_identity").message, /no primary key and REPLICA IDENTITY DEFAULT: .*UPDATE and DELETE on it fail/);
      assert.match(byCheck("replica_identity").fix, /ALTER TABLE "public"."nopk" REPLICA IDENTITY FULL/);
      assert.equal(byCheck("usage").fix, `GRANT USAGE ON SCHEMA "hidden" TO "${weak}";`);
      assert.match(report.problems.find((p) => p.object === "nosuchschema.t")!.message, /schema "nosuchschema" of table nosuchschema.t does not exist/);
    });

    it("reports a fully good setup as ok, with a constant number of queries", async () => {
      const conn = resolveConnection({ connection: pg.connection(db) }, "t");
      let before = postgresStats.statements;
      const report = await preflight(conn, { role: good, tables: ["orders", "fullident", "public.Order Items"] });
      const few = postgresStats.statements - before;
      assert.deepEqual(report.problems, []);
      assert.equal(report.ok, true);
      before = postgresStats.statements;
      await preflight(conn, { role: good, tables: Array.from({ length: 300 }, (_, i) => `t${i}`) });
      assert.equal(postgresStats.statements - before, few, "query count does not grow with tables");
      assert.ok(few <= 3, `${few} statements`);
    });

    it("checks every user table when no tables are given, and the connecting user when no role is given", async () => {
      const conn = resolveConnection({ connection: pg.connection(db, { user: good, password: ROLE_PW }) }, "t");
      const report = await preflight(conn);
      assert.deepEqual(checks(report), ["replica_identity public.nopk", "select hidden.secret", "select public.nopk", "usage hidden"]);
      // good is no superuser and not in pg_read_all_stats: other roles' sessions are hidden from it.
      assert.deepEqual(report.warnings.filter((w) => w.check === "stats_visibility").map((w) => w.object), [good]);
    });

    it("gates features on the server version", async () => {
      const report = await preflight(resolveConnection({ connection: pg.connection(db) }, "t"), {
        role: good,
        tables: ["orders"],
        wantTwoPhase: true,
        wantFailover: true,
        wantRowFilters: true,
      });
      const versions = report.problems.filter((p) => p.check === "version").map((p) => p.message);
      const expected = [major < 14 && "two-phase", major < 15 && "row filters", major < 17 && "failover"].filter(Boolean);
      assert.equal(versions.length, expected.length, versions.join("; "));
      for (const e of expected) assert.ok(versions.some((v) => v.includes(e as string)), `${e} in ${versions.join("; ")}`);
    });

    it("reports a role that does not exist", async () => {
      const ghost = uniqueName("ghost");
      const report = await preflight(resolveConnection({ connection: pg.connection(db) }, "t"), { role: ghost, tables: ["orders"] });
      assert.deepEqual(checks(report), [`role ${ghost}`]);
    });

    it("CLI: prints the report and exits 1 on problems, 0 when ready, 2 on usage errors", async () => {
      const url = `postgres://${weak}:${ROLE_PW}@127.0.0.1:${pg.port}/${db}?sslmode=disable`;
      const bad = await runCli(["preflight", url, "--tables", "orders,nopk"]);
      assert.equal(bad.code, 1, bad.stderr);
      assert.match(bad.stdout, new RegExp(`Preflight of ${weak}@127.0.0.1:${pg.port}/${db} \\(PostgreSQL ${major}\\.`));
      assert.match(bad.stdout, /Problems \(4\):/);
      assert.match(bad.stdout, /x \[replica_identity\] public.nopk: .*\n {6}fix: ALTER TABLE/);
      assert.match(bad.stdout, /NOT READY: 4 problems/);
      assert.ok(!bad.stdout.includes(ROLE_PW));

      // Password from PGPASSWORD, role and tables given, JSON output.
      const ok = await runCli(["preflight", `postgres://${good}@127.0.0.1:${pg.port}/${db}?sslmode=disable`, "--tables=orders,fullident", "--json"], { PGPASSWORD: ROLE_PW });
      assert.equal(ok.code, 0, ok.stdout + ok.stderr);
      const json = JSON.parse(ok.stdout) as PreflightReport;
      assert.equal(json.ok, true);

      const usage = await runCli(["preflight"]);
      assert.equal(usage.code, 2);
      assert.match(usage.stderr, /give a connection string/);
      assert.match(usage.stderr, /Usage: pulumi-postgres-cdc preflight <connection string>/);
      const unknown = await runCli(["nosuch"]);
      assert.equal(unknown.code, 2);
      assert.match(unknown.stderr, /Unknown command "nosuch"[\s\S]*preflight/);

      const wrongPw = await runCli(["preflight", `postgres://${weak}:wrong-${ROLE_PW}@127.0.0.1:${pg.port}/${db}?sslmode=disable`]);
      assert.equal(wrongPw.code, 1);
      assert.match(wrongPw.stderr, /preflight failed: preflight: cannot connect .* password authentication failed/);
      assert.ok(!wrongPw.stderr.includes(ROLE_PW));
    });

    it("CLI main() is callable in-process with its own output", async () => {
      const out: string[] = [];
      const code = await main(["preflight", pg.connectionString(db), "--tables", "orders", "--role", good], { out: (t) => out.push(t), err: (t) => out.push(t), env: {} });
      assert.equal(code, 0, out.join("\n"));
      assert.match(out.join("\n"), /OK: ready for CDC/);
    });
  });
}

describe("preflight on a server without logical decoding @pg", function () {
  this.timeout(120000);
  it("reports wal_level, no free slot and no free WAL sender together", async () => {
    const majors = pgMajors();
    const major = majors[majors.length - 1];
    const pg = await startPostgres({ major, settings: { wal_level: "replica", max_replication_slots: 0, max_wal_senders: 0 } });
    try {
      const report = await preflight(resolveConnection({ connection: pg.connection() }, "t"), { tables: [] });
      assert.deepEqual(checks(report), ["replication_slots", "wal_level", "wal_senders"]);
      assert.equal(report.flavour, "self-managed");
      const wal = report.problems.find((p) => p.check === "wal_level")!;
      assert.equal(wal.message, 'wal_level is "replica"; logical decoding needs "logical"');
      assert.match(wal.fix, /ALTER SYSTEM SET wal_level = logical; then restart PostgreSQL/);
      assert.match(report.problems.find((p) => p.check === "replication_slots")!.message, /max_replication_slots is 0 and 0 are in use/);
      assert.ok(report.warnings.some((w) => w.check === "superuser"));
      const cli = await runCli(["preflight", pg.connectionString()]);
      assert.equal(cli.code, 1);
      assert.match(cli.stdout, /x \[wal_level\] wal_level is "replica"/);
    } finally {
      await pg.destroy();
    }
  });
});
