/**
 * Dynamic provider for Publication: validate -> postgres/publications -> plain JSON outputs.
 * Pulumi never serializes this module: the stub in stub.ts requires it by path.
 */
import type * as dynamic from "@pulumi/pulumi/dynamic";
import { isDatabaseGone, withSession } from "../postgres/connection";
import {
  createPublication,
  dropPublication,
  readPublication,
  updatePublication,
  type LivePublication,
  type PublicationSpec,
} from "../postgres/publications";
import { containsUnknown, UNKNOWN, type PostgresConnectionInput } from "../validation/common";
import {
  canonicalOperations,
  canonicalSchemas,
  normalizePublicationTables,
  PUBLICATION_DEFAULTS,
  publicationInputsSchema,
  type PublicationInputs,
  type PublicationOperation,
  type PublicationTable,
} from "../validation/publication";
import { normalizedConnection, targetDatabase } from "../validation/target";
import { checkWith, label, parseOrThrow, plainJson, sameJson, withoutProvider } from "./common";
import { resolveConnection } from "../validation/connection";

/** A published table as stored in state: the definition, plus PostgreSQL's printed row filter (to notice drift). */
export interface PublicationTableState extends PublicationTable {
  /** The row filter as PostgreSQL prints it back (pg_get_expr); compared on refresh to notice out-of-band changes. */
  rowFilter?: string;
}

/** Outputs of a Publication (what state holds). */
export interface PublicationOutputs {
  connection?: PostgresConnectionInput;
  connectionString?: string;
  name: string;
  database: string;
  /** Tables named in the publication, "schema.table", as read back, sorted. */
  tables: string[];
  /** The same tables with column lists and row filters. */
  tableDefinitions: PublicationTableState[];
  schemas: string[];
  allTables: boolean;
  operations: PublicationOperation[];
  publishViaPartitionRoot: boolean;
  /** Every table the publication publishes (ALL TABLES and schemas expanded), "schema.table", sorted. */
  publishedTables: string[];
}

const what = (name: unknown) => label("Publication", typeof name === "string" ? name : undefined);

function specOf(v: PublicationInputs): PublicationSpec {
  return {
    name: v.name,
    tables: v.tables,
    schemas: v.schemas,
    allTables: v.allTables,
    operations: v.operations,
    publishViaPartitionRoot: v.publishViaPartitionRoot,
  };
}

/**
 * The table definitions to store for a live publication. A row filter keeps the
 * user's text while PostgreSQL's printed form is the one recorded with it (or the
 * user's text was just written); otherwise the printed form is stored, so a
 * filter changed out of band shows as a difference.
 */
export function tableStates(live: LivePublication, previous: ReadonlyArray<PublicationTableState>, justWritten: boolean): PublicationTableState[] {
  const prev = new Map(previous.map((t) => [t.name, t]));
  return live.tables.map((t) => {
    const out: PublicationTableState = { name: t.name };
    if (t.columns) out.columns = t.columns;
    if (t.rowFilter !== undefined) {
      const p = prev.get(t.name);
      const keepText = p?.where !== undefined && (justWritten || p.rowFilter === t.rowFilter);
      out.where = keepText ? (p!.where as string) : t.rowFilter;
      out.rowFilter = t.rowFilter;
    }
    return out;
  });
}

function outputsOf(
  target: { connection?: PostgresConnectionInput; connectionString?: string },
  database: string,
  live: LivePublication,
  tables: PublicationTableState[],
): PublicationOutputs {
  return plainJson({
    connection: target.connection,
    connectionString: target.connectionString,
    name: live.name,
    database,
    tables: live.tables.map((t) => t.name),
    tableDefinitions: tables,
    schemas: live.schemas,
    allTables: live.allTables,
    operations: live.operations,
    publishViaPartitionRoot: live.publishViaPartitionRoot,
    publishedTables: live.publishedTables,
  } satisfies PublicationOutputs);
}

/** The desired value of each diffed field from (possibly unchecked, during preview) inputs; UNKNOWN where not known yet. */
export function desiredFields(news: Record<string, unknown>): Record<string, unknown> {
  const known = (v: unknown, f: (x: unknown) => unknown) => (containsUnknown(v) ? UNKNOWN : f(v));
  const db =
    containsUnknown(news.connection) || containsUnknown(news.connectionString) ? UNKNOWN : targetDatabase(news as { connection?: { database?: unknown } });
  return {
    name: news.name,
    database: db,
    allTables: known(news.allTables, (v) => v ?? PUBLICATION_DEFAULTS.allTables),
    tables: known(news.tables, (v) => {
      if (v === undefined) return [];
      try {
        return normalizePublicationTables((v as unknown[]).map((t) => (typeof t === "string" ? { name: t } : (t as PublicationTable))));
      } catch {
        return v;
      }
    }),
    schemas: known(news.schemas, (v) => canonicalSchemas(Array.isArray(v) ? (v as string[]) : [])),
    operations: known(news.operations, (v) => (Array.isArray(v) ? canonicalOperations(v as string[]) : [...PUBLICATION_DEFAULTS.operations])),
    publishViaPartitionRoot: known(news.publishViaPartitionRoot, (v) => v ?? PUBLICATION_DEFAULTS.publishViaPartitionRoot),
    connection: known(news.connection, normalizedConnection),
    connectionString: news.connectionString,
  };
}

/** Old outputs in the same shape as {@link desiredFields}. */
function storedFields(olds: Record<string, unknown>): Record<string, unknown> {
  const defs = (olds.tableDefinitions as PublicationTableState[] | undefined) ?? [];
  return {
    name: olds.name,
    database: olds.database,
    allTables: olds.allTables ?? PUBLICATION_DEFAULTS.allTables,
    tables: defs.map(({ rowFilter: _r, ...t }) => t),
    schemas: olds.schemas ?? [],
    operations: olds.operations,
    publishViaPartitionRoot: olds.publishViaPartitionRoot ?? PUBLICATION_DEFAULTS.publishViaPartitionRoot,
    connection: olds.connection,
    connectionString: olds.connectionString,
  };
}

/** Fields whose change replaces the publication (the rest update in place). */
export const PUBLICATION_REPLACE_FIELDS = ["name", "database", "allTables"] as const;

/** Pure diff of old outputs against new inputs. */
export function diffPublication(olds: Record<string, unknown>, news: Record<string, unknown>): dynamic.DiffResult {
  const want = desiredFields(withoutProvider(news));
  const have = storedFields(withoutProvider(olds));
  const changed = Object.keys(want).filter((k) => containsUnknown(want[k]) || !sameJson(have[k], want[k]));
  const replaces = changed.filter((k) => (PUBLICATION_REPLACE_FIELDS as readonly string[]).includes(k));
  return { changes: changed.length > 0, replaces, deleteBeforeReplace: true };
}


export const provider = {
  async check(_olds: Record<string, unknown>, news: Record<string, unknown>): Promise<dynamic.CheckResult> {
    return checkWith(publicationInputsSchema, news, what(news.name));
  },

  async diff(_id: string, olds: Record<string, unknown>, news: Record<string, unknown>): Promise<dynamic.DiffResult> {
    return diffPublication(olds, news);
  },

  async create(inputs: Record<string, unknown>): Promise<dynamic.CreateResult> {
    const w = what(inputs.name);
    const v = parseOrThrow(publicationInputsSchema, inputs, w);
    const conn = resolveConnection(v, w);
    const { live } = await withSession(conn, w, (s) => createPublication(s, specOf(v), w));
    return { id: `${conn.database}/${live.name}`, outs: outputsOf(v, conn.database, live, tableStates(live, v.tables, true)) };
  },

  async read(id: string, props: Record<string, unknown>): Promise<dynamic.ReadResult> {
    const olds = withoutProvider(props) as unknown as PublicationOutputs;
    const w = what(olds.name);
    const conn = resolveConnection(olds, w);
    let live: LivePublication | undefined;
    try {
      live = await withSession(conn, w, (s) => readPublication(s, olds.name));
    } catch (err) {
      if (isDatabaseGone(err)) return {};
      throw err;
    }
    if (!live) return {};
    const outs = outputsOf(olds, conn.database, live, tableStates(live, olds.tableDefinitions ?? [], false));
    const inputs = plainJson({
      connection: olds.connection,
      connectionString: olds.connectionString,
      name: outs.name,
      tables: outs.allTables ? undefined : outs.tableDefinitions.map(({ rowFilter: _r, ...t }) => t),
      schemas: outs.allTables ? undefined : outs.schemas,
      allTables: outs.allTables,
      operations: outs.operations,
      publishViaPartitionRoot: outs.publishViaPartitionRoot,
    });
    return { id, props: outs, inputs };
  },

  async update(_id: string, _olds: Record<string, unknown>, news: Record<string, unknown>): Promise<dynamic.UpdateResult> {
    const w = what(news.name);
    const v = parseOrThrow(publicationInputsSchema, news, w);
    const conn = resolveConnection(v, w);
    const live = await withSession(conn, w, (s) => updatePublication(s, specOf(v), w));
    return { outs: outputsOf(v, conn.database, live, tableStates(live, v.tables, true)) };
  },

  async delete(_id: string, props: Record<string, unknown>): Promise<void> {
    const olds = withoutProvider(props) as unknown as PublicationOutputs;
    const w = what(olds.name);
    const conn = resolveConnection(olds, w);
    try {
      await withSession(conn, w, (s) => dropPublication(s, olds.name));
    } catch (err) {
      if (isDatabaseGone(err)) return;
      throw err;
    }
  },
};
