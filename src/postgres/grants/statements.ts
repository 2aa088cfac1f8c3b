/**
 * The GRANT / REVOKE statements of a plan: one statement per kind whatever the
 * number of tables, identifiers quoted. Pure.
 */
import { parseTableName } from "../../validation/table-name";
import { ident } from "../connection";
import { type Grant, type GrantRequest, RDS_REPLICATION, usageSchemas } from "./model";
import { type Catalog } from "./catalog";

/** The SQL for a set of grants or revokes: a constant number of statements whatever the table count. */
export function grantStatements(role: string, grants: Grant[], revoke: boolean): string[] {
  const r = ident(role);
  const out: string[] = [];
  const verb = revoke ? "REVOKE" : "GRANT";
  const to = revoke ? "FROM" : "TO";
  const selects = grants.filter((g): g is Extract<Grant, { privilege: "SELECT" }> => g.privilege === "SELECT");
  const usages = grants.filter((g): g is Extract<Grant, { privilege: "USAGE" }> => g.privilege === "USAGE");
  const defaults = grants.filter((g): g is Extract<Grant, { privilege: "DEFAULT SELECT" }> => g.privilege === "DEFAULT SELECT");
  const creates = grants.filter((g): g is Extract<Grant, { privilege: "CREATE" }> => g.privilege === "CREATE");
  const members = grants.filter((g): g is Extract<Grant, { privilege: "MEMBER" }> => g.privilege === "MEMBER");
  const replication = grants.some((g) => g.privilege === "REPLICATION");

  const schemaStmt = () => usages.length && out.push(`${verb} USAGE ON SCHEMA ${usages.map((g) => ident(g.schema)).join(", ")} ${to} ${r}`);
  const tableStmt = () =>
    selects.length && out.push(`${verb} SELECT ON TABLE ${selects.map((g) => `${ident(g.schema)}.${ident(g.table)}`).join(", ")} ${to} ${r}`);
  const defaultStmts = () => {
    const byGrantor = new Map<string, string[]>();
    for (const g of defaults) byGrantor.set(g.grantor, [...(byGrantor.get(g.grantor) ?? []), g.schema]);
    for (const [grantor, schemas] of byGrantor) {
      out.push(
        `ALTER DEFAULT PRIVILEGES FOR ROLE ${ident(grantor)} IN SCHEMA ${schemas.map(ident).join(", ")} ${verb} SELECT ON TABLES ${to} ${r}`,
      );
    }
  };
  const otherStmts = () => {
    for (const g of creates) out.push(`${verb} CREATE ON DATABASE ${ident(g.database)} ${to} ${r}`);
    if (members.length) out.push(`${verb} ${members.map((g) => ident(g.role)).join(", ")} ${to} ${r}`);
    if (replication) out.push(`ALTER ROLE ${r} ${revoke ? "NOREPLICATION" : "REPLICATION"}`);
  };
  if (revoke) {
    tableStmt();
    defaultStmts();
    schemaStmt();
    otherStmts();
  } else {
    otherStmts();
    schemaStmt();
    tableStmt();
    defaultStmts();
  }
  return out;
}

/** The wanted privileges the role holds now, from a catalog read. */
export function heldPrivileges(req: GrantRequest, cat: Catalog): string[] {
  const out: string[] = [];
  const schemaRow = new Map(cat.schemas.map((s) => [s.schema, s]));
  const tableRow = new Map(cat.tables.map((t) => [`${t.schema}\u0000${t.table}`, t]));
  if (req.replication && cat.role) {
    if (cat.role.super || cat.role.replication) out.push("REPLICATION");
    if (cat.rds?.effective) out.push(`MEMBER OF ${RDS_REPLICATION}`);
  }
  for (const s of usageSchemas(req)) if (schemaRow.get(s)?.effective) out.push(`USAGE ON SCHEMA ${s}`);
  for (const t of req.tables) {
    const r = parseTableName(t);
    if (tableRow.get(`${r.schema}\u0000${r.table}`)?.effective) out.push(`SELECT ON ${r.schema}.${r.table}`);
  }
  for (const s of req.schemas) {
    const row = schemaRow.get(s);
    if (!row?.exists) continue;
    if (cat.schemaTables.filter((t) => t.schema === s).every((t) => t.effective)) out.push(`SELECT ON ALL TABLES IN SCHEMA ${s}`);
    if (row.defaultDirect) out.push(`SELECT ON FUTURE TABLES IN SCHEMA ${s}`);
  }
  if (req.createOnDatabase && cat.database.effective) out.push(`CREATE ON DATABASE ${cat.database.name}`);
  return out;
}
