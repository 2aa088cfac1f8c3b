import { z } from "zod";
import { identifier } from "./common";
import { normalizeTableName, tableNameSchema } from "./table-name";

/**
 * Inputs of a SignalTable after `check`: the connection as given (checked
 * separately with resolveConnection), the table as "schema.table".
 */
export const signalTableSchema = z
  .object(
    {
      connection: z.record(z.string(), z.unknown(), { error: "connection must be an object (host, database, user, ...)" }).optional(),
      connectionString: z.string({ error: "connectionString must be a string" }).optional(),
      table: tableNameSchema.transform(normalizeTableName),
      role: identifier("role"),
    },
    { error: "SignalTable inputs must be an object" },
  )
  .superRefine((v, ctx) => {
    if (v.connection === undefined && v.connectionString === undefined) {
      ctx.addIssue({ code: "custom", path: ["connection"], message: "give either connection (host, database, user, ...) or connectionString" });
    }
  });

/** Checked inputs of a SignalTable. */
export type SignalTableInputs = z.output<typeof signalTableSchema>;
