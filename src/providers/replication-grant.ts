/**
 * Dynamic provider of ReplicationGrant: validate, then call postgres/grants.
 * Loaded by the serialized stub (providers/stub.ts) by package path.
 */
import type * as dynamic from "@pulumi/pulumi/dynamic";
import { CdcError, messageOf } from "../errors";
import { applyGrants, expectedPrivileges, readGrants, type Grant, type GrantRecord, type GrantRequest, type GrantState } from "../postgres/grants";
import { isDatabaseGone } from "../postgres/connection";
import { containsUnknown, type PostgresConnectionInput } from "../validation/common";
import { replicationGrantSchema, type ReplicationGrantInputs } from "../validation/replication-grant";
import { checkWith, parseOrThrow, plainJson, sameJson, withoutProvider } from "./common";
import { resolveConnection } from "../validation/connection";

const KIND = "ReplicationGrant";

/** Outputs stored in state. `granted`/`kept` are the exact-revoke record; `connection`/`connectionString` are secrets. */
export interface ReplicationGrantOutputs {
  connection?: PostgresConnectionInput;
  connectionString?: string;
  role: string;
  database: string;
  replication: boolean;
  tables: string[];
  schemas: string[];
  createOnDatabase: boolean;
  /** What the role holds of the request, as read back. */
  privileges: string[];
  /** What this resource added (revoked on delete). */
  granted: Grant[];
  /** What the role already had (never revoked). */
  kept: Grant[];
  /** Owner of the future-table default privileges. */
  grantor: string;
  replicationVia: "attribute" | "rds_replication";
}

function what(role: unknown): string {
  return typeof role === "string" && role ? `${KIND} for role "${role}"` : KIND;
}

function requestOf(i: Pick<ReplicationGrantInputs, "role" | "replication" | "tables" | "schemas" | "createOnDatabase">): GrantRequest {
  return { role: i.role, replication: i.replication, tables: i.tables, schemas: i.schemas, createOnDatabase: i.createOnDatabase };
}

function recordOf(o: Partial<ReplicationGrantOutputs>): GrantRecord {
  return { granted: o.granted ?? [], kept: o.kept ?? [], grantor: o.grantor };
}

function outputsOf(i: ReplicationGrantInputs, st: GrantState): ReplicationGrantOutputs {
  const outs = {
    connection: i.connection as PostgresConnectionInput | undefined,
    connectionString: i.connectionString,
    role: st.role,
    database: st.database,
    replication: i.replication,
    tables: i.tables,
    schemas: i.schemas,
    createOnDatabase: i.createOnDatabase,
    privileges: st.privileges,
    granted: st.granted,
    kept: st.kept,
    grantor: st.grantor,
    replicationVia: st.replicationVia,
  } satisfies ReplicationGrantOutputs;
  return plainJson(outs);
}

/** The database a connection targets, or undefined when it cannot be known yet. */
function databaseOf(props: Record<string, unknown>): string | undefined {
  if (containsUnknown(props.connection) || containsUnknown(props.connectionString)) return undefined;
  try {
    return resolveConnection(props as { connection?: PostgresConnectionInput; connectionString?: string }, KIND).database;
  } catch {
    return undefined;
  }
}


export const provider = {
  async check(_olds: Record<string, unknown>, news: Record<string, unknown>): Promise<dynamic.CheckResult> {
    const label = what(news.role);
    const result = checkWith(replicationGrantSchema, news, label);
    if (result.failures?.length || containsUnknown(withoutProvider(news))) return result;
    const inputs = result.inputs as Record<string, unknown>;
    try {
      resolveConnection(inputs as { connection?: PostgresConnectionInput; connectionString?: string }, label);
    } catch (err) {
      return { failures: [{ property: inputs.connectionString ? "connectionString" : "connection", reason: messageOf(err) }] };
    }
    return result;
  },

  async diff(_id: string, olds: Record<string, unknown>, news: Record<string, unknown>): Promise<dynamic.DiffResult> {
    const o = withoutProvider(olds) as Partial<ReplicationGrantOutputs>;
    const n = withoutProvider(news) as Record<string, unknown>;
    const replaces: string[] = [];
    if (n.role !== o.role) replaces.push("role");
    const newDb = databaseOf(n);
    if (newDb !== undefined && newDb !== o.database) replaces.push(n.connectionString !== undefined ? "connectionString" : "connection");
    let changes = replaces.length > 0;
    for (const k of ["replication", "tables", "schemas", "createOnDatabase", "connection", "connectionString"] as const) {
      if (!sameJson(o[k], n[k])) changes = true;
    }
    // Drift seen by refresh (a privilege revoked out of band) makes the next up grant it again.
    if (!changes && !containsUnknown(n)) {
      const expected = expectedPrivileges(requestOf(n as ReplicationGrantInputs), o.database ?? "", o.replicationVia ?? "attribute");
      const held = new Set(o.privileges ?? []);
      if (expected.some((p) => !held.has(p))) changes = true;
    }
    return { changes, replaces, deleteBeforeReplace: true };
  },

  async create(inputs: Record<string, unknown>): Promise<dynamic.CreateResult> {
    const label = what(inputs.role);
    const i = parseOrThrow(replicationGrantSchema, inputs, label);
    const conn = resolveConnection(i as { connection?: PostgresConnectionInput; connectionString?: string }, label);
    const st = await applyGrants(conn, label, i.role, requestOf(i), { granted: [], kept: [] });
    if (!st) throw new CdcError(`${label}: the grant was not applied`);
    return { id: `${st.database}/${st.role}`, outs: outputsOf(i, st) };
  },

  async read(id: string, props: Record<string, unknown>): Promise<dynamic.ReadResult> {
    const o = withoutProvider(props) as unknown as ReplicationGrantOutputs;
    const label = what(o.role);
    const conn = resolveConnection(o, label);
    const inputs = {
      connection: o.connection,
      connectionString: o.connectionString,
      role: o.role,
      replication: o.replication,
      tables: o.tables,
      schemas: o.schemas,
      createOnDatabase: o.createOnDatabase,
    } as ReplicationGrantInputs;
    let st: GrantState | undefined;
    try {
      st = await readGrants(conn, label, requestOf(inputs), recordOf(o));
    } catch (err) {
      if (isDatabaseGone(err)) return {};
      throw err;
    }
    if (!st) return {};
    return { id, props: outputsOf(inputs, st), inputs: plainJson(inputs) };
  },

  async update(_id: string, olds: Record<string, unknown>, news: Record<string, unknown>): Promise<dynamic.UpdateResult> {
    const o = withoutProvider(olds) as Partial<ReplicationGrantOutputs>;
    const label = what(news.role);
    const i = parseOrThrow(replicationGrantSchema, news, label);
    const conn = resolveConnection(i as { connection?: PostgresConnectionInput; connectionString?: string }, label);
    const st = await applyGrants(conn, label, i.role, requestOf(i), recordOf(o));
    if (!st) throw new CdcError(`${label}: role "${i.role}" no longer exists; create it, or remove this resource`);
    return { outs: outputsOf(i, st) };
  },

  async delete(_id: string, props: Record<string, unknown>): Promise<void> {
    const o = withoutProvider(props) as unknown as ReplicationGrantOutputs;
    const label = what(o.role);
    const conn = resolveConnection(o, label);
    try {
      await applyGrants(conn, label, o.role, null, recordOf(o));
    } catch (err) {
      if (isDatabaseGone(err)) return;
      throw err;
    }
  },
};
