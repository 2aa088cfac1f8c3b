/**
 * Grants for the role Debezium logs in as: REPLICATION (or membership in
 * rds_replication on RDS/Aurora), SELECT on tables, USAGE on their schemas,
 * default privileges for future tables, CREATE on the database.
 *
 * Exactness: before granting, one catalog query records what the role already
 * holds directly (its own ACL entries, its REPLICATION attribute, its direct
 * memberships). This module grants only what is missing, and remembers what it
 * added (`granted`) apart from what the role already had (`kept`). Revoking
 * removes `granted` only, so a privilege the role had before stays.
 *
 * Every change runs in one transaction with a constant number of statements
 * (one GRANT for all tables, one for all schemas, ...), preceded by one
 * catalog query that finds every missing object and every missing right at
 * once, so a failing plan changes nothing. The transaction is retried when
 * PostgreSQL reports a catalog race ("tuple concurrently updated"), which
 * happens when Pulumi grants on one schema from several resources at once.
 *
 * Knows nothing of Pulumi.
 */
import { CdcError } from "../errors";
import type { PostgresConnection } from "../validation/common";
import { parseTableName } from "../validation/table-name";
import { ident, retryCatalogRace, withSession, type Session } from "./connection";

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
const MANAGED_ADMIN_ROLES = ["cloudsqlsuperuser", "neon_superuser", "azure_pg_admin"];

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

function usageSchemas(req: GrantRequest): string[] {
  return [...new Set([...req.tables.map((t) => parseTableName(t).schema), ...req.schemas])].sort();
}

// ---------------------------------------------------------------- catalog

interface ObjectState {
  exists: boolean;
  /** the role has this privilege in its own ACL entry (what REVOKE would remove) */
  direct: boolean;
  /** the role has the privilege in effect (directly, through membership or PUBLIC) */
  effective: boolean;
  /** the connecting user may grant it */
  canGrant: boolean;
}

interface TableRow extends ObjectState {
  schema: string;
  table: string;
}

interface SchemaRow extends ObjectState {
  schema: string;
  /** default privileges of the grantor in this schema give the role SELECT on new tables */
  defaultDirect: boolean;
}

/** Everything a plan needs, from one catalog query. */
export interface Catalog {
  role: { super: boolean; replication: boolean } | null;
  me: {
    name: string;
    super: boolean;
    createrole: boolean;
    replication: boolean;
    adminOfRole: boolean;
    managedAdmin: string[] | null;
  };
  rds: { direct: boolean; effective: boolean; canGrant: boolean } | null;
  database: { name: string; direct: boolean; effective: boolean; canGrant: boolean };
  tables: TableRow[];
  schemaTables: TableRow[];
  schemas: SchemaRow[];
}

const RELKINDS = "('r','p','v','m','f')"; // what GRANT ... ON ALL TABLES IN SCHEMA covers

/**
 * One query: the role, the connecting user's rights, rds_replication, the
 * database, each named table, every table of the named schemas, and each
 * named schema, with what the role holds on each.
 */
const CATALOG_SQL = `
WITH r AS (SELECT oid, rolsuper, rolreplication FROM pg_roles WHERE rolname = $1),
me AS (SELECT oid, rolname, rolsuper, rolcreaterole, rolreplication FROM pg_roles WHERE rolname = current_user),
g AS (SELECT oid FROM pg_roles WHERE rolname = coalesce($6::text, current_user)),
rels AS (
  SELECT c.oid, n.nspname, c.relname, c.relacl, c.relowner
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ${RELKINDS}
),
tabs AS (
  SELECT w.s AS schema, w.t AS tbl, w.ord, c.oid, c.relacl, c.relowner
  FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS w(s, t, ord)
  LEFT JOIN rels c ON c.nspname = w.s AND c.relname = w.t
  UNION ALL
  SELECT c.nspname, c.relname, NULL, c.oid, c.relacl, c.relowner FROM rels c WHERE c.nspname = ANY($4::text[])
)
SELECT json_build_object(
  'role', (SELECT json_build_object('super', rolsuper, 'replication', rolreplication) FROM r),
  'me', (SELECT json_build_object(
      'name', me.rolname, 'super', me.rolsuper, 'createrole', me.rolcreaterole, 'replication', me.rolreplication,
      'adminOfRole', coalesce((SELECT pg_has_role(me.oid, r.oid, 'MEMBER WITH ADMIN OPTION') FROM r), false),
      'managedAdmin', (SELECT array_agg(a.rolname::text) FROM pg_roles a
                       WHERE a.rolname = ANY($7::text[]) AND pg_has_role(me.oid, a.oid, 'MEMBER')))
    FROM me),
  'rds', (SELECT json_build_object(
      'direct', EXISTS (SELECT 1 FROM pg_auth_members m WHERE m.roleid = x.oid AND m.member = (SELECT oid FROM r)),
      'effective', coalesce(pg_has_role((SELECT oid FROM r), x.oid, 'MEMBER'), false),
      'canGrant', pg_has_role(current_user, x.oid, 'MEMBER WITH ADMIN OPTION'))
    FROM pg_roles x WHERE x.rolname = $5),
  'database', (SELECT json_build_object(
      'name', d.datname,
      'direct', EXISTS (SELECT 1 FROM aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) a
                        WHERE a.grantee = (SELECT oid FROM r) AND a.privilege_type = 'CREATE'),
      'effective', coalesce(has_database_privilege((SELECT oid FROM r), d.oid, 'CREATE'), false),
      'canGrant', has_database_privilege(d.oid, 'CREATE WITH GRANT OPTION'))
    FROM pg_database d WHERE d.datname = current_database()),
  'tables', (SELECT coalesce(json_agg(t.j ORDER BY t.ord), '[]'::json) FROM (
      SELECT tabs.ord, json_build_object(
        'schema', tabs.schema, 'table', tabs.tbl, 'exists', tabs.oid IS NOT NULL,
        'direct', EXISTS (SELECT 1 FROM aclexplode(coalesce(tabs.relacl, acldefault('r', tabs.relowner))) a
                          WHERE a.grantee = (SELECT oid FROM r) AND a.privilege_type = 'SELECT'),
        'effective', coalesce(has_table_privilege((SELECT oid FROM r), tabs.oid, 'SELECT'), false),
        'canGrant', coalesce(has_table_privilege(tabs.oid, 'SELECT WITH GRANT OPTION'), false)) AS j
      FROM tabs WHERE tabs.ord IS NOT NULL) t),
  'schemaTables', (SELECT coalesce(json_agg(json_build_object(
        'schema', tabs.schema, 'table', tabs.tbl, 'exists', true,
        'direct', EXISTS (SELECT 1 FROM aclexplode(coalesce(tabs.relacl, acldefault('r', tabs.relowner))) a
                          WHERE a.grantee = (SELECT oid FROM r) AND a.privilege_type = 'SELECT'),
        'effective', coalesce(has_table_privilege((SELECT oid FROM r), tabs.oid, 'SELECT'), false),
        'canGrant', has_table_privilege(tabs.oid, 'SELECT WITH GRANT OPTION'))
      ORDER BY tabs.schema, tabs.tbl), '[]'::json)
    FROM tabs WHERE tabs.ord IS NULL),
  'schemas', (SELECT coalesce(json_agg(json_build_object(
        'schema', w.s, 'exists', n.oid IS NOT NULL,
        'direct', EXISTS (SELECT 1 FROM aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a
                          WHERE a.grantee = (SELECT oid FROM r) AND a.privilege_type = 'USAGE'),
        'effective', coalesce(has_schema_privilege((SELECT oid FROM r), n.oid, 'USAGE'), false),
        'canGrant', coalesce(has_schema_privilege(n.oid, 'USAGE WITH GRANT OPTION'), false),
        'defaultDirect', EXISTS (SELECT 1 FROM pg_default_acl da, aclexplode(da.defaclacl) a
                                 WHERE da.defaclnamespace = n.oid AND da.defaclrole = (SELECT oid FROM g)
                                   AND da.defaclobjtype = 'r' AND a.grantee = (SELECT oid FROM r)
                                   AND a.privilege_type = 'SELECT'))
      ORDER BY w.s), '[]'::json)
    FROM unnest($8::text[]) AS w(s) LEFT JOIN pg_namespace n ON n.nspname = w.s)
) AS catalog`;

/** Reads the catalog for a request and a previous record (whose objects are looked up too, to revoke them). */
export async function readCatalog(
  s: Session,
  role: string,
  req: GrantRequest | null,
  prev: GrantRecord,
  grantor: string | undefined,
): Promise<Catalog> {
  const tableRefs = new Map<string, { schema: string; table: string }>();
  for (const t of req?.tables ?? []) {
    const r = parseTableName(t);
    tableRefs.set(`${r.schema}\u0000${r.table}`, r);
  }
  for (const g of prev.granted) if (g.privilege === "SELECT") tableRefs.set(`${g.schema}\u0000${g.table}`, { schema: g.schema, table: g.table });
  const expand = new Set<string>(req?.schemas ?? []);
  for (const g of prev.granted) if (g.privilege === "DEFAULT SELECT") expand.add(g.schema);
  const schemas = new Set<string>(req ? usageSchemas(req) : []);
  for (const g of [...prev.granted, ...prev.kept]) if (g.privilege === "USAGE" || g.privilege === "DEFAULT SELECT") schemas.add(g.schema);
  for (const x of expand) schemas.add(x);
  const refs = [...tableRefs.values()];
  const rows = await s.query<{ catalog: Catalog }>(CATALOG_SQL, [
    role,
    refs.map((r) => r.schema),
    refs.map((r) => r.table),
    [...expand],
    RDS_REPLICATION,
    grantor ?? null,
    MANAGED_ADMIN_ROLES,
    [...schemas],
  ]);
  return rows[0].catalog;
}

// ---------------------------------------------------------------- planning

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

// ---------------------------------------------------------------- statements

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

// ---------------------------------------------------------------- operations

/** Statement counters of the last apply, for tests and the benchmark. */
export const grantStats = { lastStatements: 0, raceRetries: 0 };

/**
 * Brings the role to the request: grants what is missing, revokes what this
 * resource added before and is no longer wanted. `req` null revokes
 * everything this resource added (delete). Fails before changing anything
 * when an object is missing or a right is lacking, listing every problem.
 * Returns undefined when the role does not exist and `req` is null.
 */
export async function applyGrants(
  conn: PostgresConnection,
  what: string,
  role: string,
  req: GrantRequest | null,
  prev: GrantRecord,
): Promise<GrantState | undefined> {
  let attempt = 0;
  return retryCatalogRace(
    () =>
      withSession(conn, what, async (s) => {
        if (attempt++ > 0) grantStats.raceRetries++;
        await s.query("BEGIN");
        try {
          const result = await applyInTransaction(s, what, role, req, prev);
          await s.query("COMMIT");
          return result;
        } catch (err) {
          await s.query("ROLLBACK").catch(() => undefined);
          throw err;
        }
      }),
    10,
  );
}

async function applyInTransaction(
  s: Session,
  what: string,
  role: string,
  req: GrantRequest | null,
  prev: GrantRecord,
): Promise<GrantState | undefined> {
  const cat = await readCatalog(s, role, req, prev, prev.grantor);
  if (!req && !cat.role) return undefined; // the role is gone, and its privileges with it
  const plan = planGrants(role, req, prev, cat, s.major);
  if (plan.problems.length) {
    throw new CdcError(
      `${what}: nothing was changed, because:\n${plan.problems.map((p) => `  - ${p}`).join("\n")}`,
      { code: "GRANT_PLAN" },
    );
  }
  const stmts = [...grantStatements(role, plan.toRevoke, true), ...grantStatements(role, plan.toGrant, false)];
  for (const sql of stmts) await s.query(sql);
  grantStats.lastStatements = stmts.length;
  if (!req) return undefined;
  const after = await readCatalog(s, role, req, plan.record, plan.record.grantor);
  const direct = directIndex(after);
  const notInPlace = plan.toGrant.filter((g) => !isDirect(g, after, direct));
  if (notInPlace.length) {
    throw new CdcError(
      `${what}: PostgreSQL accepted the GRANT statements but these privileges are not in place (the connecting user lacks the grant option): ${notInPlace
        .map(describeGrant)
        .join(", ")}. Nothing was changed. Connect as the owner of these objects or a superuser.`,
    );
  }
  return {
    ...plan.record,
    role: req.role,
    database: after.database.name,
    replicationVia: plan.replicationVia,
    privileges: heldPrivileges(req, after),
  };
}

/** "schema\0table" -> directly granted, from the catalog's table rows (the first row of a name wins), built once per check. */
function directIndex(cat: Catalog): Map<string, boolean> {
  const out = new Map<string, boolean>();
  for (const x of [...cat.tables, ...cat.schemaTables]) {
    const key = `${x.schema}\u0000${x.table}`;
    if (!out.has(key)) out.set(key, !!x.direct);
  }
  return out;
}

function isDirect(g: Grant, cat: Catalog, tables: Map<string, boolean>): boolean {
  switch (g.privilege) {
    case "REPLICATION":
      return !!cat.role && (cat.role.replication || cat.role.super);
    case "MEMBER":
      return !!cat.rds?.direct;
    case "CREATE":
      return cat.database.direct;
    case "USAGE":
      return !!cat.schemas.find((x) => x.schema === g.schema)?.direct;
    case "DEFAULT SELECT":
      return !!cat.schemas.find((x) => x.schema === g.schema)?.defaultDirect;
    case "SELECT":
      return !!tables.get(`${g.schema}\u0000${g.table}`);
  }
}

/**
 * Re-reads what of the request the role holds now (drift shows as privileges
 * missing from the list). Undefined when the role no longer exists.
 */
export async function readGrants(
  conn: PostgresConnection,
  what: string,
  req: GrantRequest,
  prev: GrantRecord,
): Promise<GrantState | undefined> {
  return withSession(conn, what, async (s) => {
    const cat = await readCatalog(s, req.role, req, prev, prev.grantor);
    if (!cat.role) return undefined;
    const replicationVia = prev.granted.some((g) => g.privilege === "MEMBER") || prev.kept.some((g) => g.privilege === "MEMBER")
      ? "rds_replication"
      : cat.rds && req.replication && !(cat.role.super || cat.role.replication)
        ? "rds_replication"
        : "attribute";
    return {
      granted: prev.granted,
      kept: prev.kept,
      grantor: prev.grantor ?? cat.me.name,
      role: req.role,
      database: cat.database.name,
      replicationVia,
      privileges: heldPrivileges(req, cat),
    };
  });
}
