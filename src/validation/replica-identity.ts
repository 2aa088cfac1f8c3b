import { z } from "zod";
import { byteLength, MAX_IDENTIFIER_BYTES } from "./common";

/** The replica identities a ReplicaIdentity resource can set (ALTER TABLE ... REPLICA IDENTITY <x>). */
export const WANTED_IDENTITIES = ["full", "default", "nothing"] as const;
export type WantedIdentity = (typeof WANTED_IDENTITIES)[number];

/**
 * A table's replica identity as read from the catalog: `pg_class.relreplident`
 * d/n/f, or i as "index:<index name>" (the index with `pg_index.indisreplident`).
 */
export type ReplicaIdentityValue = WantedIdentity | `index:${string}`;

/** Default lock wait for ALTER TABLE, in milliseconds. */
export const DEFAULT_LOCK_TIMEOUT_MS = 10000;

/** Splits "schema.table" at the first dot; a bare name is in schema public. Raw names, not SQL-quoted. */
function splitTable(name: string): { schema: string; table: string } {
  const dot = name.indexOf(".");
  return dot < 0 ? { schema: "public", table: name } : { schema: name.slice(0, dot), table: name.slice(dot + 1) };
}

/** "table" -> "public.table"; "schema.table" unchanged. */
export function normalizeTableName(name: string): string {
  const t = splitTable(name);
  return `${t.schema}.${t.table}`;
}

/** Orders strings by UTF-16 code units (independent of locale), so outputs are the same everywhere. */
function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Sorted, de-duplicated copy, so that order and repeats in the inputs never cause a diff. */
export function sortedUnique(values: readonly string[]): string[] {
  return [...new Set(values)].sort(byCodeUnit);
}

/**
 * A table name as users write it: "schema.table" or "table" (schema public).
 * Raw, not SQL-quoted: "public.Order Items" is the table `Order Items`.
 */
export const tableNameSchema = z
  .string({ error: 'a table must be given as "schema.table" or "table" (schema public)' })
  .superRefine((s, ctx) => {
    if (s.includes("\u0000")) {
      ctx.addIssue({ code: "custom", message: `table name ${JSON.stringify(s)} contains a NUL character` });
      return;
    }
    const t = splitTable(s);
    if (t.schema === "" || t.table === "") {
      ctx.addIssue({
        code: "custom",
        message: `table name ${JSON.stringify(s)} is not "schema.table" or "table": the schema and table names must both be non-empty`,
      });
      return;
    }
    for (const [what, part] of [["schema", t.schema], ["table", t.table]] as const) {
      if (byteLength(part) > MAX_IDENTIFIER_BYTES) {
        ctx.addIssue({
          code: "custom",
          message: `the ${what} name ${JSON.stringify(part)} is longer than ${MAX_IDENTIFIER_BYTES} bytes; PostgreSQL would silently truncate it. Use the real (shorter) name`,
        });
      }
    }
  });

/**
 * Inputs of a ReplicaIdentity after `check`: the connection as given (checked
 * separately with resolveConnection), tables normalized to "schema.table",
 * sorted and de-duplicated, defaults filled in.
 */
export const replicaIdentitySchema = z
  .object(
    {
      connection: z.record(z.string(), z.unknown(), { error: "connection must be an object (host, database, user, ...)" }).optional(),
      connectionString: z.string({ error: "connectionString must be a string" }).optional(),
      tables: z
        .array(tableNameSchema, { error: 'tables must be a list of table names ("schema.table" or "table")' })
        .min(1, { error: "tables must name at least one table" })
        .transform((ts) => sortedUnique(ts.map(normalizeTableName))),
      identity: z
        .enum(WANTED_IDENTITIES, { error: `identity must be one of ${WANTED_IDENTITIES.map((i) => `"${i}"`).join(", ")}` })
        .default("full"),
      lockTimeoutMs: z
        .number({ error: "lockTimeoutMs must be a number of milliseconds" })
        .int({ error: "lockTimeoutMs must be a whole number of milliseconds" })
        .min(1, { error: "lockTimeoutMs must be at least 1 (milliseconds)" })
        .max(600000, { error: "lockTimeoutMs must be at most 600000 (10 minutes)" })
        .default(DEFAULT_LOCK_TIMEOUT_MS),
    },
    { error: "ReplicaIdentity inputs must be an object" },
  )
  .superRefine((v, ctx) => {
    if (v.connection === undefined && v.connectionString === undefined) {
      ctx.addIssue({ code: "custom", path: ["connection"], message: "give either connection (host, database, user, ...) or connectionString" });
    }
  });

/** Checked inputs of a ReplicaIdentity. */
export type ReplicaIdentityInputs = z.output<typeof replicaIdentitySchema>;
