/**
 * End-to-end fixture for tests that run a Debezium PostgreSQL connector on the
 * Kafka Connect double against a real PostgreSQL server:
 * - {@link setupDebeziumDatabase}: a fresh database with two tables (orders
 *   with REPLICA IDENTITY FULL, items with the default identity), a
 *   publication over both, a login role with REPLICATION and SELECT, and
 *   helpers for slots, configs and cleanup;
 * - {@link startDebeziumDouble}: the Connect double with the Debezium plugin
 *   (plus the built-in no-op source) on short timings;
 * - {@link changeEvents} / {@link waitFor}: reading what the connector produced.
 */
import type { PostgresConnectionInput } from "#dist/validation/common.js";
import { noopSourcePlugin } from "./connect-double/builtin-plugins";
import { DEBEZIUM_POSTGRES_CLASS, debeziumPostgresPlugin, type DebeziumPostgresOptions } from "./connect-double/debezium-postgres";
import { startConnectDouble, type ConnectDouble, type ConnectDoubleOptions } from "./connect-double/server";
import { uniqueName, type PgServer } from "./postgres";

export { DEBEZIUM_POSTGRES_CLASS };

/** Debezium timings shortened for tests (Debezium's own defaults are 10 s). */
export const FAST_DEBEZIUM: DebeziumPostgresOptions = {
  statusUpdateIntervalMs: 200,
  retriableRestartWaitMs: 300,
  slotRetryDelayMs: 100,
  connectTimeoutMs: 5000,
  validationTimeoutMs: 10000,
};

/** Connect double timings shortened for tests. */
export const FAST_CONNECT = { tasksDelayMs: 50, statusWindowMs: 100, pauseDelayMs: 50, restartDelayMs: 50, taskShutdownTimeoutMs: 3000 };

/**
 * Starts the Connect double with the Debezium PostgreSQL plugin (short
 * timings) and the no-op source; `opts.plugins` adds more plugins.
 */
export function startDebeziumDouble(opts: ConnectDoubleOptions = {}, debezium: DebeziumPostgresOptions = FAST_DEBEZIUM): Promise<ConnectDouble> {
  return startConnectDouble({
    ...opts,
    plugins: [debeziumPostgresPlugin(debezium), noopSourcePlugin(), ...(opts.plugins ?? [])],
    timing: { ...FAST_CONNECT, ...opts.timing },
  });
}

/** A slot's row in pg_replication_slots with its holder's application_name. */
export interface SlotRow {
  active: boolean;
  active_pid: number | null;
  application_name: string | null;
  confirmed_flush_lsn: string | null;
}

/** A database prepared for Debezium. */
export interface DebeziumDatabase {
  readonly pg: PgServer;
  readonly db: string;
  /** Login role with REPLICATION and SELECT on the tables. */
  readonly user: string;
  readonly password: string;
  readonly publication: string;
  /** Runs SQL as superuser in the database. */
  query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<R[]>;
  /** Superuser connection to the database (for the provider's streaming check: it sees every backend's application_name). */
  connection(): PostgresConnectionInput;
  /** Creates a pgoutput slot in the database (unique name) and remembers it for {@link dropSlots}. */
  createSlot(prefix?: string): Promise<string>;
  /** Remembers a slot name (e.g. one Debezium creates) for {@link dropSlots}. */
  trackSlot(name: string): string;
  slot(name: string): Promise<SlotRow | undefined>;
  /** Waits until the slot is active (held) or inactive. */
  waitForSlot(name: string, active: boolean, timeoutMs?: number): Promise<SlotRow>;
  /**
   * A Debezium PostgreSQL connector config for this database and a slot:
   * pgoutput, the fixture's publication (autocreate disabled), its role, a
   * unique topic prefix; `overrides` win (a value of undefined removes a key).
   */
  connectorConfig(slot: string, overrides?: Record<string, string | number | boolean | undefined>): Record<string, string | number | boolean>;
  /** Drops every slot created or tracked here that is not active. */
  dropSlots(): Promise<void>;
}

/**
 * Creates a database with tables `orders` (id PK, name, qty; REPLICA IDENTITY
 * FULL; rows 1 and 2) and `items` (id PK, label; row 1), a publication over
 * both, and a role with LOGIN REPLICATION and SELECT on them.
 */
export async function setupDebeziumDatabase(pg: PgServer, prefix = "dbz"): Promise<DebeziumDatabase> {
  const db = await pg.createDatabase(prefix);
  const user = uniqueName(`${prefix}_role`);
  const password = `Dbz-${Math.random().toString(36).slice(2, 12)}-pw`;
  const publication = `${prefix}_pub`;
  await pg.query(`CREATE ROLE ${user} LOGIN REPLICATION PASSWORD '${password}'`);
  await pg.query(
    `CREATE TABLE orders (id int PRIMARY KEY, name text NOT NULL, qty int);
     ALTER TABLE orders REPLICA IDENTITY FULL;
     CREATE TABLE items (id int PRIMARY KEY, label text);
     CREATE PUBLICATION ${publication} FOR TABLE orders, items;
     INSERT INTO orders VALUES (1, 'first', 10), (2, 'second', 20);
     INSERT INTO items VALUES (1, 'one');
     GRANT SELECT ON ALL TABLES IN SCHEMA public TO ${user};`,
    [],
    db,
  );
  const slots = new Set<string>();
  const query = <R = Record<string, unknown>>(sql: string, params?: unknown[]) => pg.query<R>(sql, params, db);
  const slot = async (name: string) =>
    (
      await pg.query<SlotRow>(
        `SELECT s.active, s.active_pid, a.application_name, s.confirmed_flush_lsn::text AS confirmed_flush_lsn
         FROM pg_replication_slots s LEFT JOIN pg_stat_activity a ON a.pid = s.active_pid WHERE s.slot_name = $1`,
        [name],
      )
    )[0];
  return {
    pg,
    db,
    user,
    password,
    publication,
    query,
    connection: () => pg.connection(db),
    async createSlot(p = "dbzslot") {
      const name = uniqueName(p);
      slots.add(name);
      await query("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", [name]);
      return name;
    },
    trackSlot(name) {
      slots.add(name);
      return name;
    },
    slot,
    async waitForSlot(name, active, timeoutMs = 15000) {
      return waitFor(`slot ${name} ${active ? "active" : "inactive"}`, async () => {
        const row = await slot(name);
        return row && row.active === active ? row : undefined;
      }, timeoutMs);
    },
    connectorConfig(slotName, overrides = {}) {
      const config: Record<string, string | number | boolean | undefined> = {
        "connector.class": DEBEZIUM_POSTGRES_CLASS,
        "tasks.max": 1,
        "database.hostname": "127.0.0.1",
        "database.port": pg.port,
        "database.user": user,
        "database.password": password,
        "database.dbname": db,
        "database.sslmode": "disable",
        "topic.prefix": uniqueName("shop"),
        "plugin.name": "pgoutput",
        "slot.name": slotName,
        "publication.name": publication,
        "publication.autocreate.mode": "disabled",
        "table.include.list": "public.orders,public.items",
        ...overrides,
      };
      return Object.fromEntries(Object.entries(config).filter(([, v]) => v !== undefined)) as Record<string, string | number | boolean>;
    },
    async dropSlots() {
      const names = [...slots];
      slots.clear();
      if (!names.length) return;
      // A consumer that just disconnected may hold its slot for a moment longer.
      await waitFor("tracked slots released", async () => {
        const rows = await pg.query("SELECT 1 FROM pg_replication_slots WHERE slot_name = ANY($1) AND active", [names]);
        return rows.length === 0;
      }, 5000).catch(() => undefined);
      await pg.query("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = ANY($1) AND NOT active", [names]);
    },
  };
}

/** A Debezium change event value. */
export interface ChangeEvent {
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  source: Record<string, unknown>;
  op: string;
  ts_ms: number;
}

/** Change events (no tombstones) the double's tasks produced on a topic. */
export function changeEvents(double: ConnectDouble, topic: string): ChangeEvent[] {
  return (double.topics.get(topic) ?? []).filter((r) => r.value !== null).map((r) => r.value as ChangeEvent);
}

/** Polls `fn` every 50 ms until it returns something truthy. */
export async function waitFor<T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 15000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Deletes every connector on the double (REST DELETE, like an operator would). */
export async function deleteAllConnectors(double: ConnectDouble, headers: Record<string, string> = {}): Promise<void> {
  for (const name of double.connectorNames()) {
    await fetch(`${double.url}/connectors/${encodeURIComponent(name)}`, { method: "DELETE", headers });
  }
}
