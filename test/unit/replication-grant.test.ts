import { strict as assert } from "node:assert";
import fc from "fast-check";
import * as pulumi from "@pulumi/pulumi";
import { providerStub } from "#dist/providers/stub.js";
import { grantKey, grantStatements, planGrants, type Catalog, type Grant, type GrantRequest } from "#dist/postgres/grants/index.js";
import { ReplicationGrant } from "#dist/resources/replication-grant.js";
import { UNKNOWN } from "#dist/validation/common.js";
import type * as dynamic from "@pulumi/pulumi/dynamic";
import { hostedProvider } from "../support/dynamic-host";

const conn = { host: "db.example", database: "app", user: "admin", password: "s3cret-pass" };

function catalog(over: Partial<Catalog> = {}): Catalog {
  return {
    role: { super: false, replication: false },
    me: { name: "admin", super: true, createrole: true, replication: true, adminOfRole: true, managedAdmin: null },
    rds: null,
    database: { name: "app", direct: false, effective: false, canGrant: true },
    tables: [],
    schemaTables: [],
    schemas: [],
    ...over,
  };
}

const tableRow = (schema: string, table: string, direct = false) => ({ schema, table, exists: true, direct, effective: direct, canGrant: true });
const schemaRow = (schema: string, direct = false, defaultDirect = false) => ({ schema, exists: true, direct, effective: direct, canGrant: true, defaultDirect });
const req = (over: Partial<GrantRequest> = {}): GrantRequest => ({ role: "dbz", replication: true, tables: [], schemas: [], createOnDatabase: false, ...over });

describe("ReplicationGrant planning (pure)", () => {
  it("grants only what the role lacks and records what it had as kept", () => {
    const cat = catalog({
      role: { super: false, replication: true },
      tables: [tableRow("public", "orders", true), tableRow("public", "customers")],
      schemas: [schemaRow("public")],
    });
    const plan = planGrants("dbz", req({ tables: ["public.customers", "public.orders"] }), { granted: [], kept: [] }, cat, 17);
    assert.deepEqual(plan.problems, []);
    assert.deepEqual(plan.toGrant, [
      { privilege: "USAGE", schema: "public" },
      { privilege: "SELECT", schema: "public", table: "customers" },
    ]);
    assert.deepEqual(plan.record.kept, [{ privilege: "REPLICATION" }, { privilege: "SELECT", schema: "public", table: "orders" }]);
    assert.equal(plan.record.grantor, "admin");
  });

  it("revokes on delete only what it granted, plus SELECT that its future-table default gave later tables", () => {
    const prev = {
      granted: [
        { privilege: "SELECT" as const, schema: "inv", table: "items" },
        { privilege: "DEFAULT SELECT" as const, schema: "inv", grantor: "admin" },
      ],
      kept: [{ privilege: "SELECT" as const, schema: "inv", table: "old" }],
      grantor: "admin",
    };
    const cat = catalog({
      tables: [tableRow("inv", "items", true)],
      schemaTables: [tableRow("inv", "items", true), tableRow("inv", "old", true), tableRow("inv", "later", true)],
      schemas: [schemaRow("inv", false, true)],
    });
    const plan = planGrants("dbz", null, prev, cat, 15);
    assert.deepEqual(plan.toGrant, []);
    assert.deepEqual(plan.toRevoke, [
      { privilege: "SELECT", schema: "inv", table: "items" },
      { privilege: "DEFAULT SELECT", schema: "inv", grantor: "admin" },
      { privilege: "SELECT", schema: "inv", table: "later" },
    ]);
  });

  it("uses rds_replication where it exists, and explains when it cannot be granted", () => {
    const cat = catalog({
      me: { name: "master", super: false, createrole: true, replication: false, adminOfRole: false, managedAdmin: null },
      rds: { direct: false, effective: false, canGrant: false },
    });
    const plan = planGrants("dbz", req(), { granted: [], kept: [] }, cat, 16);
    assert.equal(plan.replicationVia, "rds_replication");
    assert.match(plan.problems.join("\n"), /no ADMIN OPTION on rds_replication. On RDS\/Aurora run as the master user: GRANT rds_replication TO "dbz"/);
  });

  it("explains the PostgreSQL 15 and 16 rules for REPLICATION", () => {
    const me = { name: "app", super: false, createrole: true, replication: false, adminOfRole: true, managedAdmin: null };
    const p15 = planGrants("dbz", req(), { granted: [], kept: [] }, catalog({ me }), 15);
    assert.match(p15.problems[0], /on PostgreSQL 15 only a superuser may change the REPLICATION attribute/);
    const p16 = planGrants("dbz", req(), { granted: [], kept: [] }, catalog({ me }), 16);
    assert.match(p16.problems[0], /needs CREATEROLE, ADMIN OPTION on role "dbz" and the REPLICATION attribute itself \(user "app" has CREATEROLE, ADMIN OPTION on "dbz", no REPLICATION\)/);
    const ok16 = planGrants("dbz", req(), { granted: [], kept: [] }, catalog({ me: { ...me, replication: true } }), 16);
    assert.deepEqual(ok16.problems, []);
  });

  it("builds one statement per kind, identifiers quoted", () => {
    const sql = grantStatements(
      "dbz",
      [
        { privilege: "SELECT", schema: "public", table: 'x"; drop table t; --' },
        { privilege: "SELECT", schema: "s", table: "Order Items" },
        { privilege: "USAGE", schema: "public" },
        { privilege: "USAGE", schema: "s" },
        { privilege: "DEFAULT SELECT", schema: "s", grantor: "admin" },
        { privilege: "REPLICATION" },
      ],
      false,
    );
    assert.deepEqual(sql, [
      'ALTER ROLE "dbz" REPLICATION',
      'GRANT USAGE ON SCHEMA "public", "s" TO "dbz"',
      'GRANT SELECT ON TABLE "public"."x""; drop table t; --", "s"."Order Items" TO "dbz"',
      'ALTER DEFAULT PRIVILEGES FOR ROLE "admin" IN SCHEMA "s" GRANT SELECT ON TABLES TO "dbz"',
    ]);
  });
});

describe("ReplicationGrant provider check and diff (hosted)", () => {
  let provider: dynamic.ResourceProvider;
  let text: string;
  before(async () => {
    ({ provider, text } = await hostedProvider(providerStub("replication-grant")));
  });

  it("normalizes, sorts and de-duplicates tables and fills defaults", async () => {
    const r = await provider.check!({}, { __provider: text, connection: conn, role: "dbz", tables: ["orders", "public.orders", "s.Order Items"] });
    assert.equal(r.failures, undefined);
    assert.deepEqual(r.inputs?.tables, ["public.orders", "s.Order Items"]);
    assert.equal(r.inputs?.replication, true);
    assert.equal(r.inputs?.createOnDatabase, false);
    assert.deepEqual(r.inputs?.schemas, []);
    assert.equal(r.inputs?.__provider, text);
  });

  it("reports every invalid input, and connection problems, without the password", async () => {
    const r = await provider.check!({}, { __provider: text, connection: conn, role: "", tables: [".x", "a".repeat(64)], schemas: [3] });
    const reasons = (r.failures ?? []).map((f) => f.reason).join("\n");
    assert.match(reasons, /role must not be empty/);
    assert.match(reasons, /neither part may be empty/);
    assert.match(reasons, /longer than 63 bytes/);
    assert.match(reasons, /schemas/);
    const c = await provider.check!({}, { __provider: text, connection: { ...conn, sslMode: "verify-full" }, role: "dbz" });
    assert.match(c.failures?.[0].reason ?? "", /verify-ca and verify-full need sslRootCert/);
    assert.doesNotMatch(JSON.stringify(c), /s3cret-pass/);
    const none = await provider.check!({}, { __provider: text, role: "dbz" });
    assert.match(none.failures?.[0].reason ?? "", /give either connection .* or connectionString/);
  });

  it("passes unknown values through during preview", async () => {
    const r = await provider.check!({}, { __provider: text, connection: UNKNOWN, role: "dbz", tables: UNKNOWN });
    assert.equal(r.failures, undefined);
    assert.equal(r.inputs?.tables, UNKNOWN);
    const d = await provider.diff!("app/dbz", olds(), { connection: UNKNOWN, role: "dbz", tables: UNKNOWN, __provider: text });
    assert.equal(d.changes, true);
    assert.deepEqual(d.replaces, []);
  });

  function olds(over: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      connection: conn,
      role: "dbz",
      database: "app",
      replication: true,
      tables: ["public.orders"],
      schemas: [],
      createOnDatabase: false,
      privileges: ["REPLICATION", "USAGE ON SCHEMA public", "SELECT ON public.orders"],
      granted: [],
      kept: [],
      grantor: "admin",
      replicationVia: "attribute",
      __provider: "old provider text",
      ...over,
    };
  }
  const news = (over: Record<string, unknown> = {}) => ({ connection: conn, role: "dbz", replication: true, tables: ["public.orders"], schemas: [], createOnDatabase: false, __provider: text, ...over });

  it("is quiet when nothing changed (the provider text is ignored)", async () => {
    const d = await provider.diff!("app/dbz", olds(), news());
    assert.equal(d.changes, false);
  });

  it("updates tables, schemas, replication and createOnDatabase in place", async () => {
    for (const n of [news({ tables: ["public.a"] }), news({ schemas: ["s"] }), news({ replication: false }), news({ createOnDatabase: true })]) {
      const d = await provider.diff!("app/dbz", olds(), n);
      assert.equal(d.changes, true);
      assert.deepEqual(d.replaces, []);
    }
  });

  it("replaces on a role or database change, deleting first", async () => {
    const d1 = await provider.diff!("app/dbz", olds(), news({ role: "other" }));
    assert.deepEqual(d1.replaces, ["role"]);
    assert.equal(d1.deleteBeforeReplace, true);
    const d2 = await provider.diff!("app/dbz", olds(), news({ connection: { ...conn, database: "other" } }));
    assert.deepEqual(d2.replaces, ["connection"]);
    const d3 = await provider.diff!("app/dbz", olds(), news({ connection: undefined, connectionString: "postgres://admin:pw@db.example/other" }));
    assert.deepEqual(d3.replaces, ["connectionString"]);
  });

  it("reports drift read by refresh as a change, so the next up grants again", async () => {
    const d = await provider.diff!("app/dbz", olds({ privileges: ["USAGE ON SCHEMA public", "SELECT ON public.orders"] }), news());
    assert.equal(d.changes, true);
    assert.deepEqual(d.replaces, []);
  });
});

describe("ReplicationGrant resource", () => {
  it("has its type token, seeds every output, and stores credentials as secrets", async () => {
    const created: Array<{ type: string; inputs: Record<string, unknown> }> = [];
    await pulumi.runtime.setMocks(
      {
        newResource: (args) => {
          created.push({ type: args.type, inputs: args.inputs });
          return { id: "app/dbz", state: { ...args.inputs, database: "app", privileges: ["REPLICATION"] } };
        },
        call: () => ({}),
      },
      "project",
      "stack",
      false,
    );
    let seen: pulumi.ResourceTransformationArgs | undefined;
    const g = new ReplicationGrant("g", { connection: conn, role: "dbz", tables: ["orders"] }, {
      transformations: [(a) => {
        seen = a;
        return undefined;
      }],
    });
    const privileges = await new Promise((resolve) => g.privileges.apply(resolve));
    assert.deepEqual(privileges, ["REPLICATION"]);
    assert.equal(created[0].type, "pulumi-nodejs:dynamic/postgres-cdc:ReplicationGrant");
    for (const k of ["role", "database", "privileges", "replication", "tables", "schemas", "createOnDatabase", "replicationVia"]) {
      assert.ok(pulumi.Output.isInstance((g as unknown as Record<string, unknown>)[k]), `output ${k}`);
    }
    assert.ok(seen);
    const opts = seen.opts as pulumi.CustomResourceOptions;
    assert.deepEqual(opts.additionalSecretOutputs, ["connection", "connectionString"]);
    assert.equal(opts.deleteBeforeReplace, true);
    assert.equal(await pulumi.isSecret(seen.props.connection as pulumi.Output<unknown>), true);
  });
});

describe("ReplicationGrant planning: properties (fast-check)", () => {
  const TABLES = ["public.a", "public.b", "public.c", "s1.d", "s1.e"];
  const split = (t: string) => ({ schema: t.split(".")[0]!, table: t.split(".")[1]! });
  /** The catalog for a role that holds `direct` (table keys and schema names) directly. */
  const catalogWith = (direct: Set<string>): Catalog =>
    catalog({
      role: { super: false, replication: direct.has("REPLICATION") },
      tables: TABLES.map((t) => tableRow(split(t).schema, split(t).table, direct.has(t))),
      schemaTables: TABLES.map((t) => tableRow(split(t).schema, split(t).table, direct.has(t))),
      schemas: ["public", "s1"].map((s) => schemaRow(s, direct.has(s))),
    });
  /** What a grant adds to the role's direct privileges. */
  const held = (g: Grant) => (g.privilege === "SELECT" ? `${g.schema}.${g.table}` : g.privilege === "USAGE" ? g.schema! : g.privilege === "REPLICATION" ? "REPLICATION" : grantKey(g));
  const apply = (direct: Set<string>, plan: { toGrant: Grant[]; toRevoke: Grant[] }) => {
    const next = new Set(direct);
    for (const g of plan.toGrant) next.add(held(g));
    for (const g of plan.toRevoke) next.delete(held(g));
    return next;
  };
  const had = fc.subarray([...TABLES, "public", "s1", "REPLICATION"]);
  const wanted = fc.subarray(TABLES, { minLength: 1 });

  it("never revokes what the role had before, over any sequence of table lists, and delete revokes only what it granted", () => {
    fc.assert(
      fc.property(had, wanted, wanted, (before, first, second) => {
        const original = new Set(before);
        let direct = new Set(original);
        let record = { granted: [] as Grant[], kept: [] as Grant[] } as Parameters<typeof planGrants>[2];
        for (const tables of [first, second]) {
          const plan = planGrants("dbz", req({ tables }), record, catalogWith(direct), 17);
          assert.deepEqual(plan.problems, []);
          for (const g of plan.toRevoke) assert.ok(!original.has(held(g)), `revoked ${grantKey(g)}, which the role had before`);
          for (const g of plan.toGrant) assert.ok(!direct.has(held(g)), `granted ${grantKey(g)} again`);
          direct = apply(direct, plan);
          for (const t of tables) assert.ok(direct.has(t), `${t} is held after the plan`);
          record = plan.record;
        }
        const grantedKeys = new Set(record.granted.map(grantKey));
        const del = planGrants("dbz", null, record, catalogWith(direct), 17);
        for (const g of del.toRevoke) {
          assert.ok(grantedKeys.has(grantKey(g)), `delete revoked ${grantKey(g)}, which this resource did not grant`);
          assert.ok(!original.has(held(g)), `delete revoked ${grantKey(g)}, which the role had before`);
        }
        const after = apply(direct, del);
        for (const k of original) assert.ok(after.has(k), `${k} survived the delete`);
      }),
      { seed: 20261207, numRuns: 300 },
    );
  });
});
