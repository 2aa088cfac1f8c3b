/**
 * Replays recorded Kafka Connect sessions (test/fixtures/connect-transcripts,
 * recorded from a real Connect 3.7.1 with Debezium 2.6.2) against a Connect double and compares
 * every answer with the recorded one: status codes, Content-Type presence,
 * Location paths, error messages exactly (except where they embed run-specific
 * text), bodies exactly or by shape where the double cannot know the value
 * (plugin lists, offsets), the sequence of states seen by status polls with
 * each state's body and trace first lines, recorded SQL results and slot polls
 * (backend PIDs mapped one-to-one, LSNs by form), and worker-log excerpts.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { request } from "undici";

export interface HttpStep {
  type: "http";
  label?: string;
  t_ms: number;
  request: { method: string; path: string; headers: Record<string, string>; body?: unknown };
  response: { status?: number; headers: Record<string, string>; body: unknown };
}
export interface StatusPollStep {
  type: "status_poll";
  t_ms: number;
  connector: string;
  interval_ms: number;
  duration_ms: number;
  state_sequence: Array<{ state: string; from_t_ms: number; polls: number }>;
  distinct_responses?: Array<{ first_seen_t_ms: number; status: number; headers: Record<string, string>; body: unknown }>;
}
/** A query run as superuser postgres, with its result or its error. */
export interface SqlStep {
  type: "sql";
  label?: string;
  t_ms: number;
  database: string;
  query: string;
  result?: { command: string; rowCount: number; rows: Array<Record<string, unknown>> };
  error?: { message: string; code: string; severity: string; routine?: string };
}
/** pg_replication_slots polled for one slot until a predicate held; `changes` are the distinct rows seen, the last one `matched`. */
export interface SlotPollStep {
  type: "slot_poll";
  label: string;
  t_ms: number;
  slot: string;
  interval_ms: number;
  timeout_ms: number;
  matched: boolean;
  changes: Array<{ t_ms: number; row: SlotRow | null; matched?: boolean }>;
}
export interface SlotRow {
  slot_name: string;
  active: boolean;
  active_pid: number | null;
}
export interface OtherStep {
  type: "note" | "timing_runs";
  label?: string;
  text?: string;
  t_ms?: number;
  [k: string]: unknown;
}
export type Step = HttpStep | StatusPollStep | SqlStep | SlotPollStep | OtherStep;
export interface Transcript {
  scenario: string;
  description: string;
  steps: Step[];
}

/**
 * The transcript folder: $CONNECT_TRANSCRIPTS, or the recordings kept with
 * the tests (test/fixtures/connect-transcripts, see its README).
 */
export function transcriptDir(): string {
  const repoRoot = path.resolve(__dirname, "../../../..");
  const candidates = [process.env.CONNECT_TRANSCRIPTS, path.resolve(repoRoot, "test/fixtures/connect-transcripts")].filter((c): c is string => !!c);
  const found = candidates.find((c) => fs.existsSync(path.join(c, "01-root.json")));
  if (!found) throw new Error(`connect transcripts not found in ${candidates.join(", ")}`);
  return found;
}

export function loadTranscript(file: string): Transcript {
  return JSON.parse(fs.readFileSync(path.join(transcriptDir(), file), "utf8")) as Transcript;
}

export function transcriptFiles(): string[] {
  return fs
    .readdirSync(transcriptDir())
    .filter((f) => /^\d\d-.*\.json$/.test(f))
    .sort();
}

/** Values replaced in requests (recorded -> actual) and back in answers before comparing. */
export type Rewrites = Array<[string, string]>;

function rewrite(value: unknown, map: Rewrites): unknown {
  if (map.length === 0) return value;
  if (typeof value === "string") {
    let s = value;
    for (const [a, b] of map) s = s.split(a).join(b);
    return s;
  }
  if (Array.isArray(value)) return value.map((v) => rewrite(v, map));
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [rewrite(k, map) as string, rewrite(v, map)]));
  return value;
}

export interface Answer {
  status?: number;
  headers: Record<string, string>;
  body: unknown;
  error?: string;
}

/** Sends a recorded request to the double. */
export async function send(baseUrl: string, step: HttpStep, rewrites: Rewrites = []): Promise<Answer> {
  const body = step.request.body === undefined ? undefined : typeof step.request.body === "string" ? step.request.body : JSON.stringify(rewrite(step.request.body, rewrites));
  try {
    const res = await request(baseUrl + (rewrite(step.request.path, rewrites) as string), {
      method: step.request.method as "GET",
      headers: step.request.headers,
      body: typeof body === "string" ? (rewrite(body, rewrites) as string) : body,
    });
    const text = await res.body.text();
    let parsed: unknown = null;
    if (text.length > 0) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(res.headers)) if (typeof v === "string") headers[k] = v;
    const back = rewrites.map(([a, b]) => [b, a] as [string, string]);
    return { status: res.statusCode, headers, body: rewrite(parsed, back) };
  } catch (e) {
    return { headers: {}, body: undefined, error: e instanceof Error ? e.message : String(e) };
  }
}

/** The shape of a JSON value: keys and types, recursively (arrays by their first element). */
export function shapeOf(v: unknown): unknown {
  if (Array.isArray(v)) return v.length === 0 ? [] : [shapeOf(v[0])];
  if (v && typeof v === "object") return Object.fromEntries(Object.keys(v).sort().map((k) => [k, shapeOf((v as Record<string, unknown>)[k])]));
  return v === null ? "null" : typeof v;
}

const UNKNOWN_CLASS = /^((?:org\.apache\.kafka\.connect\.errors\.ConnectException: )?Failed to find any class that implements Connector and which name matches \S+, available connectors are: )/;

function compareMessage(where: string, recorded: string, actual: string): void {
  const m = UNKNOWN_CLASS.exec(recorded);
  if (m) {
    assert.ok(actual.startsWith(m[1]), `${where}: message should start with ${JSON.stringify(m[1])}, got ${JSON.stringify(actual)}`);
    const desc = /PluginDesc\{klass=class io\.debezium\.connector\.postgresql\.PostgresConnector, [^}]*?location=/.exec(recorded);
    if (desc) assert.ok(actual.includes(desc[0]), `${where}: message should list ${desc[0]}`);
    return;
  }
  assert.equal(actual, recorded, `${where}: message`);
}

function compareStatusBody(where: string, recorded: Record<string, unknown>, actual: Record<string, unknown>, opts: CompareOptions = {}): void {
  assert.equal(actual.name, recorded.name, `${where}: status name`);
  assert.equal(actual.type, recorded.type, `${where}: status type`);
  const rc = recorded.connector as Record<string, unknown>;
  const ac = actual.connector as Record<string, unknown>;
  assert.equal(ac.state, rc.state, `${where}: connector state`);
  assert.equal(typeof ac.worker_id, "string");
  const tasks = (t: unknown) => (t as Array<Record<string, unknown>>).map((x) => ({ id: x.id, state: x.state, trace: typeof x.trace === "string" ? String(x.trace).split("\n")[0] : undefined }));
  assert.deepEqual(tasks(actual.tasks), tasks(recorded.tasks), `${where}: tasks`);
  if (!opts.fullTraces) return;
  // Beyond the first line: the whole trace (frames, "Caused by:" chain, "... n more"), as Connect prints it.
  const traces = (t: unknown) => (t as Array<Record<string, unknown>>).map((x) => (typeof x.trace === "string" ? x.trace.trimEnd() : undefined));
  assert.deepEqual(traces(actual.tasks), traces(recorded.tasks), `${where}: task traces`);
}

function compareValidateBody(where: string, recorded: Record<string, unknown>, actual: Record<string, unknown>): void {
  assert.equal(actual.name, recorded.name, `${where}: validate name`);
  assert.equal(actual.error_count, recorded.error_count, `${where}: error_count`);
  assert.deepEqual(actual.groups, recorded.groups, `${where}: groups`);
  const rc = recorded.configs as Array<{ definition: unknown; value: Record<string, unknown> }>;
  const ac = actual.configs as Array<{ definition: unknown; value: Record<string, unknown> }>;
  assert.equal(ac.length, rc.length, `${where}: number of configs`);
  for (let i = 0; i < rc.length; i++) {
    assert.deepEqual(ac[i].definition, rc[i].definition, `${where}: definition ${i}`);
    const { visible: _rv, ...rv } = rc[i].value;
    const { visible: _av, ...av } = ac[i].value;
    assert.deepEqual(av, rv, `${where}: value of ${String(rc[i].value.name)}`);
  }
}

function compareOffsets(where: string, recorded: { offsets: Array<Record<string, unknown>> }, actual: { offsets: Array<Record<string, unknown>> }): void {
  assert.equal(actual.offsets.length, recorded.offsets.length, `${where}: number of offsets`);
  for (let i = 0; i < recorded.offsets.length; i++) {
    assert.deepEqual(actual.offsets[i].partition, recorded.offsets[i].partition, `${where}: partition`);
    const ro = recorded.offsets[i].offset as Record<string, unknown>;
    const ao = actual.offsets[i].offset as Record<string, unknown>;
    if (JSON.stringify(ro) === JSON.stringify(ao)) continue;
    for (const k of ["lsn", "txId"]) if (k in ro) assert.equal(typeof ao[k], typeof ro[k], `${where}: offset.${k}`);
  }
}

/** How strictly answers are compared. */
export interface CompareOptions {
  /** Compare task traces in full (trailing whitespace aside), not only their first lines. */
  fullTraces?: boolean;
}

/** Compares an answer with the recorded one. */
export function compareHttp(step: HttpStep, actual: Answer, opts: CompareOptions = {}): void {
  const where = `${step.request.method} ${step.request.path}${step.label ? ` (${step.label})` : ""}`;
  const rec = step.response;
  if (rec.status === undefined) {
    assert.ok(actual.error, `${where}: the recording got no answer (worker down), the double answered ${actual.status}`);
    return;
  }
  assert.equal(actual.status, rec.status, `${where}: status (body ${JSON.stringify(actual.body)?.slice(0, 300)})`);
  assert.equal(actual.headers["content-type"], rec.headers["content-type"], `${where}: content-type`);
  if (rec.headers.location) {
    const p = (u: string) => new URL(u).pathname;
    assert.equal(actual.headers.location && p(actual.headers.location), p(rec.headers.location), `${where}: location path`);
  }
  if (rec.status === 202 && rec.body === null) assert.equal(actual.headers["content-length"], "0", `${where}: content-length`);
  const rb = rec.body as Record<string, unknown> | null;
  const ab = actual.body as Record<string, unknown> | null;
  if (rb === null || rb === undefined) {
    assert.ok(ab === null || ab === undefined, `${where}: expected no body, got ${JSON.stringify(ab)}`);
    return;
  }
  if (typeof rb === "object" && !Array.isArray(rb) && "error_code" in rb && "message" in rb) {
    assert.equal(ab?.error_code, rb.error_code, `${where}: error_code`);
    compareMessage(where, String(rb.message), String(ab?.message));
    return;
  }
  if (typeof rb === "object" && "configs" in rb && "error_count" in rb) return compareValidateBody(where, rb, ab as Record<string, unknown>);
  if (typeof rb === "object" && "connector" in rb && "tasks" in rb && !("config" in rb)) return compareStatusBody(where, rb, ab as Record<string, unknown>, opts);
  if (step.request.method === "GET" && /\/offsets$/.test(step.request.path))
    return compareOffsets(where, rb as unknown as { offsets: Array<Record<string, unknown>> }, ab as unknown as { offsets: Array<Record<string, unknown>> });
  if (step.request.method === "GET" && /^\/connector-plugins(\?|$)/.test(step.request.path)) {
    assert.deepEqual(shapeOf(ab), shapeOf(rb), `${where}: shape`);
    return;
  }
  if (step.request.method === "GET" && /^\/connectors\?expand=/.test(step.request.path)) {
    // expand=status bodies: compare statuses like status answers, infos exactly.
    assert.deepEqual(Object.keys(ab ?? {}), Object.keys(rb), `${where}: connectors`);
    for (const [n, e] of Object.entries(rb as Record<string, Record<string, unknown>>)) {
      const a = (ab as Record<string, Record<string, unknown>>)[n];
      assert.deepEqual(Object.keys(a), Object.keys(e), `${where}: expansions of ${n}`);
      if (e.status) compareStatusBody(where, e.status as Record<string, unknown>, a.status as Record<string, unknown>, opts);
      if (e.info) assert.deepEqual(a.info, e.info, `${where}: info of ${n}`);
    }
    return;
  }
  const norm = (v: unknown) => JSON.parse(JSON.stringify(v).replace(/"worker_id":"[^"]*"/g, '"worker_id":"W"'));
  assert.deepEqual(norm(ab), norm(rb), `${where}: body`);
  if (/\/tasks$/.test(step.request.path) && Array.isArray(rb))
    for (let i = 0; i < rb.length; i++)
      assert.deepEqual(Object.keys((ab as unknown as Array<{ config: object }>)[i].config), Object.keys((rb[i] as { config: object }).config), `${where}: task config key order`);
}

/** "200 connector=RUNNING tasks=[0:RUNNING,7:FAILED(trace)]" or "404 {...}", as the recorder wrote states. */
export function stateString(a: Answer): string {
  if (a.status !== 200) return `${a.status} ${JSON.stringify(a.body)}`;
  const b = a.body as { connector: { state: string }; tasks: Array<{ id: number; state: string; trace?: string }> };
  return `200 connector=${b.connector.state} tasks=[${b.tasks.map((t) => `${t.id}:${t.state}${t.trace ? "(trace)" : ""}`).join(",")}]`;
}

/**
 * Polls the status until the collapsed sequence of states equals the recorded
 * one and the last state has held for `holdMs`, or until the sequence diverges
 * or `capMs` passes. Returns the observed sequence and the first answer of each
 * state (compare them with {@link compareStatusPoll}).
 */
export async function pollStates(
  baseUrl: string,
  step: StatusPollStep,
  opts: { intervalMs: number; holdMs: number; capMs: number; rewrites?: Rewrites },
): Promise<{ states: string[]; answers: Answer[] }> {
  const want = step.state_sequence.map((s) => s.state);
  const states: string[] = [];
  const answers: Answer[] = [];
  let lastChange = Date.now();
  const start = Date.now();
  const poll = statusRequest(step.connector);
  for (;;) {
    const a = await send(baseUrl, poll, opts.rewrites);
    const s = stateString(a);
    if (states[states.length - 1] !== s) {
      states.push(s);
      answers.push(a);
      lastChange = Date.now();
    }
    const matches = states.length === want.length && states.every((x, i) => x === want[i]);
    if (matches && Date.now() - lastChange >= opts.holdMs) return { states, answers };
    const prefixOk = states.every((x, i) => x === want[i]);
    if (!prefixOk || states.length > want.length || Date.now() - start > opts.capMs) return { states, answers };
    await new Promise((r) => setTimeout(r, opts.intervalMs));
  }
}

/** GET /connectors/{name}/status as a step. */
export function statusRequest(connector: string): HttpStep {
  return {
    type: "http",
    t_ms: 0,
    request: { method: "GET", path: `/connectors/${encodeURIComponent(connector)}/status`, headers: { Accept: "application/json" } },
    response: { headers: {}, body: null },
  };
}

/**
 * Compares the first answer of each state with the recorded distinct response
 * first seen at that state's start: status, content-type, states and each
 * task's trace first line.
 */
export function compareStatusPoll(step: StatusPollStep, answers: Answer[], opts: CompareOptions = {}): void {
  step.state_sequence.forEach((s, i) => {
    const rec = step.distinct_responses?.find((d) => d.first_seen_t_ms === s.from_t_ms) ?? step.distinct_responses?.find((d) => stateString(d as Answer) === s.state);
    if (!rec || !answers[i]) return;
    compareHttp(
      { type: "http", label: `status poll at t=${step.t_ms} ms, state ${i + 1} (${s.state})`, t_ms: step.t_ms, request: statusRequest(step.connector).request, response: rec },
      answers[i],
      opts,
    );
  });
}

/** A status body's state string (see {@link stateString}) from a recorded note's data. */
export function recordedStateString(body: unknown): string {
  return stateString({ status: 200, headers: {}, body });
}

/**
 * Waits until the connector's status shows the same states as a recorded
 * status body (the recorder waited there, e.g. "status once RUNNING"), then
 * compares the bodies.
 */
export async function waitForStatus(
  baseUrl: string,
  recorded: { name: string },
  opts: { capMs: number; intervalMs: number; rewrites?: Rewrites } & CompareOptions,
): Promise<void> {
  const want = recordedStateString(recorded);
  const req = statusRequest(recorded.name);
  const started = Date.now();
  let last: Answer | undefined;
  while (Date.now() - started < opts.capMs) {
    last = await send(baseUrl, req, opts.rewrites);
    if (stateString(last) === want) {
      compareHttp({ ...req, label: `waiting for ${want}`, response: { status: 200, headers: { "content-type": "application/json" }, body: recorded } }, last, opts);
      return;
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs));
  }
  assert.fail(`${recorded.name}: status never reached ${want} within ${opts.capMs} ms (last: ${last ? stateString(last) : "none"})`);
}

// ---------------------------------------------------------------------------
// Run-specific values: backend PIDs (mapped one-to-one, recorded -> actual, so
// "the same backend still holds the slot" is still checked) and LSNs (only
// their form is compared: the WAL positions depend on everything the server
// ever wrote).

const LSN = /^[0-9A-F]{1,8}\/[0-9A-F]{1,8}$/;
const PID_KEYS = new Set(["pid", "active_pid"]);

/** One-to-one map of recorded backend PIDs to the PIDs of this run. */
export class PidMap {
  private readonly forward = new Map<number, number>();
  private readonly backward = new Map<number, number>();

  /** Asserts that `actual` stands for `recorded` (the first sighting of either defines the pair). */
  same(recorded: number, actual: number, where: string): void {
    const known = this.forward.get(recorded);
    if (known !== undefined) {
      assert.equal(actual, known, `${where}: recorded PID ${recorded} was backend ${known} in this run, now ${actual} (a different backend)`);
      return;
    }
    const other = this.backward.get(actual);
    assert.equal(other, undefined, `${where}: backend ${actual} already stood for recorded PID ${other}, now for ${recorded}`);
    this.forward.set(recorded, actual);
    this.backward.set(actual, recorded);
  }

  /** The actual PID of a recorded one, if already seen. */
  actual(recorded: number): number | undefined {
    return this.forward.get(recorded);
  }
}

function compareValue(where: string, key: string, recorded: unknown, actual: unknown, pids: PidMap): void {
  if (PID_KEYS.has(key) && typeof recorded === "number") {
    assert.equal(typeof actual, "number", `${where}: ${key} should be a PID, got ${JSON.stringify(actual)}`);
    pids.same(recorded, actual as number, `${where}: ${key}`);
    return;
  }
  if (typeof recorded === "string" && LSN.test(recorded)) {
    assert.ok(typeof actual === "string" && LSN.test(actual), `${where}: ${key} should be an LSN, got ${JSON.stringify(actual)}`);
    return;
  }
  assert.deepEqual(actual, recorded, `${where}: ${key}`);
}

/** Replaces "PID <n>" in a server message by the PID the recorded one maps to. */
function messageWithPids(recorded: string, actual: string, where: string, pids: PidMap): void {
  const rec = [...recorded.matchAll(/PID (\d+)/g)].map((m) => Number(m[1]));
  const act = [...actual.matchAll(/PID (\d+)/g)].map((m) => Number(m[1]));
  assert.equal(act.length, rec.length, `${where}: PIDs in ${JSON.stringify(actual)}`);
  rec.forEach((r, i) => pids.same(r, act[i], where));
  assert.equal(actual.replace(/PID \d+/g, "PID <pid>"), recorded.replace(/PID \d+/g, "PID <pid>"), `${where}: message`);
}

/** The outcome of running a recorded query. */
export type SqlOutcome =
  | { result: { command: string; rowCount: number | null; rows: Array<Record<string, unknown>> } }
  | { error: { message: string; code?: string; severity?: string; routine?: string } };

/** Compares a query's outcome with the recorded one: rows exactly, except PIDs (mapped) and LSNs (form only). */
export function compareSql(step: SqlStep, actual: SqlOutcome, pids: PidMap): void {
  const where = `sql ${step.label ?? step.query}`;
  if (step.error) {
    assert.ok("error" in actual, `${where}: expected error ${step.error.code} ${step.error.message}, got ${JSON.stringify((actual as { result: unknown }).result)}`);
    const e = actual.error;
    assert.equal(e.code, step.error.code, `${where}: SQLSTATE (${e.message})`);
    assert.equal(e.severity, step.error.severity, `${where}: severity`);
    if (step.error.routine) assert.equal(e.routine, step.error.routine, `${where}: routine`);
    messageWithPids(step.error.message, e.message, where, pids);
    return;
  }
  assert.ok("result" in actual, `${where}: expected a result, got error ${JSON.stringify((actual as { error: unknown }).error)}`);
  const rec = step.result;
  if (!rec) return;
  const r = actual.result;
  assert.equal(r.command, rec.command, `${where}: command`);
  assert.equal(r.rowCount, rec.rowCount, `${where}: rowCount (rows ${JSON.stringify(r.rows)})`);
  rec.rows.forEach((row, i) => {
    const got = r.rows[i];
    assert.deepEqual(Object.keys(got), Object.keys(row), `${where}: columns of row ${i}`);
    for (const [k, v] of Object.entries(row)) compareValue(`${where} row ${i}`, k, v, got[k], pids);
  });
}

/** A slot's state as the slot poll distinguishes it. */
function slotState(row: SlotRow | null): string {
  if (!row) return "absent";
  return row.active ? `active pid=${row.active_pid}` : "inactive";
}

/** A running slot poll: `ready` once the first sample is in, `done` with the distinct rows seen once the predicate held. */
export interface SlotPoll {
  ready: Promise<void>;
  done: Promise<Array<SlotRow | null>>;
}

/**
 * Polls pg_replication_slots for the step's slot every `interval_ms` until the
 * recorded final row's condition holds (slot absent / inactive / active), at
 * most `capMs`.
 */
export function startSlotPoll(step: SlotPollStep, query: (slot: string) => Promise<SlotRow | null>, capMs: number): SlotPoll {
  const final = step.changes[step.changes.length - 1]?.row ?? null;
  const holds = (row: SlotRow | null) => (final === null ? row === null : row !== null && row.active === final.active);
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((r) => (markReady = r));
  const done = (async () => {
    const seen: Array<SlotRow | null> = [];
    const started = Date.now();
    try {
      for (;;) {
        const row = await query(step.slot);
        if (seen.length === 0 || slotState(seen[seen.length - 1]) !== slotState(row)) seen.push(row);
        markReady();
        if (holds(row) || Date.now() - started > capMs) return seen;
        await new Promise((r) => setTimeout(r, step.interval_ms));
      }
    } finally {
      markReady();
    }
  })();
  return { ready, done };
}

/**
 * Compares the distinct slot states a poll saw with the recorded ones (PIDs
 * mapped). A poll that only waits for a condition ("wait until ...") is
 * compared by its final row: how soon the slot got there is timing.
 */
export function compareSlotPoll(step: SlotPollStep, seen: Array<SlotRow | null>, pids: PidMap): void {
  const where = `slot poll "${step.label}"`;
  const recorded: Array<SlotRow | null> = [];
  for (const c of step.changes) if (recorded.length === 0 || slotState(recorded[recorded.length - 1]) !== slotState(c.row)) recorded.push(c.row);
  const waitOnly = /^wait until/i.test(step.label);
  const rec = waitOnly ? recorded.slice(-1) : recorded;
  const act = waitOnly ? seen.slice(-1) : seen;
  const form = (r: SlotRow | null) => slotState(r).replace(/pid=\d+/, "pid=<pid>");
  assert.deepEqual(act.map(form), rec.map(form), `${where}: slot states (recorded ${recorded.map(slotState).join(" -> ")}, seen ${seen.map(slotState).join(" -> ")})`);
  rec.forEach((r, i) => {
    const a = act[i];
    if (r?.active && r.active_pid !== null && a?.active_pid != null) pids.same(r.active_pid, a.active_pid, `${where}: holder of ${step.slot}`);
  });
}

// ---------------------------------------------------------------------------
// Worker-log excerpts recorded as notes (e.g. 12: the contender's retries).

interface LogLine {
  level: string;
  context: string;
  message: string;
}

/** A double's worker-log line ("<iso> [c|task-0] WARN  [c|task-0] msg" or "<iso> ERROR [c|task-0] msg"). */
function parseActualLog(line: string): LogLine | undefined {
  const m = /^\S+Z (?:\[[^\]]+\] )?(INFO|WARN|ERROR)\s+\[([^\]]+)\] (.*)$/s.exec(line);
  return m ? { level: m[1], context: m[2], message: m[3] } : undefined;
}

/** Run-specific parts of a log message: LSNs and PIDs by form, Debezium's waits scaled. */
function normaliseLog(message: string, scale: number | undefined): string {
  let m = message.replace(/LSN\{[0-9A-F]+\/[0-9A-F]+\}/g, "LSN{<lsn>}").replace(/PID \d+/g, "PID <pid>");
  if (scale !== undefined) {
    m = m.replace(/PT(\d+(?:\.\d+)?)S/g, (_, n: string) => `PT${Number(n) * scale}S`).replace(/after (\d+(?:\.\d+)?) sec\./g, (_, n: string) => `after ${Number(n) * scale} sec.`);
  }
  return m;
}

/**
 * Checks that the double's worker log holds the lines of a recorded excerpt,
 * in order (other lines may come between). Excerpt conventions: "... attempts
 * 2..6 ..." stands for the same line as the one before it with those attempt
 * numbers; "HH:MM:SS WARN  ... <text> (note)" is an abridged line containing <text>;
 * "(Worker:1036)" logger locations and "<- ..." annotations are the
 * recorder's. Lines without a level (the recorder's summaries) are returned as
 * skipped. Recorded waits (PT10S, "10 sec.") are expected `scale` times as long.
 */
export function compareWorkerLog(excerpt: string[], actualLines: string[], opts: { pids: PidMap; scale?: number }): { matched: number; skipped: string[] } {
  type Expect = { level: string; context?: string; text: string; abridged: boolean; recorded: string; pids: number[] };
  const expects: Expect[] = [];
  const skipped: string[] = [];
  for (const raw of excerpt) {
    const range = /^\.\.\. attempts (\d+)\.\.(\d+) /.exec(raw);
    if (range) {
      const prev = expects[expects.length - 1];
      assert.ok(prev && /attempt number \d+ over/.test(prev.text), `worker log excerpt: "${raw}" follows no attempt line`);
      for (let n = Number(range[1]); n <= Number(range[2]); n++) expects.push({ ...prev, text: prev.text.replace(/attempt number \d+ over/, `attempt number ${n} over`), recorded: raw });
      continue;
    }
    const m = /^[\d:.]+ (INFO|WARN|ERROR)\s+(?:\[([^\]]+)\] )?(\.\.\. )?(.*)$/s.exec(raw);
    if (!m) {
      skipped.push(raw);
      continue;
    }
    const text = m[4]
      .replace(/\s+<-.*$/s, "")
      .replace(/\s+\((?:Worker|WorkerTask|WorkerSourceTask):\d+\)/, "")
      .replace(/\s+\((?:second|third) round\)$/, "");
    expects.push({ level: m[1], context: m[2], text: normaliseLog(text, opts.scale), abridged: !!m[3], recorded: raw, pids: [...text.matchAll(/PID (\d+)/g)].map((x) => Number(x[1])) });
  }
  const actual = actualLines.map((l) => ({ raw: l, parsed: parseActualLog(l) }));
  let at = 0;
  for (const e of expects) {
    let found = -1;
    for (let i = at; i < actual.length; i++) {
      const a = actual[i].parsed;
      if (!a || a.level !== e.level || (e.context && a.context !== e.context)) continue;
      const msg = normaliseLog(a.message, undefined);
      if (e.abridged ? msg.includes(e.text) : msg === e.text) {
        found = i;
        break;
      }
    }
    assert.ok(
      found >= 0,
      `worker log: no line after #${at} matches the recorded ${JSON.stringify(e.recorded)} (expected ${e.level} ${e.abridged ? "... " : ""}${JSON.stringify(e.text)});\n` +
        actual
          .slice(at, at + 30)
          .map((l) => `  ${l.raw}`)
          .join("\n"),
    );
    const got = [...(actual[found].parsed as LogLine).message.matchAll(/PID (\d+)/g)].map((x) => Number(x[1]));
    e.pids.forEach((p, i) => opts.pids.same(p, got[i], `worker log line ${JSON.stringify(actual[found].raw)}`));
    at = found + 1;
  }
  return { matched: expects.length, skipped };
}
