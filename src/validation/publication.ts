import { z } from "zod";
import { byCodeUnit, identifier } from "./common";
import { normalizeTableName, tableNameSchema } from "./table-name";
import { expressionProblem } from "./sql-expression";
import { postgresTargetShape, requireTarget } from "./target";

/** The operations a publication can publish, in PostgreSQL's order. */
export const PUBLICATION_OPERATIONS = ["insert", "update", "delete", "truncate"] as const;
export type PublicationOperation = (typeof PUBLICATION_OPERATIONS)[number];

/** A table of a publication after normalization: "schema.table" (raw names), sorted column list, row filter SQL. */
export interface PublicationTable {
  /** "schema.table", raw names (not SQL-quoted); a bare name was given schema public. */
  name: string;
  /** Column list (PostgreSQL 15+), sorted and without duplicates. */
  columns?: string[];
  /** Row filter (PostgreSQL 15+): an SQL expression, sent as written inside parentheses. */
  where?: string;
}

const tableObjectSchema = z
  .object(
    {
      name: tableNameSchema,
      columns: z
        .array(identifier("a column name"), { error: "columns must be a list of column names" })
        .min(1, { error: "columns must not be empty; leave it out to publish every column" })
        .optional(),
      where: z
        .string({ error: "where must be a string holding an SQL expression" })
        .superRefine((w, ctx) => {
          const problem = expressionProblem(w);
          if (problem) {
            ctx.addIssue({ code: "custom", message: `the row filter (an SQL expression such as "status <> 'draft'") ${problem}` });
          }
        })
        .optional(),
    },
    {
      error: (iss) =>
        iss.code === "unrecognized_keys"
          ? `unknown field ${iss.keys.map((k) => JSON.stringify(k)).join(", ")} in a table entry; the fields are name, columns and where`
          : 'each entry of tables must be "schema.table", "table" (schema public) or { name, columns?, where? }',
    },
  )
  .strict();

/** One entry of `tables`: a raw "schema.table" string or an object with column list and row filter. */
export const publicationTableSchema = z.preprocess((v) => (typeof v === "string" ? { name: v } : v), tableObjectSchema);

/** Defaults of a Publication's optional fields (the schema fills them in; diffs of partial inputs use them too). */
export const PUBLICATION_DEFAULTS: { allTables: boolean; operations: PublicationOperation[]; publishViaPartitionRoot: boolean } = {
  allTables: false,
  operations: [...PUBLICATION_OPERATIONS],
  publishViaPartitionRoot: false,
};

/** Operations in PostgreSQL's order, each once. */
export function canonicalOperations(ops: readonly string[]): PublicationOperation[] {
  return PUBLICATION_OPERATIONS.filter((o) => ops.includes(o));
}

/** Schemas sorted by code unit. */
export function canonicalSchemas(schemas: readonly string[]): string[] {
  return [...schemas].sort(byCodeUnit);
}

/** Publication inputs as the provider receives them (after the resource class filled in the default name). */
export const publicationInputsSchema = z
  .object({
    ...postgresTargetShape,
    name: identifier("name"),
    tables: z.array(publicationTableSchema, { error: "tables must be a list" }).optional(),
    schemas: z.array(identifier("a schema name"), { error: "schemas must be a list of schema names" }).optional(),
    allTables: z.boolean({ error: "allTables must be true or false" }).default(PUBLICATION_DEFAULTS.allTables),
    operations: z
      .array(
        z.enum(PUBLICATION_OPERATIONS, {
          error: (iss) => `unknown operation ${JSON.stringify(iss.input)}; allowed: ${PUBLICATION_OPERATIONS.join(", ")}`,
        }),
        { error: `operations must be a list of ${PUBLICATION_OPERATIONS.join(", ")}` },
      )
      .min(1, { error: `operations must not be empty; give some of ${PUBLICATION_OPERATIONS.join(", ")} or leave it out for all four` })
      .default(() => [...PUBLICATION_DEFAULTS.operations]),
    publishViaPartitionRoot: z.boolean({ error: "publishViaPartitionRoot must be true or false" }).default(PUBLICATION_DEFAULTS.publishViaPartitionRoot),
  })
  .superRefine((v, ctx) => {
    requireTarget(v, ctx);
    const hasTables = (v.tables?.length ?? 0) > 0;
    const hasSchemas = (v.schemas?.length ?? 0) > 0;
    if (v.allTables && (hasTables || hasSchemas)) {
      ctx.addIssue({
        code: "custom",
        path: ["allTables"],
        message: "allTables publishes every table, so tables and schemas must be left out; remove them or set allTables to false",
      });
    } else if (!v.allTables && !hasTables && !hasSchemas) {
      ctx.addIssue({
        code: "custom",
        path: ["tables"],
        message: "a publication needs something to publish: give at least one table, at least one schema (PostgreSQL 15+), or allTables: true",
      });
    }
    const seen = new Set<string>();
    for (const [i, t] of (v.tables ?? []).entries()) {
      const key = normalizeTableName(t.name);
      if (seen.has(key)) {
        ctx.addIssue({ code: "custom", path: ["tables", i], message: `table ${key} is listed twice; list each table once` });
      }
      seen.add(key);
      const cols = new Set<string>();
      for (const c of t.columns ?? []) {
        if (cols.has(c)) ctx.addIssue({ code: "custom", path: ["tables", i, "columns"], message: `column "${c}" is listed twice` });
        cols.add(c);
      }
    }
    if (v.schemas && new Set(v.schemas).size !== v.schemas.length) {
      ctx.addIssue({ code: "custom", path: ["schemas"], message: "a schema is listed twice; list each schema once" });
    }
    if (new Set(v.operations).size !== v.operations.length) {
      ctx.addIssue({ code: "custom", path: ["operations"], message: "an operation is listed twice; list each once" });
    }
  })
  .transform((v) => ({
    ...v,
    tables: normalizePublicationTables(v.tables ?? []),
    schemas: canonicalSchemas(v.schemas ?? []),
    operations: canonicalOperations(v.operations),
  }));

export type PublicationInputs = z.output<typeof publicationInputsSchema>;

/** Normal form of a table list: "schema.table" names, sorted; columns sorted; empty extras dropped. */
export function normalizePublicationTables(tables: ReadonlyArray<{ name: string; columns?: string[]; where?: string }>): PublicationTable[] {
  return tables
    .map((t) => {
      const out: PublicationTable = { name: normalizeTableName(t.name) };
      if (t.columns && t.columns.length) out.columns = [...new Set(t.columns)].sort(byCodeUnit);
      if (t.where !== undefined) out.where = t.where;
      return out;
    })
    .sort((a, b) => byCodeUnit(a.name, b.name));
}

/** Which PostgreSQL 15 features a definition uses (each needs PostgreSQL 15 or later). */
export function pg15Features(v: Pick<PublicationInputs, "tables" | "schemas">): string[] {
  const out: string[] = [];
  if (v.schemas.length) out.push("schemas (FOR TABLES IN SCHEMA)");
  if (v.tables.some((t) => t.columns)) out.push("column lists (tables[].columns)");
  if (v.tables.some((t) => t.where !== undefined)) out.push("row filters (tables[].where)");
  return out;
}
