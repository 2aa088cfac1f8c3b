import { z } from "zod";
import { sortedUnique } from "./common";
import { normalizeTableName, tableNameSchema } from "./table-name";

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
