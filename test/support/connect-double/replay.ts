/**
 * Replays recorded Kafka Connect sessions (../shared/design/connect-transcripts,
 * copied from the design folder) against a Connect double and compares every
 * answer with the recorded one: status codes, Content-Type presence, Location
 * paths, error messages exactly (except where they embed run-specific text),
 * bodies exactly or by shape where the double cannot know the value (plugin
 * lists, offsets), and the sequence of states seen by status polls.
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
}
export interface OtherStep {
  type: "sql" | "slot_poll" | "note" | "timing_runs";
  label?: string;
  text?: string;
  t_ms?: number;
  [k: string]: unknown;
}
export type Step = HttpStep | StatusPollStep | OtherStep;
export interface Transcript {
  scenario: string;
  description: string;
  steps: Step[];
}

/**
 * The transcript folder: $CONNECT_TRANSCRIPTS, or the design folder in
 * ../shared beside the checkout (where CI puts it), the ground truth.
 */
export function transcriptDir(): string {
  const repoRoot = path.resolve(__dirname, "../../../..");
  const candidates = [process.env.CONNECT_TRANSCRIPTS, path.resolve(repoRoot, "../shared/design/connect-transcripts")].filter((c): c is string => !!c);
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

function compareStatusBody(where: string, recorded: Record<string, unknown>, actual: Record<string, unknown>): void {
  assert.equal(actual.name, recorded.name, `${where}: status name`);
  assert.equal(actual.type, recorded.type, `${where}: status type`);
  const rc = recorded.connector as Record<string, unknown>;
  const ac = actual.connector as Record<string, unknown>;
  assert.equal(ac.state, rc.state, `${where}: connector state`);
  assert.equal(typeof ac.worker_id, "string");
  const tasks = (t: unknown) => (t as Array<Record<string, unknown>>).map((x) => ({ id: x.id, state: x.state, trace: typeof x.trace === "string" ? String(x.trace).split("\n")[0] : undefined }));
  assert.deepEqual(tasks(actual.tasks), tasks(recorded.tasks), `${where}: tasks`);
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

/** Compares an answer with the recorded one. */
export function compareHttp(step: HttpStep, actual: Answer): void {
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
  if (typeof rb === "object" && "connector" in rb && "tasks" in rb && !("config" in rb)) return compareStatusBody(where, rb, ab as Record<string, unknown>);
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
      if (e.status) compareStatusBody(where, e.status as Record<string, unknown>, a.status as Record<string, unknown>);
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
 * Polls the status quickly until the collapsed sequence of states equals the
 * recorded one and the last state held for `stableMs`, or until the sequence
 * diverges or `capMs` passes; returns the observed sequence.
 */
export async function pollStates(baseUrl: string, step: StatusPollStep, opts: { intervalMs: number; stableMs: number; capMs: number; rewrites?: Rewrites }): Promise<string[]> {
  const want = step.state_sequence.map((s) => s.state);
  const seen: string[] = [];
  let lastChange = Date.now();
  const start = Date.now();
  const poll: HttpStep = {
    type: "http",
    t_ms: 0,
    request: { method: "GET", path: `/connectors/${encodeURIComponent(step.connector)}/status`, headers: { Accept: "application/json" } },
    response: { headers: {}, body: null },
  };
  for (;;) {
    const s = stateString(await send(baseUrl, poll, opts.rewrites));
    if (seen[seen.length - 1] !== s) {
      seen.push(s);
      lastChange = Date.now();
    }
    const matches = seen.length === want.length && seen.every((x, i) => x === want[i]);
    if (matches && Date.now() - lastChange >= opts.stableMs) return seen;
    const prefixOk = seen.every((x, i) => x === want[i]);
    if (!prefixOk || seen.length > want.length || Date.now() - start > opts.capMs) return seen;
    await new Promise((r) => setTimeout(r, opts.intervalMs));
  }
}
