/**
 * Property-based tests over hostile identifiers against real PostgreSQL.
 *
 * Every generated case drives a provider through the serialized stub (as
 * Pulumi's host runs it) and must end in exactly one of:
 * - rejected: `check` fails before any connection is opened, with a reason
 *   that names the field and carries no stack trace; `create` called without
 *   `check` refuses the same way;
 * - refused: the name is valid but denotes no object that exists (PostgreSQL
 *   could not create an object of that name, e.g. a schema starting with
 *   "pg_", or a dot in a schema name makes "schema.table" point elsewhere):
 *   create fails with a message naming the object, and changes nothing;
 * - exact: the object is created with exactly that name (read back from the
 *   catalogs) and deleted again cleanly.
 * In every case a catalog snapshot taken before and after is identical, and
 * the sentinel table keep_me still holds its row.
 *
 * FUZZ_SEED overrides the fixed seed; FUZZ_RUNS scales the number of runs.
 */
import { strict as assert } from "node:assert";
import fc from "fast-check";
import type { Client } from "pg";
import type * as dynamic from "@pulumi/pulumi/dynamic";
import { providerStub } from "#dist/providers/stub.js";
import { postgresStats } from "#dist/postgres/connection.js";
import { assertSameCatalog, catalogSnapshot } from "../support/catalog-snapshot";
import { HostedResource, hostedProvider } from "../support/dynamic-host";
import { fuzzRuns, fuzzSeed, hostileName, isPgIdentifier, isSlotName, show, slotCandidate } from "../support/hostile-names";
import { pgMajors, sharedPostgres, uniqueName, type PgServer } from "../support/postgres";

type Inputs = Record<string, unknown>;
type Outcome = "rejected" | "refused" | "exact";

const SEED = fuzzSeed();
/** Runs per property (8 properties): 40 by default, so 320 database cases per major (about 20 s). */
const RUNS = fuzzRuns(40);

const STACK = /\n\s+at\s/;

/** Quotes an identifier with the driver's escaping. */
function qi(name: string): string {
  const { escapeIdentifier } = require("pg") as typeof import("pg");
  return escapeIdentifier(name);
}

/** "schema.table" at the first dot, as the library reads it. */
function splitFirstDot(input: string): { schema: string; table: string } {
  const dot = input.indexOf(".");
  return dot < 0 ? { schema: "public", table: input } : { schema: input.slice(0, dot), table: input.slice(dot + 1) };
}

/** Whether a table input passes the library's syntactic rules (both parts 1..63 bytes, no NUL). */
function tableInputValid(input: string): boolean {
  if (input.includes("\u0000")) return false;
  const p = splitFirstDot(input);
  return p.schema.length > 0 && p.table.length > 0 && isPgIdentifier(p.schema) && isPgIdentifier(p.table);
}

/** A generated table: its real schema and name, and how the user writes it. */
interface TableCase {
  schema: string;
  table: string;
  input: string;
}

/** Names every run tries first: quoting, comments, reserved words, the 63/64-byte boundary, NUL, blanks. */
const NAME_EXAMPLES = ["Order Items", '"group"', "select", "x; drop table keep_me; --", "a".repeat(63), "a".repeat(64), "a".repeat(62) + "é", "é".repeat(31) + "a", "", "   ", "a\u0000b", "😀\u202e"];

/** Tables every run tries first: exact odd names, a reserved schema prefix and a dotted schema (refused), bad parts (rejected). */
const TABLE_EXAMPLES: TableCase[] = [
  { schema: "Sales", table: "Order Items", input: "Sales.Order Items" },
  { schema: "public", table: "a.b", input: "public.a.b" },
  { schema: "public", table: "x'; --", input: "x'; --" },
  { schema: "pg_fuzz", table: "t", input: "pg_fuzz.t" },
  { schema: "a.b", table: "c", input: "a.b.c" },
  { schema: "public", table: "a".repeat(62) + "é", input: "public." + "a".repeat(62) + "é" },
  { schema: "", table: "t", input: ".t" },
];

const tableCase: fc.Arbitrary<TableCase> = fc
  .record({
    schema: fc.oneof({ weight: 2, arbitrary: fc.constant("public") }, { weight: 3, arbitrary: hostileName }),
    table: hostileName,
    bare: fc.boolean(),
  })
  .map(({ schema, table, bare }) => ({ schema, table, input: bare && schema === "public" ? table : `${schema}.${table}` }));

for (const major of pgMajors()) {
  describe(`Hostile identifiers on PostgreSQL ${major} (fast-check, seed ${SEED}) @pg`, function () {
    this.timeout(300000);
    let pg: PgServer;
    let db: string;
    let client: Client;
    const counts = new Map<string, Record<Outcome, number>>();
    let started = Date.now();

    async function q<R extends Record<string, unknown> = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<R[]> {
      return (await client.query<R>(sql, params)).rows;
    }

    async function resource(file: string): Promise<HostedResource<Inputs>> {
      const { provider, text } = await hostedProvider(providerStub(file));
      return new HostedResource<Inputs>(provider, text);
    }

    function count(property: string, outcome: Outcome): void {
      const c = counts.get(property) ?? { rejected: 0, refused: 0, exact: 0 };
      c[outcome]++;
      counts.set(property, c);
    }

    async function tableExists(schema: string, table: string): Promise<boolean> {
      const rows = await q(
        `SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2`,
        [schema, table],
      );
      return rows.length > 0;
    }

    async function schemaExists(schema: string): Promise<boolean> {
      return (await q(`SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1`, [schema])).length > 0;
    }

    /** Runs SQL, returning whether it worked (names PostgreSQL cannot hold make it fail). */
    async function tryExec(sql: string): Promise<boolean> {
      try {
        await client.query(sql);
        return true;
      } catch {
        return false;
      }
    }

    /**
     * Creates `schema`.`table` with exactly those names when PostgreSQL allows it.
     * Returns whether the table exists now, and the teardown. Skips (fc.pre) cases
     * whose names collide with objects that exist already.
     */
    async function setupTable(c: TableCase): Promise<{ created: boolean; teardown: () => Promise<void> }> {
      const parsed = splitFirstDot(c.input);
      const representable = isPgIdentifier(c.schema) && isPgIdentifier(c.table);
      if (representable) fc.pre(!(await tableExists(c.schema, c.table)));
      if (tableInputValid(c.input) && (parsed.schema !== c.schema || parsed.table !== c.table)) {
        fc.pre(!(await tableExists(parsed.schema, parsed.table)));
      }
      if (!representable) return { created: false, teardown: async () => undefined };
      const ownSchema = !(await schemaExists(c.schema)) && (await tryExec(`CREATE SCHEMA ${qi(c.schema)}`));
      const created = await tryExec(`CREATE TABLE ${qi(c.schema)}.${qi(c.table)} (id int PRIMARY KEY, v text)`);
      return {
        created,
        teardown: async () => {
          if (ownSchema) await q(`DROP SCHEMA ${qi(c.schema)} CASCADE`);
          else if (created) await q(`DROP TABLE ${qi(c.schema)}.${qi(c.table)}`);
        },
      };
    }

    /** The expected outcome of a table case, from the library's rules and what exists. */
    function tableOutcome(c: TableCase, created: boolean): Outcome {
      if (!tableInputValid(c.input)) return "rejected";
      const p = splitFirstDot(c.input);
      return p.schema === c.schema && p.table === c.table && created ? "exact" : "refused";
    }

    interface CaseSpec {
      property: string;
      res: HostedResource<Inputs>;
      /** The input field under test (what a rejection must name). */
      field: string;
      /** The hostile value, for messages. */
      value: string;
      inputs: Inputs;
      expect: Outcome;
      /** What a refusal must say. */
      refused?: RegExp;
      verifyExact?: (outs: Record<string, unknown>) => Promise<void>;
      verifyGone?: () => Promise<void>;
      /** Whether read reports the object gone after delete (publications and slots; grants and replica identities stay readable). */
      readsGone?: boolean;
    }

    /** No stack trace in a message (the hostile value itself, quoted in it, is left out of the look). */
    function noStack(message: string, context: string, value: string): void {
      const rest = value ? message.split(value).join("<value>") : message;
      assert.ok(!STACK.test(rest), `${context}: the message carries a stack trace:\n${message}`);
    }

    async function runCase(spec: CaseSpec): Promise<void> {
      const context = `${spec.property} with ${spec.field} ${show(spec.value)}`;
      const before = await catalogSnapshot(client, major);
      const connections = postgresStats.connections;
      const statements = postgresStats.statements;
      const checked = await spec.res.check(spec.inputs);
      const failures: dynamic.CheckFailure[] = checked.failures ?? [];
      let outcome: Outcome;
      if (failures.length) {
        outcome = "rejected";
        assert.equal(spec.expect, "rejected", `${context}: check rejected it (${failures.map((f) => f.reason).join("; ")}) but ${spec.expect} was expected`);
        assert.equal(postgresStats.connections, connections, `${context}: a connection was opened before the rejection`);
        for (const f of failures) {
          assert.equal(f.property, spec.field, `${context}: the failure names property ${show(f.property)}: ${f.reason}`);
          assert.ok(f.reason.includes(spec.field), `${context}: the reason does not name the field: ${f.reason}`);
          noStack(f.reason, context, spec.value);
        }
        // create without check (defense in depth): refuses the same way, still before any SQL.
        await assert.rejects(spec.res.provider.create({ ...spec.inputs, __provider: spec.res.text }), (err: Error) => {
          assert.ok(err.message.includes(spec.field), `${context}: create without check: the message does not name the field: ${err.message}`);
          noStack(err.message, context, spec.value);
          return true;
        });
        assert.equal(postgresStats.connections, connections, `${context}: create without check opened a connection`);
      } else {
        assert.notEqual(spec.expect, "rejected", `${context}: check accepted it, but it should have been rejected`);
        const inputs = checked.inputs as Inputs;
        if (spec.expect === "refused") {
          outcome = "refused";
          await assert.rejects(spec.res.provider.create(inputs), (err: Error) => {
            assert.match(err.message, spec.refused ?? /./, `${context}: unexpected refusal message`);
            noStack(err.message, context, spec.value);
            return true;
          });
        } else {
          outcome = "exact";
          const r = await spec.res.provider.create(inputs);
          assert.ok(postgresStats.statements > statements, `${context}: the provider did not run in this process (postgresStats unchanged)`);
          const outs = { ...r.outs, __provider: spec.res.text };
          const p = spec.res.provider;
          try {
            await spec.verifyExact?.(outs);
            // A second `pulumi up` is a no-op, and so is `pulumi refresh` followed by `up`.
            const again = await p.diff!(r.id, outs, inputs);
            assert.equal(again.changes, false, `${context}: diff after create reports changes: ${JSON.stringify(again)}`);
            const refreshed = await p.read!(r.id, outs);
            assert.equal(refreshed.id, r.id, `${context}: read does not find the object it created`);
            const afterRefresh = await p.diff!(r.id, { ...refreshed.props, __provider: spec.res.text }, inputs);
            assert.equal(afterRefresh.changes, false, `${context}: diff after refresh reports changes: ${JSON.stringify(afterRefresh)}`);
          } finally {
            await p.delete!(r.id, outs);
          }
          await spec.verifyGone?.();
          // Delete is idempotent; for an object (not a set of privileges or settings on other objects) read sees it gone.
          await p.delete!(r.id, outs);
          if (spec.readsGone) {
            const gone = await p.read!(r.id, outs);
            assert.ok(!gone.id, `${context}: read still finds the object after delete (id ${show(String(gone.id))})`);
          }
        }
      }
      const after = await catalogSnapshot(client, major);
      assertSameCatalog(before, after, context);
      const [{ n }] = await q<{ n: number }>(`SELECT count(*)::int AS n FROM public.keep_me`);
      assert.equal(n, 1, `${context}: keep_me lost its row`);
      count(spec.property, outcome);
    }

    /** fast-check settings of a property: its own seed, the run count, and fixed examples that always run first. */
    function params<T>(offset: number, examples: T[] = []): fc.Parameters<[T]> {
      return { seed: SEED + offset, numRuns: RUNS, maxSkipsPerRun: 20, examples: examples.map((e) => [e] as [T]) };
    }

    before(async () => {
      started = Date.now();
      pg = await sharedPostgres(major);
      db = await pg.createDatabase("fuzz");
      const { Client } = await import("pg");
      client = new Client({ ...pg.connection(db), ssl: false });
      await client.connect();
      await q(`CREATE TABLE public.keep_me (id int PRIMARY KEY); INSERT INTO public.keep_me VALUES (1);
               CREATE TABLE public.pub_target (id int PRIMARY KEY)`);
    });

    after(async () => {
      await client?.end();
      const total = [...counts.values()].reduce((s, c) => s + c.rejected + c.refused + c.exact, 0);
      console.log(`      hostile identifiers on PostgreSQL ${major}: FUZZ_SEED=${SEED}, ${RUNS} runs per property, ${total} cases in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      for (const [p, c] of counts) console.log(`        ${p}: ${c.exact} exact, ${c.rejected} rejected, ${c.refused} refused`);
    });

    it("Publication.name: rejected or created exactly as pg_publication.pubname", async () => {
      const res = await resource("publication");
      await fc.assert(
        fc.asyncProperty(hostileName, async (name) => {
          if (isPgIdentifier(name)) fc.pre((await q(`SELECT 1 FROM pg_catalog.pg_publication WHERE pubname = $1`, [name])).length === 0);
          await runCase({
            property: "Publication.name",
            res,
            readsGone: true,
            field: "name",
            value: name,
            inputs: { connection: pg.connection(db), name, tables: ["public.pub_target"] },
            expect: isPgIdentifier(name) ? "exact" : "rejected",
            verifyExact: async (outs) => {
              assert.equal(outs.name, name);
              const rows = await q<{ pubname: string; nspname: string; relname: string }>(
                `SELECT p.pubname, n.nspname, c.relname FROM pg_catalog.pg_publication p
                   JOIN pg_catalog.pg_publication_rel r ON r.prpubid = p.oid JOIN pg_catalog.pg_class c ON c.oid = r.prrelid
                   JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE p.pubname = $1`,
                [name],
              );
              assert.deepEqual(rows, [{ pubname: name, nspname: "public", relname: "pub_target" }]);
            },
            verifyGone: async () => {
              assert.equal((await q(`SELECT 1 FROM pg_catalog.pg_publication WHERE pubname = $1`, [name])).length, 0);
            },
          });
        }),
        params(1, NAME_EXAMPLES),
      );
    });

    it("Publication.tables: rejected, refused or published exactly (pg_class.relname / pg_namespace.nspname)", async () => {
      const res = await resource("publication");
      await fc.assert(
        fc.asyncProperty(tableCase, async (c) => {
          const { created, teardown } = await setupTable(c);
          try {
            await runCase({
              property: "Publication.tables",
              res,
              readsGone: true,
              field: "tables",
              value: c.input,
              inputs: { connection: pg.connection(db), name: "fuzz_pub", tables: [c.input] },
              expect: tableOutcome(c, created),
              refused: /these tables do not exist/,
              verifyExact: async (outs) => {
                assert.deepEqual(outs.tables, [`${c.schema}.${c.table}`]);
                const rows = await q(
                  `SELECT n.nspname, c.relname FROM pg_catalog.pg_publication p
                     JOIN pg_catalog.pg_publication_rel r ON r.prpubid = p.oid JOIN pg_catalog.pg_class c ON c.oid = r.prrelid
                     JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE p.pubname = 'fuzz_pub'`,
                );
                assert.deepEqual(rows, [{ nspname: c.schema, relname: c.table }]);
              },
              verifyGone: async () => {
                assert.equal((await q(`SELECT 1 FROM pg_catalog.pg_publication WHERE pubname = 'fuzz_pub'`)).length, 0);
              },
            });
          } finally {
            await teardown();
          }
        }),
        params(2, TABLE_EXAMPLES),
      );
    });

    it("Publication.schemas: rejected, refused (before 15, or missing) or published exactly (pg_publication_namespace)", async () => {
      const res = await resource("publication");
      await fc.assert(
        fc.asyncProperty(fc.oneof(hostileName, hostileName.map((s) => `${s}.${s}`)), async (schema) => {
          let created = false;
          if (isPgIdentifier(schema)) {
            fc.pre(!(await schemaExists(schema)));
            created = await tryExec(`CREATE SCHEMA ${qi(schema)}; CREATE TABLE ${qi(schema)}.fuzz_t (id int PRIMARY KEY)`);
          }
          const published = async () =>
            q(
              `SELECT t.schemaname::text AS nspname, t.tablename::text AS relname FROM pg_catalog.pg_publication_tables t WHERE t.pubname = 'fuzz_schema_pub'`,
            );
          try {
            await runCase({
              property: "Publication.schemas",
              res,
              readsGone: true,
              field: "schemas",
              value: schema,
              inputs: { connection: pg.connection(db), name: "fuzz_schema_pub", schemas: [schema] },
              expect: !isPgIdentifier(schema) ? "rejected" : major < 15 || !created ? "refused" : "exact",
              refused: major < 15 ? /needs PostgreSQL 15 or later/ : /these schemas do not exist/,
              verifyExact: async (outs) => {
                assert.deepEqual(outs.schemas, [schema]);
                const rows = await q(
                  `SELECT n.nspname FROM pg_catalog.pg_publication p JOIN pg_catalog.pg_publication_namespace pn ON pn.pnpubid = p.oid
                     JOIN pg_catalog.pg_namespace n ON n.oid = pn.pnnspid WHERE p.pubname = 'fuzz_schema_pub'`,
                );
                assert.deepEqual(rows, [{ nspname: schema }]);
                assert.deepEqual(await published(), [{ nspname: schema, relname: "fuzz_t" }]);
              },
              verifyGone: async () => assert.deepEqual(await published(), []),
            });
          } finally {
            if (created) await q(`DROP SCHEMA ${qi(schema)} CASCADE`);
          }
        }),
        params(8, ["Sales", "pg_fuzz", "a.b", "select", "", "a".repeat(64)]),
      );
    });

    it("ReplicationSlot.name: rejected or created exactly as pg_replication_slots.slot_name", async () => {
      const res = await resource("replication-slot");
      await fc.assert(
        fc.asyncProperty(slotCandidate, async (name) => {
          if (isSlotName(name)) fc.pre((await q(`SELECT 1 FROM pg_catalog.pg_replication_slots WHERE slot_name = $1`, [name])).length === 0);
          await runCase({
            property: "ReplicationSlot.name",
            res,
            readsGone: true,
            field: "name",
            value: name,
            inputs: { connection: pg.connection(db), name },
            expect: isSlotName(name) ? "exact" : "rejected",
            verifyExact: async (outs) => {
              assert.equal(outs.name, name);
              const rows = await q(`SELECT slot_name::text, database::text, plugin::text FROM pg_catalog.pg_replication_slots WHERE slot_name = $1`, [name]);
              assert.deepEqual(rows, [{ slot_name: name, database: db, plugin: "pgoutput" }]);
            },
            verifyGone: async () => {
              assert.equal((await q(`SELECT 1 FROM pg_catalog.pg_replication_slots WHERE slot_name = $1`, [name])).length, 0);
            },
          });
        }),
        params(3, ["select", "order", "a".repeat(63), "a".repeat(64), "Orders", "orders-cdc", ""]),
      );
    });

    it("ReplicationGrant.role: rejected, refused or granted exactly (pg_roles.rolreplication, has_table_privilege)", async () => {
      const res = await resource("replication-grant");
      await fc.assert(
        fc.asyncProperty(hostileName, async (role) => {
          let created = false;
          if (isPgIdentifier(role)) {
            fc.pre((await q(`SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1`, [role])).length === 0);
            created = await tryExec(`CREATE ROLE ${qi(role)} NOLOGIN`);
          }
          const privileges = async () =>
            (
              await q<{ repl: boolean; sel: boolean }>(
                `SELECT r.rolreplication AS repl, pg_catalog.has_table_privilege(r.oid, 'public.pub_target'::regclass, 'SELECT') AS sel
                   FROM pg_catalog.pg_roles r WHERE r.rolname = $1`,
                [role],
              )
            )[0];
          try {
            await runCase({
              property: "ReplicationGrant.role",
              res,
              field: "role",
              value: role,
              inputs: { connection: pg.connection(db), role, replication: true, tables: ["public.pub_target"] },
              expect: !isPgIdentifier(role) ? "rejected" : created ? "exact" : "refused",
              refused: /does not exist/,
              verifyExact: async (outs) => {
                assert.equal(outs.role, role);
                assert.deepEqual(await privileges(), { repl: true, sel: true });
              },
              verifyGone: async () => {
                assert.deepEqual(await privileges(), { repl: false, sel: false });
              },
            });
          } finally {
            if (created) await q(`DROP OWNED BY ${qi(role)}; DROP ROLE ${qi(role)}`);
          }
        }),
        params(4, ["pg_fuzz_role", "public", "none", "Order Items", "user", "", "a\u0000b"]),
      );
    });

    it("ReplicationGrant.tables: rejected, refused or granted exactly on that table (has_table_privilege)", async () => {
      const res = await resource("replication-grant");
      const role = uniqueName("fuzz_reader");
      await q(`CREATE ROLE ${qi(role)} NOLOGIN`);
      try {
        await fc.assert(
          fc.asyncProperty(tableCase, async (c) => {
            const { created, teardown } = await setupTable(c);
            const selectable = async () =>
              (
                await q<{ sel: boolean }>(
                  `SELECT pg_catalog.has_table_privilege($1, (SELECT c.oid FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                     WHERE n.nspname = $2 AND c.relname = $3), 'SELECT') AS sel`,
                  [role, c.schema, c.table],
                )
              )[0].sel;
            try {
              await runCase({
                property: "ReplicationGrant.tables",
                res,
                field: "tables",
                value: c.input,
                inputs: { connection: pg.connection(db), role, replication: false, tables: [c.input] },
                expect: tableOutcome(c, created),
                refused: /does not exist|do not exist/,
                verifyExact: async (outs) => {
                  assert.deepEqual(outs.tables, [`${c.schema}.${c.table}`]);
                  assert.equal(await selectable(), true);
                },
                verifyGone: async () => assert.equal(await selectable(), false),
              });
            } finally {
              await teardown();
            }
          }),
          params(5, TABLE_EXAMPLES),
        );
      } finally {
        await q(`DROP OWNED BY ${qi(role)}; DROP ROLE ${qi(role)}`);
      }
    });

    it("ReplicationGrant.schemas: rejected, refused or granted exactly on that schema (USAGE, SELECT, default privileges)", async () => {
      const res = await resource("replication-grant");
      const role = uniqueName("fuzz_schema_reader");
      await q(`CREATE ROLE ${qi(role)} NOLOGIN`);
      try {
        await fc.assert(
          fc.asyncProperty(fc.oneof(hostileName, hostileName.map((s) => `${s}.${s}`)), async (schema) => {
            let created = false;
            if (isPgIdentifier(schema)) {
              fc.pre(!(await schemaExists(schema)));
              created = (await tryExec(`CREATE SCHEMA ${qi(schema)}`)) && (await tryExec(`CREATE TABLE ${qi(schema)}.fuzz_t (id int)`));
            }
            const facts = async () =>
              (
                await q<{ usage: boolean; sel: boolean; defaults: boolean }>(
                  `SELECT pg_catalog.has_schema_privilege($1, n.oid, 'USAGE') AS usage,
                          pg_catalog.has_table_privilege($1, (SELECT c.oid FROM pg_catalog.pg_class c WHERE c.relnamespace = n.oid AND c.relname = 'fuzz_t'), 'SELECT') AS sel,
                          EXISTS (SELECT 1 FROM pg_catalog.pg_default_acl d, pg_catalog.aclexplode(d.defaclacl) a
                                   WHERE d.defaclnamespace = n.oid AND a.grantee = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = $1)
                                     AND a.privilege_type = 'SELECT') AS defaults
                     FROM pg_catalog.pg_namespace n WHERE n.nspname = $2`,
                  [role, schema],
                )
              )[0];
            try {
              await runCase({
                property: "ReplicationGrant.schemas",
                res,
                field: "schemas",
                value: schema,
                inputs: { connection: pg.connection(db), role, replication: false, schemas: [schema] },
                expect: !isPgIdentifier(schema) ? "rejected" : created ? "exact" : "refused",
                refused: /does not exist|do not exist/,
                verifyExact: async (outs) => {
                  assert.deepEqual(outs.schemas, [schema]);
                  assert.deepEqual(await facts(), { usage: true, sel: true, defaults: true });
                },
                verifyGone: async () => assert.deepEqual(await facts(), { usage: false, sel: false, defaults: false }),
              });
            } finally {
              if (created || (isPgIdentifier(schema) && (await schemaExists(schema)))) await q(`DROP SCHEMA ${qi(schema)} CASCADE`);
            }
          }),
          params(6, ["Sales", "pg_fuzz", "a.b", "group", "a".repeat(62) + "é"]),
        );
      } finally {
        await q(`DROP OWNED BY ${qi(role)}; DROP ROLE ${qi(role)}`);
      }
    });

    it("ReplicaIdentity.tables: rejected, refused or set exactly on that table (pg_class.relreplident) and restored", async () => {
      const res = await resource("replica-identity");
      await fc.assert(
        fc.asyncProperty(tableCase, async (c) => {
          const { created, teardown } = await setupTable(c);
          const identity = async () =>
            (
              await q<{ relreplident: string }>(
                `SELECT c.relreplident::text FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                  WHERE n.nspname = $1 AND c.relname = $2`,
                [c.schema, c.table],
              )
            )[0]?.relreplident;
          try {
            await runCase({
              property: "ReplicaIdentity.tables",
              res,
              field: "tables",
              value: c.input,
              inputs: { connection: pg.connection(db), tables: [c.input], identity: "full" },
              expect: tableOutcome(c, created),
              refused: /not found/,
              verifyExact: async (outs) => {
                const key = `${c.schema}.${c.table}`;
                assert.deepEqual(outs.tables, [key]);
                assert.deepEqual(outs.previous, { [key]: "default" });
                assert.equal(await identity(), "f");
              },
              verifyGone: async () => assert.equal(await identity(), "d"),
            });
          } finally {
            await teardown();
          }
        }),
        params(7, TABLE_EXAMPLES),
      );
    });
  });
}
