/**
 * Dynamic provider of SignalTable: the table Debezium reads signals from
 * (src/postgres/signals.ts). Thin: validate, call, return plain JSON.
 */
import type * as dynamic from "@pulumi/pulumi/dynamic";
import { isDatabaseGone, withSession } from "../postgres/connection";
import { dropSignalTable, ensureSignalTable, readSignalTable, type SignalTableRecord } from "../postgres/signals";
import { containsUnknown } from "../validation/common";
import { signalTableSchema, type SignalTableInputs } from "../validation/signal-table";
import { targetDatabase } from "../validation/target";
import { checkWith, parseOrThrow, plainJson, sameJson, withoutProvider } from "./common";
import { type ConnectionProps, resolveConnection } from "../validation/connection";

const KIND = "SignalTable";

/** Outputs of a SignalTable, as stored in state. */
export interface SignalTableOutputs extends SignalTableRecord {
  connection?: Record<string, unknown>;
  connectionString?: string;
  /** "schema.table". */
  table: string;
  role: string;
  /** The database the table lives in. */
  database: string;
  /** Privileges the role lacks on the table, as last read by refresh (the next up grants them again). */
  missing?: string[];
}

function what(table: string): string {
  return `${KIND} "${table}"`;
}

async function ensure(i: SignalTableInputs): Promise<SignalTableOutputs> {
  const conn = resolveConnection(i as ConnectionProps, KIND);
  const record = await withSession(conn, what(i.table), (s) => ensureSignalTable(s, { table: i.table, role: i.role }, what(i.table)));
  return plainJson({ connection: i.connection, connectionString: i.connectionString, table: i.table, role: i.role, database: conn.database, ...record });
}

export const provider = {
  async check(_olds: Record<string, unknown>, news: Record<string, unknown>): Promise<dynamic.CheckResult> {
    const result = checkWith(signalTableSchema, news, KIND);
    if (result.failures || containsUnknown(withoutProvider(news))) return result;
    try {
      resolveConnection(result.inputs as ConnectionProps, KIND);
    } catch (err) {
      return { failures: [{ property: news.connectionString !== undefined ? "connectionString" : "connection", reason: (err as Error).message }] };
    }
    return result;
  },

  async diff(_id: string, olds: SignalTableOutputs, news: Record<string, unknown>): Promise<dynamic.DiffResult> {
    const n = withoutProvider(news) as Record<string, unknown>;
    if (containsUnknown(n)) return { changes: true, replaces: n.table !== olds.table ? ["table"] : [], deleteBeforeReplace: true };
    const replaces: string[] = [];
    if (n.table !== olds.table) replaces.push("table");
    // Another database is another table; another host or port is the same database reached elsewhere (a
    // promoted standby after a failover, a new address): updated in place, like the pipeline's other resources.
    const after = targetDatabase(n as { connection?: { database?: unknown }; connectionString?: unknown });
    if (after !== undefined && after !== olds.database) replaces.push(n.connectionString !== undefined ? "connectionString" : "connection");
    const connectionChanged = !sameJson(olds.connection, n.connection) || !sameJson(olds.connectionString, n.connectionString);
    const changes = replaces.length > 0 || connectionChanged || n.role !== olds.role || !!olds.missing?.length;
    return { changes, replaces, deleteBeforeReplace: true };
  },

  async create(inputs: Record<string, unknown>): Promise<dynamic.CreateResult> {
    const i = parseOrThrow(signalTableSchema, inputs, KIND);
    const outs = await ensure(i);
    return { id: `${outs.database}/${outs.table}`, outs };
  },

  async update(_id: string, olds: SignalTableOutputs, news: Record<string, unknown>): Promise<dynamic.UpdateResult> {
    const i = parseOrThrow(signalTableSchema, news, KIND);
    if (i.role !== olds.role) {
      // The old role loses what this resource gave it (a created table stays: it holds the signals).
      const conn = resolveConnection(olds as ConnectionProps, KIND);
      await withSession(conn, what(olds.table), (s) => dropSignalTable(s, { table: olds.table, role: olds.role }, { created: false, granted: olds.created ? ["SELECT", "INSERT", "DELETE", ...olds.granted] : olds.granted }));
    }
    const outs = await ensure(i);
    // A table created by this resource stays this resource's, whatever the second ensure found.
    return { outs: { ...outs, created: olds.created || outs.created, granted: olds.created ? outs.granted : [...new Set([...olds.granted, ...outs.granted])] } };
  },

  async read(id: string, props: SignalTableOutputs): Promise<dynamic.ReadResult> {
    const conn = resolveConnection(props as ConnectionProps, KIND);
    const live = await withSession(conn, what(props.table), (s) => readSignalTable(s, { table: props.table, role: props.role }));
    if (!live.exists) return {};
    const { created: _c, granted: _g, database: _d, missing: _m, ...inputs } = props;
    return { id, props: plainJson({ ...props, missing: live.missing }), inputs: plainJson(inputs) };
  },

  async delete(_id: string, props: SignalTableOutputs): Promise<void> {
    const conn = resolveConnection(props as ConnectionProps, KIND);
    try {
      await withSession(conn, what(props.table), (s) => dropSignalTable(s, { table: props.table, role: props.role }, props));
    } catch (err) {
      if (isDatabaseGone(err)) return; // the database is gone, and the table with it
      throw err;
    }
  },
};
