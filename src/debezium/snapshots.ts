/**
 * Which tables a running Debezium connector should read again by incremental
 * snapshot after a deployment: pure, no I/O.
 */

/** What a deployment says about snapshots (DebeziumConnector's `snapshots` input, without the connection). */
export interface SnapshotIntent {
  /** The captured tables ("schema.table"); empty = all tables. */
  tables: readonly string[];
  /** "snapshot": tables added to `tables` get their existing rows by incremental snapshot; "stream-only": only new changes. */
  onTablesAdded: "snapshot" | "stream-only";
  /** Tables to read again whenever `nonce` changes. */
  resnapshot?: { tables: readonly string[]; nonce: string };
}

/**
 * The tables to snapshot incrementally when a connector goes from `before`
 * to `after` (sorted, no duplicates):
 * - tables added to an explicit list, unless onTablesAdded is "stream-only"
 *   (going from or to "all tables" adds nothing: the publication decides);
 * - the resnapshot tables, when the nonce is new.
 * Nothing when there was no previous deployment (`before` undefined): the
 * connector's initial snapshot covers every table then.
 */
export function tablesToSnapshot(before: SnapshotIntent | undefined, after: SnapshotIntent): string[] {
  if (!before) return [];
  const out = new Set<string>();
  if (after.onTablesAdded === "snapshot" && before.tables.length > 0 && after.tables.length > 0) {
    const had = new Set(before.tables);
    for (const t of after.tables) if (!had.has(t)) out.add(t);
  }
  if (after.resnapshot && after.resnapshot.nonce !== before.resnapshot?.nonce) for (const t of after.resnapshot.tables) out.add(t);
  return [...out].sort();
}

/** Where Debezium is with a signal, judged from the connector's source offsets. */
export type SignalProgress = "pending" | "running" | "read";

/**
 * `running`: an incremental snapshot with this signal's id as correlation id is
 * in progress; `read`: the last transaction Debezium committed an offset for
 * (`lsn_commit`, else `lsn`) ends after the signal (the snapshot it asked for
 * is done, or was refused and logged); `pending`: not yet. `signalLsn` is a
 * position inside the signal's transaction, in bytes.
 */
export function signalProgress(offsets: readonly { offset: Record<string, unknown> | null }[], signalId: string, signalLsn: number): SignalProgress {
  if (offsets.some(({ offset }) => offset?.incremental_snapshot_correlation_id === signalId)) return "running";
  const committed = committedLsn(offsets);
  return committed !== undefined && committed >= signalLsn ? "read" : "pending";
}

/**
 * The furthest WAL position Debezium committed an offset for, in bytes: the
 * largest of `lsn_commit` (the last transaction it completed), `lsn_proc` and
 * `lsn` (the last change or heartbeat position it processed); undefined when
 * it has no offset yet. Debezium confirms `lsn_commit` to the slot after Kafka
 * Connect stored the offset, and on an idle heartbeat the received position
 * (`lsn_proc`), so a slot is never legitimately past this position.
 */
export function committedLsn(offsets: readonly { offset: Record<string, unknown> | null }[]): number | undefined {
  let best: number | undefined;
  for (const { offset } of offsets) {
    for (const raw of [offset?.lsn_commit, offset?.lsn_proc, offset?.lsn]) {
      const lsn = typeof raw === "number" ? raw : Number(raw);
      if (raw !== undefined && raw !== null && Number.isFinite(lsn) && (best === undefined || lsn > best)) best = lsn;
    }
  }
  return best;
}
