/**
 * Publications: SQL builders (pure) and the create / adopt / update / read /
 * drop operations. Identifiers go through ident(); the only SQL taken from the
 * user as written is a row filter (`where`), which PostgreSQL requires to be an
 * expression and which is wrapped in parentheses. Reads are one catalog query
 * whatever the number of tables.
 */
import { randomBytes } from "node:crypto";
import { CdcError } from "../errors";
import { byCodeUnit } from "../validation/common";
import { PUBLICATION_OPERATIONS, type PublicationOperation, type PublicationTable } from "../validation/publication";
import { parseTableName } from "../validation/table-name";
import { ident, requireMajor, sqlState, type Session } from "./connection";

/** What a publication should look like (normalized: sorted tables, schemas, canonical operation order). */
export interface PublicationSpec {
  name: string;
  tables: PublicationTable[];
  schemas: string[];
  allTables: boolean;
  operations: PublicationOperation[];
  publishViaPartitionRoot: boolean;
}

/** A table of a publication as read from pg_publication_rel. */
export interface LivePublicationTable {
  /** "schema.table", raw names */
  name: string;
  /** Column list (PostgreSQL 15+), sorted; absent when every column is published. */
  columns?: string[];
  /** Row filter as PostgreSQL prints it back (pg_get_expr), absent when there is none. */
  rowFilter?: string;
}

/** A publication as the catalogs describe it. */
export interface LivePublication {
  oid: string;
  name: string;
  database: string;
  allTables: boolean;
  operations: PublicationOperation[];
  publishViaPartitionRoot: boolean;
  /** Tables named in the publication (pg_publication_rel), sorted by name. */
  tables: LivePublicationTable[];
  /** Schemas published with FOR TABLES IN SCHEMA (PostgreSQL 15+), sorted. */
  schemas: string[];
  /** Every table the publication publishes (pg_publication_tables: ALL TABLES and schemas expanded), sorted. */
  publishedTables: string[];
}

// ---------------------------------------------------------------- SQL builders

/** `"schema"."table"` from a raw "schema.table" name. */
export function quotedTable(name: string): string {
  const t = parseTableName(name);
  return `${ident(t.schema)}.${ident(t.table)}`;
}

/** One table of a FOR TABLE / SET TABLE list, with its column list and row filter. */
export function tableSql(t: PublicationTable): string {
  let sql = quotedTable(t.name);
  if (t.columns && t.columns.length) sql += ` (${t.columns.map(ident).join(", ")})`;
  if (t.where !== undefined) sql += ` WHERE (${t.where})`;
  return sql;
}

/**
 * The object list after FOR (create) or SET (alter): `ALL TABLES`,
 * `TABLE a, b`, `TABLES IN SCHEMA s` or `TABLE a, TABLES IN SCHEMA s`.
 */
export function publicationObjectsSql(spec: Pick<PublicationSpec, "tables" | "schemas" | "allTables">): string {
  if (spec.allTables) return "ALL TABLES";
  const parts: string[] = [];
  if (spec.tables.length) parts.push(`TABLE ${spec.tables.map(tableSql).join(", ")}`);
  if (spec.schemas.length) parts.push(`TABLES IN SCHEMA ${spec.schemas.map(ident).join(", ")}`);
  if (!parts.length) throw new CdcError("a publication needs at least one table or schema, or allTables");
  return parts.join(", ");
}

/** `publish = 'insert, update', publish_via_partition_root = false` (values from a fixed list only). */
export function publishOptionsSql(spec: Pick<PublicationSpec, "operations" | "publishViaPartitionRoot">): string {
  for (const op of spec.operations) {
    if (!PUBLICATION_OPERATIONS.includes(op)) throw new CdcError(`unknown publication operation ${JSON.stringify(op)}`);
  }
  return `publish = '${spec.operations.join(", ")}', publish_via_partition_root = ${spec.publishViaPartitionRoot ? "true" : "false"}`;
}

/** CREATE PUBLICATION for a spec. */
export function createPublicationSql(spec: PublicationSpec, name = spec.name): string {
  return `CREATE PUBLICATION ${ident(name)} FOR ${publicationObjectsSql(spec)} WITH (${publishOptionsSql(spec)})`;
}

/** The ALTER PUBLICATION statements that make an existing publication (same allTables) match a spec. */
export function alterPublicationSql(spec: PublicationSpec): string[] {
  const out: string[] = [];
  if (!spec.allTables) out.push(`ALTER PUBLICATION ${ident(spec.name)} SET ${publicationObjectsSql(spec)}`);
  out.push(`ALTER PUBLICATION ${ident(spec.name)} SET (${publishOptionsSql(spec)})`);
  return out;
}

/** The catalog query reading one publication (by name, $1) with its tables and schemas, for a server major. */
export function readPublicationSql(major: number): string {
  const pg15 = major >= 15;
  const columns = pg15
    ? "(SELECT json_agg(a.attname::text) FROM pg_catalog.pg_attribute a WHERE a.attrelid = r.prrelid AND a.attnum = ANY (r.prattrs::int2[]))"
    : "NULL::json";
  const filter = pg15 ? "pg_catalog.pg_get_expr(r.prqual, r.prrelid)" : "NULL::text";
  const schemas = pg15
    ? "(SELECT json_agg(n.nspname::text) FROM pg_catalog.pg_publication_namespace pn JOIN pg_catalog.pg_namespace n ON n.oid = pn.pnnspid WHERE pn.pnpubid = p.oid)"
    : "NULL::json";
  return `SELECT p.oid::text AS oid, p.pubname::text AS name, pg_catalog.current_database()::text AS database,
  p.puballtables AS all_tables, p.pubinsert AS ins, p.pubupdate AS upd, p.pubdelete AS del, p.pubtruncate AS trunc,
  p.pubviaroot AS via_root,
  (SELECT json_agg(json_build_object('schema', n.nspname::text, 'table', c.relname::text, 'columns', ${columns}, 'rowFilter', ${filter}))
     FROM pg_catalog.pg_publication_rel r
     JOIN pg_catalog.pg_class c ON c.oid = r.prrelid
     JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE r.prpubid = p.oid) AS tables,
  ${schemas} AS schemas,
  (SELECT json_agg(json_build_array(pt.schemaname::text, pt.tablename::text)) FROM pg_catalog.pg_publication_tables pt WHERE pt.pubname = p.pubname) AS published
FROM pg_catalog.pg_publication p
WHERE p.pubname = $1`;
}

interface PublicationRow {
  oid: string;
  name: string;
  database: string;
  all_tables: boolean;
  ins: boolean;
  upd: boolean;
  del: boolean;
  trunc: boolean;
  via_root: boolean;
  tables: Array<{ schema: string; table: string; columns: string[] | null; rowFilter: string | null }> | null;
  schemas: string[] | null;
  published: Array<[string, string]> | null;
}

/** The catalog row turned into a LivePublication (sorted, absent extras dropped). */
export function livePublicationFromRow(row: PublicationRow): LivePublication {
  const flags: Record<PublicationOperation, boolean> = { insert: row.ins, update: row.upd, delete: row.del, truncate: row.trunc };
  return {
    oid: row.oid,
    name: row.name,
    database: row.database,
    allTables: row.all_tables,
    operations: PUBLICATION_OPERATIONS.filter((o) => flags[o]),
    publishViaPartitionRoot: row.via_root,
    tables: (row.tables ?? [])
      .map((t) => {
        const out: LivePublicationTable = { name: `${t.schema}.${t.table}` };
        if (t.columns && t.columns.length) out.columns = [...t.columns].sort(byCodeUnit);
        if (t.rowFilter !== null && t.rowFilter !== undefined) out.rowFilter = t.rowFilter;
        return out;
      })
      .sort((a, b) => byCodeUnit(a.name, b.name)),
    schemas: [...(row.schemas ?? [])].sort(byCodeUnit),
    publishedTables: (row.published ?? []).map(([s, t]) => `${s}.${t}`).sort(byCodeUnit),
  };
}

// ---------------------------------------------------------------- operations

/** Reads a publication from the catalogs (one query); undefined when there is none of that name. */
export async function readPublication(s: Session, name: string): Promise<LivePublication | undefined> {
  const rows = await s.query<PublicationRow>(readPublicationSql(s.major), [name]);
  return rows.length ? livePublicationFromRow(rows[0]) : undefined;
}

/** Tables and schemas of a spec that do not exist, found with one query. */
export async function missingObjects(s: Session, spec: Pick<PublicationSpec, "tables" | "schemas">): Promise<{ tables: string[]; schemas: string[] }> {
  if (!spec.tables.length && !spec.schemas.length) return { tables: [], schemas: [] };
  const refs = spec.tables.map((t) => parseTableName(t.name));
  const rows = await s.query<{ kind: string; name: string }>(
    `SELECT 'table' AS kind, t.s || '.' || t.t AS name
       FROM unnest($1::text[], $2::text[]) AS t(s, t)
      WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                         WHERE n.nspname = t.s AND c.relname = t.t)
     UNION ALL
     SELECT 'schema', x.s FROM unnest($3::text[]) AS x(s)
      WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace n WHERE n.nspname = x.s)`,
    [refs.map((r) => r.schema), refs.map((r) => r.table), spec.schemas],
  );
  return {
    tables: rows.filter((r) => r.kind === "table").map((r) => r.name).sort(byCodeUnit),
    schemas: rows.filter((r) => r.kind === "schema").map((r) => r.name).sort(byCodeUnit),
  };
}

/** Fails (naming the server version and the minimum) when the spec uses PostgreSQL 15 features on an older server. */
export function checkPublicationFeatures(s: Session, spec: PublicationSpec, what: string): void {
  if (spec.schemas.length) requireMajor(s, 15, "schemas (FOR TABLES IN SCHEMA)", what);
  const withColumns = spec.tables.filter((t) => t.columns).map((t) => t.name);
  if (withColumns.length) requireMajor(s, 15, `column lists (tables[].columns, on ${withColumns.join(", ")})`, what);
  const withFilter = spec.tables.filter((t) => t.where !== undefined).map((t) => t.name);
  if (withFilter.length) requireMajor(s, 15, `row filters (tables[].where, on ${withFilter.join(", ")})`, what);
}

async function failOnMissing(s: Session, spec: PublicationSpec, what: string): Promise<void> {
  const missing = await missingObjects(s, spec);
  const problems: string[] = [];
  if (missing.tables.length) problems.push(`these tables do not exist: ${missing.tables.join(", ")}`);
  if (missing.schemas.length) problems.push(`these schemas do not exist: ${missing.schemas.join(", ")}`);
  if (problems.length) {
    const db = (await s.query<{ d: string }>("SELECT pg_catalog.current_database()::text AS d"))[0].d;
    throw new CdcError(
      `${what}: in database "${db}", ${problems.join("; ")}. Create them first, or fix the names (names are raw and case-sensitive: "public.Order Items" is the table "Order Items" in schema public), then run pulumi up again.`,
    );
  }
}

async function inTransaction<T>(s: Session, fn: () => Promise<T>): Promise<T> {
  await s.query("BEGIN");
  try {
    const out = await fn();
    await s.query("COMMIT");
    return out;
  } catch (err) {
    await s.query("ROLLBACK").catch(() => undefined);
    throw err;
  }
}

/** The result of creating a publication: what the catalogs say afterwards, and whether an existing one was adopted. */
export interface CreatePublicationResult {
  live: LivePublication;
  adopted: boolean;
}

/**
 * Creates the publication, or adopts an existing publication of that name when
 * it matches the spec exactly (compared with what the catalogs say); fails
 * naming every difference otherwise. Missing tables are reported together
 * before anything is created.
 */
export async function createPublication(s: Session, spec: PublicationSpec, what: string): Promise<CreatePublicationResult> {
  checkPublicationFeatures(s, spec, what);
  for (let attempt = 1; ; attempt++) {
    try {
      return await inTransaction(s, async () => {
        await failOnMissing(s, spec, what);
        const existing = await readPublication(s, spec.name);
        if (existing) {
          const canonical = await canonicalRowFilters(s, spec);
          const differences = publicationDifferences(spec, existing, canonical);
          if (differences.length) {
            throw new CdcError(
              `${what}: a publication named "${spec.name}" already exists in database "${existing.database}" and differs from this resource:\n` +
                differences.map((d) => `  - ${d}`).join("\n") +
                `\nDynamic resources cannot be imported, so the existing publication is adopted only when it matches exactly. ` +
                `Change the resource to match it, or change or drop the existing publication (ALTER PUBLICATION / DROP PUBLICATION ${ident(spec.name)}), then run pulumi up again.`,
            );
          }
          return { live: existing, adopted: true };
        }
        await s.query(createPublicationSql(spec));
        const live = await readPublication(s, spec.name);
        if (!live) throw new CdcError(`${what}: the publication was created but cannot be read back`);
        return { live, adopted: false };
      });
    } catch (err) {
      // Someone else created it between our look and our CREATE: look again (and adopt or explain).
      if (sqlState(err) === "42710" && attempt < 2) continue;
      throw err;
    }
  }
}

/**
 * Makes an existing publication match the spec in place (ALTER PUBLICATION ...
 * SET), in one transaction; creates it when it was dropped out of band.
 */
export async function updatePublication(s: Session, spec: PublicationSpec, what: string): Promise<LivePublication> {
  checkPublicationFeatures(s, spec, what);
  return inTransaction(s, async () => {
    await failOnMissing(s, spec, what);
    const existing = await readPublication(s, spec.name);
    if (!existing) {
      await s.query(createPublicationSql(spec));
    } else {
      if (existing.allTables !== spec.allTables) {
        throw new CdcError(
          `${what}: the publication is ${existing.allTables ? "" : "not "}FOR ALL TABLES, which cannot be changed in place; changing allTables replaces the publication (run pulumi refresh, then pulumi up)`,
        );
      }
      for (const sql of alterPublicationSql(spec)) await s.query(sql);
    }
    const live = await readPublication(s, spec.name);
    if (!live) throw new CdcError(`${what}: the publication was changed but cannot be read back`);
    return live;
  });
}

/** DROP PUBLICATION IF EXISTS: a missing publication is success. */
export async function dropPublication(s: Session, name: string): Promise<void> {
  await s.query(`DROP PUBLICATION IF EXISTS ${ident(name)}`);
}

/**
 * The row filters PostgreSQL stores for the spec's `where` texts, keyed by
 * table: a probe publication with the same tables is created inside a
 * savepoint, read back and rolled back. Empty when the spec has no row filter.
 * Falls back to the user's text when the probe cannot be created.
 */
export async function canonicalRowFilters(s: Session, spec: PublicationSpec): Promise<Map<string, string>> {
  const filtered = spec.tables.filter((t) => t.where !== undefined);
  const out = new Map<string, string>();
  if (!filtered.length) return out;
  const probe = `cdc_probe_${randomBytes(8).toString("hex")}`;
  await s.query("SAVEPOINT cdc_probe");
  try {
    await s.query(createPublicationSql({ ...spec, tables: filtered, schemas: [], allTables: false }, probe));
    const live = await readPublication(s, probe);
    for (const t of live?.tables ?? []) if (t.rowFilter !== undefined) out.set(t.name, t.rowFilter);
  } catch {
    for (const t of filtered) out.set(t.name, t.where as string);
  } finally {
    await s.query("ROLLBACK TO SAVEPOINT cdc_probe");
  }
  return out;
}

/** Loose form of a row filter for comparison when no canonical form is available: outer parentheses and spacing removed. */
function looseExpression(e: string): string {
  let x = e.replace(/\s+/g, " ").trim();
  while (x.startsWith("(") && x.endsWith(")") && balanced(x.slice(1, -1))) x = x.slice(1, -1).trim();
  return x;
}

function balanced(x: string): boolean {
  let d = 0;
  for (const c of x) {
    if (c === "(") d++;
    if (c === ")" && --d < 0) return false;
  }
  return d === 0;
}

const list = (xs: readonly string[]) => (xs.length ? xs.join(", ") : "(none)");

/**
 * Every way a live publication differs from a spec, in words. Row filters are
 * compared in PostgreSQL's printed form (`canonical`, from {@link canonicalRowFilters}).
 */
export function publicationDifferences(spec: PublicationSpec, live: LivePublication, canonical: ReadonlyMap<string, string> = new Map()): string[] {
  const out: string[] = [];
  if (spec.allTables !== live.allTables) out.push(`allTables: existing ${live.allTables}, wanted ${spec.allTables}`);
  if (list(spec.operations) !== list(live.operations)) out.push(`operations: existing ${list(live.operations)}, wanted ${list(spec.operations)}`);
  if (spec.publishViaPartitionRoot !== live.publishViaPartitionRoot) {
    out.push(`publishViaPartitionRoot: existing ${live.publishViaPartitionRoot}, wanted ${spec.publishViaPartitionRoot}`);
  }
  if (!spec.allTables && !live.allTables) {
    const liveByName = new Map(live.tables.map((t) => [t.name, t]));
    const wantedNames = new Set(spec.tables.map((t) => t.name));
    const notThere = spec.tables.filter((t) => !liveByName.has(t.name)).map((t) => t.name);
    const extra = live.tables.filter((t) => !wantedNames.has(t.name)).map((t) => t.name);
    if (notThere.length) out.push(`tables missing from the existing publication: ${notThere.join(", ")}`);
    if (extra.length) out.push(`tables in the existing publication but not wanted: ${extra.join(", ")}`);
    for (const t of spec.tables) {
      const l = liveByName.get(t.name);
      if (!l) continue;
      if (list(t.columns ?? []) !== list(l.columns ?? [])) {
        out.push(`columns of ${t.name}: existing ${l.columns ? list(l.columns) : "(all)"}, wanted ${t.columns ? list(t.columns) : "(all)"}`);
      }
      const wantedFilter = t.where === undefined ? undefined : canonical.get(t.name) ?? t.where;
      const same =
        wantedFilter === l.rowFilter ||
        (wantedFilter !== undefined && l.rowFilter !== undefined && looseExpression(wantedFilter) === looseExpression(l.rowFilter));
      if (!same) out.push(`row filter of ${t.name}: existing ${l.rowFilter ?? "(none)"}, wanted ${wantedFilter ?? "(none)"}`);
    }
    if (list(spec.schemas) !== list(live.schemas)) out.push(`schemas: existing ${list(live.schemas)}, wanted ${list(spec.schemas)}`);
  }
  return out;
}
