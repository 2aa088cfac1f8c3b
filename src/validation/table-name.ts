/**
 * Table names as users write them, in one place: "schema.table" or "table"
 * (schema public). Names are raw, not SQL-quoted: "public.Order Items" is the
 * table `Order Items`; the split is at the first dot, so a schema name that
 * contains a dot cannot be written this way. Every resource, the pipeline and
 * the Debezium config parse and validate table names here.
 */
import { z } from "zod";
import { byteLength, MAX_IDENTIFIER_BYTES } from "./common";

/** A table: schema and name, raw. */
export interface TableRef {
  schema: string;
  table: string;
}

/** Splits "schema.table" at the first dot; a bare name means schema public. */
export function parseTableName(name: string): TableRef {
  const dot = name.indexOf(".");
  if (dot < 0) return { schema: "public", table: name };
  return { schema: name.slice(0, dot), table: name.slice(dot + 1) };
}

/** "schema.table" from a reference. */
export function tableKey(t: TableRef): string {
  return `${t.schema}.${t.table}`;
}

/** "table" -> "public.table"; "schema.table" unchanged. */
export function normalizeTableName(name: string): string {
  return tableKey(parseTableName(name));
}

/** "schema.table" for every table, duplicates removed, in the given order. */
export function normalizeTables(tables: readonly string[]): string[] {
  return [...new Set(tables.map(normalizeTableName))];
}

/**
 * What is wrong with a table name (empty when nothing): a NUL character, an empty schema or table part,
 * or a part longer than PostgreSQL's 63 bytes (which PostgreSQL would silently truncate).
 */
export function tableNameProblems(name: string): string[] {
  if (name.includes("\u0000")) return [`table name ${JSON.stringify(name)} contains a NUL character`];
  const t = parseTableName(name);
  if (t.schema === "" || t.table === "") {
    return [`table name ${JSON.stringify(name)} is not "schema.table" or "table" (schema public): neither part may be empty`];
  }
  const out: string[] = [];
  for (const [what, part] of [["schema", t.schema], ["table", t.table]] as const) {
    if (byteLength(part) > MAX_IDENTIFIER_BYTES) {
      out.push(`the ${what} name ${JSON.stringify(part)} is longer than ${MAX_IDENTIFIER_BYTES} bytes; PostgreSQL would silently truncate it. Use the real (shorter) name`);
    }
  }
  return out;
}

/** A table name as users write it, validated by {@link tableNameProblems}. */
export const tableNameSchema = z.string({ error: 'a table must be given as "schema.table" or "table" (schema public)' }).superRefine((s, ctx) => {
  for (const message of tableNameProblems(s)) ctx.addIssue({ code: "custom", message });
});
