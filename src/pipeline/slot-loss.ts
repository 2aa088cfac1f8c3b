/**
 * Detecting and handling a replication slot lost while its connector still
 * exists: vanished out of band, or still there but invalidated by PostgreSQL
 * (wal_status 'lost': the WAL it needed was removed). A new slot starts at the
 * current WAL position, so recreating it silently behind the connector's
 * offsets loses every change in between (DBZ-5739). No Pulumi here.
 */
import { ConnectClient } from "../connect/client";
import { waitForState } from "../connect/wait";
import { committedLsn } from "../debezium/snapshots";
import { CdcError } from "../errors";
import { withSession, type Session } from "../postgres/connection";
import { formatLsn, lsnToNumber } from "../postgres/lsn";
import { createSlot, dropSlot, isSlotLost, readSlot, type LiveSlot, type SlotSpec } from "../postgres/slots";
import { holderOf } from "../postgres/slot-activity";
import type { PostgresConnection } from "../validation/common";

/** What a pipeline does when its slot is lost while its connector exists. */
export type SlotLossPolicy = "fail" | "resnapshot";

/** What {@link checkSlotLoss} looks at and may change. */
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
  /** The source's PostgreSQL major, for the explanation of a missing slot. */
  sourceMajor?: number;
  /** What the pipeline's slot is (plugin, two-phase, failover): a recreated slot is made so. */
  spec: SlotSpec;
  /**
   * Where the connector is to reach the database. When the existing connector points at another
   * host or port, the source moved (typically a failover to a promoted standby): the slot there must
   * not start after the connector's committed position.
   */
  connectorTarget?: { host: string; port: number };
}

/** What {@link checkSlotLoss} found and did. */
export type SlotLossOutcome = "none" | "first-deploy" | "resumes-after-move" | "reported" | "resnapshotted";

/** host:port a connector's config points at. */
function configuredAddress(config: Record<string, string>): string {
  return `${config["database.hostname"] ?? ""}:${config["database.port"] ?? "5432"}`;
}

/**
 * Before a deployment touches the connector: is its slot lost while the connector exists? A slot that
 * vanished, or that still exists with wal_status 'lost', is a loss. "fail" stops with an error naming
 * the slot, the connector, the gap and the fix; "resnapshot" stops the connector, clears its offsets,
 * drops a lost slot and creates it again, and resumes the connector so Debezium snapshots again. In
 * preview it only reports. Before the first connector, refuses a slot that someone else holds.
 */
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
  const from = configuredAddress(connector);
  const to = c.connectorTarget ? `${c.connectorTarget.host}:${c.connectorTarget.port}` : from;
  const moved = from !== to;
  const lost = !!slot && isSlotLost(slot);
  let gap: string;
  if (slot && lost) {
    gap = lostGap(c, slot, await withSession(c.source, what, maxSlotWalKeepSize));
  } else if (moved) {
    // The connector is about to be pointed at another server: is the slot there where the connector left off?
    const committed = committedLsn((await c.client.getOffsets(c.connectorName).catch(() => ({ offsets: [] }))).offsets);
    const at = committed === undefined ? "its last position (no committed offset yet)" : formatLsn(committed);
    const moveText = `the source moved from ${from} to ${to} (connector "${c.connectorName}" committed up to ${at})`;
    if (slot) {
      const start = slot.confirmedFlushLsn ? lsnToNumber(slot.confirmedFlushLsn) : undefined;
      if (slot.synced || committed === undefined || start === undefined || start <= committed) {
        c.log(
          `${what}: ${moveText}; replication slot "${c.slotName}" there ${slot.synced ? "was synchronized from the old primary (failover slot)" : "exists"} at ${slot.confirmedFlushLsn ?? "no confirmed position yet"}: ` +
            "Debezium resumes from it without a snapshot (changes after its position may arrive twice).",
        );
        return "resumes-after-move";
      }
      gap =
        `${moveText}, and replication slot "${c.slotName}" there starts at ${slot.confirmedFlushLsn}, after that position: it was not synchronized from the old primary but created later, ` +
        `so the changes committed between ${at} and ${slot.confirmedFlushLsn} are not captured.`;
    } else {
      const why = c.sourceMajor !== undefined && c.sourceMajor < 17 ? `PostgreSQL ${c.sourceMajor} cannot synchronize slots to a standby (failover slots need 17)` : "the slot was not synchronized to it (no failover slot, or the standby was not set up to sync)";
      gap =
        `${moveText}, which has no replication slot "${c.slotName}": ${why}. ` +
        `A new slot starts at ${to}'s current WAL position, so the changes committed after ${at} up to the new slot's start are not captured.`;
    }
  } else if (slot) {
    return "none";
  } else {
    gap =
      `replication slot "${c.slotName}" no longer exists, but connector "${c.connectorName}" does and resumes from its stored offsets. ` +
      `A new slot would start at the current WAL position, so every change made since the slot vanished would be silently lost.`;
  }
  if (c.preview) {
    c.log(`${what}: warning: ${gap} \`pulumi up\` will ${c.policy === "resnapshot" ? "re-snapshot (onSlotLoss: resnapshot)" : "stop (onSlotLoss: fail)"}.`);
    return "reported";
  }
  if (c.policy === "fail") {
    const fix = lost
      ? `Set onSlotLoss: "resnapshot" to stop the connector, clear its offsets, drop and recreate the slot (pg_drop_replication_slot('${c.slotName}')) and snapshot all tables again: ` +
        `the changes in the gap cannot be read from WAL any more, only from the tables. Then raise max_slot_wal_keep_size (or keep the connector consuming) so the slot does not fall this far behind again.`
      : 'Set onSlotLoss: "resnapshot" to stop the connector, clear its offsets, ' +
        (slot ? "keep the slot" : "create the slot") +
        " and snapshot all tables again" +
        (moved ? " (on PostgreSQL 17, a failover slot synchronized to the standby avoids the gap: see `standby`)" : ", or restore the slot yourself and run `pulumi refresh`") +
        ".";
    throw new CdcError(`${what}: ${gap} ${fix} Nothing was changed.`);
  }
  c.log(`${what}: ${gap} Re-snapshotting (onSlotLoss: resnapshot): stopping the connector, clearing its offsets${lost ? ", dropping and recreating the slot" : slot ? "" : ", creating the slot"}.`);
  await c.client.stop(c.connectorName);
  await waitForState(c.client, c.connectorName, "STOPPED", { timeoutMs: c.timeoutMs, onProgress: c.log });
  await c.client.deleteOffsets(c.connectorName);
  if (lost || !slot) {
    await withSession(c.source, what, async (s) => {
      if (lost) await dropSlot(s, c.slotName, { onActive: "wait", timeoutSeconds: Math.ceil(c.timeoutMs / 1000) }, `${what}: lost replication slot "${c.slotName}"`);
      await createSlot(s, { ...c.spec, name: c.slotName }, c.source.database, what);
    });
  }
  if (moved) {
    // Resumed by the connector's update, once it points at the new server.
    c.log(`${what}: connector stopped without offsets; it snapshots again once it points at ${to}.`);
  } else {
    await c.client.resume(c.connectorName);
    c.log(`${what}: slot "${c.slotName}" ready and connector resumed without offsets; Debezium snapshots again.`);
  }
  return "resnapshotted";
}

/** The data gap of a slot PostgreSQL invalidated (wal_status 'lost'). */
function lostGap(c: SlotLossCheck, slot: LiveSlot, keepSize: string): string {
  return (
    `replication slot "${c.slotName}" still exists, but PostgreSQL invalidated it (wal_status 'lost'): the WAL that connector "${c.connectorName}" still needs was removed ` +
    `(PostgreSQL removes WAL a slot retains beyond max_slot_wal_keep_size, currently ${keepSize}). The connector cannot resume from its stored offsets` +
    `${slot.confirmedFlushLsn ? ` (last confirmed position ${slot.confirmedFlushLsn})` : ""}: every change made since then is gone from the WAL, and Debezium fails on this slot.`
  );
}

/** max_slot_wal_keep_size as the server has it now ("-1" when unlimited), for the message about a lost slot. */
async function maxSlotWalKeepSize(s: Session): Promise<string> {
  const rows = await s.query<{ setting: string }>("SELECT pg_catalog.current_setting('max_slot_wal_keep_size') AS setting");
  return rows[0]?.setting ?? "unknown";
}
