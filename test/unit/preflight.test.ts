import { strict as assert } from "node:assert";
import { evaluate, formatReport } from "pulumi-postgres-cdc/dist/postgres/preflight.js";
import { commands, main, parseArgs, UsageError } from "pulumi-postgres-cdc/dist/cli/main.js";

type Facts = Parameters<typeof evaluate>[0];

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
    rdsExists: false,
    longestXactSeconds: null,
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
    const member = evaluate(facts({ rdsExists: true, role: { ...facts().role, replication: false, managed: ["rds_replication"] } }), 16, {});
    assert.deepEqual(member.problems, []);
    const missing = evaluate(facts({ rdsExists: true, walLevel: "replica", role: { ...facts().role, replication: false } }), 16, {});
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
    const r = evaluate(facts({ longestXactSeconds: 900, maxSlotWalKeepSize: "-1", role: { ...facts().role, super: true, replication: false } }), 12, {});
    assert.equal(r.ok, true);
    assert.deepEqual(r.warnings.map((w) => w.check).sort(), ["long_transaction", "max_slot_wal_keep_size", "superuser", "version"]);
    const text = formatReport(r, "dbz@h:5432/app");
    assert.match(text, /^Preflight of dbz@h:5432\/app \(PostgreSQL 16.4\) for role "dbz"/);
    assert.match(text, /OK: ready for CDC \(4 warnings\)\.$/);
  });

  it("reports a role that cannot log in or connect", () => {
    const r = evaluate(facts({ role: { ...facts().role, login: false, connect: false } }), 16, {});
    assert.deepEqual(r.problems.map((p) => p.check), ["login", "connect"]);
    assert.equal(r.problems[1].fix, 'GRANT CONNECT ON DATABASE "app" TO "dbz";');
  });
});

describe("CLI (pure)", () => {
  it("has a command per operational task, each with its usage", () => {
    assert.deepEqual(Object.keys(commands), ["preflight", "status"]);
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
