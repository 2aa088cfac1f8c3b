import { z } from "zod";
import { byteLength, identifier, MAX_IDENTIFIER_BYTES } from "./common";

/**
 * A table name as users write it: "schema.table" or "table" (schema public).
 * Names are raw, not SQL-quoted: "public.Order Items" is the table `Order Items`.
 * Each part must be non-empty and at most 63 bytes.
 */
export const tableNameSchema = z
  .string({ error: "a table name must be a string" })
  .min(1, { error: "a table name must not be empty" })
  .refine((s) => !s.includes("\u0000"), { error: "a table name must not contain a NUL character" })
  .refine(
    (s) => {
      const dot = s.indexOf(".");
      const schema = dot < 0 ? "public" : s.slice(0, dot);
      const table = dot < 0 ? s : s.slice(dot + 1);
      return schema.length > 0 && table.length > 0;
    },
    { error: 'a table name is "schema.table" or "table" (schema public), with neither part empty' },
  )
  .refine(
    (s) => {
      const dot = s.indexOf(".");
      const parts = dot < 0 ? [s] : [s.slice(0, dot), s.slice(dot + 1)];
      return parts.every((p) => byteLength(p) <= MAX_IDENTIFIER_BYTES);
    },
    { error: "a schema or table name is longer than 63 bytes; PostgreSQL would silently truncate it" },
  );

/** "table" -> "public.table"; "schema.table" unchanged. */
export function normalizeTableName(name: string): string {
  return name.includes(".") ? name : `public.${name}`;
}

/** Sorted, de-duplicated copy, so that order and repeats in the inputs never cause a diff. */
export function sortedUnique(values: readonly string[]): string[] {
  return [...new Set(values)].sort();
}

/**
 * Inputs of a ReplicationGrant after `check`: connection as given (validated
 * separately by resolveConnection), tables normalized to "schema.table",
 * tables and schemas sorted and de-duplicated, defaults filled in.
 */
export const replicationGrantSchema = z
  .object({
    connection: z.record(z.string(), z.unknown()).optional(),
    connectionString: z.string().optional(),
    role: identifier("role"),
    replication: z.boolean({ error: "replication must be true or false" }).default(true),
    tables: z
      .array(tableNameSchema, { error: "tables must be a list of table names" })
      .default([])
      .transform((ts) => sortedUnique(ts.map(normalizeTableName))),
    schemas: z
      .array(identifier("schema name"), { error: "schemas must be a list of schema names" })
      .default([])
      .transform(sortedUnique),
    createOnDatabase: z.boolean({ error: "createOnDatabase must be true or false" }).default(false),
  })
  .strict();

export type ReplicationGrantInputs = z.output<typeof replicationGrantSchema>;
