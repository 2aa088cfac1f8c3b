import { strict as assert } from "node:assert";
import type * as dynamic from "@pulumi/pulumi/dynamic";
import { alterStatements, identityValue } from "#dist/postgres/replica-identity.js";
import { providerStub } from "#dist/providers/stub.js";
import { UNKNOWN } from "#dist/validation/common.js";
import { hostedProvider } from "../support/dynamic-host";

const connection = { host: "db.example", port: 5432, database: "shop", user: "cdc", password: "pw-secret-1234", sslMode: "disable" };

/** Outputs as create would store them. */
function outs(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    connection,
    tables: ["public.a", "public.b"],
    identity: "full",
    lockTimeoutMs: 10000,
    identities: { "public.a": "full", "public.b": "full" },
    previous: { "public.a": "default", "public.b": "nothing" },
    database: "shop",
    ...extra,
  };
}

describe("ReplicaIdentity provider (unit)", () => {
  let p: dynamic.ResourceProvider;
  let text: string;

  before(async () => {
    ({ provider: p, text } = await hostedProvider(providerStub("replica-identity")));
  });


  it("check normalizes tables (bare = public, sorted, no duplicates) and fills defaults", async () => {
    const r = await p.check!({}, { connection, tables: ["b", "public.a", "public.b", "Sales.Order Items"], __provider: text });
    assert.equal(r.failures, undefined);
    assert.deepEqual(r.inputs?.tables, ["Sales.Order Items", "public.a", "public.b"]);
    assert.equal(r.inputs?.identity, "full");
    assert.equal(r.inputs?.lockTimeoutMs, 10000);
    assert.equal(r.inputs?.__provider, text);
  });

  it("check reports every problem before any SQL", async () => {
    const r = await p.check!({}, { tables: [".x", "public.", "y".repeat(64), 7], identity: "fullish", lockTimeoutMs: 0 });
    const reasons = (r.failures ?? []).map((f) => f.reason).join("\n");
    assert.match(reasons, /give either connection .* or connectionString/);
    assert.match(reasons, /"\.x" is not "schema\.table"/);
    assert.match(reasons, /"public\." is not "schema\.table"/);
    assert.match(reasons, /longer than 63 bytes/);
    assert.match(reasons, /tables\.3: a table must be given/);
    assert.match(reasons, /identity must be one of "full", "default", "nothing"/);
    assert.match(reasons, /lockTimeoutMs must be at least 1/);
    assert.ok(reasons.split("\n").every((l) => l.startsWith("ReplicaIdentity")));

    const empty = await p.check!({}, { connection, tables: [] });
    assert.match(empty.failures?.[0].reason ?? "", /at least one table/);
    const badUrl = await p.check!({}, { connectionString: "mysql://u:pw-secret-1234@h/db", tables: ["a"] });
    assert.equal(badUrl.failures?.[0].property, "connectionString");
    assert.match(badUrl.failures?.[0].reason ?? "", /must start with postgres:\/\//);
    assert.ok(!(badUrl.failures?.[0].reason ?? "").includes("pw-secret-1234"));
  });

  it("check and diff tolerate the unknown sentinel", async () => {
    const c = await p.check!({}, { connection: { ...connection, host: UNKNOWN }, tables: UNKNOWN, __provider: text });
    assert.equal(c.failures, undefined);
    assert.equal(c.inputs?.tables, UNKNOWN);

    const d1 = await p.diff!("id", outs(), { connection, tables: UNKNOWN, identity: "full", lockTimeoutMs: 10000 });
    assert.equal(d1.changes, true);
    assert.deepEqual(d1.replaces, []);
    const d2 = await p.diff!("id", outs(), { connection: { ...connection, database: UNKNOWN }, tables: ["public.a", "public.b"], identity: "full", lockTimeoutMs: 10000 });
    assert.equal(d2.changes, true);
    assert.deepEqual(d2.replaces, []);
    const d3 = await p.diff!("id", outs(), { connection, tables: ["public.a", "public.b"], identity: UNKNOWN, lockTimeoutMs: 10000 });
    assert.equal(d3.changes, true);
  });

  it("diff: no changes for the same inputs in another order; in place for tables, identity and credentials; replace only for another database", async () => {
    const same = { connection, tables: ["public.b", "public.a"], identity: "full", lockTimeoutMs: 10000, __provider: text };
    assert.equal((await p.diff!("id", { ...outs(), __provider: "old text" }, same)).changes, false);

    for (const news of [
      { ...same, tables: ["public.a"] },
      { ...same, identity: "default" },
      { ...same, lockTimeoutMs: 500 },
      { ...same, connection: { ...connection, password: "rotated-5678" } },
      { ...same, connection: undefined, connectionString: "postgres://cdc:pw@db.example:5432/shop" },
    ]) {
      const d = await p.diff!("id", outs(), news);
      assert.equal(d.changes, true, JSON.stringify(news));
      assert.deepEqual(d.replaces, [], JSON.stringify(news));
    }

    const other = await p.diff!("id", outs(), { ...same, connection: { ...connection, database: "other" } });
    assert.deepEqual(other.replaces, ["connection"]);
    assert.equal(other.deleteBeforeReplace, true);
    const otherHost = await p.diff!("id", outs(), { ...same, connection: undefined, connectionString: "postgres://cdc:pw@elsewhere:5432/shop" });
    assert.deepEqual(otherHost.replaces, ["connectionString"]);
  });

  it("diff sees drift that refresh recorded, and ignores tables refresh found gone", async () => {
    const news = { connection, tables: ["public.a", "public.b"], identity: "full", lockTimeoutMs: 10000 };
    const drifted = await p.diff!("id", outs({ identities: { "public.a": "default", "public.b": "full" } }), news);
    assert.equal(drifted.changes, true);
    assert.deepEqual(drifted.replaces, []);
    const gone = await p.diff!("id", outs({ identities: { "public.b": "full" } }), news);
    assert.equal(gone.changes, false);
  });
});

describe("ReplicaIdentity SQL (unit)", () => {
  it("builds one statement string with quoted identifiers only", () => {
    const sql = alterStatements(
      [
        { table: "public.x; drop table keep_me; --", identity: "full" },
        { table: 'We"ird.Order Items.v2', identity: "default" },
        { table: "public.t", identity: "nothing" },
        { table: "public.u", identity: 'index:idx "u"; drop' },
      ],
      2500,
    );
    assert.equal(
      sql,
      [
        "SET lock_timeout = 2500;",
        'ALTER TABLE "public"."x; drop table keep_me; --" REPLICA IDENTITY FULL;',
        'ALTER TABLE "We""ird"."Order Items.v2" REPLICA IDENTITY DEFAULT;',
        'ALTER TABLE "public"."t" REPLICA IDENTITY NOTHING;',
        'ALTER TABLE "public"."u" REPLICA IDENTITY USING INDEX "idx ""u""; drop";',
      ].join("\n"),
    );
    assert.throws(() => alterStatements([], 1.5), /lockTimeoutMs/);
    assert.throws(() => alterStatements([], Number.NaN), /lockTimeoutMs/);
  });

  it("maps relreplident to identities", () => {
    assert.equal(identityValue("d", null), "default");
    assert.equal(identityValue("n", null), "nothing");
    assert.equal(identityValue("f", null), "full");
    assert.equal(identityValue("i", "Idx A"), "index:Idx A");
    assert.equal(identityValue("i", null), "nothing");
  });
});
