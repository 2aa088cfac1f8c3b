/**
 * Planning (pure): what to grant so the role has what the request asks for,
 * what it already had (kept, never revoked), and what to revoke on delete:
 * exactly what this resource granted.
 */
import { parseTableName } from "../../validation/table-name";
import { ident } from "../connection";
import { type Grant, type GrantRequest, type GrantRecord, RDS_REPLICATION, grantKey, usageSchemas } from "./model";
import { type ObjectState, type TableRow, type SchemaRow, type Catalog } from "./catalog";

/** What to do, and the record after doing it. */
export interface GrantPlan {
  toGrant: Grant[];
  toRevoke: Grant[];
  record: GrantRecord & { grantor: string };
  replicationVia: "attribute" | "rds_replication";
  /** Reasons the plan cannot run; nothing is changed when there are any. */
  problems: string[];
}

/**
 * Decides what to grant and revoke (pure; unit-tested).
 *
 * A wanted privilege is ours when we added it before, or when it is SELECT on
 * a table that appeared in a schema whose future-table default we set (the
 * default gave it). It is kept (not ours) when the role held it directly the
 * first time we looked. Everything ours that is no longer wanted is revoked.
 * `req` null means delete: revoke everything ours.
 */
export function planGrants(role: string, req: GrantRequest | null, prev: GrantRecord, cat: Catalog, major: number): GrantPlan {
  const grantor = prev.grantor ?? cat.me.name;
  const problems: string[] = [];
  const granted = new Map(prev.granted.map((g) => [grantKey(g), g]));
  const kept = new Map(prev.kept.map((g) => [grantKey(g), g]));
  const ourDefaults = new Set(prev.granted.filter((g) => g.privilege === "DEFAULT SELECT").map((g) => g.schema));
  const tableRow = new Map<string, TableRow>();
  for (const t of [...cat.schemaTables, ...cat.tables]) tableRow.set(`${t.schema}\u0000${t.table}`, t);
  const schemaRow = new Map(cat.schemas.map((s) => [s.schema, s]));

  if (req && !cat.role) problems.push(`role "${req.role}" does not exist: create it first (CREATE ROLE ${ident(req.role)} LOGIN PASSWORD '...')`);

  // Wanted privileges with their catalog state.
  const wanted: Array<{ grant: Grant; state: ObjectState; missing?: string }> = [];
  let replicationVia: "attribute" | "rds_replication" = "attribute";
  if (req) {
    if (req.replication) {
      const hasAttr = !!cat.role && (cat.role.super || cat.role.replication);
      const weSetAttr = granted.has("REPLICATION");
      if (cat.rds && !hasAttr && !weSetAttr) {
        replicationVia = "rds_replication";
        wanted.push({
          grant: { privilege: "MEMBER", role: RDS_REPLICATION },
          state: { exists: true, direct: cat.rds.direct, effective: cat.rds.effective, canGrant: cat.rds.canGrant || (major < 16 && cat.me.createrole) || cat.me.super },
        });
      } else {
        const canAlter =
          cat.me.super ||
          (cat.me.managedAdmin?.length ?? 0) > 0 ||
          (major >= 16 && cat.me.createrole && cat.me.replication && cat.me.adminOfRole);
        wanted.push({ grant: { privilege: "REPLICATION" }, state: { exists: true, direct: hasAttr, effective: hasAttr, canGrant: canAlter } });
      }
    }
    for (const schema of usageSchemas(req)) {
      const row = schemaRow.get(schema);
      wanted.push({
        grant: { privilege: "USAGE", schema },
        state: row ?? { exists: false, direct: false, effective: false, canGrant: false },
        missing: row?.exists ? undefined : `schema "${schema}"`,
      });
    }
    const seen = new Set<string>();
    for (const t of req.tables) {
      const r = parseTableName(t);
      const key = `${r.schema}\u0000${r.table}`;
      seen.add(key);
      const row = tableRow.get(key);
      // A missing schema is reported once, as the schema.
      const schemaMissing = !schemaRow.get(r.schema)?.exists;
      wanted.push({
        grant: { privilege: "SELECT", schema: r.schema, table: r.table },
        state: row ?? { exists: false, direct: false, effective: false, canGrant: false },
        missing: row?.exists || schemaMissing ? undefined : `table "${r.schema}.${r.table}"`,
      });
    }
    for (const t of cat.schemaTables) {
      if (!req.schemas.includes(t.schema)) continue;
      const key = `${t.schema}\u0000${t.table}`;
      if (seen.has(key)) continue;
      seen.add(key);
      wanted.push({ grant: { privilege: "SELECT", schema: t.schema, table: t.table }, state: t });
    }
    for (const schema of req.schemas) {
      const row = schemaRow.get(schema);
      if (!row?.exists) continue; // reported through USAGE
      wanted.push({
        grant: { privilege: "DEFAULT SELECT", schema, grantor },
        state: { exists: true, direct: row.defaultDirect, effective: row.defaultDirect, canGrant: true },
      });
    }
    if (req.createOnDatabase) {
      wanted.push({ grant: { privilege: "CREATE", database: cat.database.name }, state: { ...cat.database, exists: true } });
    }
  } else if (prev.granted.some((g) => g.privilege === "MEMBER")) {
    replicationVia = "rds_replication";
  }

  const missing = wanted.filter((w) => w.missing).map((w) => w.missing as string);
  if (missing.length) problems.push(`${missing.join(", ")} ${missing.length === 1 ? "does" : "do"} not exist in database "${cat.database.name}"`);

  const toGrant: Grant[] = [];
  const nextGranted = new Map<string, Grant>();
  const nextKept = new Map<string, Grant>();
  for (const w of wanted) {
    if (w.missing || !w.state.exists) continue;
    const key = grantKey(w.grant);
    let ours: boolean;
    if (granted.has(key)) ours = true;
    else if (kept.has(key)) ours = !w.state.direct; // lost out of band: we grant it again, and then it is ours
    else if (w.grant.privilege === "SELECT" && ourDefaults.has(w.grant.schema) && w.state.direct) ours = true;
    else ours = !w.state.direct;
    // Held through PUBLIC or a membership and not ours to give (typically USAGE on schema public for a
    // user who owns the tables but not the schema): already in effect, so leave it alone.
    if (ours && !w.state.direct && w.state.effective && !w.state.canGrant && !granted.has(key)) ours = false;
    if (ours) nextGranted.set(key, w.grant);
    else nextKept.set(key, w.grant);
    if (ours && !w.state.direct) {
      toGrant.push(w.grant);
      if (!w.state.canGrant && cat.role) problems.push(cannotGrant(w.grant, role, cat, major));
    }
  }

  // Everything ours that is no longer wanted, plus SELECT that our future-table defaults gave to tables since.
  const toRevoke: Grant[] = [];
  if (cat.role) {
    for (const [key, g] of granted) {
      if (nextGranted.has(key) || nextKept.has(key)) continue;
      if (!objectExists(g, tableRow, schemaRow, cat)) continue;
      toRevoke.push(g);
    }
    for (const t of cat.schemaTables) {
      if (!ourDefaults.has(t.schema) || !t.direct) continue;
      const g: Grant = { privilege: "SELECT", schema: t.schema, table: t.table };
      const key = grantKey(g);
      if (nextGranted.has(key) || nextKept.has(key) || granted.has(key) || kept.has(key)) continue;
      toRevoke.push(g);
    }
  }

  return {
    toGrant,
    toRevoke,
    record: { granted: [...nextGranted.values()], kept: [...nextKept.values()], grantor },
    replicationVia,
    problems,
  };
}

function objectExists(g: Grant, tables: Map<string, TableRow>, schemas: Map<string, SchemaRow>, cat: Catalog): boolean {
  switch (g.privilege) {
    case "SELECT":
      return !!tables.get(`${g.schema}\u0000${g.table}`)?.exists;
    case "USAGE":
    case "DEFAULT SELECT":
      return !!schemas.get(g.schema)?.exists;
    case "MEMBER":
      return !!cat.rds;
    case "CREATE":
      return g.database === cat.database.name;
    case "REPLICATION":
      return true;
  }
}

function cannotGrant(g: Grant, role: string, cat: Catalog, major: number): string {
  const me = cat.me.name;
  const r = ident(role);
  switch (g.privilege) {
    case "REPLICATION": {
      const why =
        major >= 16
          ? `on PostgreSQL ${major} the user who runs ALTER ROLE ... REPLICATION needs CREATEROLE, ADMIN OPTION on role "${role}" and the REPLICATION attribute itself` +
            ` (user "${me}" has${cat.me.createrole ? "" : " no"} CREATEROLE, ${cat.me.adminOfRole ? "" : "no "}ADMIN OPTION on "${role}", ${cat.me.replication ? "" : "no "}REPLICATION)`
          : `on PostgreSQL ${major} only a superuser may change the REPLICATION attribute, and user "${me}" is not one`;
      return `cannot give role "${role}" REPLICATION: ${why}. Run as a superuser: ALTER ROLE ${r} REPLICATION; then keep replication: true (it is then left alone), or set replication: false`;
    }
    case "MEMBER":
      return `cannot grant ${g.role} to role "${role}": user "${me}" has no ADMIN OPTION on ${g.role}. On RDS/Aurora run as the master user: GRANT ${g.role} TO ${r}; or set replication: false`;
    case "SELECT":
      return `cannot grant SELECT on ${g.schema}.${g.table}: user "${me}" neither owns it nor holds SELECT WITH GRANT OPTION. Run as its owner: GRANT SELECT ON ${ident(g.schema)}.${ident(g.table)} TO ${r};`;
    case "USAGE":
      return `cannot grant USAGE on schema ${g.schema}: user "${me}" neither owns it nor holds USAGE WITH GRANT OPTION. Run as its owner: GRANT USAGE ON SCHEMA ${ident(g.schema)} TO ${r};`;
    case "CREATE":
      return `cannot grant CREATE on database ${g.database}: user "${me}" neither owns it nor holds CREATE WITH GRANT OPTION. Run as its owner: GRANT CREATE ON DATABASE ${ident(g.database)} TO ${r};`;
    case "DEFAULT SELECT":
      return `cannot set default privileges in schema ${g.schema} for role "${g.grantor}"`;
  }
}
