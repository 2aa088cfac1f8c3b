/**
 * A snapshot of the catalog state a CDC resource could touch, to prove that a
 * test case changed nothing but the objects it created and removed again.
 *
 * One query returns an ordered listing (one line per object) of:
 * - pg_class: schema, name, kind, owner, replica identity, ACL (and, for
 *   indexes, whether it is the replica identity index);
 * - pg_namespace: name, owner, ACL;
 * - pg_publication, pg_publication_rel (and pg_publication_namespace on 15+);
 * - pg_replication_slots: name, plugin, type, database, temporary;
 * - pg_roles: name and attributes; pg_auth_members;
 * - pg_default_acl; pg_database: name and ACL.
 *
 * ACLs are compared in effective form (`coalesce(acl, acldefault(...))`):
 * GRANT followed by REVOKE leaves an explicit ACL equal to the default where
 * there was NULL, which is the same privileges. Sorting uses COLLATE "C".
 */
import { createHash } from "node:crypto";

/** Anything that runs a query: a pg Client or Pool. */
export interface Queryable {
  query<R extends Record<string, unknown> = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<{ rows: R[] }>;
}

export interface CatalogSnapshot {
  /** One line per object, sorted. */
  lines: string[];
  /** md5 of the listing. */
  md5: string;
}

/** The listing query for a server major (pg_publication_namespace exists from 15). */
export function snapshotSql(major: number): string {
  const parts = [
    `SELECT 'class|' || n.nspname::text || '|' || c.relname::text || '|' || c.relkind::text || '|' || pg_catalog.pg_get_userbyid(c.relowner)
        || '|' || c.relreplident::text
        || '|' || coalesce(c.relacl::text, CASE WHEN c.relkind IN ('r','p','v','m','f') THEN pg_catalog.acldefault('r', c.relowner)::text
                                                 WHEN c.relkind = 'S' THEN pg_catalog.acldefault('s', c.relowner)::text ELSE '-' END)
        || '|' || coalesce((SELECT CASE WHEN x.indisreplident THEN 'replident' ELSE '' END FROM pg_catalog.pg_index x WHERE x.indexrelid = c.oid), '') AS line
       FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace`,
    `SELECT 'namespace|' || n.nspname || '|' || pg_catalog.pg_get_userbyid(n.nspowner) || '|'
        || coalesce(n.nspacl, pg_catalog.acldefault('n', n.nspowner))::text FROM pg_catalog.pg_namespace n`,
    `SELECT 'publication|' || p.pubname || '|' || p.puballtables || '|' || p.pubinsert || p.pubupdate || p.pubdelete || p.pubtruncate
        || '|' || p.pubviaroot FROM pg_catalog.pg_publication p`,
    `SELECT 'pubrel|' || p.pubname || '|' || n.nspname::text || '|' || c.relname::text ${major >= 15 ? "|| '|' || coalesce(r.prattrs::text, '') || '|' || coalesce(pg_catalog.pg_get_expr(r.prqual, r.prrelid), '')" : ""}
       FROM pg_catalog.pg_publication_rel r JOIN pg_catalog.pg_publication p ON p.oid = r.prpubid
       JOIN pg_catalog.pg_class c ON c.oid = r.prrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace`,
    ...(major >= 15
      ? [
          `SELECT 'pubnsp|' || p.pubname || '|' || n.nspname FROM pg_catalog.pg_publication_namespace pn
             JOIN pg_catalog.pg_publication p ON p.oid = pn.pnpubid JOIN pg_catalog.pg_namespace n ON n.oid = pn.pnnspid`,
        ]
      : []),
    `SELECT 'slot|' || s.slot_name || '|' || coalesce(s.plugin::text, '-') || '|' || s.slot_type || '|' || coalesce(s.database::text, '-')
        || '|' || s.temporary FROM pg_catalog.pg_replication_slots s`,
    `SELECT 'role|' || r.rolname || '|' || r.rolsuper || r.rolinherit || r.rolcreaterole || r.rolcreatedb || r.rolcanlogin
        || r.rolreplication || r.rolbypassrls || '|' || r.rolconnlimit || '|' || coalesce(r.rolvaliduntil::text, '-') FROM pg_catalog.pg_roles r`,
    `SELECT 'member|' || pg_catalog.pg_get_userbyid(m.roleid) || '|' || pg_catalog.pg_get_userbyid(m.member) || '|' || m.admin_option
       FROM pg_catalog.pg_auth_members m`,
    `SELECT 'defacl|' || pg_catalog.pg_get_userbyid(d.defaclrole) || '|' || coalesce(n.nspname, '-') || '|' || d.defaclobjtype::text || '|' || d.defaclacl::text
       FROM pg_catalog.pg_default_acl d LEFT JOIN pg_catalog.pg_namespace n ON n.oid = d.defaclnamespace`,
    `SELECT 'database|' || d.datname || '|' || coalesce(d.datacl, pg_catalog.acldefault('d', d.datdba))::text FROM pg_catalog.pg_database d`,
  ];
  return `SELECT coalesce(array_agg(line ORDER BY line COLLATE "C"), '{}') AS lines FROM (${parts.join("\nUNION ALL\n")}) AS listing(line)`;
}

/** Takes a snapshot through `q` (connected to the database under test). */
export async function catalogSnapshot(q: Queryable, major: number): Promise<CatalogSnapshot> {
  const { rows } = await q.query<{ lines: string[] }>(snapshotSql(major));
  const lines = rows[0].lines;
  return { lines, md5: createHash("md5").update(lines.join("\n")).digest("hex") };
}

/** Lines only in `before` ("- ...") and only in `after` ("+ ..."), names shown with JSON escapes. */
export function snapshotDiff(before: CatalogSnapshot, after: CatalogSnapshot): string[] {
  const a = new Set(before.lines);
  const b = new Set(after.lines);
  return [
    ...before.lines.filter((l) => !b.has(l)).map((l) => `- ${JSON.stringify(l)}`),
    ...after.lines.filter((l) => !a.has(l)).map((l) => `+ ${JSON.stringify(l)}`),
  ];
}

/** Fails, listing every changed line, when the two snapshots differ. */
export function assertSameCatalog(before: CatalogSnapshot, after: CatalogSnapshot, context: string): void {
  if (before.md5 === after.md5) return;
  const diff = snapshotDiff(before, after);
  throw new Error(`${context}: the catalogs changed (${diff.length} line(s)):\n${diff.slice(0, 40).join("\n")}`);
}
