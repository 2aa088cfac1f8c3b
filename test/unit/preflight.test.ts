import { strict as assert } from "node:assert";
import { detectFlavour, evaluate, formatReport, type FlavourMarkers } from "#dist/postgres/preflight.js";
import { commands, main, parseArgs, UsageError } from "#dist/cli/main.js";

type Facts = Parameters<typeof evaluate>[0];

const noMarkers: FlavourMarkers = { roles: [], settings: null, auroraVersion: false, aivenExtras: null };
const rds: FlavourMarkers = { ...noMarkers, roles: ["rds_replication"] };

function facts(over: Partial<Facts> = {}): Facts {
  return {
    version: "16.4",
    database: "app",
    walLevel: "logical",
    maxSlots: 10,
    usedSlots: 0,
    maxSenders: 10,
    usedSenders: 0,
    maxSlotWalKeepSize: "10GB",
    role: { name: "dbz", exists: true, login: true, connect: true, super: false, replication: true, managed: null },
    viewer: { name: "admin", super: true, readAllStats: true },
    markers: noMarkers,
    longestXact: null,
    hiddenProcesses: 0,
    hiddenWriters: null,
    tables: [],
    ...over,
  };
}

const table = (over: Partial<Facts["tables"][number]> = {}) => ({
  schema: "public",
  table: "orders",
  exists: true,
  schemaExists: true,
  kind: "r",
  hasPk: true,
  replident: "d",
  select: true,
  usage: true,
  ...over,
});

describe("preflight findings (pure)", () => {
  it("accepts rds_replication membership instead of REPLICATION, and says so when it is missing on RDS", () => {
    const member = evaluate(facts({ markers: rds, role: { ...facts().role, replication: false, managed: ["rds_replication"] } }), 16, {});
    assert.deepEqual(member.problems, []);
    assert.equal(member.flavour, "rds");
    const missing = evaluate(facts({ markers: rds, walLevel: "replica", role: { ...facts().role, replication: false } }), 16, {});
    assert.deepEqual(missing.problems.map((p) => p.check), ["wal_level", "replication"]);
    assert.match(missing.problems[0].fix, /rds.logical_replication = 1/);
    assert.match(missing.problems[1].message, /not a member of rds_replication/);
    assert.equal(missing.problems[1].fix, 'GRANT rds_replication TO "dbz"; (as the master user)');
  });

  it("counts slots and WAL senders in use", () => {
    const r = evaluate(facts({ maxSlots: 2, usedSlots: 2, maxSenders: 3, usedSenders: 3 }), 15, {});
    assert.deepEqual(r.problems.map((p) => p.check), ["replication_slots", "wal_senders"]);
    assert.match(r.problems[0].message, /max_replication_slots is 2 and 2 are in use/);
  });

  it("accepts replica identity FULL or INDEX without a primary key, rejects DEFAULT and NOTHING", () => {
    const r = evaluate(
      facts({
        tables: [
          table({ table: "full", hasPk: false, replident: "f" }),
          table({ table: "idx", hasPk: false, replident: "i" }),
          table({ table: "dflt", hasPk: false, replident: "d" }),
          table({ table: "nothing", hasPk: false, replident: "n" }),
          table({ table: "pk_nothing", hasPk: true, replident: "n" }),
        ],
      }),
      16,
      {},
    );
    assert.deepEqual(r.problems.map((p) => p.object), ["public.dflt", "public.nothing"]);
    assert.match(r.problems[1].message, /REPLICA IDENTITY NOTHING/);
  });

  it("warns about long transactions, unbounded WAL retention, superusers and old servers without failing", () => {
    const longest = { seconds: 900, pid: 4242, user: "app", application: null, address: null };
    const r = evaluate(facts({ longestXact: longest, maxSlotWalKeepSize: "-1", role: { ...facts().role, super: true, replication: false } }), 12, {});
    assert.equal(r.ok, true);
    assert.deepEqual(r.warnings.map((w) => w.check).sort(), ["long_transaction", "max_slot_wal_keep_size", "superuser", "version"]);
    const text = formatReport(r, "dbz@h:5432/app");
    assert.match(text, /^Preflight of dbz@h:5432\/app \(PostgreSQL 16.4\) for role "dbz"/);
    assert.match(text, /OK: ready for CDC \(4 warnings\)\.$/);
    // A visible session without an address came over a Unix socket.
    const long = r.warnings.find((w) => w.check === "long_transaction")!;
    assert.equal(long.object, "PID 4242");
    assert.match(long.message, /open for 900 s \(PID 4242, user app, client local socket\)/);
    assert.match(long.fix, /pg_terminate_backend\(4242\)/);
  });

  it("reports a role that cannot log in or connect", () => {
    const r = evaluate(facts({ role: { ...facts().role, login: false, connect: false } }), 16, {});
    assert.deepEqual(r.problems.map((p) => p.check), ["login", "connect"]);
    assert.equal(r.problems[1].fix, 'GRANT CONNECT ON DATABASE "app" TO "dbz";');
  });
});

describe("managed PostgreSQL flavours (pure)", () => {
  const weak = { ...facts().role, replication: false };

  it("recognises each provider from its markers, Aurora before RDS, and self-managed without any", () => {
    const cases: Array<[Partial<FlavourMarkers>, string, string[]]> = [
      [{}, "self-managed", []],
      [{ roles: ["rds_replication"], settings: { "rds.logical_replication": "off" } }, "rds", ["role rds_replication", 'setting rds.logical_replication = "off"']],
      [{ roles: ["rds_superuser"], auroraVersion: true }, "aurora", ["function aurora_version()", "role rds_superuser"]],
      [{ settings: { "cloudsql.logical_decoding": "off" } }, "cloudsql", ['setting cloudsql.logical_decoding = "off"']],
      [{ roles: ["azure_pg_admin"] }, "azure", ["role azure_pg_admin"]],
      [{ settings: { "neon.tenant_id": "t1" } }, "neon", ['setting neon.tenant_id = "t1"']],
      [{ aivenExtras: "available" }, "aiven", ["extension aiven_extras (available)"]],
      [{ aivenExtras: "schema" }, "aiven", ["schema aiven_extras"]],
    ];
    for (const [m, flavour, markers] of cases) {
      assert.deepEqual(detectFlavour({ ...noMarkers, ...m }), { flavour, markers }, JSON.stringify(m));
    }
  });

  it("gives each provider's wal_level and REPLICATION fix", () => {
    const fixes = (markers: FlavourMarkers, major = 16) => {
      const r = evaluate(facts({ markers, walLevel: "replica", role: weak }), major, { tables: [] });
      assert.deepEqual(r.problems.map((p) => p.check), ["wal_level", "replication"]);
      return { flavour: r.flavour, wal: r.problems[0], repl: r.problems[1] };
    };
    const aurora = fixes({ ...rds, auroraVersion: true });
    assert.equal(aurora.flavour, "aurora");
    assert.match(aurora.wal.message, /^wal_level is "replica" on this Amazon Aurora cluster; logical decoding needs "logical"$/);
    assert.match(aurora.wal.fix, /rds.logical_replication = 1 in the DB cluster parameter group and reboot the writer/);
    assert.equal(aurora.repl.fix, 'GRANT rds_replication TO "dbz"; (as the master user)');

    const gcp = fixes({ ...noMarkers, roles: ["cloudsqlsuperuser"], settings: { "cloudsql.logical_decoding": "off" } });
    assert.match(gcp.wal.message, /on this Cloud SQL instance \(cloudsql.logical_decoding is "off"\)/);
    assert.match(gcp.wal.fix, /^gcloud sql instances patch <instance> --database-flags=cloudsql.logical_decoding=on /);
    assert.match(gcp.repl.fix, /^ALTER USER "dbz" WITH REPLICATION; \(as a member of cloudsqlsuperuser/);

    const flexible = fixes({ ...noMarkers, roles: ["azure_pg_admin"] });
    assert.match(flexible.wal.fix, /server parameter wal_level = logical .* restart the server/);
    const single = fixes({ ...noMarkers, roles: ["azure_pg_admin"], settings: { "azure.replication_support": "REPLICA" } });
    assert.match(single.wal.fix, /azure.replication_support = logical/);
    assert.match(single.repl.fix, /^ALTER ROLE "dbz" WITH REPLICATION; \(as the server admin, a member of azure_pg_admin\)$/);

    const neon = fixes({ ...noMarkers, settings: { "neon.timeline_id": "x" } });
    assert.match(neon.wal.fix, /Neon console .*Logical Replication.*cannot be turned off again/);
    assert.match(neon.repl.fix, /only roles created in the Neon console, CLI or API \(members of neon_superuser/);
    const neonMember = evaluate(facts({ markers: { ...noMarkers, roles: ["neon_superuser"] }, role: { ...weak, managed: ["neon_superuser"] } }), 16, {});
    assert.match(neonMember.problems[0].fix, /is a member of neon_superuser, which gets REPLICATION once logical replication is enabled/);

    const aiven16 = fixes({ ...noMarkers, aivenExtras: "installed" });
    assert.match(aiven16.repl.fix, /avnadmin.*ALTER ROLE "dbz" REPLICATION;/);
    assert.match(fixes({ ...noMarkers, aivenExtras: "installed" }, 15).repl.fix, /before PostgreSQL 16 only a superuser can give REPLICATION/);
  });

  it("accepts RDS role memberships only on RDS and Aurora", () => {
    const elsewhere = evaluate(facts({ markers: { ...noMarkers, roles: ["cloudsqlsuperuser"] }, role: { ...weak, managed: ["rds_superuser"] } }), 16, {});
    assert.deepEqual(elsewhere.problems.map((p) => p.check), ["replication"]);
  });

  it("names the provider's way of raising slots and WAL senders, and the provider in the report header", () => {
    const r = evaluate(facts({ markers: { ...noMarkers, aivenExtras: "installed" }, maxSlots: 2, usedSlots: 2, maxSenders: 2, usedSenders: 2 }), 16, { tables: [] });
    assert.match(r.problems[0].fix, /avn service update <service> -c pg.max_replication_slots=10/);
    assert.match(r.problems[1].fix, /avn service update <service> -c pg.max_wal_senders=10/);
    assert.match(formatReport(r, "avnadmin@h/db"), /^Preflight of avnadmin@h\/db \(PostgreSQL 16.4 on Aiven\) for role "dbz"/);
  });

  it("on Aiven warns that a non-superuser cannot create a FOR ALL TABLES publication, pointing to aiven_extras", () => {
    const aiven = { ...noMarkers, aivenExtras: "available" as const };
    const viewer = { name: "avnadmin", super: false, readAllStats: true };
    const all = evaluate(facts({ markers: aiven, viewer }), 16, {});
    const pub = all.warnings.find((w) => w.check === "publication")!;
    assert.match(pub.message, /role "avnadmin" is not a superuser, so it cannot create a FOR ALL TABLES publication/);
    assert.match(pub.fix, /CREATE EXTENSION IF NOT EXISTS aiven_extras CASCADE; SELECT \* FROM aiven_extras.pg_create_publication_for_all_tables\('<publication>'/);
    assert.equal(evaluate(facts({ markers: aiven, viewer }), 16, { tables: ["orders"] }).warnings.length, 0);
    assert.equal(evaluate(facts({ markers: noMarkers, viewer }), 16, {}).warnings.length, 0);
  });
});

describe("preflight as a role with a partial view of pg_stat_activity (pure)", () => {
  const viewer = { name: "app admin", super: false, readAllStats: false };

  it("warns that the view is partial and lists hidden transactions with their address hidden, never as a local socket", () => {
    const r = evaluate(facts({ viewer, hiddenProcesses: 7, hiddenWriters: [{ pid: 11, user: "postgres" }, { pid: 12, user: null }] }), 16, {});
    assert.equal(r.ok, true);
    const w = r.warnings.find((x) => x.check === "stats_visibility")!;
    assert.equal(w.object, "app admin");
    assert.match(w.message, /role "app admin", which runs this preflight, is neither a superuser nor a member of pg_read_all_stats/);
    assert.match(w.message, /client address of 7 server processes of other roles/);
    assert.match(w.message, /2 of them hold a transaction ID, and creating a replication slot waits until they end: PID 11 \(user postgres, address hidden \(needs pg_read_all_stats\)\), PID 12 \(address hidden/);
    assert.ok(!w.message.includes("local socket"));
    assert.equal(w.fix.split(";")[0], 'GRANT pg_read_all_stats TO "app admin"');
  });

  it("lists at most five hidden transactions, and says nothing when the role sees everything", () => {
    const writers = Array.from({ length: 8 }, (_, i) => ({ pid: 100 + i, user: "u" }));
    const w = evaluate(facts({ viewer, hiddenProcesses: 9, hiddenWriters: writers }), 16, {}).warnings[0];
    assert.match(w.message, /PID 104 \(user u, address hidden \(needs pg_read_all_stats\)\) and 3 more/);
    assert.ok(!w.message.includes("PID 105"));
    for (const v of [{ ...viewer, readAllStats: true }, { ...viewer, super: true }]) {
      assert.deepEqual(evaluate(facts({ viewer: v, hiddenProcesses: 0 }), 16, {}).warnings, []);
    }
  });
});

describe("CLI (pure)", () => {
  it("has a command per operational task, each with its usage", () => {
    assert.deepEqual(Object.keys(commands), ["preflight", "status", "snapshot"]);
    assert.match(commands.preflight.usage, /--tables/);
    assert.match(commands.status.usage, /--connector/);
  });

  it("parses flags, switches and positionals", () => {
    assert.deepEqual(parseArgs(["postgres://x", "--tables", "a,b", "--role=r", "--json", "--", "--literal"], ["json"]), {
      positional: ["postgres://x", "--literal"],
      flags: { tables: "a,b", role: "r", json: true },
    });
    assert.throws(() => parseArgs(["--role"]), UsageError);
  });

  it("prints help and rejects unknown commands with exit code 2", async () => {
    const out: string[] = [];
    const io = { out: (t: string) => out.push(t), err: (t: string) => out.push(t), env: {} };
    assert.equal(await main([], io), 2);
    assert.match(out.join("\n"), /Usage: pulumi-postgres-cdc <command>[\s\S]*preflight +check that a PostgreSQL database is ready/);
    assert.equal(await main(["preflight", "--help"], io), 0);
    assert.equal(await main(["preflight", "mysql://u:topsecret@h/db"], io), 1);
    assert.match(out[out.length - 1], /preflight failed: connection: connectionString must start with postgres:\/\//);
    assert.ok(!out.join("\n").includes("topsecret"));
    assert.equal(await main(["preflight", "postgres://h/db", "--ssl-root-cert", "/nonexistent/ca.pem"], io), 2);
    assert.match(out[out.length - 1], /cannot read --ssl-root-cert file \/nonexistent\/ca.pem/);
  });
});
