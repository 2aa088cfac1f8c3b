import { z } from "zod";
import { parseConnectionString, postgresConnectionSchema } from "./common";

/**
 * The connection part of every PostgreSQL resource's inputs: `connection`
 * (discrete fields) or `connectionString`, checked before any SQL runs.
 */
export const postgresTargetShape = {
  connection: postgresConnectionSchema.optional(),
  connectionString: z
    .string({ error: "connectionString must be a string" })
    .refine(
      (s) => {
        try {
          parseConnectionString(s);
          return true;
        } catch {
          return false;
        }
      },
      { error: "connectionString is not a valid postgres:// URL; expected postgres://user:password@host:5432/database?sslmode=require" },
    )
    .optional(),
};

/** Adds the "connection or connectionString" rule to an object schema's refinement context. */
export function requireTarget(v: { connection?: unknown; connectionString?: unknown }, ctx: z.RefinementCtx): void {
  if (v.connection === undefined && v.connectionString === undefined) {
    ctx.addIssue({
      code: "custom",
      path: ["connection"],
      message: "give either connection (host, database, user, ...) or connectionString",
    });
  }
}

/** The database a resource lives in, from `connection.database` or the connection string's path; undefined when not known. */
export function targetDatabase(v: { connection?: { database?: unknown }; connectionString?: unknown }): string | undefined {
  if (v.connection && typeof v.connection.database === "string") return v.connection.database;
  if (typeof v.connectionString === "string") {
    try {
      return parseConnectionString(v.connectionString).database;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** Connection fields with their defaults filled in (port, sslMode), so a checked and an unchecked form compare equal. */
export function normalizedConnection(v: unknown): unknown {
  if (v === undefined) return undefined;
  const p = postgresConnectionSchema.safeParse(v);
  return p.success ? JSON.parse(JSON.stringify(p.data)) : v;
}
