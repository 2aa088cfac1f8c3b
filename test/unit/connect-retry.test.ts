import { strict as assert } from "node:assert";
import { backoffDelay, isRetryableNetworkCode, isRetryableStatus, retrying } from "#dist/connect/retry.js";

describe("connect retry policy", () => {
  it("grows exponentially from the initial delay and never exceeds the cap", () => {
    const noJitter = { initialDelayMs: 100, maxDelayMs: 2000, multiplier: 2, jitter: 0 };
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5, 10, 50].map((a) => backoffDelay(a, noJitter)),
      [100, 200, 400, 800, 1600, 2000, 2000, 2000],
    );
  });

  it("jitters downwards within [base*(1-jitter), base]", () => {
    const p = { initialDelayMs: 100, maxDelayMs: 2000, jitter: 0.5 };
    assert.equal(backoffDelay(3, p, () => 0), 800);
    assert.equal(backoffDelay(3, p, () => 1), 400);
    for (let i = 0; i < 200; i++) {
      const d = backoffDelay(i % 8, p);
      const base = Math.min(2000, 100 * 2 ** (i % 8));
      assert.ok(d >= base / 2 && d <= base, `${d} within [${base / 2}, ${base}]`);
    }
  });

  it("retries 409s except 'already exists', 500 rebalance/timeout, gateway errors; never 400", () => {
    assert.equal(isRetryableStatus(409, "Cannot complete request momentarily due to stale configuration (typically caused by a concurrent config change)"), true);
    assert.equal(isRetryableStatus(409, "Cannot complete request momentarily due to no known leader URL, likely because a rebalance was underway."), true);
    assert.equal(isRetryableStatus(409, "Connector x already exists"), false);
    assert.equal(isRetryableStatus(500, "Request cannot be completed because a rebalance is expected"), true);
    assert.equal(isRetryableStatus(500, "Request timed out. The worker is currently ..."), true);
    assert.equal(isRetryableStatus(500, "Failed to find any class that implements Connector"), false);
    assert.equal(isRetryableStatus(400, "Connector configuration is invalid and contains the following 1 error(s)"), false);
    assert.equal(isRetryableStatus(503, null), true);
    assert.equal(isRetryableStatus(404, "Connector x not found"), false);
  });

  it("retries connection resets and refusals but not TLS or DNS configuration errors", () => {
    for (const c of ["ECONNRESET", "ECONNREFUSED", "UND_ERR_SOCKET", "EPIPE", "REQUEST_TIMEOUT"]) assert.equal(isRetryableNetworkCode(c), true, c);
    for (const c of ["DEPTH_ZERO_SELF_SIGNED_CERT", "ENOTFOUND", "ERR_TLS_CERT_ALTNAME_INVALID", undefined]) assert.equal(isRetryableNetworkCode(c), false, String(c));
  });

  it("stops at the deadline and rethrows the last error", async () => {
    let calls = 0;
    const started = Date.now();
    await assert.rejects(
      retrying(
        async () => {
          calls++;
          throw new Error(`attempt ${calls}`);
        },
        { deadlineMs: 300, backoff: { initialDelayMs: 20, maxDelayMs: 50, jitter: 0 }, retryable: () => true },
      ),
      (e: Error) => e.message === `attempt ${calls}`,
    );
    assert.ok(calls >= 4 && calls <= 12, `calls ${calls}`);
    assert.ok(Date.now() - started < 600);
  });

  it("does not retry non-retryable errors and reports retries", async () => {
    const retries: number[] = [];
    let calls = 0;
    const v = await retrying(
      async () => {
        if (++calls < 3) throw new Error("transient");
        return "ok";
      },
      { deadlineMs: 5000, backoff: { initialDelayMs: 1, jitter: 0 }, retryable: () => true, onRetry: (_e, a) => retries.push(a) },
    );
    assert.equal(v, "ok");
    assert.deepEqual(retries, [1, 2]);
    calls = 0;
    await assert.rejects(retrying(async () => { calls++; throw new Error("fatal"); }, { deadlineMs: 5000, retryable: () => false }), /fatal/);
    assert.equal(calls, 1);
  });
});
