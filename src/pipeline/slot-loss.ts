/**
 * Detecting and handling a replication slot that vanished out of band while
 * its connector still exists. A new slot starts at the current WAL position,
 * so recreating it silently behind the connector's offsets loses every change
 * in between (DBZ-5739). No Pulumi here.
 */
import { ConnectClient } from "../connect/client";
import { waitForState } from "../connect/wait";
import { CdcError } from "../errors";
import { withSession } from "../postgres/connection";
import { createSlot } from "../postgres/slots";
import { readSlot, type LiveSlot } from "../postgres/slots";
import { holderOf } from "../postgres/slot-activity";
import type { PostgresConnection } from "../validation/common";

export type SlotLossPolicy = "fail" | "resnapshot";

export interface SlotLossCheck {
  pipeline: string;
  source: PostgresConnection;
  client: ConnectClient;
  connectorName: string;
  slotName: string;
  policy: SlotLossPolicy;
  /** Preview: report, change nothing. */
  preview: boolean;
  timeoutMs: number;
  log: (line: string) => void;
  /** The slot as just read, when the caller has it (saves a connection). */
  slot?: LiveSlot | null;
}

export type SlotLossOutcome = "none" | "first-deploy" | "reported" | "resnapshotted";

export async function checkSlotLoss(c: SlotLossCheck): Promise<SlotLossOutcome> {
  const what = `CdcPipeline "${c.pipeline}"`;
  const connector = await c.client.getConfig(c.connectorName);
  const slot = c.slot !== undefined ? c.slot : await withSession(c.source, what, (s) => readSlot(s, c.slotName));
  if (!connector) {
    // Before the first connector: a slot someone else streams from would keep Debezium retrying forever.
    if (slot?.active && !c.preview) {
      throw new CdcError(
        `${what}: replication slot "${c.slotName}" is held by another backend, ${holderOf(slot)}, and connector "${c.connectorName}" does not exist yet. Debezium would report RUNNING but never stream. Stop that consumer (SELECT pg_terminate_backend(${slot.activePid})) or give this pipeline its own slotName. Nothing was changed.`,
      );
    }
    return "first-deploy";
  }
  if (slot) return "none";
  const gap =
    `replication slot "${c.slotName}" no longer exists, but connector "${c.connectorName}" does and resumes from its stored offsets. ` +
    `A new slot would start at the current WAL position, so every change made since the slot vanished would be silently lost.`;
  if (c.preview) {
    c.log(`${what}: warning: ${gap} \`pulumi up\` will ${c.policy === "resnapshot" ? "re-snapshot (onSlotLoss: resnapshot)" : "stop (onSlotLoss: fail)"}.`);
    return "reported";
  }
  if (c.policy === "fail") {
    throw new CdcError(
      `${what}: ${gap} Set onSlotLoss: "resnapshot" to stop the connector, clear its offsets and snapshot all tables again, or restore the slot yourself and run \`pulumi refresh\`.`,
    );
  }
  c.log(`${what}: ${gap} Re-snapshotting (onSlotLoss: resnapshot): stopping the connector, clearing its offsets, recreating the slot.`);
  await c.client.stop(c.connectorName);
  await waitForState(c.client, c.connectorName, "STOPPED", { timeoutMs: c.timeoutMs, onProgress: c.log });
  await c.client.deleteOffsets(c.connectorName);
  await withSession(c.source, what, (s) => createSlot(s, { name: c.slotName, plugin: "pgoutput", twoPhase: false, failover: false }, c.source.database, what));
  await c.client.resume(c.connectorName);
  c.log(`${what}: slot "${c.slotName}" recreated and connector resumed without offsets; Debezium snapshots again.`);
  return "resnapshotted";
}
