/**
 * Config of the Debezium PostgreSQL plugin of the Connect test double:
 * the recorded definitions (debezium-definitions.json, extracted from the
 * real validate response in test/fixtures/connect-transcripts/03-validate.json), field
 * validation in Debezium 2.6's wording, table filters, and the driver
 * connection settings derived from the `database.*` keys.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { ClientConfig } from "pg";
import type { ConnectionOptions } from "node:tls";
import type { ConfigKeyDefinition } from "./plugin";

/** One entry of debezium-definitions.json (a definition plus its recorded recommended values). */
interface RecordedDefinition extends Omit<ConfigKeyDefinition, "recommended" | "echoValue"> {
  recommended_values: string[];
}

function definitionsFile(name: string): string {
  // Compiled code runs from build/test/support/connect-double; tsc does not copy JSON, so fall back to the source tree.
  const candidates = [path.join(__dirname, name), path.resolve(__dirname, "../../../../test/support/connect-double", name)];
  const found = candidates.find((p) => fs.existsSync(p));
  if (!found) throw new Error(`${name} not found (looked in ${candidates.join(", ")})`);
  return found;
}

const cache = new Map<string, ConfigKeyDefinition[]>();
let cached: ConfigKeyDefinition[] | undefined;

/** True for a Debezium version of the 3.x line or later (behaviour measured on 3.6.1 against the real stack). */
export function debeziumAtLeast3(version: string | undefined): boolean {
  return !!version && Number(version.split(".")[0]) >= 3;
}

/**
 * The Debezium-defined keys (groups Postgres, Connector, Events), in the
 * recorded order: 2.6.2 (97 keys, debezium-definitions.json, from the
 * transcripts) or, for 3.x, 3.6.1 (126 keys, debezium-3.6-definitions.json,
 * recorded from the real stack with record-fixtures.ts).
 */
export function debeziumDefinitions(version?: string): ConfigKeyDefinition[] {
  const file = debeziumAtLeast3(version) ? "debezium-3.6-definitions.json" : "debezium-definitions.json";
  let defs = cache.get(file);
  if (!defs) {
    const raw = JSON.parse(fs.readFileSync(definitionsFile(file), "utf8")) as RecordedDefinition[];
    defs = raw.map(({ recommended_values, ...d }) => ({
      ...d,
      dependents: [...d.dependents],
      ...(recommended_values.length > 0 ? { recommended: [...recommended_values] } : {}),
    }));
    cache.set(file, defs);
  }
  if (file === "debezium-definitions.json") cached = defs;
  return defs.map((d) => ({ ...d, dependents: [...d.dependents], ...(d.recommended ? { recommended: [...d.recommended] } : {}) }));
}

/** A config value, or the recorded default when unset (Debezium treats "" like unset for most keys). */
export function setting(config: Readonly<Record<string, string>>, name: string): string | undefined {
  const v = config[name];
  if (v !== undefined && v.trim() !== "") return v.trim();
  debeziumDefinitions();
  return cached?.find((d) => d.name === name)?.default_value ?? undefined;
}

export function intSetting(config: Readonly<Record<string, string>>, name: string, fallback: number): number {
  const v = setting(config, name);
  const n = v === undefined ? NaN : Number(v);
  return Number.isFinite(n) ? n : fallback;
}

export function boolSetting(config: Readonly<Record<string, string>>, name: string): boolean {
  return (setting(config, name) ?? "false").toLowerCase() === "true";
}

const NAME_PATTERN = /^[a-zA-Z0-9_.\-]+$/;
const SLOT_PATTERN = /^[a-z0-9_]{1,63}$/;
const REQUIRED = ["topic.prefix", "database.hostname", "database.user", "database.dbname"];

function invalid(name: string, problem: string): string {
  return `The '${name}' value is invalid: ${problem}`;
}

function isInt(v: string): boolean {
  if (!/^[+-]?\d+$/.test(v)) return false;
  const n = Number(v);
  return n >= -2147483648 && n <= 2147483647;
}

/**
 * Debezium's field validation (Configuration.validate(ALL_FIELDS)), the
 * subset that matters for the tests and the recorded cases. Returns problems
 * per key; the connection check runs only when this is empty.
 */
export function fieldErrors(config: Readonly<Record<string, string>>, defs: ConfigKeyDefinition[] = debeziumDefinitions()): Record<string, string[]> {
  const errors: Record<string, string[]> = {};
  const add = (name: string, problem: string) => (errors[name] ??= []).push(invalid(name, problem));

  for (const name of REQUIRED) {
    const v = config[name];
    if (v === undefined || v.trim() === "") add(name, "A value is required");
  }
  for (const name of ["topic.prefix", "database.hostname"]) {
    const v = config[name];
    if (v !== undefined && v.trim() !== "" && !NAME_PATTERN.test(v)) {
      add(name, `${v} has invalid format (only the underscore, hyphen, dot and alphanumeric characters are allowed)`);
    }
  }
  const slot = config["slot.name"];
  if (slot !== undefined && !SLOT_PATTERN.test(slot)) {
    add("slot.name", "Valid replication slot name must contain only digits, lowercase characters and underscores with length <= 63");
  }

  for (const d of defs) {
    const v = config[d.name];
    if (v === undefined || v.trim() === "") continue;
    const value = v.trim();
    if (d.recommended && !d.recommended.some((r) => r.toLowerCase() === value.toLowerCase())) {
      add(d.name, `Value must be one of ${d.recommended.join(", ")}`);
    } else if (d.type === "INT" && !isInt(value)) {
      add(d.name, "An integer is expected");
      // The recorded non-numeric port gives the message twice (the port field carries the integer check twice).
      if (d.name === "database.port") add(d.name, "An integer is expected");
    } else if ((d.type === "LONG" || d.type === "SHORT") && !/^[+-]?\d+$/.test(value)) {
      add(d.name, "A long value is expected");
    } else if (d.type === "BOOLEAN" && !/^(true|false)$/i.test(value)) {
      add(d.name, "Either 'true' or 'false' is expected");
    }
  }

  for (const kind of ["table", "schema", "column"]) {
    const inc = config[`${kind}.include.list`];
    const exc = config[`${kind}.exclude.list`];
    if (inc?.trim() && exc?.trim()) (errors[`${kind}.exclude.list`] ??= []).push(`"${kind}.include.list" is already specified`);
    for (const name of [`${kind}.include.list`, `${kind}.exclude.list`]) {
      const list = config[name];
      if (!list?.trim()) continue;
      for (const re of splitList(list)) {
        try {
          javaPattern(re);
        } catch (err) {
          add(name, `A comma-separated list of valid regular expressions is expected, but ${(err as Error).message}`);
          break;
        }
      }
    }
  }
  return errors;
}

function splitList(list: string): string[] {
  return list
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/**
 * A Java regex as a JavaScript RegExp matching the whole text (Matcher.matches),
 * case-insensitively when `caseInsensitive` (Pattern.CASE_INSENSITIVE). Java's
 * inline flag groups, which JavaScript before Node 23 cannot parse, are
 * translated: a pattern wrapped in `(?-i:...)` or `(?i:...)`, or starting with
 * `(?i)` / `(?-i)`, sets the case sensitivity; other `(?-i:` / `(?i:` groups
 * become plain groups (exact for `(?-i:` in a case-sensitive pattern).
 */
export function javaRegex(re: string, caseInsensitive: boolean): RegExp {
  let body = re;
  let insensitive = caseInsensitive;
  const wrapped = /^\(\?(-?)i:([\s\S]*)\)$/.exec(body);
  const leading = /^\(\?(-?)i\)([\s\S]*)$/.exec(body);
  if (wrapped && balanced(wrapped[2])) {
    insensitive = wrapped[1] !== "-";
    body = wrapped[2];
  } else if (leading) {
    insensitive = leading[1] !== "-";
    body = leading[2];
  }
  body = body.replace(/\(\?-?i:/g, "(?:");
  return new RegExp(`^(?:${body})$`, insensitive ? "i" : "");
}

/** Parentheses balance in `s` (so a leading `(?-i:` and the final `)` belong together). */
function balanced(s: string): boolean {
  let depth = 0;
  for (let i = 0; i < s.length; i++) {
    if (s[i] === "\\") i++;
    else if (s[i] === "(") depth++;
    else if (s[i] === ")" && --depth < 0) return false;
  }
  return depth === 0;
}

/** A Java regex of an include/exclude list, compiled as Debezium does (Strings.setOfRegex with CASE_INSENSITIVE). */
function javaPattern(re: string): RegExp {
  return javaRegex(re, true);
}

/** The regexes of a list-valued key (include/exclude lists, snapshot.include.collection.list), undefined when unset. */
export function patterns(config: Readonly<Record<string, string>>, name: string): RegExp[] | undefined {
  const list = config[name];
  if (!list?.trim()) return undefined;
  return splitList(list).map(javaPattern);
}

/** Debezium's table filter: schema and table include/exclude lists, built-in schemas ignored. */
export function tableFilter(config: Readonly<Record<string, string>>): (schema: string, table: string) => boolean {
  const tInc = patterns(config, "table.include.list");
  const tExc = patterns(config, "table.exclude.list");
  const sInc = patterns(config, "schema.include.list");
  const sExc = patterns(config, "schema.exclude.list");
  return (schema, table) => {
    if (/^(pg_catalog|information_schema|pg_toast)$/.test(schema) || schema.startsWith("pg_temp")) return false;
    if (sInc && !sInc.some((r) => r.test(schema))) return false;
    if (sExc && sExc.some((r) => r.test(schema))) return false;
    const full = `${schema}.${table}`;
    if (tInc && !tInc.some((r) => r.test(full))) return false;
    if (tExc && tExc.some((r) => r.test(full))) return false;
    return true;
  };
}

/** Where and how to connect, from the `database.*` keys. */
export interface DatabaseTarget {
  host: string;
  port: number;
  user: string;
  password?: string;
  dbname: string;
  /** node-postgres configs to try in order (sslmode prefer: TLS then plain; allow: plain then TLS). */
  attempts: ClientConfig[];
  /** Set when the TLS files cannot be read; connecting then fails with this message (pgjdbc's wording). */
  problem?: string;
}

function readFileSetting(config: Readonly<Record<string, string>>, name: string): string | undefined {
  const p = setting(config, name);
  if (!p) return undefined;
  try {
    return fs.readFileSync(p, "utf8");
  } catch {
    const what = name === "database.sslkey" ? "SSL key" : name === "database.sslrootcert" ? "SSL root certificate" : "SSL certificate";
    throw new Error(`Could not open ${what} file ${p}.`);
  }
}

/** The connection settings of a config; `applicationName` is what pg_stat_activity shows. */
export function databaseTarget(config: Readonly<Record<string, string>>, applicationName: string, connectTimeoutMs: number): DatabaseTarget {
  const host = setting(config, "database.hostname") ?? "localhost";
  const port = intSetting(config, "database.port", 5432);
  const user = setting(config, "database.user") ?? "";
  const password = config["database.password"];
  const dbname = setting(config, "database.dbname") ?? "";
  const mode = (setting(config, "database.sslmode") ?? "prefer").toLowerCase();
  const base: ClientConfig = {
    host,
    port,
    user,
    password: password ?? "",
    database: dbname,
    application_name: applicationName,
    connectionTimeoutMillis: connectTimeoutMs,
    keepAlive: boolSetting(config, "database.tcpKeepAlive"),
  };
  const tls = (): ConnectionOptions => {
    const ssl: ConnectionOptions = { rejectUnauthorized: false };
    const cert = readFileSetting(config, "database.sslcert");
    const key = readFileSetting(config, "database.sslkey");
    if (cert && key) {
      ssl.cert = cert;
      ssl.key = key;
      const pass = config["database.sslpassword"];
      if (pass) ssl.passphrase = pass;
    }
    if (mode === "verify-ca" || mode === "verify-full") {
      ssl.ca = readFileSetting(config, "database.sslrootcert");
      ssl.rejectUnauthorized = true;
      if (mode === "verify-ca") ssl.checkServerIdentity = () => undefined;
      else if (!/^[0-9.]+$|:/.test(host)) ssl.servername = host;
    }
    return ssl;
  };
  let attempts: ClientConfig[] = [base];
  let problem: string | undefined;
  try {
    if (mode === "allow") attempts = [base, { ...base, ssl: tls() }];
    else if (mode === "prefer") attempts = [{ ...base, ssl: tls() }, base];
    else if (mode !== "disable") attempts = [{ ...base, ssl: tls() }];
  } catch (err) {
    problem = (err as Error).message;
  }
  return { host, port, user, password, dbname, attempts, problem };
}
