import { strict as assert } from "node:assert";
import fc from "fast-check";
import { pollUntil, type PollCheck } from "#dist/poll.js";

describe("pollUntil (the waits' polling helper)", () => {
  it("returns the first value a check gives, without waiting for the timeout", async () => {
    const seen: PollCheck[] = [];
    const v = await pollUntil(async (c) => (seen.push(c), seen.length === 3 ? "ready" : undefined), { timeoutMs: 5000, initialDelayMs: 1 });
    assert.equal(v, "ready");
    assert.equal(seen.length, 3);
    assert.ok(seen.every((c) => !c.last));
  });

  it("gives false and 0 back as values (only undefined means not yet)", async () => {
    assert.equal(await pollUntil(async () => false, { timeoutMs: 1000 }), false);
    assert.equal(await pollUntil(async () => 0, { timeoutMs: 1000 }), 0);
  });

  it("runs exactly one last check, at or after the timeout, then gives undefined", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 60 }), fc.integer({ min: 1, max: 30 }), async (timeoutMs, initialDelayMs) => {
        const seen: PollCheck[] = [];
        const v = await pollUntil(async (c) => void seen.push(c), { timeoutMs, initialDelayMs, maxDelayMs: 20 });
        assert.equal(v, undefined);
        assert.equal(seen.filter((c) => c.last).length, 1);
        const last = seen[seen.length - 1];
        assert.ok(last.last && last.elapsedMs >= timeoutMs, `last check at ${last.elapsedMs} ms, timeout ${timeoutMs} ms`);
        // Checks are in time order, and all but the last ran before the timeout.
        assert.ok(seen.slice(0, -1).every((c, i) => !c.last && c.elapsedMs < timeoutMs && c.elapsedMs <= seen[i + 1].elapsedMs));
      }),
      { numRuns: 25, seed: 20261206 },
    );
  });

  it("ends the wait with the error a check throws", async () => {
    let calls = 0;
    await assert.rejects(
      pollUntil(async () => {
        calls++;
        throw new Error("slot gone");
      }, { timeoutMs: 1000 }),
      /slot gone/,
    );
    assert.equal(calls, 1);
  });

  it("grows the pause up to its cap", async () => {
    const at: number[] = [];
    await pollUntil(async (c) => void at.push(c.elapsedMs), { timeoutMs: 400, initialDelayMs: 10, factor: 2, maxDelayMs: 80 });
    const gaps = at.slice(1).map((t, i) => t - at[i]);
    // 10, 20, 40, 80, 80, ... (timers may run late, never early)
    assert.ok(gaps[0] >= 9 && gaps[1] >= 19 && gaps[2] >= 39, gaps.join(", "));
    assert.ok(gaps.slice(3, -1).every((g) => g >= 79), gaps.join(", "));
  });
});
