/**
 * PostgreSQL access for the Debezium plugin of the Connect test double:
 * opening connections (plain and replication), column value decoding shared
 * by the snapshot and the stream, and the catalog queries the task needs.
 */
import type { Client, ClientConfig } from "pg";
import type { DatabaseTarget } from "./debezium-config";

/** Placeholder Debezium puts in place of unchanged TOASTed values (unavailable.value.placeholder). */
export const UNAVAILABLE_VALUE = "__debezium_unavailable_value";

/**
 * A column value from its text form: integers and floats as numbers, booleans
 * as booleans, everything else (numeric, json, timestamps, uuid, arrays) as the
 * server's text. Debezium's exact logical types are out of scope.
 */
export function decodeValue(oid: number, text: string | null): unknown {
  if (text === null) return null;
  switch (oid) {
    case 16: // bool
      return text === "t";
    case 21: // int2
    case 23: // int4
    case 26: // oid
      return Number(text);
    case 20: {
      // int8: a number when it fits exactly
      const n = Number(text);
      return Number.isSafeInteger(n) ? n : text;
    }
    case 700: // float4
    case 701: {
      // float8
      const n = Number(text);
      return Number.isFinite(n) ? n : text;
    }
    default:
      return text;
  }
}

/** node-postgres type parsing that goes through {@link decodeValue}. */
export const decodingTypes = {
  getTypeParser: (oid: number) => (text: string) => decodeValue(oid, text),
} as unknown as ClientConfig["types"];

function retryNext(err: unknown): boolean {
  return /does not support SSL|no pg_hba\.conf entry/i.test(String((err as Error)?.message ?? err));
}

/**
 * Opens a connection with the target's sslmode attempts. Errors are the raw
 * node-postgres ones (mapped to pgjdbc wording by the caller).
 */
export async function openClient(target: DatabaseTarget, extra: Partial<ClientConfig> = {}): Promise<Client> {
  const { Client: PgClient } = require("pg") as typeof import("pg");
  if (target.problem) throw new Error(target.problem);
  let last: unknown;
  for (let i = 0; i < target.attempts.length; i++) {
    const client = new PgClient({ ...target.attempts[i], types: decodingTypes, ...extra });
    client.on("error", () => undefined); // surfaced through the pending query or the stream's own listener
    try {
      await client.connect();
      return client;
    } catch (err) {
      last = err;
      await client.end().catch(() => undefined);
      if (i + 1 < target.attempts.length && retryNext(err)) continue;
      throw err;
    }
  }
  throw last;
}

/** Ends a client; a hung end falls back to destroying the socket. */
export async function closeClient(client: Client | undefined, timeoutMs = 500): Promise<void> {
  if (!client) return;
  const stream = (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream;
  await Promise.race([
    client.end().catch(() => undefined),
    new Promise<void>((resolve) =>
      setTimeout(() => {
        stream?.destroy();
        resolve();
      }, timeoutMs).unref(),
    ),
  ]);
}

/** "X/Y" -> number (a long, as Debezium stores LSNs in offsets). */
export function lsnToNumber(lsn: string): number {
  const [hi, lo] = lsn.split("/");
  return parseInt(hi, 16) * 0x100000000 + parseInt(lo, 16);
}

/** number -> "X/Y" (upper-case hex, as PostgreSQL prints pg_lsn). */
export function numberToLsn(n: number): string {
  const hi = Math.floor(n / 0x100000000);
  const lo = n - hi * 0x100000000;
  return `${hi.toString(16).toUpperCase()}/${lo.toString(16).toUpperCase()}`;
}

/** Debezium's LSN{X/Y} display. */
export function lsnDisplay(n: number): string {
  return `LSN{${numberToLsn(n)}}`;
}

/** Primary-key column names of each relation oid, in key order (one catalog query). */
export async function primaryKeys(client: Client, oids: number[]): Promise<Map<number, string[]>> {
  const out = new Map<number, string[]>();
  if (oids.length === 0) return out;
  const r = await client.query<{ oid: number; cols: string[] }>(
    `SELECT i.indrelid::int AS oid,
            array_agg(a.attname::text ORDER BY k.ord) AS cols
       FROM pg_index i
       CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
      WHERE i.indisprimary AND i.indrelid = ANY($1::oid[])
      GROUP BY i.indrelid`,
    [oids],
  );
  for (const oid of oids) out.set(oid, []);
  for (const row of r.rows) out.set(Number(row.oid), parseArray(row.cols));
  return out;
}

/** Arrays come back as text through {@link decodingTypes}; parse the simple `{a,b}` form. */
export function parseArray(v: unknown): string[] {
  if (Array.isArray(v)) return v.map(String);
  const s = String(v ?? "");
  if (s === "{}" || s === "") return [];
  const { types } = require("pg") as typeof import("pg");
  return (types.getTypeParser(1009 as Parameters<typeof types.getTypeParser>[0]) as (t: string) => string[])(s);
}
