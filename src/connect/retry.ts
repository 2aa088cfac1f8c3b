/**
 * Capped, jittered exponential backoff and the rules for which Kafka Connect
 * failures are worth retrying (docs/connect-and-debezium.md, "Errors and retries").
 */

/** Backoff settings. */
export interface BackoffPolicy {
  /** First delay before jitter, ms. Default 100. */
  initialDelayMs?: number;
  /** Upper bound of any delay, ms. Default 2000. */
  maxDelayMs?: number;
  /** Growth per attempt. Default 2. */
  multiplier?: number;
  /**
   * Share of the delay that is randomised, 0..1. Default 0.5: the delay is
   * uniformly drawn from [base*(1-jitter), base] ("equal jitter").
   */
  jitter?: number;
}

/** Defaults of {@link BackoffPolicy}. */
export const DEFAULT_BACKOFF: Required<BackoffPolicy> = { initialDelayMs: 100, maxDelayMs: 2000, multiplier: 2, jitter: 0.5 };

/**
 * The delay before retry number `attempt` (0 = first retry): the exponential
 * base initial*multiplier^attempt, capped at maxDelayMs, then jittered
 * downwards. Never negative, never above the cap.
 */
export function backoffDelay(attempt: number, policy: BackoffPolicy = {}, random: () => number = Math.random): number {
  const p = { ...DEFAULT_BACKOFF, ...policy };
  const exp = Math.min(p.maxDelayMs, p.initialDelayMs * Math.pow(p.multiplier, Math.max(0, attempt)));
  const jitter = Math.min(1, Math.max(0, p.jitter));
  const r = Math.min(1, Math.max(0, random()));
  return Math.max(0, Math.round(exp * (1 - jitter * r)));
}

/** Connect's 500 messages that mean "try again": a rebalance in progress, or the herder timed out. */
const RETRYABLE_500 = /rebalance is expected|Request timed out|Request interrupted/i;

/** Connect's 409 that is a real conflict, not a transient one. */
const ALREADY_EXISTS_409 = /already exists/i;

/** Transient HTTP failures: 409 (rebalance, stale config, no leader), 500 "rebalance is expected"/"Request timed out", 502/503/504 from proxies. Never 400. */
export function isRetryableStatus(status: number, message: string | null | undefined): boolean {
  const m = message ?? "";
  if (status === 409) return !ALREADY_EXISTS_409.test(m);
  if (status === 500) return RETRYABLE_500.test(m);
  return status === 502 || status === 503 || status === 504;
}

/** Network error codes worth another attempt (connection reset/refused, socket closed, timeouts). */
const RETRYABLE_NETWORK = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "EPIPE",
  "ETIMEDOUT",
  "EAI_AGAIN",
  "UND_ERR_SOCKET",
  "UND_ERR_CLOSED",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
  "REQUEST_TIMEOUT",
]);

/** True for network failures that a retry may cure. TLS and DNS configuration errors are not retried. */
export function isRetryableNetworkCode(code: string | undefined): boolean {
  return !!code && RETRYABLE_NETWORK.has(code);
}

/** A promise that resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Options of {@link retrying}. */
export interface RetryOptions {
  /** Give up when the next attempt would start after now + deadlineMs. */
  deadlineMs: number;
  backoff?: BackoffPolicy;
  random?: () => number;
  /** Whether an error is worth another attempt. */
  retryable(err: unknown): boolean;
  /** Called before each retry with the attempt number (1 = first retry) and the delay. */
  onRetry?(err: unknown, attempt: number, delayMs: number): void;
}

/**
 * Runs `fn` until it succeeds, fails with a non-retryable error, or the
 * deadline would be passed; then the last error is thrown.
 */
export async function retrying<T>(fn: (attempt: number) => Promise<T>, opts: RetryOptions): Promise<T> {
  const deadline = Date.now() + opts.deadlineMs;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (!opts.retryable(err)) throw err;
      const delay = backoffDelay(attempt, opts.backoff, opts.random);
      if (Date.now() + delay >= deadline) throw err;
      opts.onRetry?.(err, attempt + 1, delay);
      await sleep(delay);
    }
  }
}
