/**
 * Replays every recorded Kafka Connect session (test/fixtures/connect-transcripts/*.json,
 * Kafka Connect 3.7.1 standalone + Debezium 2.6.2) against the Connect double:
 * the same requests in order, compared with the recorded status codes, headers
 * and bodies, and status polls compared state by state (with each state's
 * recorded body and task trace first lines).
 *
 * Sessions that need no database run against the Debezium stand-in plugin
 * (recorded definitions and validation messages, a fake database for the
 * connection check). Sessions whose point is the database itself (PostgreSQL
 * stopped, slot missing, slot held by another connector), and 03-validate once
 * more, run against the PostgreSQL-backed plugin
 * (test/support/connect-double/debezium-postgres.ts) on one dedicated server
 * of the highest major of the run (the recordings are from PostgreSQL 17).
 * There the recorded sql and slot_poll steps run too: rows are compared
 * exactly except backend PIDs (mapped one-to-one per session, so "the same
 * backend still holds the slot" is checked) and LSNs (by form). Debezium's
 * 10 s waits and Connect's 5 s graceful-stop timeout are compressed by SCALE;
 * the order of states is not.
 */
import { debeziumPostgresPlugin } from "../support/connect-double/debezium-postgres";
import { strict as assert } from "node:assert";
import { debeziumStandInPlugin } from "../support/connect-double/builtin-plugins";
import type { ConnectorPlugin } from "../support/connect-double/plugin";
import { Client } from "pg";
import {
  compareHttp,
  compareSlotPoll,
  compareSql,
  compareStatusPoll,
  compareWorkerLog,
  loadTranscript,
  PidMap,
  pollStates,
  send,
  startSlotPoll,
  transcriptFiles,
  waitForStatus,
  type HttpStep,
  type Rewrites,
  type SlotPollStep,
  type SlotRow,
  type SqlOutcome,
  type SqlStep,
  type StatusPollStep,
  type Step,
} from "../support/connect-double/replay";
import { startConnectDouble, type ConnectDouble } from "../support/connect-double/server";
import { freePort, pgMajors, startPostgres, type PgServer } from "../support/postgres";

const WITHOUT_DATABASE = ["01-root.json", "02-connector-plugins.json", "03-validate.json", "04-create.json", "05-config-put.json", "06-lifecycle.json", "07-delete.json", "08-errors.json", "11-create-delete-timing.json", "13-worker-restart.json"];
const WITH_DATABASE: Record<string, string> = {
  "09-db-stopped.json": "PostgreSQL stopped under a RUNNING task: RUNNING, then FAILED (Couldn't obtain encoding ...) after the retriable restart, no recovery, restart onlyFailed",
  "10-slot-missing.json": "slot created by the task, publication missing (task FAILED, no slot), slot.drop.on.stop (slot gone on DELETE)",
  "12-active-slot-conflict.json": "a second connector on an active slot stays RUNNING while retrying (worker log), DELETE waits out the graceful-stop timeout",
};

const BASE_CONFIG = {
  "connector.class": "io.debezium.connector.postgresql.PostgresConnector",
  "tasks.max": "1",
  "database.hostname": "127.0.0.1",
  "database.port": "55432",
  "database.user": "dbz",
  "database.password": "dbz",
  "database.dbname": "inventory",
  "topic.prefix": "shop",
  "plugin.name": "pgoutput",
  "slot.name": "dbz_slot",
  "publication.name": "dbz_pub",
  "publication.autocreate.mode": "disabled",
};

const TIMING = { tasksDelayMs: 150, pauseDelayMs: 150, restartDelayMs: 150, taskShutdownTimeoutMs: 1000 };
const POLL = { intervalMs: 15, holdMs: 400 };

function isHttp(s: Step): s is HttpStep {
  return s.type === "http";
}
function isPoll(s: Step): s is StatusPollStep {
  return s.type === "status_poll";
}
function isSql(s: Step): s is SqlStep {
  return s.type === "sql";
}
function isSlotPoll(s: Step): s is SlotPollStep {
  return s.type === "slot_poll";
}
function isStatusBody(v: unknown): v is { name: string; connector: unknown; tasks: unknown[] } {
  return !!v && typeof v === "object" && "name" in v && "connector" in v && Array.isArray((v as { tasks?: unknown }).tasks);
}

interface ReplayContext {
  double: ConnectDouble;
  rewrites?: Rewrites;
  /** Acts on notes that describe actions taken by hand (stop the worker or the database ...). */
  onNote?(text: string, data: unknown): Promise<void>;
  /** Milliseconds to wait before an http step with this label (the recording waited there, e.g. for an offset flush). */
  waitBefore?: Record<string, number>;
  /** Called before an HTTP step is sent (e.g. to wait until the double has done what the recording shows had happened by then). */
  beforeHttp?(step: HttpStep): Promise<void>;
  /** How long the last state of a status poll must hold, ms (default POLL.holdMs). */
  holdMs?(step: StatusPollStep): number;
  /** Cap of a status poll, ms. */
  pollCapMs?: number;
  /** Runs a recorded query (sessions with a database). */
  sql?(step: SqlStep): Promise<SqlOutcome>;
  /** Reads one slot's row (sessions with a database). */
  slot?(name: string): Promise<SlotRow | null>;
  /** Recorded PIDs -> PIDs of this run. */
  pids?: PidMap;
  /** Compare task traces in full (the PostgreSQL-backed plugin renders them like Debezium does). */
  fullTraces?: boolean;
}

/**
 * Replays the steps in order. A slot poll recorded right after an http step
 * but started before it (its t_ms is earlier, e.g. the poll watching a DELETE)
 * is started first, then the request is sent, then the poll is awaited.
 */
async function replaySteps(steps: Step[], ctx: ReplayContext): Promise<string[]> {
  const log: string[] = [];
  const pids = ctx.pids ?? new PidMap();
  for (let i = 0; i < steps.length; i++) {
    const step = steps[i];
    if (isHttp(step)) {
      const next = steps[i + 1];
      const watch = next && isSlotPoll(next) && next.t_ms <= step.t_ms ? next : undefined;
      const poll = watch && ctx.slot ? startSlotPoll(watch, ctx.slot, Math.min(watch.timeout_ms, 15000)) : undefined;
      if (poll) await poll.ready;
      const wait = step.label ? ctx.waitBefore?.[step.label] : undefined;
      if (wait) await new Promise((r) => setTimeout(r, wait));
      await ctx.beforeHttp?.(step);
      const answer = await send(ctx.double.url, step, ctx.rewrites);
      compareHttp(step, answer, { fullTraces: ctx.fullTraces });
      log.push(`${step.request.method} ${step.request.path} -> ${answer.status ?? answer.error}`);
      if (watch && poll) {
        const seen = await poll.done;
        compareSlotPoll(watch, seen, pids);
        log.push(`slot ${watch.slot}: ${seen.map((r) => (r ? (r.active ? "active" : "inactive") : "absent")).join(" -> ")}`);
        i++;
      }
    } else if (isPoll(step)) {
      const { states, answers } = await pollStates(ctx.double.url, step, {
        intervalMs: POLL.intervalMs,
        holdMs: ctx.holdMs?.(step) ?? POLL.holdMs,
        capMs: Math.min(step.duration_ms, ctx.pollCapMs ?? 5000),
        rewrites: ctx.rewrites,
      });
      assert.deepEqual(
        states,
        step.state_sequence.map((s) => s.state),
        `status poll of ${step.connector} at t=${step.t_ms} ms (last body ${JSON.stringify(answers[answers.length - 1]?.body).slice(0, 1500)})`,
      );
      compareStatusPoll(step, answers, { fullTraces: ctx.fullTraces });
      log.push(`status ${step.connector}: ${states.join(" -> ")}`);
    } else if (isSql(step)) {
      if (!ctx.sql) continue; // a session replayed without a database (its database side is not simulated)
      compareSql(step, await ctx.sql(step), pids);
      log.push(`sql ${step.label}`);
    } else if (isSlotPoll(step)) {
      if (!ctx.slot) continue;
      const poll = startSlotPoll(step, ctx.slot, Math.min(step.timeout_ms, 15000));
      compareSlotPoll(step, await poll.done, pids);
      log.push(`slot poll ${step.label}`);
    } else if (step.type === "note") {
      // "status once RUNNING" / "A status": the recorder waited for that status.
      if (isStatusBody(step.data)) await waitForStatus(ctx.double.url, step.data, { capMs: 10000, intervalMs: 5, rewrites: ctx.rewrites, fullTraces: ctx.fullTraces });
      if (typeof step.text === "string" && ctx.onNote) await ctx.onNote(step.text, step.data);
    }
  }
  return log;
}

describe("Kafka Connect transcripts replayed against the Connect double", function () {
  this.timeout(120000);
  let double: ConnectDouble;

  before(async () => {
    double = await startConnectDouble({
      plugins: [
        debeziumStandInPlugin({
          servers: [{ host: "127.0.0.1", port: 55432, users: { dbz: "dbz", postgres: "pw" }, databases: ["inventory"] }],
          offsetFlushMs: 1500,
        }),
      ],
      timing: TIMING,
    });
  });
  after(async () => double?.close());

  it("covers every recorded session (with or without a database)", () => {
    const all = transcriptFiles();
    assert.deepEqual([...WITHOUT_DATABASE, ...Object.keys(WITH_DATABASE)].sort(), all);
  });

  for (const file of WITHOUT_DATABASE) {
    const t = loadTranscript(file);
    it(`${t.scenario}: ${t.description.slice(0, 90)}`, async () => {
      if (file === "11-create-delete-timing.json") return replayTiming(t.steps, double);
      await replaySteps(t.steps, {
        double,
        waitBefore: { "offsets before worker stop": 1700 },
        async onNote(text) {
          // 05: "Cleanup done by hand with curl after the script: DELETE /connectors/bad%20name%2F -> 204"
          if (/DELETE \/connectors\/bad%20name%2F/.test(text)) {
            const del = await send(double.url, { type: "http", t_ms: 0, request: { method: "DELETE", path: "/connectors/bad%20name%2F", headers: {} }, response: { headers: {}, body: null } });
            assert.equal(del.status, 204);
          }
          if (/^SIGTERM to connect-standalone/.test(text)) await double.stopWorker();
          if (/^worker restarted/.test(text)) await double.startWorker();
        },
      });
    });
  }
});

/** 11: five create -> RUNNING -> delete cycles, with a status poll racing the POST. */
async function replayTiming(steps: Step[], double: ConnectDouble): Promise<void> {
  const runs = (steps[0] as unknown as { runs: Array<{ name: string; events: Array<{ what: string; status: string | number }>; delete: { events: Array<{ what: string; status?: number }> } }> }).runs;
  assert.equal(runs.length, 5);
  for (const run of runs) {
    const status = (): HttpStep => ({
      type: "http",
      t_ms: 0,
      request: { method: "GET", path: `/connectors/${run.name}/status`, headers: { Accept: "application/json" } },
      response: { headers: {}, body: null },
    });
    const before = run.events.find((e) => e.what === "status");
    assert.ok(before && typeof before.status === "string");
    const [code, ...rest] = before.status.split(" ");
    const first = await send(double.url, status());
    assert.equal(first.status, Number(code));
    assert.deepEqual(first.body, JSON.parse(rest.join(" ")));
    const post = await send(double.url, {
      type: "http",
      t_ms: 0,
      request: { method: "POST", path: "/connectors", headers: { Accept: "application/json", "Content-Type": "application/json" }, body: { name: run.name, config: BASE_CONFIG } },
      response: { headers: {}, body: null },
    });
    assert.equal(post.status, run.events.find((e) => e.what === "POST response")?.status);
    const started = Date.now();
    let state = "";
    while (Date.now() - started < 3000) {
      const s = await send(double.url, status());
      state = s.status === 200 ? JSON.stringify((s.body as { tasks: unknown[] }).tasks) : String(s.status);
      if (/RUNNING/.test(state)) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.match(state, /"state":"RUNNING"/, `${run.name} reaches RUNNING`);
    const del = await send(double.url, { type: "http", t_ms: 0, request: { method: "DELETE", path: `/connectors/${run.name}`, headers: { Accept: "application/json" } }, response: { headers: {}, body: null } });
    assert.equal(del.status, run.delete.events.find((e) => e.what === "DELETE response")?.status);
    const after = await send(double.url, status());
    assert.equal(after.status, 404);
  }
}

// ---------------------------------------------------------------------------
// Sessions that need PostgreSQL and the PostgreSQL-backed Debezium plugin.

type PluginFactory = (opts?: Record<string, unknown>) => ConnectorPlugin;

/**
 * Time compression of the database sessions: Debezium's 10 s waits
 * (retriable.restart.connector.wait.ms, slot.retry.delay.ms) and Connect's
 * 5 s task.shutdown.graceful.timeout.ms become SCALE times as long, and each
 * status poll's last state must hold for SCALE times as long as it was
 * recorded holding.
 */
const SCALE = 0.05;
const DEBEZIUM_WAIT_MS = 10000 * SCALE;

describe("Kafka Connect transcripts needing PostgreSQL, replayed against the Connect double @pg", function () {
  this.timeout(120000);
  const plugin: { factory: PluginFactory } = { factory: debeziumPostgresPlugin as PluginFactory };
  // The recordings are from PostgreSQL 17: replay them once, on the highest major of the run.
  const major = Math.max(...pgMajors());
  let pg: PgServer | undefined;
  let double: ConnectDouble | undefined;
  let rewrites: Rewrites = [];

  before(async function () {
    // A dedicated server, so the recorded names (database inventory, role dbz,
    // slot dbz_slot, publication dbz_pub) can be used as they are; only the
    // port differs from the recording.
    pg = await startPostgres({ major });
    await pg.query("CREATE DATABASE inventory");
    await pg.query("CREATE ROLE dbz LOGIN REPLICATION PASSWORD 'dbz'");
    await pg.query("CREATE TABLE products (id serial PRIMARY KEY, name text)", [], "inventory");
    // The recorded database as session 09 found it: three rows, plus the one 04 inserted (id 4).
    await pg.query("INSERT INTO products (name) VALUES ('widget'), ('gadget'), ('gizmo'), ('sprocket')", [], "inventory");
    await pg.query("GRANT SELECT ON products TO dbz", [], "inventory");
    await pg.query("CREATE PUBLICATION dbz_pub FOR TABLE products", [], "inventory");
    await pg.query("SELECT pg_create_logical_replication_slot('dbz_slot', 'pgoutput')", [], "inventory");
    rewrites = [
      ["127.0.0.1:55432", `127.0.0.1:${pg.port}`],
      ["55432", String(pg.port)],
    ];
    double = await startConnectDouble({
      plugins: [
        plugin.factory({
          retriableRestartWaitMs: DEBEZIUM_WAIT_MS,
          slotRetryDelayMs: DEBEZIUM_WAIT_MS,
          statusUpdateIntervalMs: DEBEZIUM_WAIT_MS,
          // Not compressed: the recorded RUNNING -> slot active time (transcripts 09 and 11).
          streamingSetupMs: 100,
        }),
      ],
      timing: { ...TIMING, taskShutdownTimeoutMs: 5000 * SCALE },
    });
  });
  after(async () => {
    await double?.close();
    await pg?.destroy();
  });

  async function runSql(step: SqlStep): Promise<SqlOutcome> {
    const server = pg as PgServer;
    const c = new Client({ host: "127.0.0.1", port: server.port, user: server.superuser, password: server.superPassword, database: step.database });
    await c.connect();
    try {
      const r = await c.query(step.query);
      return { result: { command: r.command, rowCount: r.rowCount, rows: r.rows as Array<Record<string, unknown>> } };
    } catch (err) {
      const e = err as { message: string; code?: string; severity?: string; routine?: string };
      return { error: { message: e.message, code: e.code, severity: e.severity, routine: e.routine } };
    } finally {
      await c.end();
    }
  }

  async function slotRow(name: string): Promise<SlotRow | null> {
    const rows = await (pg as PgServer).query<SlotRow>("SELECT slot_name, active, active_pid FROM pg_replication_slots WHERE slot_name = $1", [name]);
    return rows[0] ?? null;
  }

  it(`03-validate (PostgreSQL ${major}): the recorded validate cases against the PostgreSQL-backed plugin (real connection checks, tasks.max reported once)`, async function () {
    if (!double || !pg) throw new Error("the PostgreSQL server and the double did not start (see the before hook)");
    // The recorded superuser password and dead port stand for this run's.
    const extra: Rewrites = [
      ["55499", String(await freePort())],
      ["pw", pg.superPassword],
    ];
    await replaySteps(loadTranscript("03-validate.json").steps, { double, rewrites: [...rewrites, ...extra] });
  });

  for (const [file, what] of Object.entries(WITH_DATABASE)) {
    const t = loadTranscript(file);
    it(`${t.scenario} (PostgreSQL ${major}): ${what}`, async function () {
      if (!double || !pg) throw new Error("the PostgreSQL server and the double did not start (see the before hook)");
      const server = pg;
      const d = double;
      let dbDown = false;
      const logFrom = d.workerLog.length;
      const pids = new PidMap(); // recorded -> actual backend PIDs of this session
      try {
        await replaySteps(t.steps, {
          double: d,
          rewrites,
          pids,
          fullTraces: true,
          pollCapMs: 30000,
          holdMs: (step) => {
            const last = step.state_sequence[step.state_sequence.length - 1];
            return Math.max(300, (step.duration_ms - last.from_t_ms) * SCALE);
          },
          sql: runSql,
          slot: slotRow,
          async beforeHttp(step) {
            // Session 12 deletes the contender once its retries have started a second round (as recorded). The double's
            // retry pauses are scaled down, but each attempt costs real work, so on a loaded machine the scaled poll can
            // end before that round begins: wait for it (bounded), as the recorder did.
            if (t.scenario !== "12-active-slot-conflict" || step.label !== "DELETE B") return;
            const deadline = Date.now() + 30000;
            const rounds = () => d.workerLog.slice(logFrom).filter((l) => /attempt number 1 over 6/.test(l)).length;
            while (rounds() < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
          },
          async onNote(text, data) {
            if (/^Worker log excerpt/.test(text) && Array.isArray(data)) {
              const r = compareWorkerLog(data as string[], d.workerLog.slice(logFrom), { pids, scale: SCALE });
              // Skipped: the recorder's summary of when the task thread ended (5.6 s after the DELETE response, at the end of its retry pause), not a log line.
              assert.equal(r.skipped.length, 1, r.skipped.join("\n"));
              assert.match(r.skipped[0], /^[\d:.]+ \[contender-b\|task-0\] producer closed \/ Debezium ServiceRegistry stopped/);
              assert.ok(r.matched >= 11, `matched ${r.matched} recorded worker-log lines`);
            }
            if (/SIGINT \(fast shutdown\)/.test(text)) {
              dbDown = true;
              const t0 = Date.now();
              await server.stop();
              if (process.env.REPLAY_DEBUG) console.log(`      PostgreSQL fast shutdown took ${Date.now() - t0} ms`);
            }
            if (/starting PostgreSQL again/.test(text)) {
              await server.start();
              dbDown = false;
            }
          },
        });
      } catch (err) {
        // The worker log of this session helps to see why the double differed.
        console.log(d.workerLog.slice(logFrom).slice(-40).map((l) => `      | ${l}`).join("\n"));
        // Leave nothing behind for the next session (each session deletes its connectors when it runs through).
        const left = await send(d.url, { type: "http", t_ms: 0, request: { method: "GET", path: "/connectors", headers: {} }, response: { headers: {}, body: null } });
        for (const n of (left.body as string[]) ?? [])
          await send(d.url, { type: "http", t_ms: 0, request: { method: "DELETE", path: `/connectors/${encodeURIComponent(n)}`, headers: {} }, response: { headers: {}, body: null } });
        throw err;
      } finally {
        if (dbDown) await server.start(); // the next sessions need the database
      }
    });
  }
});
