/**
 * A pgoutput logical replication stream over a node-postgres replication
 * connection (`replication: "database"`), decoded with pg-logical-replication's
 * PgoutputPlugin. Messages are handled one at a time, in WAL order; standby
 * status updates report the flushed LSN so confirmed_flush_lsn advances.
 */
import type { Client } from "pg";
import { PgoutputPlugin, type Pgoutput } from "pg-logical-replication";
import { decodeValue, lsnToNumber } from "./debezium-db";

export type PgoutputMessage = Pgoutput.Message;

/** Microseconds between the Unix epoch and PostgreSQL's epoch (2000-01-01). */
const PG_EPOCH_MS = 946684800000;

export interface StreamCallbacks {
  /** One decoded pgoutput message and the WAL position of its XLogData. */
  message(lsn: number, msg: PgoutputMessage): Promise<void>;
  /** A primary keepalive (walEnd = the server's current WAL end). */
  keepalive(walEnd: number): void;
  /** True when no transaction is half-processed (everything received so far is handled). */
  idle(): boolean;
}

function quoteLiteral(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

function quoteIdent(s: string): string {
  return `"${s.replace(/"/g, '""')}"`;
}

export class PgoutputStream {
  private readonly plugin: PgoutputPlugin;
  private chain: Promise<void> = Promise.resolve();
  private closing = false;
  private failed = false;
  private failWith: (err: unknown) => void = () => undefined;
  /** Settles when the stream ends: resolves after close(), rejects when the server or the handler breaks it. */
  readonly done: Promise<void>;
  private resolveDone: () => void = () => undefined;
  /**
   * Last LSN reported as flushed to the server. 0 (invalid) until the first
   * flush of this session: like pgjdbc, the status update then carries an
   * invalid flush position and PostgreSQL goes by the write position.
   */
  flushed = 0;
  /** Highest WAL end the server reported (pgjdbc's lastReceiveLSN), sent as the write position. */
  private received = 0;
  private lastPingAt = 0;

  constructor(
    private readonly client: Client,
    publication: string,
    private readonly callbacks: StreamCallbacks,
  ) {
    this.plugin = new PgoutputPlugin({ protoVersion: 1, publicationNames: [publication] });
    this.done = new Promise<void>((resolve, reject) => {
      this.resolveDone = resolve;
      this.failWith = (err) => {
        if (this.closing || this.failed) return;
        this.failed = true;
        reject(err);
      };
    });
    this.done.catch(() => undefined);
    client.on("error", (err) => this.failWith(err));
    client.on("end", () => (this.closing ? this.resolveDone() : this.failWith(copyFailure())));
  }

  /**
   * START_REPLICATION SLOT ... LOGICAL <lsn> (proto_version '1', publication_names '"pub"').
   * Resolves once the server switched to CopyBoth (the slot is then active); rejects with the server's error.
   */
  start(slot: string, publication: string, startLsn: string): Promise<void> {
    const connection = (this.client as unknown as { connection: NodeJS.EventEmitter }).connection;
    connection.on("copyData", ({ chunk }: { chunk: Buffer }) => this.onCopyData(chunk));
    const sql =
      `START_REPLICATION SLOT ${quoteIdent(slot)} LOGICAL ${startLsn} ` +
      `(proto_version '1', publication_names ${quoteLiteral(quoteIdent(publication))})`;
    return new Promise<void>((resolve, reject) => {
      let started = false;
      connection.once("replicationStart", () => {
        started = true;
        resolve();
      });
      this.client.query(sql).then(
        () => (started ? this.failWith(copyFailure()) : reject(copyFailure())),
        (err: unknown) => (started ? this.failWith(err) : reject(err)),
      );
    });
  }

  private onCopyData(chunk: Buffer): void {
    if (this.closing || this.failed) return;
    const kind = chunk[0];
    if (kind === 0x77) {
      // XLogData: 'w' dataStart(8) walEnd(8) sendTime(8) data
      const lsn = Number(chunk.readBigUInt64BE(1));
      this.received = Math.max(this.received, Number(chunk.readBigUInt64BE(9)));
      let msg: PgoutputMessage;
      try {
        msg = this.plugin.parse(chunk.subarray(25)) as PgoutputMessage;
      } catch (err) {
        this.failWith(err);
        return;
      }
      if (msg.tag === "relation") {
        // Our own text decoding, the same as the snapshot's (the plugin caches this object for later tuples).
        for (const col of msg.columns) col.parser = (text: string) => decodeValue(col.typeOid, text);
      }
      this.chain = this.chain.then(() => (this.failed || this.closing ? undefined : this.callbacks.message(lsn, msg))).catch((err) => this.failWith(err));
    } else if (kind === 0x6b) {
      // Primary keepalive: 'k' walEnd(8) sendTime(8) replyRequested(1)
      const walEnd = Number(chunk.readBigUInt64BE(1));
      this.received = Math.max(this.received, walEnd);
      const reply = chunk[17] === 1;
      this.chain = this.chain.then(() => {
        this.callbacks.keepalive(walEnd);
        if (!reply) return;
        // An idle server pings at most every wal_sender_timeout/2. Pings in quick succession mean a
        // walsender draining for shutdown (WalSndDone), which waits until the flush position reaches
        // what it sent: confirm it when nothing is pending, so a fast shutdown is not held up.
        const now = Date.now();
        if (now - this.lastPingAt < 1000 && this.callbacks.idle()) this.flushed = Math.max(this.flushed, walEnd);
        this.lastPingAt = now;
        this.sendStatus(false);
      });
    }
  }

  /** Marks `lsn` flushed and reports it (Standby status update). */
  flush(lsn: number): void {
    if (lsn > this.flushed) this.flushed = lsn;
    this.sendStatus(false);
  }

  /**
   * Standby status update 'r', as pgjdbc sends it: write = the last received
   * WAL position, flush = apply = the flushed LSN the application set.
   * (With a valid flush position PostgreSQL's shutdown waits for it to catch
   * up with what was sent, as it does for Debezium.)
   */
  sendStatus(replyRequested: boolean): void {
    if (this.closing || this.failed) return;
    const buf = Buffer.alloc(34);
    buf.write("r", 0);
    buf.writeBigUInt64BE(BigInt(Math.max(this.received, this.flushed)), 1);
    buf.writeBigUInt64BE(BigInt(this.flushed), 9);
    buf.writeBigUInt64BE(BigInt(this.flushed), 17);
    buf.writeBigUInt64BE(BigInt(Date.now() - PG_EPOCH_MS) * 1000n, 25);
    buf.writeUInt8(replyRequested ? 1 : 0, 33);
    const connection = (this.client as unknown as { connection: { sendCopyFromChunk(b: Buffer): void } }).connection;
    try {
      connection.sendCopyFromChunk(buf);
    } catch (err) {
      this.failWith(err);
    }
  }

  /** Ends the replication connection; the walsender exits and the slot becomes inactive. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.resolveDone();
    const stream = (this.client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream;
    await Promise.race([
      this.client.end().catch(() => undefined),
      new Promise<void>((resolve) =>
        setTimeout(() => {
          stream?.destroy();
          resolve();
        }, 300).unref(),
      ),
    ]);
  }
}

/** pgjdbc's error when the replication connection breaks under the stream. */
function copyFailure(): Error {
  return Object.assign(new Error("Database connection failed when reading from copy"), { code: "ECONNRESET" });
}

/** "X/Y" of a pgoutput message LSN field, as a number (0 when absent). */
export function msgLsn(lsn: string | null | undefined): number {
  return lsn ? lsnToNumber(lsn) : 0;
}
