/**
 * Polling with a growing pause: the one helper behind the library's waits on
 * PostgreSQL and Kafka Connect (Debezium taking or releasing a slot, a slot
 * drop waiting for its consumer, a connector's deletion, a snapshot signal's
 * confirmation). Waits on a connector's state live in connect/wait.ts, which
 * also tracks state across polls; retries of failed requests in
 * connect/retry.ts.
 */

/** Options of {@link pollUntil}. */
export interface PollOptions {
  /** How long to keep checking, ms. One last check runs once this has passed. */
  timeoutMs: number;
  /** The first pause between two checks, ms. Default 25. */
  initialDelayMs?: number;
  /** The longest pause, ms. Default 1000. */
  maxDelayMs?: number;
  /** How much the pause grows after each check. Default 1.6. */
  factor?: number;
}

/** What a check is told: time since the wait began, and whether this is the last check (the timeout has passed). */
export interface PollCheck {
  elapsedMs: number;
  last: boolean;
}

/**
 * Runs `check` until it returns a value other than `undefined` and returns
 * that value; returns `undefined` when the last check (the first one at or
 * after the timeout) returned nothing either. A check that throws ends the
 * wait with its error: a check can fail at once on what cannot get better, or
 * on its last call with what it saw.
 */
export async function pollUntil<T>(check: (c: PollCheck) => Promise<T | undefined>, opts: PollOptions): Promise<T | undefined> {
  const started = Date.now();
  let delay = opts.initialDelayMs ?? 25;
  for (;;) {
    const elapsedMs = Date.now() - started;
    const last = elapsedMs >= opts.timeoutMs;
    const value = await check({ elapsedMs, last });
    if (value !== undefined || last) return value;
    // Never sleep past the timeout: the last check runs at it.
    await new Promise((r) => setTimeout(r, Math.min(delay, Math.max(0, opts.timeoutMs - (Date.now() - started)))));
    delay = Math.min(delay * (opts.factor ?? 1.6), opts.maxDelayMs ?? 1000);
  }
}
