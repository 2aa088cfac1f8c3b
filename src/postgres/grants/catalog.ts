/**
 * One catalog query that reads, for a role, everything a grant plan needs: its
 * ACL entries on the requested tables and schemas, its REPLICATION attribute
 * and memberships, and which objects exist.
 */
import { parseTableName } from "../../validation/table-name";
import { type Session } from "../connection";
import { type GrantRequest, type GrantRecord, RDS_REPLICATION, MANAGED_ADMIN_ROLES, usageSchemas } from "./model";

export interface ObjectState {
  exists: boolean;
  /** the role has this privilege in its own ACL entry (what REVOKE would remove) */
  direct: boolean;
  /** the role has the privilege in effect (directly, through membership or PUBLIC) */
  effective: boolean;
  /** the connecting user may grant it */
  canGrant: boolean;
}

export interface TableRow extends ObjectState {
  schema: string;
  table: string;
}

export interface SchemaRow extends ObjectState {
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
