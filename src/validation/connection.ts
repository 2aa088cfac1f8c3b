/**
 * The effective PostgreSQL connection of a resource, a pipeline, the status
 * and the CLI, in one place: `connection` (discrete fields), or
 * `connectionString` with the fields given beside it as overrides, validated
 * by the connection schema. A zod transform, so it composes with the
 * resources' schemas; {@link resolveConnection} is its throwing form.
 */
import { z } from "zod";
import { CdcError } from "../errors";
import { parseConnectionString, postgresConnectionSchema, type PostgresConnection, type PostgresConnectionInput } from "./common";

/** Connection fields as accepted by every Postgres resource: `connection` or `connectionString`. */
export interface ConnectionProps {
  connection?: PostgresConnectionInput;
  connectionString?: string;
}

/** `connection` / `connectionString` -> the validated connection; issues under `connection.<field>` or at the top. */
export const connectionPropsSchema = z
  .object({ connection: z.any().optional(), connectionString: z.string().optional() })
  .transform((props, ctx): PostgresConnection => {
    let raw = props.connection as PostgresConnectionInput | undefined;
    if (props.connectionString) {
      try {
        raw = { ...parseConnectionString(props.connectionString), ...withoutUndefined(props.connection ?? {}) } as PostgresConnectionInput;
      } catch (err) {
        ctx.addIssue({ code: "custom", message: (err as Error).message });
        return z.NEVER;
      }
    }
    if (!raw) {
      ctx.addIssue({ code: "custom", message: "give either connection (host, database, user, ...) or connectionString" });
      return z.NEVER;
    }
    const parsed = postgresConnectionSchema.safeParse(raw);
    if (!parsed.success) {
      for (const i of parsed.error.issues) ctx.addIssue({ code: "custom", message: i.message, path: ["connection", ...i.path] });
      return z.NEVER;
    }
    return parsed.data;
  });

/** The effective connection; a CdcError naming `resource`, every invalid field and no secret otherwise. */
export function resolveConnection(props: ConnectionProps, resource: string): PostgresConnection {
  const r = connectionPropsSchema.safeParse(props);
  if (r.success) return r.data;
  const fields = r.error.issues.filter((i) => i.path[0] === "connection" && i.path.length > 1);
  if (fields.length) throw new CdcError(`${resource}: invalid connection:\n${fields.map((i) => `  - ${i.path.join(".")}: ${i.message}`).join("\n")}`);
  throw new CdcError(`${resource}: ${r.error.issues.map((i) => i.message).join("; ")}`);
}

/** The effective connection of connection fields or a postgres:// string (the form users pass to the helpers). */
export function resolveConnectionInput(input: PostgresConnectionInput | string, resource: string): PostgresConnection {
  return resolveConnection(typeof input === "string" ? { connectionString: input } : { connection: input }, resource);
}

/** A copy without the keys whose value is undefined (so they do not override). */
export function withoutUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
