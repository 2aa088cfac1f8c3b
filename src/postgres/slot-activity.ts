/**
 * "Ready means streaming": Debezium keeps a task RUNNING while it retries a
 * slot it cannot get, so a pipeline is ready only once a Debezium backend
 * holds its slot. Built on readSlot (slots.ts).
 */
import { CdcError } from "../errors";
import type { PostgresConnection } from "../validation/common";
import { withSession } from "./connection";
import { describeHolder, readSlot, type LiveSlot } from "./slots";

/** Debezium's streaming connection announces itself as application_name "Debezium Streaming". */
export function isDebeziumHolder(slot: LiveSlot): boolean {
  return slot.active && /debezium/i.test(slot.holderApplication ?? "");
}

/** "PID 123 (application_name "x", client ...)" for an active slot. */
export function holderOf(slot: LiveSlot): string {
  return describeHolder(slot.activePid, slot);
}

/**
 * Waits until a Debezium backend holds the slot. Fails at once when the slot
 * is gone, and at the deadline when it is still inactive or held by another
 * backend, naming that backend. `check`, when given, runs on every poll and
 * ends the wait by throwing (the caller's way to stop waiting for a consumer
 * that has failed, e.g. a Debezium task that went FAILED).
 */
export async function waitForStreaming(
  c: PostgresConnection,
  slotName: string,
  what: string,
  timeoutMs: number,
  onProgress?: (line: string) => void,
  check?: () => Promise<void>,
): Promise<LiveSlot> {
  const deadline = Date.now() + timeoutMs;
  let delay = 25;
  let reported = Date.now();
  for (;;) {
    const slot = await withSession(c, what, (s) => readSlot(s, slotName));
    if (!slot) {
      throw new CdcError(`${what}: replication slot "${slotName}" does not exist, so Debezium cannot stream. Create the slot (ReplicationSlot) before the connector.`);
    }
    if (isDebeziumHolder(slot)) return slot;
    await check?.();
    if (Date.now() >= deadline) {
      if (slot.active) {
        throw new CdcError(
          `${what}: the connector reports RUNNING, but replication slot "${slotName}" is held by another backend, ${holderOf(slot)}, so Debezium cannot stream (it keeps retrying). Stop that consumer (SELECT pg_terminate_backend(${slot.activePid})) or give this pipeline its own slot name.`,
        );
      }
      throw new CdcError(
        `${what}: the connector reports RUNNING, but after ${Math.round(timeoutMs / 1000)} s Debezium still does not hold replication slot "${slotName}". Debezium keeps tasks RUNNING while it retries; check the Connect worker log for the cause (REPLICATION or SELECT missing for the connector's role, pg_hba.conf, network from the workers to the database).`,
      );
    }
    if (Date.now() - reported > 5000) {
      reported = Date.now();
      onProgress?.(`${what}: waiting for Debezium to start streaming from slot "${slotName}"${slot.active ? `, held by ${holderOf(slot)}` : " (slot inactive)"}`);
    }
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 1.6, 1000);
  }
}

/**
 * After a Debezium connector was deleted or stopped: waits until no Debezium
 * backend holds the slot any more. Kafka Connect removes a connector's config
 * first and stops its task afterwards (up to the worker's
 * task.shutdown.graceful.timeout.ms, 5 s by default), so the slot can stay
 * held for a while after the DELETE answered. Returns true once released (or
 * gone), false if a Debezium backend still holds it at the deadline.
 */
export async function waitForDebeziumRelease(c: PostgresConnection, slotName: string, what: string, timeoutMs: number, onProgress?: (line: string) => void): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let delay = 25;
  let reported = false;
  for (;;) {
    const slot = await withSession(c, what, (s) => readSlot(s, slotName));
    if (!slot || !isDebeziumHolder(slot)) return true;
    if (Date.now() >= deadline) return false;
    if (!reported) {
      reported = true;
      onProgress?.(`${what}: waiting for Debezium to release slot "${slotName}" (${holderOf(slot)})`);
    }
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 1.6, 500);
  }
}
