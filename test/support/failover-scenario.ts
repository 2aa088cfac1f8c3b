/**
 * A source failover under writes, with the real Pulumi CLI and the real
 * stack: a primary with a streaming standby (made by startStandby), a
 * CdcPipeline on the primary, a writer inserting continuously; the primary
 * is shut down immediately mid-stream, the standby promoted, and `pulumi up`
 * points the pipeline at the promoted server (the seed 002 flow).
 *
 * On PostgreSQL 17 with `standby` declared, the slot is a failover slot:
 * the promoted server has it at the position the old primary confirmed, so
 * every row on the new primary reaches its topic without a snapshot. Before
 * 17 (or without `standby`) the promoted server has no slot: the up stops
 * with the gap explained, and with onSlotLoss "resnapshot" the data is
 * complete again through a snapshot.
 *
 * The primary commits synchronously to the standby (synchronous_standby_names),
 * so every row the writer saw committed exists on the promoted server.
 */
import type { Client } from "pg";
import type { ConnectTarget } from "./connect-target";
import { startPostgres, startStandby, type PgServer } from "./postgres";
import { cliProject, type CliProject } from "./real-engine";

export const FAILOVER_PROGRAM = `
import * as pulumi from "@pulumi/pulumi";
import { CdcPipeline } from "pulumi-postgres-cdc";

const config = new pulumi.Config();
const db = config.require("pgDatabase");
const password = config.requireSecret("pgPassword");
const standbySlot = config.get("standbySlot");
const pipeline = new CdcPipeline("failover", {
  source: { host: "127.0.0.1", port: config.requireNumber("pgPort"), database: db, user: "postgres", password, sslMode: "disable" },
  connect: { url: config.require("connectUrl") },
  tables: ["public.orders"],
  topicPrefix: config.require("topicPrefix"),
  connectorName: config.require("connectorName"),
  onSlotLoss: (config.get("onSlotLoss") ?? "fail") as "fail" | "resnapshot",
  readyTimeoutSeconds: 120,
  ...(standbySlot
    ? { standby: { physicalSlot: standbySlot, connection: { host: "127.0.0.1", port: config.requireNumber("standbyPort"), database: db, user: "postgres", password, sslMode: "disable" } } }
    : {}),
});
export const slotName = pipeline.slotName;
export const connectorState = pipeline.connectorState;
`;

export interface FailoverRun {
  major: number;
  /** Rows in the table before the first up (they arrive by the initial snapshot). */
  existing: number;
  /** Rows the writer saw committed (before and after the failover). */
  written: number;
  /** Rows on the promoted server at the end (every acknowledged row, maybe one more in flight). */
  onNewPrimary: number;
  received: number;
  /** Rows on the promoted server that never reached the topic. */
  lost: number[];
  /** Acknowledged rows missing from the promoted server (must be none: commits are synchronous). */
  lostByDatabase: number[];
  /** Events beyond one per row. */
  duplicated: number;
  /** Snapshot (op "r") events after the failover. */
  snapshotEventsAfterFailover: number;
  /** The first up on the promoted server: its error output when it failed. */
  moveError?: string;
  upSeconds: number;
}

export interface FailoverOptions {
  major: number;
  /** Declare `standby` (PostgreSQL 17): a failover slot synchronized to the standby. */
  failoverSlot: boolean;
  /** After a failed move: set onSlotLoss "resnapshot" and up again. */
  resnapshotOnGap?: boolean;
  existing?: number;
  log?: (line: string) => void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const PHYSICAL_SLOT = "standby1";

/** One failover run: its own primary and standby, one CLI project, destroyed at the end. */
export async function failoverRun(target: ConnectTarget, o: FailoverOptions): Promise<FailoverRun> {
  const log = o.log ?? (() => undefined);
  const existing = o.existing ?? 200;
  const primary = await startPostgres({ major: o.major, settings: { synchronous_commit: "on" } });
  let standby: PgServer | undefined;
  let project: CliProject | undefined;
  let writer: Writer | undefined;
  try {
    standby = await startStandby(primary, { physicalSlot: PHYSICAL_SLOT });
    // Every acknowledged commit is on the standby; failover slots wait for it (17).
    await primary.query(`ALTER SYSTEM SET synchronous_standby_names = '${PHYSICAL_SLOT}'`);
    if (o.major >= 17) await primary.query(`ALTER SYSTEM SET synchronized_standby_slots = '${PHYSICAL_SLOT}'`);
    await primary.query("SELECT pg_reload_conf()");
    const db = "shop";
    await primary.query(`CREATE DATABASE ${db}`);
    await primary.query(`CREATE TABLE orders (id bigint PRIMARY KEY, v text NOT NULL); INSERT INTO orders SELECT g, 'before' FROM generate_series(1, ${existing}) g`, undefined, db);

    project = await cliProject("local", { files: { "index.ts": FAILOVER_PROGRAM }, transpileOnly: true });
    const prefix = `fo${Date.now().toString(36)}`;
    const topic = `${prefix}.public.orders`;
    await project.config("pgPort", String(primary.port));
    await project.config("pgDatabase", db);
    await project.config("pgPassword", primary.superPassword, true);
    await project.config("connectUrl", target.url);
    await project.config("topicPrefix", prefix);
    await project.config("connectorName", prefix);
    if (o.failoverSlot) {
      await project.config("standbySlot", PHYSICAL_SLOT);
      await project.config("standbyPort", String(standby.port));
    }
    const echo = process.env.FAILOVER_ECHO ? (t: string) => process.stdout.write(`[${new Date().toISOString().slice(11, 19)}] ${t}`) : undefined;
    const up = (allowFailure = false) => project!.pulumi(["up", "--yes", "--skip-plugin-pre-install"], { allowFailure, echo });
    await up();
    const events = () => target.changeEvents(topic);
    const ids = async (op?: string) => (await events()).filter((e) => (op ? e.op === op : e.op === "c" || e.op === "r")).map((e) => Number(e.after!.id));
    await waitUntil("the initial snapshot", async () => (await ids("r")).length >= existing, 120_000);

    writer = startWriter(primary, db, existing + 1);
    if (o.failoverSlot) {
      // The standby's copy becomes persistent once it has a consistent snapshot: PostgreSQL logs the running
      // transactions every 15 s; asking for it now makes the wait short.
      await waitUntil(
        "the standby's synchronized copy of the slot",
        async () => {
          await primary.query("SELECT pg_log_standby_snapshot()");
          const rows = await standby!.query<{ synced: boolean; temporary: boolean }>("SELECT synced, temporary FROM pg_replication_slots WHERE slot_type = 'logical'");
          return rows.some((r) => r.synced && !r.temporary);
        },
        120_000,
      );
    }
    // Let the writer run while Debezium streams, then crash the primary mid-stream.
    await waitUntil("rows streamed while writing", async () => (await ids("c")).length >= 50, 60_000);
    const snapshotEventsBefore = (await ids("r")).length;
    await primary.kill();
    log(`primary (PostgreSQL ${o.major}) shut down immediately after ${writer.acknowledged.length} acknowledged rows; promoting the standby`);
    await standby.query("SELECT pg_promote(true, 60)");
    writer.retarget(standby);
    await sleep(500);

    // The seed 002 flow: point the pipeline at the promoted server.
    await project.config("pgPort", String(standby.port));
    // The promoted server has no standby yet: `standby` goes (the slot stays a failover slot).
    if (o.failoverSlot) await project.pulumi(["config", "rm", "standbySlot"]);
    const started = Date.now();
    const moved = await up(true);
    let moveError: string | undefined;
    if (moved.status !== 0) {
      moveError = `${moved.stdout}\n${moved.stderr}`;
      log(`the up on the promoted server stopped (as expected without a failover slot)`);
      if (o.resnapshotOnGap) {
        await project.config("onSlotLoss", "resnapshot");
        await up();
      }
    }
    const upSeconds = (Date.now() - started) / 1000;
    await sleep(1500);
    const written = await writer.stop();

    const onNewPrimary = (await standby.query<{ id: string }>("SELECT id FROM orders ORDER BY id", undefined, db)).map((r) => Number(r.id));
    const want = new Set(onNewPrimary);
    let got: number[] = [];
    if (!moveError || o.resnapshotOnGap) {
      await waitUntil("every row on the promoted server in the topic", async () => {
        got = await ids();
        const have = new Set(got);
        return onNewPrimary.every((id) => have.has(id));
      }, 120_000).catch(() => undefined);
    }
    got = await ids();
    const have = new Set(got);
    const result: FailoverRun = {
      major: o.major,
      existing,
      written: written.length,
      onNewPrimary: onNewPrimary.length,
      received: got.length,
      lost: onNewPrimary.filter((id) => !have.has(id)),
      lostByDatabase: written.filter((id) => !want.has(id)),
      duplicated: got.length - have.size,
      snapshotEventsAfterFailover: (await ids("r")).length - snapshotEventsBefore,
      moveError,
      upSeconds,
    };
    log(
      `PostgreSQL ${o.major}${o.failoverSlot ? " with a failover slot" : ""}: written ${result.written} (+${existing} before), on the promoted server ${result.onNewPrimary}, received ${result.received}, ` +
        `lost ${result.lost.length}, duplicated ${result.duplicated}, snapshot events after the failover ${result.snapshotEventsAfterFailover}; up on the promoted server ${upSeconds.toFixed(1)} s`,
    );
    if (!moveError || o.resnapshotOnGap) {
      await project.pulumi(["destroy", "--yes", "--skip-plugin-pre-install"]);
      project.close();
      project = undefined;
    }
    return result;
  } finally {
    await writer?.stop();
    if (project) {
      // A run that stopped half-way: remove its connector from the shared cluster (the servers go anyway).
      await project.pulumi(["destroy", "--yes", "--skip-plugin-pre-install"], { allowFailure: true }).catch(() => undefined);
      project.close();
    }
    await standby?.destroy();
    await primary.destroy();
  }
}

interface Writer {
  /** Ids whose INSERT returned (committed). */
  readonly acknowledged: number[];
  /** Writes to another server from now on (after a promotion). */
  retarget(server: PgServer): void;
  /** Stops and gives the acknowledged ids. */
  stop(): Promise<number[]>;
}

/** Inserts one row every few milliseconds into orders, reconnecting after errors (a crashed server). */
function startWriter(server: PgServer, db: string, firstId: number): Writer {
  const { Client: PgClient } = require("pg") as typeof import("pg");
  const acknowledged: number[] = [];
  let target = server;
  let stopped = false;
  let next = firstId;
  const loop = (async () => {
    let client: Client | undefined;
    let clientOf: PgServer | undefined;
    while (!stopped) {
      try {
        if (!client || clientOf !== target) {
          await client?.end().catch(() => undefined);
          client = new PgClient({ host: target.host, port: target.port, database: db, user: target.superuser, password: target.superPassword, connectionTimeoutMillis: 2000 });
          client.on("error", () => undefined);
          clientOf = target;
          await client.connect();
        }
        const id = next++;
        await client.query("INSERT INTO orders VALUES ($1, 'during')", [id]);
        acknowledged.push(id);
        await sleep(5);
      } catch {
        await client?.end().catch(() => undefined);
        client = undefined;
        await sleep(100);
      }
    }
    await client?.end().catch(() => undefined);
  })();
  return {
    acknowledged,
    retarget(s) {
      target = s;
    },
    async stop() {
      stopped = true;
      await loop;
      return acknowledged;
    },
  };
}

async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(250);
  }
}
