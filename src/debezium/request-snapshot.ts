/**
 * Asking a running Debezium connector for an incremental snapshot through its
 * signal table, and waiting until its offsets show it has read the signal.
 * Talks to PostgreSQL and Kafka Connect; knows nothing of Pulumi.
 */
import { pollUntil } from "../poll";
import { randomBytes } from "node:crypto";
import type { ConnectClient } from "../connect/client";
import { withSession } from "../postgres/connection";
import { lsnToNumber } from "../postgres/lsn";
import { sendSignal } from "../postgres/signals";
import type { PostgresConnection } from "../validation/common";
import { snapshotSignalData } from "./collections";
import { signalProgress, type SignalProgress } from "./snapshots";

export interface SnapshotRequest {
  /** Connection of the captured database (where the signal table is). */
  connection: PostgresConnection;
  /** "schema.table" of the signal table. */
  signalTable: string;
  /** Tables to read again ("schema.table"). */
  tables: readonly string[];
  connectorName: string;
  /** How long to wait for Debezium to confirm; 0: do not wait. */
  waitMs: number;
  /** For messages, e.g. `DebeziumConnector "orders"`. */
  what: string;
  onProgress?: (line: string) => void;
}

export interface SnapshotRequestResult {
  signalId: string;
  /** What the offsets showed when the wait ended ("pending" after the wait ran out). */
  progress: SignalProgress;
}

/**
 * Writes an `execute-snapshot` signal (type incremental) for `tables` and
 * polls the connector's offsets (GET /connectors/{name}/offsets) until
 * Debezium runs the snapshot or has read past the signal. Offsets are
 * committed every `offset.flush.interval.ms` of the workers (60 s by
 * default), so confirmation can take that long; a wait that runs out is
 * reported, not an error: the signal is in the WAL and Debezium reads it
 * when it gets there.
 */
export async function requestIncrementalSnapshot(client: ConnectClient, r: SnapshotRequest): Promise<SnapshotRequestResult> {
  const signalId = `pulumi-${new Date().toISOString().replace(/[-:.]/g, "").slice(0, 15)}-${randomBytes(4).toString("hex")}`;
  const sent = await withSession(r.connection, r.what, (s) => sendSignal(s, r.signalTable, { id: signalId, type: "execute-snapshot", data: snapshotSignalData(r.tables) }));
  r.onProgress?.(`${r.what}: incremental snapshot of ${r.tables.join(", ")} requested (signal "${signalId}" in ${r.signalTable})`);
  const lsn = lsnToNumber(sent.lsn);
  let progress: SignalProgress = "pending";
  if (r.waitMs > 0) {
    const confirmed = await pollUntil(
      async () => {
        const offsets = await client.getOffsets(r.connectorName);
        const p = signalProgress(offsets.offsets.filter((o): o is { partition: Record<string, unknown>; offset: Record<string, unknown> } => o.offset !== null), signalId, lsn);
        return p === "pending" ? undefined : p;
      },
      { timeoutMs: r.waitMs, initialDelayMs: 100, maxDelayMs: 2000 },
    );
    progress = confirmed ?? "pending";
  }
  if (progress === "running") r.onProgress?.(`${r.what}: Debezium is snapshotting ${r.tables.join(", ")} (signal "${signalId}"); rows arrive as op "r" events while streaming goes on`);
  else if (progress === "read") r.onProgress?.(`${r.what}: Debezium has read signal "${signalId}"`);
  else if (r.waitMs > 0) {
    r.onProgress?.(
      `${r.what}: Debezium has not confirmed signal "${signalId}" within ${Math.round(r.waitMs / 1000)} s (its offsets are committed every offset.flush.interval.ms); the signal is in the WAL and is read when the connector gets there. Check with GET /connectors/${r.connectorName}/offsets`,
    );
  }
  return { signalId, progress };
}
