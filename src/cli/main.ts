#!/usr/bin/env node
/**
 * `pulumi-postgres-cdc <command> ...`: operational commands that need no
 * Pulumi program. Each command is one entry of {@link commands}; add a command
 * by adding an entry (name, summary, usage, run).
 *
 * Exit codes: 0 success, 1 the command found problems or could not reach the
 * system, 2 usage error.
 */
import * as fs from "node:fs";
import { CdcError, messageOf, redact } from "../errors";
import { describeTarget } from "../postgres/connection";
import type { ConnectClientOptions } from "../connect/client";
import { requestSnapshot } from "../pipeline/snapshot";
import { pipelineStatus, type PipelineStatus, type PipelineStatusInput } from "../pipeline/status";
import { formatReport, preflight } from "../postgres/preflight";
import { resolveConnection } from "../validation/connection";
import type { PostgresConnection, PostgresConnectionInput } from "../validation/common";

/** Where a command writes; injectable for tests. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  env: Record<string, string | undefined>;
}

export interface Command {
  name: string;
  summary: string;
  usage: string;
  /** Returns the exit code. Throw UsageError for bad arguments. */
  run(args: ParsedArgs, io: Io): Promise<number>;
}

/** A wrong command line: printed with the command's usage, exit code 2. */
export class UsageError extends Error {}

export interface ParsedArgs {
  positional: string[];
  flags: Record<string, string | true>;
}

/**
 * Splits `--name value`, `--name=value` and bare `--switch` (for names listed
 * in `switches`) from positional arguments.
 */
export function parseArgs(argv: string[], switches: readonly string[] = []): ParsedArgs {
  const positional: string[] = [];
  const flags: Record<string, string | true> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--") {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith("--")) {
      positional.push(a);
      continue;
    }
    const eq = a.indexOf("=");
    const name = eq > 0 ? a.slice(2, eq) : a.slice(2);
    if (eq > 0) flags[name] = a.slice(eq + 1);
    else if (switches.includes(name)) flags[name] = true;
    else {
      const v = argv[i + 1];
      if (v === undefined || v.startsWith("--")) throw new UsageError(`--${name} needs a value`);
      flags[name] = v;
      i++;
    }
  }
  return { positional, flags };
}

function flag(args: ParsedArgs, name: string): string | undefined {
  const v = args.flags[name];
  return typeof v === "string" ? v : undefined;
}

function readPem(path: string | undefined, what: string): string | undefined {
  if (!path) return undefined;
  try {
    return fs.readFileSync(path, "utf8");
  } catch (err) {
    throw new UsageError(`cannot read ${what} file ${path}: ${messageOf(err)}`);
  }
}

/**
 * The connection of a command: a connection string (argument, or DATABASE_URL),
 * the password from PGPASSWORD when the string has none (so it stays out of
 * the process list), TLS files from --ssl-root-cert/--ssl-cert/--ssl-key.
 */
export function connectionFromArgs(args: ParsedArgs, io: Io): PostgresConnection {
  const url = args.positional[0] ?? io.env.DATABASE_URL;
  if (!url) throw new UsageError("give a connection string, e.g. postgres://user@host:5432/db?sslmode=require (or set DATABASE_URL)");
  const overrides: Partial<PostgresConnectionInput> = {};
  const sslRootCert = readPem(flag(args, "ssl-root-cert"), "--ssl-root-cert");
  const sslCert = readPem(flag(args, "ssl-cert"), "--ssl-cert");
  const sslKey = readPem(flag(args, "ssl-key"), "--ssl-key");
  if (sslRootCert) overrides.sslRootCert = sslRootCert;
  if (sslCert) overrides.sslCert = sslCert;
  if (sslKey) overrides.sslKey = sslKey;
  const conn = resolveConnection({ connectionString: url, connection: overrides as PostgresConnectionInput }, "connection");
  if (conn.password === undefined && io.env.PGPASSWORD) conn.password = io.env.PGPASSWORD;
  return conn;
}

const preflightCommand: Command = {
  name: "preflight",
  summary: "check that a PostgreSQL database is ready for Debezium CDC, reporting every problem at once",
  usage:
    "preflight <connection string> [--tables a,b.c] [--role name] [--two-phase] [--failover] [--row-filters] [--json]\n" +
    "          [--ssl-root-cert ca.pem] [--ssl-cert client.pem --ssl-key client.key]\n" +
    "  The password may come from PGPASSWORD instead of the connection string.\n" +
    "  --tables: the tables to capture (default: every user table); --role: Debezium's role (default: the connecting user).",
  async run(args, io) {
    const conn = connectionFromArgs(args, io);
    const tables = tablesFlag(args);
    const report = await preflight(conn, {
      tables,
      role: flag(args, "role"),
      wantTwoPhase: args.flags["two-phase"] === true,
      wantFailover: args.flags["failover"] === true,
      wantRowFilters: args.flags["row-filters"] === true,
    });
    if (args.flags.json === true) io.out(JSON.stringify(report, null, 2));
    else io.out(formatReport(report, describeTarget(conn)));
    return report.ok ? 0 : 1;
  },
};

/** The status as text: one line per fact, then the problems. */
export function formatStatus(s: PipelineStatus): string {
  const lines = [
    `pipeline ${s.connectorName} (slot ${s.slotName}): ${s.status}`,
    `  connector:        ${s.connectorState ?? "missing"}`,
    ...s.tasks.map((t) => `  task ${t.id}:           ${t.state} on ${t.workerId}${t.trace ? `\n    ${t.trace.split("\n")[0]}` : ""}`),
    `  slot:             ${s.slotExists ? (s.slotActive ? `active (PID ${s.slotHolder?.pid}, ${s.slotHolder?.applicationName ?? "unknown application"})` : "inactive") : "missing"}`,
    `  retained WAL:     ${s.retainedWalBytes ?? "n/a"} bytes${s.walStatus ? ` (wal_status ${s.walStatus})` : ""}`,
    `  unconfirmed WAL:  ${s.confirmedLagBytes ?? "n/a"} bytes`,
    `  failover slot:    ${s.failover.slotFailover ? "yes" : "no"}`,
    ...(s.failover.physicalSlot
      ? [
          `  standby:          ${s.failover.standbyConnected ? `streaming through "${s.failover.physicalSlot}", ${s.failover.standbyLagBytes ?? "n/a"} bytes behind` : `not streaming through "${s.failover.physicalSlot}"`}`,
          ...(s.failover.standbySlot
            ? [`  standby's slot:   ${s.failover.standbySlot}${s.failover.standbySlotConfirmedFlushLsn ? ` (confirmed ${s.failover.standbySlotConfirmedFlushLsn})` : ""}`]
            : []),
        ]
      : []),
    `  checked at:       ${s.checkedAt}`,
  ];
  for (const p of s.problems) lines.push(`  PROBLEM: ${p}`);
  return lines.join("\n");
}

/** The Kafka Connect options of a command: --connect (required) and --connect-user, secrets from the environment only. */
function connectFromArgs(args: ParsedArgs, io: Io): ConnectClientOptions | undefined {
  const url = flag(args, "connect");
  if (!url) return undefined;
  const headers = io.env.CONNECT_TOKEN ? { Authorization: `Bearer ${io.env.CONNECT_TOKEN}` } : undefined;
  return { url, username: flag(args, "connect-user"), password: io.env.CONNECT_PASSWORD, headers };
}

/** "a, b.c" -> ["a", "b.c"] for --tables. */
function tablesFlag(args: ParsedArgs): string[] | undefined {
  return flag(args, "tables")
    ?.split(",")
    .map((t) => t.trim())
    .filter(Boolean);
}

/** The second usage line and the secrets note that every Connect command shares. */
const CONNECT_USAGE =
  "          [--connect-user u] [--ssl-root-cert ca.pem] [--ssl-cert client.pem --ssl-key client.key]\n" +
  "  Passwords come from PGPASSWORD and CONNECT_PASSWORD (basic auth), or CONNECT_TOKEN (bearer), never from flags.\n";

/** --standby-slot and --standby of the status command; the standby's password defaults to the source's (PGPASSWORD). */
function standbyFromArgs(args: ParsedArgs, source: PostgresConnection): PipelineStatusInput["standby"] {
  const physicalSlot = flag(args, "standby-slot");
  const url = flag(args, "standby");
  if (url && !physicalSlot) throw new UsageError("--standby needs --standby-slot (the physical slot the standby streams from)");
  if (!physicalSlot) return undefined;
  if (!url) return { physicalSlot };
  const connection = resolveConnection({ connectionString: url }, "--standby");
  return { physicalSlot, connection: { ...connection, password: connection.password ?? source.password } };
}

const statusCommand: Command = {
  name: "status",
  summary: "show a pipeline's health: connector and task states, slot holder, retained WAL",
  usage:
    "status <connection string> --connect <url> --connector <name> --slot <name> [--standby-slot <physical slot> [--standby <connection string>]] [--json]\n" +
    CONNECT_USAGE +
    "  --standby-slot: the physical slot of a PostgreSQL 17 standby that keeps a copy of the slot; --standby: that standby, to see its copy.\n" +
    "  Exit code 0 when the pipeline is Running, Paused or Stopped as wanted; 1 when it is Degraded or Missing.",
  async run(args, io) {
    const source = connectionFromArgs(args, io);
    const connect = connectFromArgs(args, io);
    const connectorName = flag(args, "connector");
    const slotName = flag(args, "slot");
    if (!connect || !connectorName || !slotName) throw new UsageError("--connect, --connector and --slot are required");
    const status = await pipelineStatus({
      source,
      connect,
      connectorName,
      slotName,
      standby: standbyFromArgs(args, source),
    });
    if (args.flags.json === true) io.out(JSON.stringify(status, null, 2));
    else io.out(formatStatus(status));
    return status.status === "Degraded" || status.status === "Missing" ? 1 : 0;
  },
};

const snapshotCommand: Command = {
  name: "snapshot",
  summary: "read chosen tables of a running pipeline again (incremental snapshot by signal), streaming goes on",
  usage:
    "snapshot <connection string> --connect <url> --connector <name> --signal-table <schema.table> --tables a,b.c [--wait-seconds 120] [--json]\n" +
    CONNECT_USAGE +
    "  A CdcPipeline's signal table is public.<pipeline name>_signal unless set.\n" +
    "  Exit code 0 once Debezium confirmed, 1 if it did not in time.",
  async run(args, io) {
    const source = connectionFromArgs(args, io);
    const connect = connectFromArgs(args, io);
    const connectorName = flag(args, "connector");
    const signalTable = flag(args, "signal-table");
    const tables = tablesFlag(args);
    if (!connect || !connectorName || !signalTable || !tables?.length) throw new UsageError("--connect, --connector, --signal-table and --tables are required");
    const wait = flag(args, "wait-seconds");
    const waitSeconds = wait === undefined ? 120 : Number(wait);
    if (!Number.isFinite(waitSeconds) || waitSeconds < 0) throw new UsageError("--wait-seconds must be a number of seconds >= 0");
    const result = await requestSnapshot({
      source,
      connect,
      connectorName,
      signalTable,
      tables,
      waitSeconds,
      onProgress: (l) => io.err(l),
    });
    if (args.flags.json === true) io.out(JSON.stringify(result, null, 2));
    else io.out(`signal ${result.signalId}: ${result.progress}`);
    return result.progress === "pending" && waitSeconds > 0 ? 1 : 0;
  },
};

/** The command table. */
export const commands: Record<string, Command> = {
  [preflightCommand.name]: preflightCommand,
  [statusCommand.name]: statusCommand,
  [snapshotCommand.name]: snapshotCommand,
};

/** Boolean flags per command (everything else takes a value). */
const SWITCHES = ["two-phase", "failover", "row-filters", "json", "help"];

function help(): string {
  const lines = ["Usage: pulumi-postgres-cdc <command> [arguments]", "", "Commands:"];
  for (const c of Object.values(commands)) lines.push(`  ${c.name.padEnd(12)} ${c.summary}`);
  lines.push("", "Run `pulumi-postgres-cdc <command> --help` for a command's arguments.");
  return lines.join("\n");
}

/** Runs a command line (without the node and script arguments) and returns the exit code. */
export async function main(argv: string[], io: Io = defaultIo()): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    io.out(help());
    return name ? 0 : 2;
  }
  const command = commands[name];
  if (!command) {
    io.err(`Unknown command "${name}".\n\n${help()}`);
    return 2;
  }
  let secrets: Array<string | undefined> = [];
  try {
    const args = parseArgs(rest, SWITCHES);
    if (args.flags.help === true) {
      io.out(`Usage: pulumi-postgres-cdc ${command.usage}`);
      return 0;
    }
    secrets = [io.env.PGPASSWORD, io.env.CONNECT_PASSWORD, io.env.CONNECT_TOKEN, ...args.positional.map(passwordOf)];
    return await command.run(args, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`${err.message}\n\nUsage: pulumi-postgres-cdc ${command.usage}`);
      return 2;
    }
    const msg = err instanceof CdcError ? err.message : `unexpected error: ${messageOf(err)}`;
    io.err(redact(`${command.name} failed: ${msg}`, secrets));
    return 1;
  }
}

function passwordOf(maybeUrl: string): string | undefined {
  try {
    const u = new URL(maybeUrl);
    return u.password ? decodeURIComponent(u.password) : undefined;
  } catch {
    return undefined;
  }
}

function defaultIo(): Io {
  return {
    out: (t) => process.stdout.write(t + "\n"),
    err: (t) => process.stderr.write(t + "\n"),
    env: process.env,
  };
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`pulumi-postgres-cdc: ${messageOf(err)}\n`);
      process.exitCode = 1;
    },
  );
}
