/**
 * "Ready means streaming": Debezium keeps a task RUNNING while it retries a
 * slot it cannot get, so a pipeline is ready only once a Debezium backend
 * holds its slot. Built on readSlot (slots.ts).
 */
import { pollUntil } from "../poll";
import { CdcError } from "../errors";
import type { PostgresConnection } from "../validation/common";
import { withSession, type Session } from "./connection";
import { describeHolder, readSlot, type LiveSlot } from "./slots";

/** Debezium's streaming connection announces itself as application_name "Debezium Streaming". */
export function isDebeziumHolder(slot: LiveSlot): boolean {
  return slot.active && /debezium/i.test(slot.holderApplication ?? "");
}

/** "PID 123 (application_name "x", client ...)" for an active slot. */
export function holderOf(slot: LiveSlot): string {
  return describeHolder(slot.activePid, slot);
}

/** Options of {@link waitForDebeziumToHoldSlot}. */
export interface StreamingWaitOptions {
  timeoutMs: number;
  onProgress?: (line: string) => void;
  /**
   * Runs on every poll and ends the wait by throwing: the caller's way to stop
   * waiting for a consumer that has failed (a Debezium task that went FAILED).
   */
  check?: () => Promise<void>;
  /**
   * The role Debezium logs in as. When the slot is not taken at once, the role
   * is looked up: one that cannot replicate (no REPLICATION attribute, not a
   * superuser, not in rds_replication) fails the wait at once, since real
   * Debezium keeps such a task RUNNING and retries forever.
   */
  role?: string;
}

/** Why `role` cannot open a replication connection, or undefined if it can. */
export async function replicationProblem(s: Session, role: string): Promise<string | undefined> {
  const rows = await s.query<{ canlogin: boolean; replicates: boolean }>(
      `SELECT r.rolcanlogin AS canlogin,
              (r.rolreplication OR r.rolsuper OR EXISTS (
                 SELECT 1 FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
                 WHERE m.member = r.oid AND g.rolname = 'rds_replication')) AS replicates
       FROM pg_roles r WHERE r.rolname = $1`,
    [role],
  );
  const r = rows[0];
  if (!r) return `role "${role}" (database.user) does not exist; create it or fix database.user`;
  if (!r.canlogin) return `role "${role}" (database.user) cannot log in; ALTER ROLE ... LOGIN`;
  if (!r.replicates) return `role "${role}" (database.user) has no REPLICATION attribute, so Debezium cannot open its replication connection (it retries forever while the task reports RUNNING); grant it (ReplicationGrant, or ALTER ROLE ... REPLICATION; on RDS/Aurora GRANT rds_replication)`;
  return undefined;
}

/**
 * Waits until a Debezium backend holds the slot. Fails at once when the slot
 * is gone or the connector's role cannot replicate, and at the deadline when
 * the slot is still inactive or held by another backend, naming that backend.
 */
export async function waitForDebeziumToHoldSlot(c: PostgresConnection, slotName: string, what: string, opts: StreamingWaitOptions): Promise<LiveSlot> {
  const { timeoutMs, onProgress, check, role } = opts;
  let reported = Date.now();
  let roleChecked = !role;
  // One session for the whole wait (a session per poll costs a connection, TLS and SCRAM round trips each).
  // The last check throws unless Debezium holds the slot, so the wait never ends without a slot.
  return withSession(c, what, async (s) => (await pollUntil(async ({ last }) => {
    // The role is looked up once, with the first slot read that finds Debezium not there yet.
    const slot = await readSlot(s, slotName);
    const problem = !roleChecked && role && slot && !isDebeziumHolder(slot) ? await replicationProblem(s, role) : undefined;
    if (!slot) {
      throw new CdcError(`${what}: replication slot "${slotName}" does not exist, so Debezium cannot stream. Create the slot (ReplicationSlot) before the connector.`);
    }
    if (isDebeziumHolder(slot)) return slot;
    if (!roleChecked) {
      roleChecked = true;
      if (problem) throw new CdcError(`${what}: the connector reports RUNNING, but it cannot stream from slot "${slotName}": ${problem}.`);
    }
    await check?.();
    if (last) {
      if (slot.active) {
        throw new CdcError(
          `${what}: the connector reports RUNNING, but replication slot "${slotName}" is held by another backend, ${holderOf(slot)}, so Debezium cannot stream (it keeps retrying). Stop that consumer (SELECT pg_terminate_backend(${slot.activePid})) or give this pipeline its own slot name.`,
        );
      }
      throw new CdcError(
        `${what}: the connector reports RUNNING, but after ${Math.round(timeoutMs / 1000)} s Debezium still does not hold replication slot "${slotName}". Debezium keeps tasks RUNNING while it retries; check the Connect worker log for the cause (SELECT missing for the connector's role, pg_hba.conf, network from the workers to the database).`,
      );
    }
    if (Date.now() - reported > 5000) {
      reported = Date.now();
      onProgress?.(`${what}: waiting for Debezium to start streaming from slot "${slotName}"${slot.active ? `, held by ${holderOf(slot)}` : " (slot inactive)"}`);
    }
    return undefined;
  }, { timeoutMs, factor: 1.3, maxDelayMs: 500 })) as LiveSlot);
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
  let reported = false;
  // One session for the whole wait, as above.
  const released = await withSession(c, what, (s) => pollUntil(
    async ({ last }) => {
      const slot = await readSlot(s, slotName);
      if (!slot || !isDebeziumHolder(slot)) return true;
      if (!reported && !last) {
        reported = true;
        onProgress?.(`${what}: waiting for Debezium to release slot "${slotName}" (${holderOf(slot)})`);
      }
      return undefined;
    },
    { timeoutMs, maxDelayMs: 500 },
  ));
  return released ?? false;
}
