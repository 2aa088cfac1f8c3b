/**
 * Debezium's source signal channel and signal-based incremental snapshots,
 * for the Debezium task of the Connect test double (debezium-task.ts), as
 * Debezium 3.6.1 does them (SignalProcessor, SourceSignalChannel,
 * ExecuteSnapshot, StopSnapshot, AbstractIncrementalSnapshotChangeEventSource,
 * SignalBasedIncrementalSnapshotChangeEventSource, InsertWindowCloser,
 * DeleteWindowCloser, AbstractIncrementalSnapshotContext) and as measured on
 * the real stack (see README.md):
 *
 * - a row inserted into `signal.data.collection` (or, with the insert_delete
 *   watermarking strategy, a watermark row deleted from it) is a signal when
 *   `signal.enabled.channels` lists `source`; it is handled while the stream
 *   delivers it, before its own change event is emitted;
 * - `execute-snapshot` (incremental): the `data-collections` regexes are
 *   matched (case-sensitively) against the tables Debezium's schema knows
 *   (those of the table filters at start-up, plus those a streamed relation
 *   message introduced); one that matches none is kept as a table name, and
 *   a table the schema does not know is skipped with "Schema retrieval failed
 *   due to an exception for ..." (Debezium 3.6.1 fails to dispatch the schema
 *   change of a table it looks up, so a table created after the task started
 *   is snapshotted only once a change of it was streamed or after a restart);
 *   another `execute-snapshot` while one runs is queued;
 * - each chunk: window-open watermark row, max key (first chunk of a table),
 *   `SELECT ... ORDER BY <key> LIMIT incremental.snapshot.chunk.size` into the
 *   window, window-close watermark (insert_insert: a `-close` row; insert_delete:
 *   the `-open` row deleted); streamed changes of the table between the two
 *   watermarks remove their keys from the window; when the close watermark is
 *   streamed the rest of the window is emitted as op "r" records and the next
 *   chunk is read; an empty chunk ends the table;
 * - offsets carry incremental_snapshot_* keys and the correlation id while a
 *   snapshot runs (the keys serialised as Java does, hex of an ObjectOutputStream),
 *   and the "r" records' offsets `snapshot: "INCREMENTAL"` too; a restarted task
 *   resumes the snapshot from the offsets (reads a new chunk before streaming);
 * - `stop-snapshot` (applied when the next chunk would be read), `pause-snapshot`,
 *   `resume-snapshot`, `log`; malformed data, unknown types and unknown snapshot
 *   types are logged and skipped, as Debezium does.
 */
import { randomUUID } from "node:crypto";
import type { Client } from "pg";
import { javaRegex, setting } from "./debezium-config";

// ---------------------------------------------------------------------------
// Table ids (io.debezium.relational.TableId)

/** Debezium's TableId.parse: dot-separated parts, double quotes allowing dots inside a part. */
export function parseTableId(text: string): string[] {
  const parts: string[] = [];
  let cur = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '"') {
      if (quoted && text[i + 1] === '"') {
        cur += '"';
        i++;
      } else quoted = !quoted;
    } else if (ch === "." && !quoted) {
      parts.push(cur);
      cur = "";
    } else cur += ch;
  }
  parts.push(cur);
  return parts;
}

/** The identifier Debezium prints and matches for a PostgreSQL table: `schema.table`. */
export function tableIdentifier(schema: string, table: string): string {
  return `${schema}.${table}`;
}

// ---------------------------------------------------------------------------
// Java serialisation of key arrays (ObjectOutputStream of an Object[], as hex)

/** A key value with the Java type pgjdbc gives it. */
export type JavaValue = { type: "Integer" | "Long"; value: number | bigint } | { type: "String"; value: string } | { type: "UUID"; value: string } | { type: "Boolean"; value: boolean } | null;

const CLASSES: Record<string, { uid: string; fields: Array<[string, string]>; parent?: string }> = {
  "java.lang.Number": { uid: "86ac951d0b94e08b", fields: [] },
  "java.lang.Integer": { uid: "12e2a0a4f7818738", fields: [["I", "value"]], parent: "java.lang.Number" },
  "java.lang.Long": { uid: "3b8be490cc8f23df", fields: [["J", "value"]], parent: "java.lang.Number" },
  "java.lang.Boolean": { uid: "cd207280d59cfaee", fields: [["Z", "value"]] },
  "java.util.UUID": { uid: "bc9903f7986d852f", fields: [["J", "leastSigBits"], ["J", "mostSigBits"]] },
};

/** Serialises an Object[] (or null) the way Debezium stores incremental_snapshot_primary_key / _maximum_key. */
export function javaSerializeKey(values: JavaValue[] | null): string {
  const out: number[] = [0xac, 0xed, 0x00, 0x05];
  const u8 = (n: number) => out.push(n & 0xff);
  const u16 = (n: number) => out.push((n >> 8) & 0xff, n & 0xff);
  const u32 = (n: number) => out.push((n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
  const u64 = (n: bigint) => {
    const v = BigInt.asUintN(64, n);
    for (let i = 7; i >= 0; i--) out.push(Number((v >> BigInt(i * 8)) & 0xffn));
  };
  const utf = (s: string) => {
    const b = Buffer.from(s, "utf8");
    u16(b.length);
    out.push(...b);
  };
  const hex = (h: string) => out.push(...Buffer.from(h, "hex"));
  let next = 0x7e0000;
  const handles = new Map<string, number>();
  const classDesc = (name: string, uid: string, fields: Array<[string, string]>, parent: () => void) => {
    const known = handles.get(name);
    if (known !== undefined) {
      u8(0x71);
      u32(known);
      return;
    }
    u8(0x72);
    utf(name);
    hex(uid);
    handles.set(name, next++);
    u8(0x02); // SC_SERIALIZABLE
    u16(fields.length);
    for (const [code, field] of fields) {
      u8(code.charCodeAt(0));
      utf(field);
    }
    u8(0x78); // TC_ENDBLOCKDATA
    parent();
  };
  const describe = (name: string): void => {
    const c = CLASSES[name];
    classDesc(name, c.uid, c.fields, () => (c.parent ? describe(c.parent) : u8(0x70)));
  };
  if (values === null) {
    u8(0x70);
    return Buffer.from(out).toString("hex");
  }
  u8(0x75); // TC_ARRAY
  classDesc("[Ljava.lang.Object;", "90ce589f1073296c", [], () => u8(0x70));
  next++; // the array itself
  u32(values.length);
  for (const v of values) {
    if (v === null) {
      u8(0x70);
      continue;
    }
    if (v.type === "String") {
      u8(0x74);
      utf(v.value);
      next++;
      continue;
    }
    u8(0x73); // TC_OBJECT
    describe(`java.${v.type === "UUID" ? "util" : "lang"}.${v.type}`);
    next++;
    if (v.type === "Integer") u32(Number(v.value));
    else if (v.type === "Long") u64(BigInt(v.value));
    else if (v.type === "Boolean") u8(v.value ? 1 : 0);
    else {
      const h = String(v.value).replace(/-/g, "");
      u64(BigInt(`0x${h.slice(16)}`));
      u64(BigInt(`0x${h.slice(0, 16)}`));
    }
  }
  return Buffer.from(out).toString("hex");
}

/** Reads what {@link javaSerializeKey} writes (the values as JavaScript numbers, strings and booleans). */
export function javaDeserializeKey(hexText: string): unknown[] | null {
  const b = Buffer.from(hexText, "hex");
  let p = 4;
  const u8 = () => b[p++];
  const u16 = () => {
    const v = b.readUInt16BE(p);
    p += 2;
    return v;
  };
  const u32 = () => {
    const v = b.readUInt32BE(p);
    p += 4;
    return v;
  };
  const utf = () => {
    const n = u16();
    const s = b.subarray(p, p + n).toString("utf8");
    p += n;
    return s;
  };
  const descs: Array<{ name: string; fields: Array<[string, string]>; parent: number | null } | undefined> = [];
  let handle = 0;
  const readDesc = (): number | null => {
    const tc = u8();
    if (tc === 0x70) return null;
    if (tc === 0x71) return u32() - 0x7e0000;
    if (tc !== 0x72) throw new Error(`unsupported serialised class descriptor 0x${tc.toString(16)}`);
    const name = utf();
    p += 8 + 1;
    const id = handle++;
    const fields: Array<[string, string]> = [];
    for (let n = u16(); n > 0; n--) fields.push([String.fromCharCode(u8()), utf()]);
    u8(); // TC_ENDBLOCKDATA
    descs[id] = { name, fields, parent: null };
    descs[id]!.parent = readDesc();
    return id;
  };
  const tc = u8();
  if (tc === 0x70) return null;
  if (tc !== 0x75) throw new Error("not a serialised array");
  readDesc();
  handle++;
  const values: unknown[] = [];
  for (let n = u32(); n > 0; n--) {
    const t = u8();
    if (t === 0x70) values.push(null);
    else if (t === 0x74) {
      values.push(utf());
      handle++;
    } else if (t === 0x73) {
      const d = descs[readDesc() ?? -1];
      handle++;
      if (!d) throw new Error("unsupported serialised object");
      if (d.name === "java.lang.Integer") values.push(b.readInt32BE((p += 4) - 4));
      else if (d.name === "java.lang.Long") {
        const v = b.readBigInt64BE((p += 8) - 8);
        values.push(v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString());
      } else if (d.name === "java.lang.Boolean") values.push(u8() === 1);
      else if (d.name === "java.util.UUID") {
        const least = b.subarray(p, p + 8).toString("hex");
        const most = b.subarray(p + 8, p + 16).toString("hex");
        p += 16;
        const h = most + least;
        values.push(`${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`);
      } else throw new Error(`unsupported serialised class ${d.name}`);
    } else throw new Error(`unsupported serialised element 0x${t.toString(16)}`);
  }
  return values;
}

/** The Java type pgjdbc gives a column of this type OID (anything else is written as its text). */
function javaValue(typeOid: number, v: unknown): JavaValue {
  if (v === null || v === undefined) return null;
  if (typeOid === 21 || typeOid === 23) return { type: "Integer", value: Number(v) };
  if (typeOid === 20) return { type: "Long", value: BigInt(String(v)) };
  if (typeOid === 16) return { type: "Boolean", value: v === true };
  if (typeOid === 2950) return { type: "UUID", value: String(v) };
  return { type: "String", value: String(v) };
}

/** Java's Instant.toString(): fractions in groups of three digits, trailing zero groups left out. */
export function javaInstant(ms: number, subMsNanos: number): string {
  const iso = new Date(ms).toISOString(); // ...T16:46:49.497Z
  const nanos = (ms % 1000) * 1000000 + subMsNanos;
  const base = iso.slice(0, 19);
  if (nanos === 0) return `${base}Z`;
  const digits = String(nanos).padStart(9, "0");
  const shown = nanos % 1000000 === 0 ? digits.slice(0, 3) : nanos % 1000 === 0 ? digits.slice(0, 6) : digits;
  return `${base}.${shown}Z`;
}

function nowInstant(): string {
  return javaInstant(Date.now(), Number(process.hrtime.bigint() % 1000000n));
}

// ---------------------------------------------------------------------------
// Settings

export interface SignalSettings {
  /** signal.data.collection as a table id (schema, table), or undefined. */
  signalTable?: { schema: string; table: string; text: string };
  /** The `source` channel is enabled (signal.enabled.channels). */
  sourceChannel: boolean;
  strategy: "insert_insert" | "insert_delete";
  chunkSize: number;
}

export function signalSettings(config: Readonly<Record<string, string>>): SignalSettings {
  const list = (setting(config, "signal.data.collection") ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  const parts = list.length > 0 ? parseTableId(list[0]) : [];
  const channels = (setting(config, "signal.enabled.channels") ?? "source").split(",").map((s) => s.trim());
  const chunk = Number(setting(config, "incremental.snapshot.chunk.size") ?? "1024");
  return {
    // PostgreSQL table ids have no catalog: a three-part name never equals a streamed table's id.
    signalTable: parts.length === 2 ? { schema: parts[0], table: parts[1], text: list[0] } : undefined,
    sourceChannel: channels.includes("source"),
    strategy: (setting(config, "incremental.snapshot.watermarking.strategy") ?? "insert_insert").toLowerCase() === "insert_delete" ? "insert_delete" : "insert_insert",
    chunkSize: Number.isFinite(chunk) && chunk > 0 ? chunk : 1024,
  };
}

// ---------------------------------------------------------------------------
// The incremental snapshot

/** What the task provides to the incremental snapshot. */
export interface IncrementalSnapshotHost {
  /** The task's general connection (autocommit), for watermarks and chunk queries. */
  db(): Client;
  log(level: "INFO" | "WARN" | "ERROR", message: string): void;
  /** Identifiers (`schema.table`) of the tables Debezium's schema knows, sorted. */
  knownTables(): string[];
  /** Key columns (primary key, or the surrogate key) with their type OIDs; undefined when the table is gone. */
  keyColumns(schema: string, table: string, surrogateKey: string | null): Promise<Array<{ name: string; typeOid: number }> | undefined>;
  /** Emits one "r" record of the window with the offset its record carries (the snapshot keys added by the caller). */
  emitSnapshotRecord(schema: string, table: string, row: Record<string, unknown>, key: Record<string, unknown>, offsetKeys: Record<string, unknown>): void;
  /** Pause after a window's records were sent, before the next chunk is read (see DebeziumTaskTimings.incrementalWindowDelayMs). */
  pause(): Promise<void>;
  /** The task is stopping: its connections are closing under the snapshot, which must not change state any more. */
  stopped(): boolean;
}

interface DataCollection {
  /** TableId string as Debezium prints it (parts joined with dots). */
  id: string;
  parts: string[];
  condition: string | null;
  surrogateKey: string | null;
}

interface WindowRow {
  key: Record<string, unknown>;
  row: Record<string, unknown>;
  keyValues: JavaValue[];
}

/** A signal: the signal table's three columns. */
export interface SignalRecord {
  id: string;
  type: string;
  data: string | null;
}

function quoteIdent(s: string): string {
  return `"${s.replace(/"/g, '""')}"`;
}

export class IncrementalSnapshot {
  private collections: DataCollection[] = [];
  private correlationId: string | null = null;
  private chunkId: string | null = null;
  private windowOpened = false;
  private window = new Map<string, WindowRow>();
  private chunkEnd: unknown[] | null = null;
  private lastSent: string = javaSerializeKey(null);
  private maximumKey: unknown[] | null = null;
  private maximumKeyHex: string = javaSerializeKey(null);
  private paused = false;
  private toStop: string[] = [];
  private currentTable: string | null = null;
  private openTimestamp = "";

  constructor(
    private readonly settings: SignalSettings,
    private readonly host: IncrementalSnapshotHost,
  ) {}

  running(): boolean {
    return this.collections.length > 0;
  }

  /** The change event of a table is a signal to process (an insert, or a delete with insert_delete). */
  isSignalTable(schema: string, table: string): boolean {
    const t = this.settings.signalTable;
    return !!t && t.schema === schema && t.table === table;
  }

  /** AbstractIncrementalSnapshotContext.store: the keys every offset carries while a snapshot runs. */
  store(): Record<string, unknown> {
    if (!this.running()) return {};
    return {
      incremental_snapshot_correlation_id: this.correlationId,
      incremental_snapshot_collections: JSON.stringify(
        this.collections.map((c) => ({
          incremental_snapshot_collections_id: c.id,
          incremental_snapshot_collections_additional_condition: c.condition ? `(${c.condition})` : null,
          incremental_snapshot_collections_surrogate_key: c.surrogateKey || null,
        })),
      ),
      incremental_snapshot_primary_key: this.lastSent,
      incremental_snapshot_maximum_key: this.maximumKeyHex,
    };
  }

  /** Restores a running snapshot from a stored offset (SignalBasedIncrementalSnapshotContext.load). */
  load(offset: Record<string, unknown> | undefined): void {
    const text = offset?.incremental_snapshot_collections;
    if (typeof text !== "string") return;
    const list = JSON.parse(text) as Array<Record<string, string | null>>;
    this.collections = list.map((x) => {
      const id = String(x.incremental_snapshot_collections_id);
      const cond = x.incremental_snapshot_collections_additional_condition;
      return { id, parts: parseTableId(id), condition: cond ? cond : null, surrogateKey: x.incremental_snapshot_collections_surrogate_key || null };
    });
    const pk = offset?.incremental_snapshot_primary_key;
    const max = offset?.incremental_snapshot_maximum_key;
    this.chunkEnd = typeof pk === "string" ? javaDeserializeKey(pk) : null;
    this.maximumKey = typeof max === "string" ? javaDeserializeKey(max) : null;
    this.maximumKeyHex = typeof max === "string" ? max : javaSerializeKey(null);
    this.lastSent = javaSerializeKey(null);
    this.correlationId = typeof offset?.incremental_snapshot_correlation_id === "string" ? offset.incremental_snapshot_correlation_id : null;
  }

  /** init(): a snapshot found in the offsets reads a new chunk before streaming starts. */
  async resume(): Promise<void> {
    if (!this.running()) {
      this.host.log("INFO", "No incremental snapshot in progress, no action needed on start");
      return;
    }
    this.host.log("INFO", "Incremental snapshot in progress, need to read new chunk on start");
    await this.readChunk();
    this.host.log("INFO", "Incremental snapshot in progress, loading of initial chunk completed");
  }

  /** processMessage: a streamed change of the table being snapshotted removes its key from the open window. */
  dedupe(schema: string, table: string, key: unknown): void {
    if (this.window.size === 0 || !this.windowOpened || !key) return;
    if (!this.running() || this.collections[0].id !== tableIdentifier(schema, table)) return;
    if (this.window.delete(JSON.stringify(key))) this.host.log("INFO", `Removed '${JSON.stringify(key)}' from window`);
  }

  /** A row of the signal table, as its change event carries it (after of an insert, before of a delete). */
  async onSignalRow(op: "c" | "d", row: Record<string, unknown> | null): Promise<void> {
    if (!this.settings.sourceChannel || !row) return;
    const cols = Object.keys(row);
    if (cols.length !== 3) {
      this.host.log("WARN", `The signal event '${JSON.stringify(row)}' should have 3 fields but has ${cols.length}`);
      return;
    }
    const text = (v: unknown) => (v === null || v === undefined ? null : String(v));
    const signal: SignalRecord =
      op === "d"
        ? { id: String(text(row[cols[0]])).replace(/open/g, "close"), type: "snapshot-window-close", data: text(row[cols[2]]) }
        : { id: String(text(row[cols[0]])), type: String(text(row[cols[1]])), data: text(row[cols[2]]) };
    await this.process(signal);
  }

  /** SignalProcessor.processSignal. */
  private async process(signal: SignalRecord): Promise<void> {
    const actions = ["execute-snapshot", "stop-snapshot", "pause-snapshot", "resume-snapshot", "log", "schema-changes", "snapshot-window-open", "snapshot-window-close"];
    if (!actions.includes(signal.type)) {
      this.host.log("WARN", `Signal '${signal.id}' has been received but the type '${signal.type}' is not recognized`);
      return;
    }
    let data: Record<string, unknown>;
    try {
      const parsed = signal.data === null || signal.data === "" ? {} : (JSON.parse(signal.data) as unknown);
      if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error("not a document");
      data = parsed as Record<string, unknown>;
    } catch {
      this.host.log("WARN", `Signal '${signal.id}' has been received but the data '${signal.data}' cannot be parsed`);
      return;
    }
    try {
      await this.execute(signal, data);
    } catch (err) {
      this.host.log(
        "WARN",
        `Action ${signal.type} failed. The signal SignalRecord{id='${signal.id}', type='${signal.type}', data='${signal.data}', additionalData={}} may not have been processed. -- ${(err as Error).message}`,
      );
    }
  }

  private async execute(signal: SignalRecord, data: Record<string, unknown>): Promise<void> {
    const collections = () => {
      const list = data["data-collections"];
      return Array.isArray(list) && list.length > 0 ? list.map((v) => String(v).trim()) : null;
    };
    const snapshotType = (): "INCREMENTAL" | "BLOCKING" | null => {
      const t = typeof data.type === "string" ? data.type : "INCREMENTAL";
      if (/^incremental$/i.test(t)) return "INCREMENTAL";
      if (/^blocking$/i.test(t)) return "BLOCKING";
      this.host.log("WARN", `Detected an unexpected snapshot type '${t}'. Signal will be skipped.`);
      return null;
    };
    switch (signal.type) {
      case "execute-snapshot": {
        const ids = collections();
        if (!ids) {
          this.host.log("WARN", `Execute snapshot signal '${JSON.stringify(data)}' has arrived but the requested field 'data-collections' is missing from data or is empty`);
          return;
        }
        const type = snapshotType();
        if (type === null) throw new Error("java.lang.NullPointerException"); // switch on a null enum in ExecuteSnapshot.arrived
        const surrogate = typeof data["surrogate-key"] === "string" && data["surrogate-key"].trim() ? data["surrogate-key"] : null;
        const conditions = Array.isArray(data["additional-conditions"]) ? (data["additional-conditions"] as Array<Record<string, unknown>>) : [];
        this.host.log("INFO", `Requested '${type}' snapshot of data collections '[${ids.join(", ")}]' with additional conditions '[${conditions.map((c) => JSON.stringify(c)).join(", ")}]' and surrogate key '${surrogate ?? "PK of table will be used"}'`);
        if (type === "BLOCKING") {
          this.host.log("WARN", "Blocking snapshots are not reproduced by the Connect test double; signal ignored");
          return;
        }
        await this.add(signal.id, ids, conditions, surrogate);
        return;
      }
      case "stop-snapshot": {
        const ids = collections();
        const type = snapshotType();
        this.host.log("INFO", `Requested stop of snapshot '${type}' for data collections '${ids ? `[${ids.join(", ")}]` : "null"}'`);
        if (type === "INCREMENTAL" && this.running()) this.toStop.push(...(ids ?? [".*"]));
        return;
      }
      case "pause-snapshot":
        if (this.running() && !this.paused) {
          this.host.log("INFO", "Pausing incremental snapshot");
          this.paused = true;
        }
        return;
      case "resume-snapshot":
        if (this.running() && this.paused) {
          this.host.log("INFO", "Resuming incremental snapshot");
          this.paused = false;
          await this.readChunk();
        }
        return;
      case "log": {
        const message = data.message;
        if (typeof message !== "string") this.host.log("WARN", `Logging signal '${signal.id}' has arrived but the requested field 'message' is missing from data`);
        else this.host.log("INFO", message);
        return;
      }
      case "snapshot-window-open":
        if (this.notExpected(signal.id, "open")) return;
        this.windowOpened = true;
        return;
      case "snapshot-window-close":
        if (this.notExpected(signal.id, "close")) return;
        this.windowOpened = false;
        this.sendWindowEvents();
        await this.host.pause();
        await this.readChunk();
        return;
      default:
        return; // schema-changes: nothing to do for PostgreSQL here
    }
  }

  private notExpected(id: string, what: "open" | "close"): boolean {
    if (this.chunkId !== null && id.startsWith(this.chunkId)) return false;
    this.host.log("INFO", `Received request to ${what} window with id = '${id}', expected = '${this.chunkId}', request ignored`);
    return true;
  }

  /** The tables a regex names: the known ones it matches, or the text itself when it matches none. */
  private expand(patterns: string[]): string[] {
    const known = this.host.knownTables();
    const out: string[] = [];
    for (const p of patterns) {
      const re = javaRegex(p, false); // Pattern.compile(x).matcher(id).matches(); a PatternSyntaxException fails the action
      const hits = known.filter((t) => re.test(t));
      for (const h of hits.length > 0 ? hits : [p]) if (!out.includes(h)) out.push(h);
    }
    return out;
  }

  private async add(correlationId: string, patterns: string[], conditions: Array<Record<string, unknown>>, surrogateKey: string | null): Promise<void> {
    const start = !this.running();
    const expanded = this.expand(patterns);
    if (expanded.length > patterns.length) this.host.log("INFO", `Data-collections to snapshot have been expanded from [${patterns.join(", ")}] to [${expanded.join(", ")}]`);
    for (const id of expanded) {
      const cond = conditions.find((c) => typeof c["data-collection"] === "string" && javaRegex(String(c["data-collection"]), true).test(id));
      const parts = parseTableId(id);
      this.collections.push({ id: parts.join("."), parts, condition: typeof cond?.filter === "string" && cond.filter ? cond.filter : null, surrogateKey });
    }
    this.correlationId = correlationId;
    if (start) await this.readChunk();
  }

  private resetChunk(): void {
    this.lastSent = javaSerializeKey(null);
    this.chunkEnd = null;
    this.maximumKey = null;
    this.maximumKeyHex = javaSerializeKey(null);
  }

  private nextDataCollection(): void {
    this.resetChunk();
    this.collections.shift();
    if (!this.running()) this.correlationId = null;
  }

  private skip(message: string): void {
    this.host.log("WARN", message);
    this.nextDataCollection();
  }

  private processStopFlag(): void {
    const requested = this.toStop;
    this.toStop = [];
    if (requested.length === 0) return;
    if (!this.running()) {
      this.host.log("WARN", "No active incremental snapshot, stop ignored");
      this.correlationId = null;
      return;
    }
    const ids = this.expand(requested);
    const stopped: string[] = [];
    this.host.log("INFO", `Removing '[${ids.join(", ")}]' collections from incremental snapshot`);
    let stopCurrent: string | null = null;
    for (const id of ids) {
      const name = parseTableId(id).join(".");
      if (this.currentTable !== null && this.currentTable === name) {
        stopCurrent = name;
        continue;
      }
      const before = this.collections.length;
      this.collections = this.collections.filter((c) => c.id !== name);
      if (this.collections.length < before) {
        stopped.push(name);
        this.host.log("INFO", `Removed '${name}' from incremental snapshot collection list.`);
      } else this.host.log("WARN", `Could not remove '${name}', collection is not part of the incremental snapshot.`);
    }
    if (stopCurrent !== null) {
      this.host.log("INFO", `Removed current collection '${stopCurrent}' from incremental snapshot collection list.`);
      stopped.push(stopCurrent);
      if (!this.running()) this.host.log("INFO", "Incremental snapshot has stopped.");
      else {
        this.host.log("INFO", "Advancing to next available collection in the incremental snapshot.");
        this.nextDataCollection();
      }
    }
    if (!this.running()) this.correlationId = null;
    this.host.log("INFO", `Removed collections from incremental snapshot: '[${stopped.join(", ")}]'`);
  }

  private signalTableSql(): string {
    const t = this.settings.signalTable!;
    return `${quoteIdent(t.schema)}.${quoteIdent(t.table)}`;
  }

  private async emitWindowOpen(): Promise<void> {
    this.openTimestamp = nowInstant();
    await this.host.db().query(`INSERT INTO ${this.signalTableSql()} VALUES ($1, $2, $3)`, [`${this.chunkId}-open`, "snapshot-window-open", `{"openWindowTimestamp": "${this.openTimestamp}"}`]);
  }

  private async emitWindowClose(): Promise<void> {
    if (this.settings.strategy === "insert_delete") {
      await this.host.db().query(`DELETE FROM ${this.signalTableSql()} WHERE id = $1`, [`${this.chunkId}-open`]);
      return;
    }
    await this.host
      .db()
      .query(`INSERT INTO ${this.signalTableSql()} VALUES ($1, $2, $3)`, [
        `${this.chunkId}-close`,
        "snapshot-window-close",
        `{"openWindowTimestamp": "${this.openTimestamp}", "closeWindowTimestamp": "${nowInstant()}"}`,
      ]);
  }

  /** AbstractIncrementalSnapshotChangeEventSource.readChunk. */
  private async readChunk(): Promise<void> {
    this.processStopFlag();
    if (!this.running()) {
      this.host.log("INFO", "Skipping read chunk because snapshot is not running");
      return;
    }
    if (this.paused) {
      this.host.log("INFO", "Incremental snapshot was paused.");
      return;
    }
    const current = () => this.collections[0];
    try {
      this.chunkId = randomUUID();
      await this.emitWindowOpen();
      while (this.running()) {
        const dc = current();
        if (!this.host.knownTables().includes(dc.id) || dc.parts.length !== 2) {
          this.host.log("INFO", `Schema not found for table '${dc.id}', known tables [${this.host.knownTables().join(", ")}]. Will attempt to retrieve this schema`);
          this.skip(`Schema retrieval failed due to an exception for ${dc.id}`);
          continue;
        }
        this.currentTable = dc.id;
        const [schema, table] = dc.parts;
        const cols = await this.host.keyColumns(schema, table, dc.surrogateKey);
        if (!cols || cols.length === 0) {
          this.skip(`Incremental snapshot for table '${dc.id}' skipped because the table has no primary keys`);
          continue;
        }
        const from = `${quoteIdent(schema)}.${quoteIdent(table)}`;
        const keyList = cols.map((c) => quoteIdent(c.name)).join(", ");
        const tuple = cols.length > 1 ? `(${keyList})` : keyList;
        const extra = dc.condition ? ` AND (${dc.condition})` : "";
        if (this.maximumKey === null) {
          const where = dc.condition ? ` WHERE (${dc.condition})` : "";
          const max = await this.host.db().query<Record<string, unknown>>(`SELECT * FROM ${from}${where} ORDER BY ${cols.map((c) => `${quoteIdent(c.name)} DESC`).join(", ")} LIMIT 1`);
          if (max.rows.length === 0) {
            this.host.log("INFO", `No maximum key returned by the query, incremental snapshotting of table '${dc.id}' finished as it is empty`);
            this.nextDataCollection();
            continue;
          }
          this.maximumKey = cols.map((c) => max.rows[0][c.name]);
          this.maximumKeyHex = javaSerializeKey(cols.map((c, i) => javaValue(c.typeOid, this.maximumKey![i])));
          this.host.log("INFO", `Incremental snapshot for table '${dc.id}' will end at position [REDACTED]`);
        }
        const params: unknown[] = [];
        let where = dc.condition ? ` WHERE (${dc.condition})` : "";
        if (this.chunkEnd !== null) {
          const end = this.chunkEnd;
          const max = this.maximumKey;
          const place = (vals: unknown[]) => {
            const marks = vals.map((v) => {
              params.push(v);
              return `$${params.length}`;
            });
            return cols.length > 1 ? `(${marks.join(", ")})` : marks[0];
          };
          where = ` WHERE (${tuple} > ${place(end)}) AND NOT (${tuple} > ${place(max)})${extra}`;
        }
        const chunk = await this.host.db().query<Record<string, unknown>>(`SELECT * FROM ${from}${where} ORDER BY ${keyList} LIMIT ${this.settings.chunkSize}`, params);
        for (const row of chunk.rows) {
          const key: Record<string, unknown> = {};
          for (const c of cols) key[c.name] = row[c.name] ?? null;
          this.window.set(JSON.stringify(key), { key, row: { ...row }, keyValues: cols.map((c) => javaValue(c.typeOid, row[c.name])) });
        }
        const last = chunk.rows[chunk.rows.length - 1];
        this.chunkEnd = last ? cols.map((c) => last[c.name]) : null;
        if (this.window.size === 0) {
          this.host.log("INFO", `No data returned by the query, incremental snapshotting of table '${dc.id}' finished`);
          this.nextDataCollection();
          continue;
        }
        break;
      }
      await this.emitWindowClose();
    } catch (err) {
      if (this.host.stopped()) return;
      this.host.log("WARN", `SQL error while executing incremental snapshot for table '${current()?.id}', skipping and continuing streaming -- ${(err as Error).message}`);
      this.nextDataCollection();
    }
  }

  /** The window's rows as "r" records (the offset of each names its own key). */
  private sendWindowEvents(): void {
    const dc = this.collections[0];
    const rows = [...this.window.values()];
    this.window.clear();
    if (!dc) return;
    const [schema, table] = dc.parts;
    for (const w of rows) {
      this.lastSent = javaSerializeKey(w.keyValues);
      this.host.emitSnapshotRecord(schema, table, w.row, w.key, this.store());
    }
  }
}
