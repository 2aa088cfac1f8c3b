/**
 * What a grant is: the privileges of the connector's role as recorded in
 * state, their keys and descriptions, and the privileges a request expects.
 * Pure.
 */
import { parseTableName } from "../../validation/table-name";

/** One privilege, as recorded in state. Names are raw (not SQL-quoted). */
export type Grant =
  | { privilege: "REPLICATION" }
  | { privilege: "MEMBER"; role: string }
  | { privilege: "USAGE"; schema: string }
  | { privilege: "SELECT"; schema: string; table: string }
  | { privilege: "DEFAULT SELECT"; schema: string; grantor: string }
  | { privilege: "CREATE"; database: string };

/** What the caller wants the role to have. */
export interface GrantRequest {
  role: string;
  replication: boolean;
  /** "schema.table", raw names */
  tables: string[];
  schemas: string[];
  createOnDatabase: boolean;
}

/** What a grant resource owns: what it added, and what the role had already. */
export interface GrantRecord {
  /** Privileges this resource added; revoked on delete. */
  granted: Grant[];
  /** Wanted privileges the role already held when first seen; never revoked. */
  kept: Grant[];
  /** The role whose default privileges hold "SELECT on future tables" (the connecting user at first grant). */
  grantor?: string;
}

/** The state after an apply or a read. */
export interface GrantState extends GrantRecord {
  role: string;
  database: string;
  grantor: string;
  /** How REPLICATION is held: the role attribute, or membership in rds_replication. */
  replicationVia: "attribute" | "rds_replication";
  /** The wanted privileges the role holds now (directly or through membership), as read back. */
  privileges: string[];
}

/** The managed-service role that stands for REPLICATION on RDS and Aurora. */
export const RDS_REPLICATION = "rds_replication";

/** Roles whose members may set REPLICATION on managed services (Cloud SQL, Neon, Azure). */
export const MANAGED_ADMIN_ROLES = ["cloudsqlsuperuser", "neon_superuser", "azure_pg_admin"];

/** Stable identity of a grant, for set operations. */
export function grantKey(g: Grant): string {
  switch (g.privilege) {
    case "REPLICATION":
      return "REPLICATION";
    case "MEMBER":
      return `MEMBER\u0000${g.role}`;
    case "USAGE":
      return `USAGE\u0000${g.schema}`;
    case "SELECT":
      return `SELECT\u0000${g.schema}\u0000${g.table}`;
    case "DEFAULT SELECT":
      return `DEFAULT\u0000${g.schema}\u0000${g.grantor}`;
    case "CREATE":
      return `CREATE\u0000${g.database}`;
  }
}

/** Human-readable form, e.g. "SELECT ON public.orders". */
export function describeGrant(g: Grant): string {
  switch (g.privilege) {
    case "REPLICATION":
      return "REPLICATION";
    case "MEMBER":
      return `MEMBER OF ${g.role}`;
    case "USAGE":
      return `USAGE ON SCHEMA ${g.schema}`;
    case "SELECT":
      return `SELECT ON ${g.schema}.${g.table}`;
    case "DEFAULT SELECT":
      return `SELECT ON FUTURE TABLES IN SCHEMA ${g.schema}`;
    case "CREATE":
      return `CREATE ON DATABASE ${g.database}`;
  }
}

/** The `privileges` strings a fully granted request shows, computed from the request alone (no I/O). */
export function expectedPrivileges(req: GrantRequest, database: string, replicationVia: "attribute" | "rds_replication"): string[] {
  const out: string[] = [];
  if (req.replication) out.push(replicationVia === "rds_replication" ? `MEMBER OF ${RDS_REPLICATION}` : "REPLICATION");
  for (const s of usageSchemas(req)) out.push(`USAGE ON SCHEMA ${s}`);
  for (const t of req.tables) {
    const r = parseTableName(t);
    out.push(`SELECT ON ${r.schema}.${r.table}`);
  }
  for (const s of req.schemas) {
    out.push(`SELECT ON ALL TABLES IN SCHEMA ${s}`);
    out.push(`SELECT ON FUTURE TABLES IN SCHEMA ${s}`);
  }
  if (req.createOnDatabase) out.push(`CREATE ON DATABASE ${database}`);
  return out;
}

export function usageSchemas(req: GrantRequest): string[] {
  return [...new Set([...req.tables.map((t) => parseTableName(t).schema), ...req.schemas])].sort();
}
