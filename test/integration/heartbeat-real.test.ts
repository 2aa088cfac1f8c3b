/**
 * Heartbeats against real Debezium: a captured database that stays idle while
 * another database on the same server writes a lot. Without a heartbeat the
 * slot's confirmed position cannot move (Debezium sees no change of its own
 * to confirm), so the slot keeps every byte of the other database's WAL. With
 * the default action (`pg_logical_emit_message`, a WAL message that reaches
 * the slot's stream) the confirmed position advances and the retained WAL
 * stays bounded: the slot's restart_lsn follows within seconds, whereas
 * without heartbeats it would stay where the idle database last changed.
 */
import { strict as assert } from "node:assert";
import { CdcPipeline } from "pulumi-postgres-cdc";
import { connectTargets, startConnectTarget, type ConnectTarget } from "../support/connect-target";
import { Engine } from "../support/engine";
import { sharedPostgres, uniqueName, type PgServer } from "../support/postgres";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

(connectTargets().includes("real") ? describe : describe.skip)("heartbeats on an idle captured database, real Kafka Connect + Debezium, PostgreSQL 17 @pg @real", function () {
  this.timeout(300000);
  let pg: PgServer;
  let target: ConnectTarget;

  before(async () => {
    pg = await sharedPostgres(17);
    target = await startConnectTarget("real");
  });
  after(async () => {
    await target?.deleteAllConnectors();
    await target?.close();
  });

  it("the slot's confirmed_flush_lsn advances and retained WAL stays bounded while only another database writes", async () => {
    const idle = await pg.createDatabase("hb_idle");
    const busy = await pg.createDatabase("hb_busy");
    await pg.query("CREATE TABLE quiet (id int PRIMARY KEY, v text)", undefined, idle);
    await pg.query("CREATE TABLE noise (id bigserial PRIMARY KEY, payload text)", undefined, busy);
    const name = uniqueName("hb");
    const engine = new Engine();
    const up = await engine.up(() => {
      const p = new CdcPipeline(name, { source: pg.connection(idle), connect: { url: target.url }, tables: ["public.quiet"], heartbeat: { intervalMs: 1000 }, readyTimeoutSeconds: 60 });
      return { slotName: p.slotName };
    });
    const slotName = up.outputs.slotName as string;
    const slot = async () =>
      (
        await pg.query<{ confirmed: string; retained: string; written: string }>(
          `SELECT confirmed_flush_lsn::text AS confirmed, pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint::text AS retained,
                  pg_current_wal_lsn()::text AS written FROM pg_replication_slots WHERE slot_name = $1`,
          [slotName],
        )
      )[0]!;
    const start = await slot();
    const startWal = (await pg.query<{ lsn: string }>("SELECT pg_current_wal_lsn()::text AS lsn"))[0]!.lsn;
    // About 40 MB of WAL in the other database, in bursts, for some 20 s.
    for (let i = 0; i < 20; i++) {
      await pg.query("INSERT INTO noise (payload) SELECT repeat(md5(g::text), 64) FROM generate_series(1, 8000) g", undefined, busy);
      await sleep(1000);
    }
    const [{ produced }] = await pg.query<{ produced: string }>("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn)::bigint::text AS produced", [startWal]);
    // Debezium commits the heartbeat's position with its next offset flush: give it a few seconds.
    // restart_lsn follows once the server logs its next running-transactions record (at most ~15 s).
    let end = await slot();
    for (let i = 0; i < 45 && (end.confirmed === start.confirmed || Number(end.retained) >= Number(produced) / 2); i++) {
      await sleep(1000);
      end = await slot();
    }
    console.log(`      WAL written by the other database: ${(Number(produced) / 1e6).toFixed(1)} MB; slot retains ${(Number(end.retained) / 1e6).toFixed(1)} MB; confirmed ${start.confirmed} -> ${end.confirmed}`);
    assert.notEqual(end.confirmed, start.confirmed, "confirmed_flush_lsn advanced on heartbeats alone");
    assert.ok(Number(produced) > 20e6, "the other database wrote enough WAL to tell");
    assert.ok(Number(end.retained) < Number(produced) / 2, `retained WAL (${end.retained} bytes) stays well below what was written (${produced} bytes)`);
    await engine.destroy();
  });
});
