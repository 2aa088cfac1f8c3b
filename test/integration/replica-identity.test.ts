import { strict as assert } from "node:assert";
import type * as dynamic from "@pulumi/pulumi/dynamic";
import { postgresStats } from "#dist/postgres/connection.js";
import { providerStub } from "#dist/providers/stub.js";
import { ReplicaIdentity } from "#dist/resources/replica-identity.js";
import type { PostgresConnectionInput } from "#dist/validation/common.js";
import { HostedResource, hostedProvider } from "../support/dynamic-host";
import { Engine, nonSecretText } from "../support/engine";
import { pgMajors, sharedPostgres, uniqueName, type PgServer } from "../support/postgres";

interface RiInputs extends Record<string, unknown> {
  connection?: PostgresConnectionInput;
  connectionString?: string;
  tables: string[];
  identity?: "full" | "default" | "nothing";
  lockTimeoutMs?: number;
}

for (const major of pgMajors()) {
  describe(`ReplicaIdentity on PostgreSQL ${major} @pg`, () => {
    let pg: PgServer;
    let db: string;
    let hosted: { provider: dynamic.ResourceProvider; text: string };
    const q = <R = Record<string, unknown>>(sql: string, params: unknown[] = []) => pg.query<R>(sql, params, db);
    const resource = () => new HostedResource<RiInputs>(hosted.provider, hosted.text);

    /** relreplident per "schema.table" (only tables that exist). */
    async function relreplident(tables: string[]): Promise<Record<string, string>> {
      const rows = await q<{ t: string; r: string }>(
        `SELECT n.nspname || '.' || c.relname AS t, c.relreplident::text AS r
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname || '.' || c.relname = ANY($1::text[])`,
        [tables],
      );
      return Object.fromEntries(rows.map((r) => [r.t, r.r]));
    }

    async function identityIndex(table: string): Promise<string | undefined> {
      const rows = await q<{ i: string }>(
        `SELECT i.relname AS i FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid WHERE x.indrelid = $1::regclass AND x.indisreplident`,
        [table],
      );
      return rows[0]?.i;
    }

    before(async () => {
      pg = await sharedPostgres(major);
      db = await pg.createDatabase("ri");
      hosted = await hostedProvider(providerStub("replica-identity"));
    });

    it("sets FULL on a table with a primary key and one without, in a constant number of statements, and restores DEFAULT on delete", async () => {
      await q("CREATE TABLE with_pk (id int PRIMARY KEY, v text); CREATE TABLE no_pk (v text)");
      const r = resource();
      const before = postgresStats.statements;
      const outs = await r.create({ connection: pg.connection(db), tables: ["with_pk", "public.no_pk", "with_pk"] });
      const smallCount = postgresStats.statements - before;
      assert.deepEqual(await relreplident(["public.with_pk", "public.no_pk"]), { "public.with_pk": "f", "public.no_pk": "f" });
      assert.deepEqual(outs.tables, ["public.no_pk", "public.with_pk"]);
      assert.equal(outs.identity, "full");
      assert.equal(outs.database, db);
      assert.deepEqual(outs.previous, { "public.no_pk": "default", "public.with_pk": "default" });
      assert.deepEqual(outs.identities, { "public.no_pk": "full", "public.with_pk": "full" });

      // Thirty tables cost the same number of statements as two.
      const many = Array.from({ length: 30 }, (_, i) => `many_${i}`);
      await q(many.map((t) => `CREATE TABLE ${t} (v int);`).join(""));
      const r30 = resource();
      const before30 = postgresStats.statements;
      await r30.create({ connection: pg.connection(db), tables: many });
      const count30 = postgresStats.statements - before30;
      console.log(`      statements for create: 2 tables ${smallCount}, 30 tables ${count30}`);
      assert.equal(count30, smallCount);
      assert.ok(Object.values(await relreplident(many.map((t) => `public.${t}`))).every((v) => v === "f"));
      await r30.delete();
      assert.ok(Object.values(await relreplident(many.map((t) => `public.${t}`))).every((v) => v === "d"));

      // Create again when already FULL: skipped, still recorded; delete restores what was there (FULL).
      const again = resource();
      const outsAgain = await again.create({ connectionString: pg.connectionString(db), tables: ["with_pk"] });
      assert.deepEqual(outsAgain.previous, { "public.with_pk": "full" });
      await again.delete();
      assert.equal((await relreplident(["public.with_pk"]))["public.with_pk"], "f");

      await r.delete();
      assert.deepEqual(await relreplident(["public.with_pk", "public.no_pk"]), { "public.with_pk": "d", "public.no_pk": "d" });
      await r.delete(); // idempotent
    });

    it("restores USING INDEX identities on delete, and DEFAULT when that index was dropped meanwhile", async () => {
      await q(`CREATE TABLE idx_keep (code text NOT NULL, v int);
               CREATE UNIQUE INDEX "Idx Keep Code" ON idx_keep (code);
               ALTER TABLE idx_keep REPLICA IDENTITY USING INDEX "Idx Keep Code";
               CREATE TABLE idx_drop (code text NOT NULL, v int);
               CREATE UNIQUE INDEX idx_drop_code ON idx_drop (code);
               ALTER TABLE idx_drop REPLICA IDENTITY USING INDEX idx_drop_code;
               CREATE TABLE was_nothing (v int);
               ALTER TABLE was_nothing REPLICA IDENTITY NOTHING;`);
      const r = resource();
      const outs = await r.create({ connection: pg.connection(db), tables: ["idx_keep", "idx_drop", "was_nothing"] });
      assert.deepEqual(outs.previous, {
        "public.idx_drop": "index:idx_drop_code",
        "public.idx_keep": "index:Idx Keep Code",
        "public.was_nothing": "nothing",
      });
      assert.deepEqual(await relreplident(["public.idx_keep", "public.idx_drop", "public.was_nothing"]), {
        "public.idx_keep": "f",
        "public.idx_drop": "f",
        "public.was_nothing": "f",
      });
      await q("DROP INDEX idx_drop_code");
      await r.delete();
      assert.deepEqual(await relreplident(["public.idx_keep", "public.idx_drop", "public.was_nothing"]), {
        "public.idx_keep": "i",
        "public.idx_drop": "d",
        "public.was_nothing": "n",
      });
      assert.equal(await identityIndex("idx_keep"), "Idx Keep Code");
    });

    it("updates in place: added tables are recorded and set, removed ones restored, an identity change applies to all", async () => {
      await q(`CREATE TABLE up_a (id int PRIMARY KEY); CREATE TABLE up_b (v int); ALTER TABLE up_b REPLICA IDENTITY NOTHING;
               CREATE TABLE up_c (code int NOT NULL); CREATE UNIQUE INDEX up_c_code ON up_c (code);
               ALTER TABLE up_c REPLICA IDENTITY USING INDEX up_c_code;`);
      const r = resource();
      await r.create({ connection: pg.connection(db), tables: ["up_a", "up_b"] });
      const id = r.id;
      const step = await r.up({ connection: pg.connection(db), tables: ["up_c", "up_a"] });
      assert.equal(step.action, "update");
      assert.equal(r.id, id);
      assert.deepEqual(await relreplident(["public.up_a", "public.up_b", "public.up_c"]), { "public.up_a": "f", "public.up_b": "n", "public.up_c": "f" });
      assert.deepEqual(step.outs.previous, { "public.up_a": "default", "public.up_c": "index:up_c_code" });
      assert.deepEqual(step.outs.identities, { "public.up_a": "full", "public.up_c": "full" });
      assert.deepEqual(step.outs.tables, ["public.up_a", "public.up_c"]);

      const same = await r.up({ connection: pg.connection(db), tables: ["public.up_a", "up_c"] });
      assert.equal(same.action, "none");

      const nothing = await r.up({ connection: pg.connection(db), tables: ["up_a", "up_c"], identity: "nothing" });
      assert.equal(nothing.action, "update");
      assert.deepEqual(await relreplident(["public.up_a", "public.up_c"]), { "public.up_a": "n", "public.up_c": "n" });
      assert.deepEqual(nothing.outs.previous, { "public.up_a": "default", "public.up_c": "index:up_c_code" });

      await r.delete();
      assert.deepEqual(await relreplident(["public.up_a", "public.up_b", "public.up_c"]), { "public.up_a": "d", "public.up_b": "n", "public.up_c": "i" });
      assert.equal(await identityIndex("up_c"), "up_c_code");
    });

    it("refresh shows drift after an out-of-band ALTER TABLE, and the next up sets it again", async () => {
      await q("CREATE TABLE drift_a (v int); CREATE TABLE drift_b (v int)");
      const r = resource();
      await r.create({ connection: pg.connection(db), tables: ["drift_a", "drift_b"] });
      await q("ALTER TABLE drift_a REPLICA IDENTITY DEFAULT");
      const read = await r.read();
      assert.equal(read.id, r.id);
      assert.deepEqual(read.props?.identities, { "public.drift_a": "default", "public.drift_b": "full" });
      assert.deepEqual(read.props?.previous, { "public.drift_a": "default", "public.drift_b": "default" });
      assert.deepEqual(read.inputs?.tables, ["public.drift_a", "public.drift_b"]);
      const fixed = await r.up({ connection: pg.connection(db), tables: ["drift_a", "drift_b"] });
      assert.equal(fixed.action, "update");
      assert.deepEqual(await relreplident(["public.drift_a", "public.drift_b"]), { "public.drift_a": "f", "public.drift_b": "f" });
      assert.equal((await r.up({ connection: pg.connection(db), tables: ["drift_a", "drift_b"] })).action, "none");

      // Tables dropped out of band: read keeps the resource (it owns restore info), delete skips them.
      await q("DROP TABLE drift_a");
      const partial = await r.read();
      assert.equal(partial.id, r.id);
      assert.deepEqual(partial.props?.identities, { "public.drift_b": "full" });
      await q("DROP TABLE drift_b");
      const none = await r.read();
      assert.equal(none.id, r.id);
      assert.deepEqual(none.props?.identities, {});
      await r.delete();
    });

    it("reports every missing table and non-table at once and changes nothing, without the password", async () => {
      await q(`CREATE TABLE present (v int); CREATE VIEW a_view AS SELECT 1 AS x;
               CREATE TABLE parted (id int) PARTITION BY RANGE (id); CREATE TABLE parted_1 PARTITION OF parted FOR VALUES FROM (0) TO (10);`);
      const r = resource();
      await assert.rejects(
        r.create({ connectionString: pg.connectionString(db), tables: ["present", "nope_one", "other.nope_two", "a_view", "parted"] }),
        (err: Error) => {
          assert.match(err.message, /ReplicaIdentity in database/);
          assert.match(err.message, /2 tables not found/);
          assert.match(err.message, /"public\.nope_one"/);
          assert.match(err.message, /"other\.nope_two"/);
          assert.match(err.message, /"public\.a_view" is a view/);
          assert.match(err.message, /"public\.parted" is a partitioned table.*name its partitions instead: "public\.parted_1"/);
          assert.match(err.message, /Nothing was changed/);
          assert.ok(!err.message.includes(pg.superPassword));
          return true;
        },
      );
      assert.equal((await relreplident(["public.present"]))["public.present"], "d");

      // The same on update: nothing changes, state stays as it was.
      await r.create({ connection: pg.connection(db), tables: ["present"] });
      await q("CREATE TABLE present_two (v int)");
      await assert.rejects(r.up({ connection: pg.connection(db), tables: ["present_two", "gone_x"] }), /table not found: "public\.gone_x"/);
      assert.deepEqual(await relreplident(["public.present", "public.present_two"]), { "public.present": "f", "public.present_two": "d" });
      await r.delete();
      assert.equal((await relreplident(["public.present"]))["public.present"], "d");
    });

    it("handles hostile table names exactly (keep_me survives)", async () => {
      await q(`CREATE TABLE keep_me (v int); CREATE TABLE "x; drop table keep_me; --" (v int);
               CREATE SCHEMA "We""ird"; CREATE TABLE "We""ird"."Order Items.v2" (v int);`);
      const r = resource();
      const outs = await r.create({ connection: pg.connection(db), tables: ["x; drop table keep_me; --", 'We"ird.Order Items.v2'] });
      assert.deepEqual(outs.identities, { "public.x; drop table keep_me; --": "full", 'We"ird.Order Items.v2': "full" });
      assert.deepEqual(await relreplident(["public.x; drop table keep_me; --", 'We"ird.Order Items.v2', "public.keep_me"]), {
        "public.x; drop table keep_me; --": "f",
        'We"ird.Order Items.v2': "f",
        "public.keep_me": "d",
      });
      await r.delete();
      assert.deepEqual(await relreplident(["public.x; drop table keep_me; --", 'We"ird.Order Items.v2', "public.keep_me"]), {
        "public.x; drop table keep_me; --": "d",
        'We"ird.Order Items.v2': "d",
        "public.keep_me": "d",
      });
    });

    it("gives up after lockTimeoutMs when a transaction holds the table, naming the tables, and changes nothing", async function () {
      await q("CREATE TABLE locked_t (v int); CREATE TABLE free_t (v int)");
      const { Client } = await import("pg");
      const holder = new Client(pg.connection(db) as import("pg").ClientConfig);
      await holder.connect();
      try {
        await holder.query("BEGIN; LOCK TABLE locked_t IN ACCESS EXCLUSIVE MODE");
        const r = resource();
        const started = Date.now();
        await assert.rejects(r.create({ connection: pg.connection(db), tables: ["free_t", "locked_t"], lockTimeoutMs: 300 }), (err: Error) => {
          assert.match(err.message, /lock timeout/);
          assert.match(err.message, /"public\.free_t", "public\.locked_t"/);
          assert.match(err.message, /raise lockTimeoutMs/);
          return true;
        });
        assert.ok(Date.now() - started < 10000);
      } finally {
        await holder.query("ROLLBACK").catch(() => undefined);
        await holder.end();
      }
      assert.deepEqual(await relreplident(["public.locked_t", "public.free_t"]), { "public.locked_t": "d", "public.free_t": "d" });
    });

    it("says the table owner is needed when the role may not ALTER the table, and changes nothing", async () => {
      const role = uniqueName("ri_low");
      await q(`CREATE TABLE owned_t (v int); CREATE ROLE ${role} LOGIN PASSWORD 'low-pass-7781'; GRANT SELECT ON owned_t TO ${role}`);
      try {
        await assert.rejects(
          resource().create({ connection: pg.connection(db, { user: role, password: "low-pass-7781" }), tables: ["owned_t"] }),
          (err: Error) => {
            assert.match(err.message, /must be owner of table owned_t/);
            assert.match(err.message, /SQLSTATE 42501/);
            assert.match(err.message, /needs the table owner/);
            assert.ok(!err.message.includes("low-pass-7781"));
            return true;
          },
        );
        assert.equal((await relreplident(["public.owned_t"]))["public.owned_t"], "d");
      } finally {
        await q(`DROP OWNED BY ${role}; DROP ROLE ${role}`);
      }
    });

    it("treats a dropped database as gone on refresh and delete", async () => {
      const gone = await pg.createDatabase("ri_gone");
      await pg.query("CREATE TABLE t (v int)", [], gone);
      const r = resource();
      await r.create({ connection: pg.connection(gone), tables: ["t"] });
      // FORCE: the provider's idle session (kept for the next operation) is still connected to it.
      await pg.query(`DROP DATABASE "${gone}" WITH (FORCE)`);
      const read = await r.read();
      assert.equal(read.id, undefined);
      await r.delete();
    });

    it("sets and restores the identity while GRANT and REVOKE run on the same table at the same time (PostgreSQL's catalog race is retried)", async () => {
      // Pulumi runs a ReplicationGrant and a ReplicaIdentity on the same tables in parallel when nothing orders
      // them (examples/building-blocks): both rewrite the table's pg_class row, and PostgreSQL then answers
      // "tuple concurrently updated" to one of them. The real CLI hit it in a destroy.
      await q("CREATE TABLE raced (id int PRIMARY KEY, v text)");
      const role = uniqueName("racer");
      await pg.query(`CREATE ROLE ${role}`);
      try {
        let churnRaces = 0;
        for (let round = 0; round < 25; round++) {
          let stop = false;
          // Four sessions granting and revoking (their own side of the race is not under test: it is counted, not failed).
          const churn = Promise.all(
            Array.from({ length: 4 }, async () => {
              while (!stop) {
                await q(`GRANT SELECT ON raced TO ${role}; REVOKE SELECT ON raced FROM ${role}`).catch((err: Error) => {
                  if (!/tuple concurrently updated/.test(err.message)) throw err;
                  churnRaces++;
                });
              }
            }),
          );
          try {
            const r = resource();
            await r.create({ connection: pg.connection(db), tables: ["raced"] });
            assert.deepEqual(await relreplident(["public.raced"]), { "public.raced": "f" });
            await r.delete();
            assert.deepEqual(await relreplident(["public.raced"]), { "public.raced": "d" });
          } finally {
            stop = true;
            await churn;
          }
        }
        console.log(`      catalog races the GRANT/REVOKE sessions lost meanwhile: ${churnRaces}`);
      } finally {
        await q(`DROP TABLE raced`);
        await pg.query(`DROP ROLE ${role}`);
      }
    });

    it("runs as a Pulumi resource: type token, secret connection in state, destroy restores", async () => {
      await q("CREATE TABLE eng_t (v int)");
      const engine = new Engine();
      const conn = pg.connection(db);
      await engine.up(() => {
        new ReplicaIdentity("before-images", { connection: conn, tables: ["eng_t"] });
      });
      const state = engine.resource("before-images");
      assert.equal(state?.type, "pulumi-nodejs:dynamic/postgres-cdc:ReplicaIdentity");
      assert.equal(state?.deleteBeforeReplace, true);
      assert.ok(!nonSecretText(engine.snapshot()).includes(pg.superPassword), "password outside secret wrappers in state");
      assert.deepEqual(engine.outputsOf("before-images")?.identities, { "public.eng_t": "full" });
      assert.equal((await relreplident(["public.eng_t"]))["public.eng_t"], "f");
      await engine.destroy();
      assert.equal((await relreplident(["public.eng_t"]))["public.eng_t"], "d");
    });
  });
}
