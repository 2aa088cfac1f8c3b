import { CdcError } from "../errors";
import type { PostgresConnection } from "../validation/common";
import { withSession, type Session } from "./connection";

/** Who holds a replication slot right now. */
export interface SlotHolder {
  exists: boolean;
  active: boolean;
  pid?: number;
  applicationName?: string;
  clientAddr?: string;
}

/** One query: the slot's active flag and the holding backend's application_name and address. */
export async function slotHolder(s: Session, slotName: string): Promise<SlotHolder> {
  const rows = await s.query<{ active: boolean; pid: number | null; app: string | null; addr: string | null }>(
    `SELECT s.active, s.active_pid AS pid, a.application_name AS app, host(a.client_addr) AS addr
       FROM pg_replication_slots s LEFT JOIN pg_stat_activity a ON a.pid = s.active_pid
      WHERE s.slot_name = $1`,
    [slotName],
  );
  if (!rows.length) return { exists: false, active: false };
  const r = rows[0];
  return { exists: true, active: r.active, pid: r.pid ?? undefined, applicationName: r.app ?? undefined, clientAddr: r.addr ?? undefined };
}

/** "PID 1234 (application_name "x", from 10.0.0.5)" */
export function describeHolder(h: SlotHolder): string {
  const parts = [`PID ${h.pid}`];
  const extra = [h.applicationName !== undefined ? `application_name "${h.applicationName}"` : undefined, h.clientAddr ? `from ${h.clientAddr}` : undefined].filter(Boolean);
  return extra.length ? `${parts[0]} (${extra.join(", ")})` : parts[0];
}

/** Debezium's streaming connection announces itself as application_name "Debezium Streaming". */
export function isDebeziumHolder(h: SlotHolder): boolean {
  return h.active && /debezium/i.test(h.applicationName ?? "");
}

/**
 * Waits until a Debezium backend holds the slot (the connector is really
 * streaming). Fails at once when the slot is gone, and at the deadline when it
 * is still inactive or held by another backend, naming that backend.
 */
export async function waitForStreaming(
  c: PostgresConnection,
  slotName: string,
  what: string,
  timeoutMs: number,
  onProgress?: (line: string) => void,
): Promise<SlotHolder> {
  const deadline = Date.now() + timeoutMs;
  let delay = 100;
  let last: SlotHolder = { exists: false, active: false };
  let reported = 0;
  for (;;) {
    last = await withSession(c, what, (s) => slotHolder(s, slotName));
    if (!last.exists) {
      throw new CdcError(`${what}: replication slot "${slotName}" does not exist, so Debezium cannot stream. Create the slot (ReplicationSlot) before the connector.`);
    }
    if (isDebeziumHolder(last)) return last;
    if (Date.now() >= deadline) break;
    if (Date.now() - reported > 5000) {
      reported = Date.now();
      onProgress?.(`${what}: waiting for Debezium to start streaming from slot "${slotName}"${last.active ? `, held by ${describeHolder(last)}` : " (slot inactive)"}`);
    }
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 1000);
  }
  if (last.active) {
    throw new CdcError(
      `${what}: the connector reports RUNNING, but replication slot "${slotName}" is held by another backend, ${describeHolder(last)}, so Debezium cannot stream (it keeps retrying). Stop that consumer (SELECT pg_terminate_backend(${last.pid})) or give this pipeline its own slot name.`,
    );
  }
  throw new CdcError(
    `${what}: the connector reports RUNNING, but after ${Math.round(timeoutMs / 1000)} s Debezium still does not hold replication slot "${slotName}". Debezium keeps tasks RUNNING while it retries; check the Connect worker log for the cause (REPLICATION or SELECT missing for the connector's role, pg_hba.conf, network from the workers to the database).`,
  );
}
