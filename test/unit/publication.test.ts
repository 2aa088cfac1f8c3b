import { strict as assert } from "node:assert";
import * as fc from "fast-check";
import { UNKNOWN } from "#dist/validation/common.js";
import { expressionProblem } from "#dist/validation/sql-expression.js";
import { normalizePublicationTables } from "#dist/validation/publication.js";
import { diffPublication, provider } from "#dist/providers/publication.js";
import {
  alterPublicationSql,
  createPublicationSql,
  livePublicationFromRow,
  publicationDifferences,
  quotedTable,
  readPublicationSql,
  type PublicationSpec,
} from "#dist/postgres/publications.js";

const connection = { host: "db.example", port: 5432, database: "app", user: "cdc", password: "pw-123456", sslMode: "prefer" };

async function checked(inputs: Record<string, unknown>): Promise<Record<string, unknown>> {
  const r = await provider.check({}, { ...inputs, __provider: "text" });
  assert.equal(r.failures, undefined, JSON.stringify(r.failures));
  return r.inputs as Record<string, unknown>;
}

/** Outputs as create would store them for a set of checked inputs. */
function outsFor(inputs: Record<string, unknown>): Record<string, unknown> {
  const tables = inputs.tables as Array<{ name: string }>;
  return {
    ...inputs,
    database: "app",
    tables: tables.map((t) => t.name),
    tableDefinitions: tables,
    publishedTables: tables.map((t) => t.name),
    __provider: "text",
  };
}

describe("Publication validation", () => {
  const failures = async (inputs: Record<string, unknown>) => {
    const r = await provider.check({}, { connection, name: "pub", ...inputs });
    return (r.failures ?? []).map((f) => `${f.property} | ${f.reason}`);
  };

  it("normalizes tables, schemas and operations", async () => {
    const c = await checked({ connection, name: "pub", tables: ["shop.b", "a", { name: "public.Order Items", columns: ["z", "y"] }], operations: ["delete", "insert"] });
    assert.deepEqual(c.tables, [{ name: "public.Order Items", columns: ["y", "z"] }, { name: "public.a" }, { name: "shop.b" }]);
    assert.deepEqual(c.schemas, []);
    assert.deepEqual(c.operations, ["insert", "delete"]);
    assert.equal(c.allTables, false);
    assert.equal(c.publishViaPartitionRoot, false);
    assert.deepEqual(c.connection, connection);
    assert.equal(c.__provider, "text");
  });

  it("names resource, field and fix in every message", async () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ allTables: true, tables: ["a"] }, /^allTables \| Publication "pub": allTables: .*remove them or set allTables to false/],
      [{ allTables: true, schemas: ["s"] }, /^allTables \| .*tables and schemas must be left out/],
      [{}, /^tables \| Publication "pub": tables: a publication needs something to publish: give at least one table/],
      [{ tables: [] }, /needs something to publish/],
      [{ tables: ["a"], operations: ["insert", "merge"] }, /^operations \| .*operations\.1: unknown operation "merge"; allowed: insert, update, delete, truncate/],
      [{ tables: ["a"], operations: [] }, /operations must not be empty/],
      [{ tables: ["a", "public.a"] }, /table public\.a is listed twice/],
      [{ tables: [`s.${"x".repeat(64)}`] }, /table name "x+" is longer than 63 bytes/],
      [{ tables: [".a"] }, /is not "schema\.table"/],
      [{ tables: [{ name: "a", columns: ["c", "c"] }] }, /column "c" is listed twice/],
      [{ tables: [{ name: "a", where: "x = 1; drop table t" }] }, /row filter .* contains ';'/],
      [{ tables: [{ name: "a", where: "x = 1 -- y" }] }, /contains a comment/],
      [{ tables: [{ name: "a", wher: "x" }] }, /unknown field "wher" in a table entry; the fields are name, columns and where/],
      [{ tables: [5] }, /each entry of tables must be/],
      [{ tables: ["a"], name: "é".repeat(32) }, /^name \| .*name is longer than 63 bytes/],
      [{ tables: ["a"], connection: undefined }, /^connection \| .*give either connection .* or connectionString/],
      [{ tables: ["a"], connection: undefined, connectionString: "mysql://x" }, /^connectionString \| .*not a valid postgres:\/\/ URL/],
      [{ tables: ["a"], connection: { ...connection, sslMode: "verify-full" } }, /sslRootCert/],
    ];
    for (const [inputs, re] of cases) {
      const f = await failures(inputs);
      assert.ok(f.length, `no failure for ${JSON.stringify(inputs)}`);
      assert.ok(f.some((l) => re.test(l)), `${JSON.stringify(inputs)}:\n${f.join("\n")}`);
    }
  });

  it("passes unknown values through during preview", async () => {
    const news = { connection, name: "pub", tables: UNKNOWN, __provider: "text" };
    const r = await provider.check({}, news);
    assert.equal(r.failures, undefined);
    assert.deepEqual(r.inputs, news);
    const r2 = await provider.check({}, { connection: { ...connection, host: UNKNOWN }, name: "pub", tables: ["a", UNKNOWN], __provider: "text" });
    assert.equal(r2.failures, undefined);
  });

  it("never throws on arbitrary input (property)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.anything(), fc.anything(), async (tables, operations) => {
        const r = await provider.check({}, { connection, name: "pub", tables, operations, __provider: "t" });
        assert.ok(r.inputs || (r.failures && r.failures.length));
      }),
      { numRuns: 200 },
    );
  });
});

describe("Publication diff", () => {
  it("updates in place for tables, schemas, operations, publishViaPartitionRoot and connection; replaces for name, database, allTables", async () => {
    const olds = outsFor(await checked({ connection, name: "pub", tables: ["a", "b"] }));
    const cases: Array<[Record<string, unknown>, boolean, string[]]> = [
      [{ tables: ["b", "public.a"] }, false, []],
      [{ tables: ["a", "b"], operations: ["truncate", "delete", "update", "insert"] }, false, []],
      [{ tables: ["a"] }, true, []],
      [{ tables: ["a", { name: "b", where: "x > 1" }] }, true, []],
      [{ tables: ["a", { name: "b", columns: ["x"] }] }, true, []],
      [{ tables: ["a", "b"], operations: ["insert"] }, true, []],
      [{ tables: ["a", "b"], publishViaPartitionRoot: true }, true, []],
      [{ tables: ["a", "b"], schemas: ["s"] }, true, []],
      [{ tables: ["a", "b"], connection: { ...connection, password: "other-pw" } }, true, []],
      [{ tables: ["a", "b"], name: "pub2" }, true, ["name"]],
      [{ tables: ["a", "b"], connection: { ...connection, database: "other" } }, true, ["database"]],
      [{ allTables: true }, true, ["allTables"]],
    ];
    for (const [change, changes, replaces] of cases) {
      const news = await checked({ connection, name: "pub", ...change });
      const d = diffPublication(olds, news);
      assert.equal(d.changes, changes, JSON.stringify(change));
      assert.deepEqual(d.replaces, replaces, JSON.stringify(change));
      assert.equal(d.deleteBeforeReplace, true);
    }
  });

  it("ignores live-only outputs and __provider", async () => {
    const olds = { ...outsFor(await checked({ connection, name: "pub", tables: ["a"] })), publishedTables: ["public.a", "public.zzz"], __provider: "old text" };
    const d = diffPublication(olds, await checked({ connection, name: "pub", tables: ["a"] }));
    assert.equal(d.changes, false);
  });

  it("tolerates unknown values (preview): unknown tables update, unknown name or connection replace", async () => {
    const olds = outsFor(await checked({ connection, name: "pub", tables: ["a"] }));
    let d = diffPublication(olds, { connection, name: "pub", tables: UNKNOWN });
    assert.deepEqual([d.changes, d.replaces], [true, []]);
    d = diffPublication(olds, { connection, name: "pub", tables: ["a", UNKNOWN] });
    assert.deepEqual([d.changes, d.replaces], [true, []]);
    d = diffPublication(olds, { connection, name: UNKNOWN, tables: ["a"] });
    assert.deepEqual([d.changes, d.replaces], [true, ["name"]]);
    d = diffPublication(olds, { connection: { ...connection, database: UNKNOWN }, name: "pub", tables: ["a"] });
    assert.deepEqual([d.changes, d.replaces], [true, ["database"]]);
    // unchecked (raw) inputs that are otherwise equal do not differ
    d = diffPublication(olds, { connection: { ...connection, port: undefined, sslMode: undefined }, name: "pub", tables: ["a"], operations: undefined });
    assert.equal(d.changes, false);
  });

  it("sees no change for any reordering of the same tables and operations (property)", async () => {
    const names = fc.uniqueArray(fc.stringMatching(/^[a-z][a-z0-9_ ]{0,10}$/), { minLength: 1, maxLength: 8 });
    await fc.assert(
      fc.asyncProperty(names, fc.subarray(["insert", "update", "delete", "truncate"], { minLength: 1 }), fc.nat(), async (tables, ops, seed) => {
        const olds = outsFor(await checked({ connection, name: "pub", tables, operations: ops }));
        const shuffled = [...tables].sort(() => (seed % 3) - 1);
        const reordered = [...ops].reverse();
        const d = diffPublication(olds, await checked({ connection, name: "pub", tables: shuffled, operations: reordered }));
        assert.equal(d.changes, false);
      }),
      { numRuns: 100 },
    );
  });
});

describe("Publication SQL", () => {
  const spec = (over: Partial<PublicationSpec>): PublicationSpec => ({
    name: "pub",
    tables: [],
    schemas: [],
    allTables: false,
    operations: ["insert", "update", "delete", "truncate"],
    publishViaPartitionRoot: false,
    ...over,
  });

  it("builds CREATE with quoted names, column lists, row filters, schemas and options", () => {
    assert.equal(
      createPublicationSql(spec({ tables: normalizePublicationTables([{ name: "public.Order Items" }, { name: "s.t", columns: ["b", "a"], where: "a > 1" }]), schemas: ["Shop"] })),
      `CREATE PUBLICATION "pub" FOR TABLE "public"."Order Items", "s"."t" ("a", "b") WHERE (a > 1), TABLES IN SCHEMA "Shop" WITH (publish = 'insert, update, delete, truncate', publish_via_partition_root = false)`,
    );
    assert.equal(
      createPublicationSql(spec({ allTables: true, operations: ["insert"], publishViaPartitionRoot: true })),
      `CREATE PUBLICATION "pub" FOR ALL TABLES WITH (publish = 'insert', publish_via_partition_root = true)`,
    );
    assert.equal(createPublicationSql(spec({ schemas: ["s"] })).includes("FOR TABLES IN SCHEMA \"s\""), true);
    assert.throws(() => createPublicationSql(spec({ tables: [{ name: "public.a" }], operations: ["insert', x" as "insert"] })), /unknown publication operation/);
  });

  it("builds ALTER ... SET for tables and options; ALL TABLES only sets options", () => {
    assert.deepEqual(alterPublicationSql(spec({ tables: [{ name: "public.a" }] })), [
      `ALTER PUBLICATION "pub" SET TABLE "public"."a"`,
      `ALTER PUBLICATION "pub" SET (publish = 'insert, update, delete, truncate', publish_via_partition_root = false)`,
    ]);
    assert.deepEqual(alterPublicationSql(spec({ allTables: true })), [
      `ALTER PUBLICATION "pub" SET (publish = 'insert, update, delete, truncate', publish_via_partition_root = false)`,
    ]);
  });

  it("reads with one version-aware catalog query", () => {
    assert.doesNotMatch(readPublicationSql(13), /prqual|prattrs|pg_publication_namespace/);
    assert.match(readPublicationSql(15), /prqual/);
    assert.match(readPublicationSql(15), /pg_publication_namespace/);
  });

  it("quotes any raw table name so it reads back as the same name (property)", () => {
    const part = fc.string({ minLength: 1, maxLength: 20 }).filter((s) => !s.includes("\u0000") && !s.includes("."));
    fc.assert(
      fc.property(part, fc.string({ minLength: 1, maxLength: 20 }).filter((s) => !s.includes("\u0000")), (schema, table) => {
        const q = quotedTable(`${schema}.${table}`);
        const m = /^"((?:[^"]|"")*)"\."((?:[^"]|"")*)"$/.exec(q);
        assert.ok(m, q);
        assert.equal(m[1].replace(/""/g, '"'), schema);
        assert.equal(m[2].replace(/""/g, '"'), table);
      }),
      { numRuns: 300 },
    );
  });

  it("names every difference between a wanted and an existing publication", () => {
    const live = livePublicationFromRow({
      oid: "1",
      name: "pub",
      database: "app",
      all_tables: false,
      ins: true,
      upd: false,
      del: false,
      trunc: false,
      via_root: true,
      tables: [
        { schema: "public", table: "a", columns: ["y", "x"], rowFilter: "(x > 1)" },
        { schema: "public", table: "c", columns: null, rowFilter: null },
      ],
      schemas: ["s"],
      published: [["public", "a"]],
    });
    assert.deepEqual(live.tables[0], { name: "public.a", columns: ["x", "y"], rowFilter: "(x > 1)" });
    const wanted = spec({ tables: [{ name: "public.a", columns: ["x"], where: "x > 2" }, { name: "public.b" }] });
    const d = publicationDifferences(wanted, live, new Map([["public.a", "(x > 2)"]]));
    assert.deepEqual(d, [
      "operations: existing insert, wanted insert, update, delete, truncate",
      "publishViaPartitionRoot: existing true, wanted false",
      "tables missing from the existing publication: public.b",
      "tables in the existing publication but not wanted: public.c",
      "columns of public.a: existing x, y, wanted x",
      "row filter of public.a: existing (x > 1), wanted (x > 2)",
      "schemas: existing s, wanted (none)",
    ]);
    const same = spec({ tables: [{ name: "public.a", columns: ["y", "x"].sort(), where: "x > 1" }, { name: "public.c" }], schemas: ["s"], operations: ["insert"], publishViaPartitionRoot: true });
    assert.deepEqual(publicationDifferences(same, live), []);
  });
});

describe("row filter expressions", () => {
  it("accepts ordinary expressions, quotes included", () => {
    for (const ok of ["status <> 'draft'", "a > 1 AND (b = 'x;y' OR c IS NULL)", `"we;ird" = 1`, "note = E'it\\'s; fine'", "x = $$a;b)$$", "a - -1 > 0", "f(a, (b))"]) {
      assert.equal(expressionProblem(ok), undefined, ok);
    }
  });

  it("rejects what could end the expression early", () => {
    for (const bad of ["", "a); drop table t; --", "a;", "a -- c", "a /* c */", "(a", "a)", "'open", '"open', "$$open", "x = E'\\'"]) {
      assert.notEqual(expressionProblem(bad), undefined, bad);
    }
  });

  it("once accepted, no suffix can break out of the parentheses (property)", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (s) => {
        if (expressionProblem(s) !== undefined) return;
        assert.notEqual(expressionProblem(`${s})`), undefined);
        assert.notEqual(expressionProblem(`${s};`), undefined);
        assert.notEqual(expressionProblem(`${s}--`), undefined);
        assert.notEqual(expressionProblem(`(${s}`), undefined);
      }),
      { numRuns: 2000 },
    );
  });
});
