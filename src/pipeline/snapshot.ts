/**
 * Re-reading chosen tables of a running pipeline on demand, outside a
 * deployment: the same incremental snapshot CdcPipeline's `resnapshot` asks
 * for, for scripts, runbooks and the command line. No Pulumi here.
 */
import { ConnectClient, type ConnectClientOptions } from "../connect/client";
import { requestIncrementalSnapshot, type SnapshotRequestResult } from "../debezium/request-snapshot";
import { CdcError } from "../errors";
import { resolveConnectionInput } from "../validation/connection";
import type { PostgresConnectionInput } from "../validation/common";
import { normalizeTables } from "../validation/table-name";

export interface RequestSnapshotInput {
  /** How to reach the captured database (connection fields or a postgres:// string). */
  source: PostgresConnectionInput | string;
  /** The Kafka Connect REST API. */
  connect: ConnectClientOptions;
  connectorName: string;
  /** "schema.table" of the pipeline's signal table (CdcPipeline: `public.<name>_signal` unless set). */
  signalTable: string;
  /** Tables to read again, "schema.table" or "table". */
  tables: string[];
  /** Seconds to wait for Debezium to confirm (default 120; 0: do not wait). */
  waitSeconds?: number;
  onProgress?: (line: string) => void;
}

/**
 * Asks the pipeline's Debezium connector for an incremental snapshot of
 * `tables` (an `execute-snapshot` signal in the signal table) and waits until
 * its offsets show it runs or has read the signal. The connector must exist;
 * streaming goes on meanwhile and the other tables are not read again.
 */
export async function requestSnapshot(input: RequestSnapshotInput): Promise<SnapshotRequestResult> {
  const what = `snapshot request for connector "${input.connectorName}"`;
  if (!input.tables.length) throw new CdcError(`${what}: name at least one table to snapshot.`);
  const connection = resolveConnectionInput(input.source, what);
  const client = new ConnectClient(input.connect);
  try {
    if (!(await client.getConfig(input.connectorName))) {
      throw new CdcError(`${what}: connector "${input.connectorName}" does not exist on ${client.url}; check the name (pulumi stack output connectorName). Nothing was sent.`);
    }
    return await requestIncrementalSnapshot(client, {
      connection,
      signalTable: normalizeTables([input.signalTable])[0]!,
      tables: normalizeTables(input.tables),
      connectorName: input.connectorName,
      waitMs: (input.waitSeconds ?? 120) * 1000,
      what,
      onProgress: input.onProgress,
    });
  } finally {
    await client.close();
  }
}
