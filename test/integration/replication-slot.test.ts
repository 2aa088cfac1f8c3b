import { strict as assert } from "node:assert";
import type * as dynamic from "@pulumi/pulumi/dynamic";
import type { Client as PgClient, ClientConfig } from "pg";
import { providerStub } from "#dist/providers/stub.js";
import { HostedResource, hostedProvider } from "../support/dynamic-host";
import { pgMajors, sharedPostgres, uniqueName, type PgServer } from "../support/postgres";

type Inputs = Record<string, unknown>;

let hosted: { provider: dynamic.ResourceProvider; text: string };

before(async () => {
  hosted = await hostedProvider(providerStub("replication-slot"));
});


/** A real logical replication connection streaming from a slot, holding it active until released. */
interface Holder {
  pid: number;
  release(): Promise<void>;
}

async function holdSlot(pg: PgServer, db: string, slot: string, publication: string): Promise<Holder> {
  const { Client } = require("pg") as typeof import("pg");
  const config = { ...pg.connection(db), application_name: "cdc-test-holder", replication: "database" } as unknown as ClientConfig;
  const client: PgClient = new Client(config);
  client.on("error", () => undefined);
  await client.connect();
  const connection = (client as unknown as { connection: NodeJS.EventEmitter }).connection;
  const started = new Promise<void>((resolve) => connection.once("replicationStart", () => resolve()));
  // Streams until the client ends: never awaited.
  client
    .query(`START_REPLICATION SLOT ${slot} LOGICAL 0/0 (proto_version '1', publication_names '${publication}')`)
    .catch(() => undefined);
  await started;
  for (let i = 0; i < 100; i++) {
    const rows = await pg.query<{ active: boolean; pid: number }>(
      "SELECT active, active_pid AS pid FROM pg_replication_slots WHERE slot_name = $1",
      [slot],
      db,
    );
    if (rows[0]?.active) {
      return { pid: rows[0].pid, release: () => client.end().catch(() => undefined) };
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  await client.end().catch(() => undefined);
  throw new Error(`slot ${slot} did not become active`);
}

for (const major of pgMajors()) {
  describe(`ReplicationSlot on PostgreSQL ${major} @pg`, function () {
    this.timeout(60000);
    let pg: PgServer;
    let db: string;
    const q = <R = Record<string, unknown>>(sql: string, params?: unknown[]) => pg.query<R>(sql, params, db);
    const resource = () => new HostedResource<Inputs>(hosted.provider, hosted.text);
    const base = (name: string, extra: Inputs = {}): Inputs => ({ connection: pg.connection(db), name, ...extra });
    const slotRow = async (name: string) =>
      (await pg.query<{ slot_name: string; active: boolean; database: string }>("SELECT slot_name, active, database FROM pg_replication_slots WHERE slot_name = $1", [name]))[0];
    const expectFailure = async (p: Promise<unknown>, re: RegExp) => {
      await assert.rejects(p, (err: Error) => {
        assert.match(err.message, re);
        return true;
      });
    };

    before(async () => {
      pg = await sharedPostgres(major);
      db = await pg.createDatabase("slot");
      await q("CREATE TABLE events (id serial PRIMARY KEY, payload text); CREATE PUBLICATION hold_pub FOR TABLE events");
    });

    it("creates a pgoutput slot with its live outputs, reads it back, and drops it", async () => {
      const name = uniqueName("slot");
      const r = resource();
      const outs = await r.create(base(name));
      assert.equal(r.id, name);
      assert.equal(outs.name, name);
      assert.equal(outs.database, db);
      assert.equal(outs.plugin, "pgoutput");
      assert.equal(outs.twoPhase, false);
      assert.equal(outs.failover, false);
      assert.equal(outs.active, false);
      assert.equal(outs.activePid, null);
      assert.match(String(outs.restartLsn), /^[0-9A-F]+\/[0-9A-F]+$/);
      assert.match(String(outs.confirmedFlushLsn), /^[0-9A-F]+\/[0-9A-F]+$/);
      assert.equal(outs.walStatus, "reserved");
      assert.equal(typeof outs.retainedWalBytes, "number");
      assert.equal(outs.onDeleteWhileActive, "wait");
      assert.equal(outs.deleteTimeoutSeconds, 300);
      assert.equal((await slotRow(name)).database, db);

      const read = await r.read();
      assert.equal(read.id, name);
      assert.equal(read.props!.restartLsn, outs.restartLsn);
      await r.delete();
      assert.equal(await slotRow(name), undefined);
      await r.delete(); // missing slot = success
    });

    it("refresh shows the holder while a replication connection streams, and retained WAL grows with writes", async () => {
      const name = uniqueName("slot");
      const r = resource();
      const outs = await r.create(base(name));
      const before = outs.retainedWalBytes as number;
      // synchronous_commit on: the commit writes the WAL out, so pg_current_wal_lsn() (the write position) moves at once
      await q("SET synchronous_commit = on; INSERT INTO events (payload) SELECT repeat('x', 200) FROM generate_series(1, 2000)");
      const grown = (await r.read()).props!;
      assert.ok((grown.retainedWalBytes as number) > before + 100000, `retained ${grown.retainedWalBytes} vs ${before}`);

      const holder = await holdSlot(pg, db, name, "hold_pub");
      try {
        const held = (await r.read()).props!;
        assert.equal(held.active, true);
        assert.equal(held.activePid, holder.pid);
        // live outputs never make a difference
        const up = await r.up(base(name));
        assert.equal(up.action, "none");
      } finally {
        await holder.release();
      }
      await r.delete();
      assert.equal(await slotRow(name), undefined);
    });

    it('delete with onDeleteWhileActive "fail" errors at once naming the PID and application', async () => {
      const name = uniqueName("slot");
      const r = resource();
      await r.create(base(name, { onDeleteWhileActive: "fail" }));
      const holder = await holdSlot(pg, db, name, "hold_pub");
      try {
        const started = Date.now();
        await expectFailure(r.delete(), new RegExp(`in use by PID ${holder.pid} \\(application_name "cdc-test-holder".*onDeleteWhileActive is "fail"`));
        assert.ok(Date.now() - started < 3000);
        assert.ok(await slotRow(name));
      } finally {
        await holder.release();
      }
      await r.up(base(name, { onDeleteWhileActive: "terminate" }));
      await r.delete();
    });

    it('delete with "terminate" ends the holder and drops the slot', async () => {
      const name = uniqueName("slot");
      const r = resource();
      await r.create(base(name, { onDeleteWhileActive: "terminate" }));
      const holder = await holdSlot(pg, db, name, "hold_pub");
      try {
        await r.delete();
        assert.equal(await slotRow(name), undefined);
        const alive = await pg.query("SELECT 1 FROM pg_stat_activity WHERE pid = $1", [holder.pid]);
        assert.equal(alive.length, 0);
      } finally {
        await holder.release();
      }
    });

    it('delete with "wait" succeeds once the holder lets go, and fails after deleteTimeoutSeconds naming the holder', async () => {
      const name = uniqueName("slot");
      const r = resource();
      await r.create(base(name, { deleteTimeoutSeconds: 1 }));
      const holder = await holdSlot(pg, db, name, "hold_pub");
      try {
        const started = Date.now();
        await expectFailure(
          r.delete(),
          new RegExp(`still in use .*held by PID ${holder.pid} \\(application_name "cdc-test-holder", client 127\\.0\\.0\\.1.*onDeleteWhileActive to "terminate"`),
        );
        const took = Date.now() - started;
        assert.ok(took >= 1000 && took < 5000, `took ${took} ms`);
        assert.ok(await slotRow(name));

        // Raise the bound in place (no replacement), then release the holder after about a second.
        const up = await r.up(base(name, { deleteTimeoutSeconds: 30 }));
        assert.equal(up.action, "update");
        assert.deepEqual(up.diff.replaces, []);
        assert.equal(up.outs.deleteTimeoutSeconds, 30);
        assert.equal(up.outs.active, true);
        const release = new Promise((r2) => setTimeout(r2, 1000)).then(() => holder.release());
        const t0 = Date.now();
        await r.delete();
        assert.ok(Date.now() - t0 >= 900);
        await release;
        assert.equal(await slotRow(name), undefined);
      } finally {
        await holder.release();
      }
    });

    it("adopts a matching slot and refuses one with another plugin or in another database", async () => {
      const name = uniqueName("slot");
      await q("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", [name]);
      const lsn = (await q<{ l: string }>("SELECT restart_lsn::text AS l FROM pg_replication_slots WHERE slot_name = $1", [name]))[0].l;
      const r = resource();
      const outs = await r.create(base(name));
      assert.equal(outs.restartLsn, lsn);

      const other = uniqueName("slot");
      await q("SELECT pg_create_logical_replication_slot($1, 'test_decoding')", [other]);
      await expectFailure(resource().create(base(other)), /already exists and differs[\s\S]*plugin: existing test_decoding, wanted pgoutput/);
      assert.ok(await slotRow(other));
      await q("SELECT pg_drop_replication_slot($1)", [other]);

      const otherDb = await pg.createDatabase("slot_other");
      await pg.query("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", [other], otherDb);
      await expectFailure(resource().create(base(other)), new RegExp(`database: existing "${otherDb}", wanted "${db}"`));
      await pg.query("SELECT pg_drop_replication_slot($1)", [other], otherDb);
      await r.delete();
    });

    it("refresh after an out-of-band drop reports the slot gone; update then refuses to recreate it silently", async () => {
      const name = uniqueName("slot");
      const r = resource();
      await r.create(base(name));
      await q("SELECT pg_drop_replication_slot($1)", [name]);
      const stale = { ...r.outs! };
      const read = await r.read();
      assert.equal(read.id, undefined);
      r.outs = stale;
      await expectFailure(r.up(base(name, { onDeleteWhileActive: "terminate" })), /no longer exists[\s\S]*pulumi refresh/);
    });

    it("rejects bad names and plugins before any SQL", async () => {
      const r = resource();
      const before = (await pg.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_replication_slots"))[0].n;
      const cases: Array<[Inputs, RegExp]> = [
        [base("Upper_case"), /ReplicationSlot "Upper_case": name: slot names may only contain lower case letters/],
        [base("s".repeat(64)), /name: slot names may only contain/],
        [base("with-hyphen"), /name: slot names may only contain/],
        [base("okname", { plugin: "wal2json" }), /plugin: unsupported plugin "wal2json"; allowed: pgoutput, decoderbufs/],
        [base("okname", { onDeleteWhileActive: "kill" }), /onDeleteWhileActive must be one of wait, terminate, fail/],
        [base("okname", { deleteTimeoutSeconds: -1 }), /deleteTimeoutSeconds must not be negative/],
      ];
      for (const [inputs, re] of cases) {
        const c = await r.check(inputs);
        assert.ok(c.failures && c.failures.length, `expected failures for ${JSON.stringify(inputs)}`);
        assert.match(c.failures!.map((f) => f.reason).join("\n"), re);
        await assert.rejects(r.create(inputs), /check failed/);
      }
      assert.equal((await pg.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_replication_slots"))[0].n, before);
    });

    it("wraps a missing decoderbufs plugin with what to do", async () => {
      const name = uniqueName("slot");
      await expectFailure(resource().create(base(name, { plugin: "decoderbufs" })), /decoderbufs[\s\S]*Install decoderbufs on the server .* or use plugin "pgoutput"/);
      assert.equal(await slotRow(name), undefined);
    });

    if (major >= 14) {
      it("creates a two-phase slot", async () => {
        const name = uniqueName("slot");
        const r = resource();
        const outs = await r.create(base(name, { twoPhase: true }));
        assert.equal(outs.twoPhase, true);
        assert.equal((await pg.query<{ t: boolean }>("SELECT two_phase AS t FROM pg_replication_slots WHERE slot_name = $1", [name]))[0].t, true);
        const up = await r.up(base(name, { twoPhase: false }));
        assert.equal(up.action, "replace");
        assert.deepEqual(up.diff.replaces, ["twoPhase"]);
        assert.equal(up.outs.twoPhase, false);
        await r.delete();
      });
    } else {
      it("refuses twoPhase with the server version and the minimum", async () => {
        const name = uniqueName("slot");
        await expectFailure(resource().create(base(name, { twoPhase: true })), new RegExp(`twoPhase needs PostgreSQL 14 or later, but .* runs PostgreSQL ${major}`));
        assert.equal(await slotRow(name), undefined);
      });
    }

    if (major >= 17) {
      it("creates a failover slot", async () => {
        const name = uniqueName("slot");
        const r = resource();
        const outs = await r.create(base(name, { failover: true }));
        assert.equal(outs.failover, true);
        assert.equal((await pg.query<{ f: boolean }>("SELECT failover AS f FROM pg_replication_slots WHERE slot_name = $1", [name]))[0].f, true);
        await r.delete();
      });
    } else {
      it("refuses failover with the server version and the minimum", async () => {
        const name = uniqueName("slot");
        await expectFailure(resource().create(base(name, { failover: true })), new RegExp(`failover needs PostgreSQL 17 or later, but .* runs PostgreSQL ${major}`));
        assert.equal(await slotRow(name), undefined);
      });
    }
  });
}
