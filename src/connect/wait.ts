/**
 * Waiting for a connector to reach RUNNING, PAUSED or STOPPED by polling its
 * status with a capped backoff (docs/connect-and-debezium.md, "Create, status and lifecycle"):
 * - 404 "No status found" (distributed mode, right after a create),
 *   UNASSIGNED and RESTARTING are transient;
 * - `tasks: []` for ~100-400 ms after a create, resume or config change is
 *   transient; a connector that has no tasks by design is accepted after a
 *   grace period once GET /tasks confirms there are none;
 * - a FAILED connector or task fails the wait at once, with its trace,
 *   except right after a restart request: Connect answers the restart with
 *   202 and keeps reporting the old FAILED state until the worker has
 *   processed it (seen on a real distributed cluster), so a FAILED state is
 *   stale until the instance has been seen in another state or
 *   `restartGraceMs` has passed.
 */
import type { ConnectClient } from "./client";
import { ConnectError } from "./errors";
import { backoffDelay, sleep, type BackoffPolicy } from "./retry";
import type { ConnectorStateInfo, TargetState } from "./types";

/** Options of {@link waitForState}. */
export interface WaitOptions {
  /** Give up after this long, ms. Default 300000. */
  timeoutMs?: number;
  /** Receives a human-readable line whenever the observed state changes. */
  onProgress?: (line: string) => void;
  /** Polling backoff. Default: from 25 ms, growing 1.3x, capped at 2 s, jittered (a few more requests for a fast answer: a create sees RUNNING within about 30 ms of Connect reporting it). */
  backoff?: BackoffPolicy;
  /** For RUNNING: how many RUNNING tasks are required at least. Default 1 (0 accepts a connector without tasks at once). */
  minTasks?: number;
  /**
   * For RUNNING with minTasks >= 1: how long `tasks: []` must last, ms, before
   * the connector is taken to have no tasks by design (confirmed with GET
   * /tasks). Default 5000.
   */
  zeroTaskGraceMs?: number;
  /** Random source for jitter (tests). */
  random?: () => number;
  /**
   * For RUNNING: how long RUNNING must hold before the wait returns, ms. A task can report RUNNING
   * and fail on its first poll; the status is read again after this long. Default 100.
   */
  settleMs?: number;
  /** When a restart of failed instances was requested (Date.now()); FAILED states are stale until each instance is seen otherwise, or restartGraceMs passes. */
  restartedAt?: number;
  /** Default 15000. */
  restartGraceMs?: number;
}

/** The client calls the wait needs. */
export type StatusSource = Pick<ConnectClient, "getStatus" | "getTasks" | "scrub">;

/** "connector RUNNING, tasks [0 RUNNING, 1 FAILED]" */
export function describeStatus(s: ConnectorStateInfo | undefined): string {
  if (!s) return "no status yet (404 No status found)";
  const tasks = s.tasks.map((t) => `${t.id} ${t.state}`).join(", ");
  return `connector ${s.connector.state}, tasks [${tasks}]`;
}

/**
 * A Java stack trace cut to what helps: the exception line, a few frames,
 * every "Caused by:" line with its first frames, at most `maxChars`.
 */
export function trimTrace(trace: string, maxFrames = 3, maxChars = 3000): string {
  const lines = trace.replace(/\r/g, "").split("\n");
  const out: string[] = [];
  let frames = 0;
  let omitted = 0;
  for (const line of lines) {
    const isFrame = /^\s+at\s/.test(line);
    const isMore = /^\s+\.\.\. \d+ more/.test(line);
    if (!isFrame && !isMore) {
      if (omitted > 0) out.push(`\t... ${omitted} more lines`);
      omitted = 0;
      frames = 0;
      if (line.trim().length > 0) out.push(line);
      continue;
    }
    if (isFrame && frames < maxFrames) {
      out.push(line);
      frames++;
    } else omitted++;
  }
  if (omitted > 0) out.push(`\t... ${omitted} more lines`);
  let text = out.join("\n");
  if (text.length > maxChars) text = text.slice(0, maxChars) + "\n\t... (trace cut)";
  return text;
}

/**
 * A Java stack trace in one line: the exception, and its root cause when it
 * has one ("ConnectException: An exception occurred in the change event
 * producer... (root cause: ConnectException: Publication autocreation is
 * disabled...)"), since the outer exception alone rarely says what to fix.
 */
export function traceHeadline(trace: string): string {
  const lines = trace.replace(/\r/g, "").split("\n").map((l) => l.trim());
  const head = lines.find((l) => l.length > 0) ?? "";
  const causes = lines.filter((l) => l.startsWith("Caused by: ")).map((l) => l.slice("Caused by: ".length));
  const root = causes[causes.length - 1];
  return root && root !== head ? `${head} (root cause: ${root})` : head;
}

function failures(s: ConnectorStateInfo, stale: (instance: string) => boolean = () => false): string[] {
  const out: string[] = [];
  if (s.connector.state === "FAILED" && !stale("connector")) out.push(`connector FAILED:\n${trimTrace(s.connector.trace ?? "(no trace)")}`);
  for (const t of s.tasks) if (t.state === "FAILED" && !stale(`task ${t.id}`)) out.push(`task ${t.id} FAILED:\n${trimTrace(t.trace ?? "(no trace)")}`);
  return out;
}

function failedError(client: StatusSource, name: string, wanted: TargetState, s: ConnectorStateInfo, failed: string[]): ConnectError {
  return new ConnectError({
    kind: "state",
    connector: name,
    message:
      `Connector "${name}" failed while waiting for ${wanted} (${describeStatus(s)}):\n${client.scrub(failed.join("\n"))}\n` +
      `Fix the cause, then restart the failed instances (POST /connectors/${encodeURIComponent(name)}/restart?includeTasks=true&onlyFailed=true).`,
  });
}

/**
 * Reads the status once and throws the same error as {@link waitForState}
 * when the connector or a task is FAILED (for waits on something else, such
 * as Debezium taking its slot, that must not outlast a failed task).
 */
export async function throwIfFailed(client: StatusSource, name: string, wanted: TargetState): Promise<void> {
  const s = await client.getStatus(name);
  const failed = s ? failures(s) : [];
  if (s && failed.length) throw failedError(client, name, wanted, s, failed);
}

/**
 * Polls GET /connectors/{name}/status until the connector reaches `wanted`:
 * - RUNNING: connector RUNNING and every task RUNNING, with at least
 *   `minTasks` tasks (unless the connector turns out to have none by design);
 * - PAUSED: connector PAUSED and every task PAUSED;
 * - STOPPED: connector STOPPED and no tasks.
 * Fails at once with the trace when the connector or a task is FAILED, and
 * with the last status and traces on timeout. Returns the final status.
 */
export async function waitForState(client: StatusSource, name: string, wanted: TargetState, opts: WaitOptions = {}): Promise<ConnectorStateInfo> {
  const timeoutMs = opts.timeoutMs ?? 300000;
  const minTasks = opts.minTasks ?? 1;
  const grace = opts.zeroTaskGraceMs ?? 5000;
  const settleMs = opts.settleMs ?? 100;
  let runningSince: number | undefined;
  const backoff: BackoffPolicy = { initialDelayMs: 25, maxDelayMs: 2000, multiplier: 1.3, jitter: 0.3, ...opts.backoff };
  const start = Date.now();
  const elapsed = () => `${((Date.now() - start) / 1000).toFixed(1)} s`;
  let attempt = 0;
  let last: ConnectorStateInfo | undefined;
  let lastLine = "";
  let zeroSince: number | undefined;
  let confirmedNoTasks = false;
  const progress = (line: string) => {
    const key = line.replace(/ after [\d.]+ s$/, "");
    if (key === lastLine) return;
    lastLine = key;
    opts.onProgress?.(line);
  };
  const restartGraceMs = opts.restartGraceMs ?? 15000;
  const restarted = new Set<string>();
  const stale = (instance: string) => opts.restartedAt !== undefined && !restarted.has(instance) && Date.now() - opts.restartedAt < restartGraceMs;
  for (;;) {
    const s = await client.getStatus(name);
    last = s;
    let done = false;
    let note = "";
    if (s) {
      if (s.connector.state !== "FAILED") restarted.add("connector");
      for (const t of s.tasks) if (t.state !== "FAILED") restarted.add(`task ${t.id}`);
      const failed = failures(s, stale);
      if (failed.length > 0) {
        progress(`connector "${name}": ${describeStatus(s)} after ${elapsed()}`);
        throw failedError(client, name, wanted, s, failed);
      }
      const isStale = s.connector.state === "FAILED" || s.tasks.some((t) => t.state === "FAILED");
      if (isStale) note = " (restart requested)";
      const c = s.connector.state;
      const tasks = s.tasks;
      if (wanted === "RUNNING") {
        if (c === "RUNNING" && tasks.every((t) => t.state === "RUNNING")) {
          if (tasks.length >= minTasks) done = true;
          else if (tasks.length > 0) note = ` (waiting for ${minTasks} tasks)`;
          else {
            zeroSince ??= Date.now();
            if (Date.now() - zeroSince >= grace && !confirmedNoTasks) {
              confirmedNoTasks = (await client.getTasks(name)).length === 0;
            }
            if (confirmedNoTasks) {
              done = true;
              note = " (the connector has no tasks)";
            } else note = " (waiting for tasks to start)";
          }
        }
        if (tasks.length > 0) zeroSince = undefined;
      } else if (wanted === "PAUSED") {
        done = c === "PAUSED" && tasks.every((t) => t.state === "PAUSED");
      } else {
        done = c === "STOPPED" && tasks.length === 0;
      }
      progress(`connector "${name}": ${describeStatus(s)}${done && !confirmedNoTasks ? "" : note} after ${elapsed()}`);
    } else progress(`connector "${name}": ${describeStatus(s)} after ${elapsed()}`);
    if (done && s && wanted === "RUNNING" && settleMs > 0) {
      // Confirm RUNNING once it has held for settleMs (a FAILED state in between is caught above).
      runningSince ??= Date.now();
      if (Date.now() - runningSince < settleMs && Date.now() - start < timeoutMs) {
        await sleep(Math.max(0, Math.min(settleMs - (Date.now() - runningSince), timeoutMs - (Date.now() - start))));
        continue;
      }
    } else if (!done) runningSince = undefined;
    if (done && s) return s;
    const remaining = timeoutMs - (Date.now() - start);
    if (remaining <= 0) {
      const traces = last ? last.tasks.filter((t) => t.trace).map((t) => `task ${t.id} (${t.state}):\n${trimTrace(t.trace ?? "")}`) : [];
      if (last?.connector.trace) traces.unshift(`connector (${last.connector.state}):\n${trimTrace(last.connector.trace)}`);
      throw new ConnectError({
        kind: "state",
        connector: name,
        message: client.scrub(
          `Connector "${name}" did not reach ${wanted} within ${Math.round(timeoutMs / 1000)} s; last status: ${describeStatus(last)}.` +
            (traces.length ? `\n${traces.join("\n")}` : "") +
            `\nCheck the Connect worker log; during rebalances or slow task starts raise the timeout.`,
        ),
      });
    }
    await sleep(Math.min(backoffDelay(attempt++, backoff, opts.random), remaining));
  }
}
