import { z } from "zod";
import { identifier, sortedUnique } from "./common";
import { normalizeTableName, tableNameSchema } from "./table-name";

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
