import { z } from "zod";

/**
 * The string Pulumi passes for values that are not known yet (during preview),
 * whatever the declared type of the property.
 */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** True when the value, or anything nested in it, is still unknown. */
export function containsUnknown(value: unknown): boolean {
  if (value === UNKNOWN) return true;
  if (Array.isArray(value)) return value.some(containsUnknown);
  if (value && typeof value === "object") return Object.values(value).some(containsUnknown);
  return false;
}

/** Orders strings by UTF-16 code units, the same everywhere (independent of locale). */
export function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Sorted (by code unit), de-duplicated copy, so that order and repeats in the inputs never cause a diff. */
export function sortedUnique(values: readonly string[]): string[] {
  return [...new Set(values)].sort(byCodeUnit);
}

/** PostgreSQL truncates identifiers longer than NAMEDATALEN-1 = 63 bytes; we reject them instead. */
export const MAX_IDENTIFIER_BYTES = 63;

export function byteLength(s: string): number {
  return Buffer.byteLength(s, "utf8");
}

/** A PostgreSQL identifier given raw (not SQL-quoted): non-empty, no NUL, at most 63 bytes. */
export const identifier = (what: string) =>
  z
    .string({ error: `${what} must be a string` })
    .min(1, { error: `${what} must not be empty` })
    .refine((s) => !s.includes("\u0000"), { error: `${what} must not contain a NUL character` })
    .refine((s) => byteLength(s) <= MAX_IDENTIFIER_BYTES, {
      error: `${what} is longer than 63 bytes; PostgreSQL would silently truncate it. Use a shorter name`,
    });

/** Replication slot names: [a-z0-9_], 1 to 63 bytes (PostgreSQL's ReplicationSlotValidateName). */
export const slotName = z
  .string()
  .regex(/^[a-z0-9_]{1,63}$/, {
    error:
      "slot names may only contain lower case letters, digits and underscores, 1 to 63 characters (PostgreSQL's rule); pick a name like 'orders_cdc'",
  });

/** Default object name from a Pulumi resource name: lower-cased, anything outside [a-z0-9_] becomes "_", at most 63 bytes. */
export function defaultObjectName(resourceName: string): string {
  return resourceName.toLowerCase().replace(/[^a-z0-9_]/g, "_").slice(0, MAX_IDENTIFIER_BYTES);
}

/** PostgreSQL connection fields, as the providers receive them (plain values, secrets decrypted). */
export const sslModes = ["disable", "prefer", "require", "verify-ca", "verify-full"] as const;
export type SslMode = (typeof sslModes)[number];

export const postgresConnectionSchema = z
  .object({
    host: z.string().min(1, { error: "host must not be empty" }),
    port: z
      .number({ error: "port must be a number" })
      .int({ error: "port must be a whole number" })
      .min(1, { error: "port must be between 1 and 65535" })
      .max(65535, { error: "port must be between 1 and 65535" })
      .default(5432),
    database: z.string().min(1, { error: "database must not be empty" }),
    user: z.string().min(1, { error: "user must not be empty" }),
    password: z.string().optional(),
    sslMode: z.enum(sslModes, { error: `sslMode must be one of ${sslModes.join(", ")}` }).default("prefer"),
    sslRootCert: z.string().optional(),
    sslCert: z.string().optional(),
    sslKey: z.string().optional(),
    connectTimeoutMs: z.number().int().positive().optional(),
  })
  .refine((c) => !(c.sslMode === "verify-ca" || c.sslMode === "verify-full") || !!c.sslRootCert, {
    error: "sslMode verify-ca and verify-full need sslRootCert (the PEM text of the CA that signed the server certificate)",
    path: ["sslRootCert"],
  })
  .refine((c) => !c.sslCert === !c.sslKey, {
    error: "sslCert and sslKey go together: give both for client-certificate authentication, or neither",
    path: ["sslKey"],
  });

export type PostgresConnection = z.output<typeof postgresConnectionSchema>;
export type PostgresConnectionInput = z.input<typeof postgresConnectionSchema>;

/**
 * Parses "postgres://user:pw@host:5432/db?sslmode=require" into connection fields.
 * Supports sslmode, sslrootcert/sslcert/sslkey given inline as PEM is not possible in a URL,
 * so those come from the discrete fields.
 */
export function parseConnectionString(url: string): PostgresConnectionInput {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error("connectionString is not a valid URL; expected postgres://user:password@host:5432/database?sslmode=require");
  }
  if (u.protocol !== "postgres:" && u.protocol !== "postgresql:") {
    throw new Error(`connectionString must start with postgres:// or postgresql://, not ${u.protocol}//`);
  }
  const sslmode = u.searchParams.get("sslmode") ?? undefined;
  const database = decodeURIComponent(u.pathname.replace(/^\//, ""));
  return {
    host: decodeURIComponent(u.hostname.replace(/^\[|\]$/g, "")),
    port: u.port ? Number(u.port) : 5432,
    database,
    user: decodeURIComponent(u.username),
    password: u.password ? decodeURIComponent(u.password) : undefined,
    sslMode: sslmode as SslMode | undefined,
  };
}

/** Turns zod issues into "field: reason" lines. */
export function describeIssues(error: z.ZodError): string[] {
  return error.issues.map((i) => (i.path.length ? `${i.path.join(".")}: ${i.message}` : i.message));
}
