/**
 * Comparing connector configs the way Kafka Connect stores them: every value
 * a string, `name` injected by Connect, `__internal.*` keys added by some
 * servers, and secret values masked by hosted Connect APIs. Pure functions.
 */

/** Config values as Connect stores them (strings). */
export function stringifyConfig(config: Readonly<Record<string, string | number | boolean | null | undefined>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(config)) if (v !== undefined && v !== null) out[k] = String(v);
  return out;
}

/**
 * Values servers show instead of a secret: "[hidden]" (validate), "****" and "••••" (hosted Connect APIs).
 *
 * A config-provider reference (`${file:/path:key}`, `${env:VAR}`, `${vault:...}`) is not a mask: Connect
 * stores and returns it as written and resolves it only when it starts the connector and its tasks, so a
 * reference read back is compared like any value and a reference changed to another is a change.
 */
export function isMaskedValue(v: string): boolean {
  return v === "[hidden]" || /^\*{3,}$/.test(v) || /^•{3,}$/.test(v);
}

/** Keys that are not part of the user's configuration. */
export function isServerKey(key: string): boolean {
  return key === "name" || key.startsWith("__internal.");
}

export interface ConfigDifference {
  key: string;
  /** "added" in wanted, "removed" from wanted, or "changed" */
  kind: "added" | "removed" | "changed";
}

/**
 * What differs between the config a connector has (`live`, as Connect returns
 * it) and the config wanted, string by string. Server keys are ignored, and so
 * is a masked live value (it cannot be compared). Secret values are never
 * included in the result. For "would Debezium behave differently", see
 * {@link debeziumConfigDifferences}.
 */
export function configDifferences(live: Readonly<Record<string, string>>, wanted: Readonly<Record<string, string>>): ConfigDifference[] {
  return differencesBy(live, wanted, (_key, a, b) => a !== b);
}

/**
 * The keys of either config (server keys aside, sorted) that `differ` says differ, each with its kind;
 * a live value that is masked is not compared with a wanted one.
 */
function differencesBy(
  live: Readonly<Record<string, string>>,
  wanted: Readonly<Record<string, string>>,
  differ: (key: string, live: string | undefined, wanted: string | undefined) => boolean,
): ConfigDifference[] {
  const out: ConfigDifference[] = [];
  for (const key of [...new Set([...Object.keys(live), ...Object.keys(wanted)])].sort()) {
    if (isServerKey(key)) continue;
    const a = live[key];
    const b = wanted[key];
    if (a !== undefined && b !== undefined && isMaskedValue(a)) continue;
    if (differ(key, a, b)) out.push({ key, kind: a === undefined ? "added" : b === undefined ? "removed" : "changed" });
  }
  return out;
}

/** Human-readable list of differences, e.g. "snapshot.mode (changed), heartbeat.interval.ms (added)". */
export function describeDifferences(diffs: ConfigDifference[]): string {
  return diffs.map((d) => `${d.key} (${d.kind})`).join(", ");
}

/**
 * The config to keep in state after reading a live one: live values, except
 * that masked secrets keep the value we know, so a refresh never shows a
 * masked password as drift.
 */
export function mergeLiveConfig(live: Readonly<Record<string, string>>, known: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(live)) {
    if (isServerKey(k)) continue;
    out[k] = isMaskedValue(v) && known[k] !== undefined ? known[k] : v;
  }
  return out;
}

/** The Debezium PostgreSQL connector class, whose properties {@link DEBEZIUM_POSTGRES_PROPERTIES} describes. */
export const DEBEZIUM_POSTGRES_CLASS = "io.debezium.connector.postgresql.PostgresConnector";

/**
 * How a property's value is read, for deciding whether two spellings mean the same:
 * - `int`: an integer, trimmed (Connect's ConfigDef parses INT and LONG that way): "5432" = " 5432" = "+5432";
 * - `boolean`: "true"/"false", trimmed, any case (ConfigDef BOOLEAN);
 * - `enum`: a Debezium enumerated value, trimmed, any ASCII case (Debezium's `parse(value)` of its modes);
 * - `string`: exactly as written;
 * - `tables` / `schemas`: a Debezium include or exclude list, comma-separated anchored regular expressions
 *   matched case-insensitively against "schema.table" / the schema name (see {@link collectionListTokens}).
 */
export type PropertyKind = "int" | "boolean" | "enum" | "string" | "tables" | "schemas";

/** What {@link debeziumConfigDifferences} knows about a property: how its value is read, and its default when left out. */
export interface KnownProperty {
  kind: PropertyKind;
  /** The value that applies when the key is left out, as Connect would store it written out. Absent: no default (leaving it out differs from any value). */
  default?: string;
}

/**
 * Debezium 3.6 PostgreSQL connector properties (and Connect's `tasks.max`) whose spelling can vary
 * without changing what the connector does: their kind and, where one exists, the default that applies
 * when the key is left out. Defaults are those of the Debezium 3.6 PostgreSQL connector documentation
 * ("Connector properties") and the connector's own ConfigDef as Debezium 3.6.1 returns it from
 * GET /connector-plugins/io.debezium.connector.postgresql.PostgresConnector/config (a unit test checks
 * every entry against that answer). Note the defaults that are not what a pipeline writes:
 * `plugin.name` is decoderbufs (not pgoutput), `publication.autocreate.mode` is all_tables (not
 * disabled), `slot.name` is debezium and `publication.name` is dbz_publication, so leaving any of them
 * out is a real difference from a config that sets them otherwise. Keys not listed are compared as written.
 */
export const DEBEZIUM_POSTGRES_PROPERTIES: Readonly<Record<string, KnownProperty>> = {
  // Kafka Connect (every connector)
  "tasks.max": { kind: "int", default: "1" },
  // Connection
  "database.port": { kind: "int", default: "5432" },
  "database.sslmode": { kind: "enum", default: "prefer" },
  "database.tcpKeepAlive": { kind: "boolean", default: "true" },
  "database.query.timeout.ms": { kind: "int", default: "600000" },
  // Slot and publication
  "plugin.name": { kind: "enum", default: "decoderbufs" },
  "slot.name": { kind: "string", default: "debezium" },
  "slot.drop.on.stop": { kind: "boolean", default: "false" },
  "slot.failover": { kind: "boolean", default: "false" },
  "slot.max.retries": { kind: "int", default: "6" },
  "slot.retry.delay.ms": { kind: "int", default: "10000" },
  "publication.name": { kind: "string", default: "dbz_publication" },
  "publication.autocreate.mode": { kind: "enum", default: "all_tables" },
  "publish.via.partition.root": { kind: "boolean", default: "false" },
  "status.update.interval.ms": { kind: "int", default: "10000" },
  "flush.lsn.source": { kind: "boolean", default: "true" },
  // What is captured
  "table.include.list": { kind: "tables" },
  "table.exclude.list": { kind: "tables" },
  "schema.include.list": { kind: "schemas" },
  "schema.exclude.list": { kind: "schemas" },
  "table.ignore.builtin": { kind: "boolean", default: "true" },
  "snapshot.include.collection.list": { kind: "tables" },
  // Snapshots
  "snapshot.mode": { kind: "enum", default: "initial" },
  "snapshot.isolation.mode": { kind: "enum", default: "serializable" },
  "snapshot.locking.mode": { kind: "enum", default: "none" },
  "snapshot.query.mode": { kind: "enum", default: "select_all" },
  "snapshot.delay.ms": { kind: "int", default: "0" },
  "snapshot.max.threads": { kind: "int", default: "1" },
  "incremental.snapshot.chunk.size": { kind: "int", default: "1024" },
  "incremental.snapshot.watermarking.strategy": { kind: "enum", default: "insert_insert" },
  // Events
  "tombstones.on.delete": { kind: "boolean", default: "true" },
  "decimal.handling.mode": { kind: "enum", default: "precise" },
  "time.precision.mode": { kind: "enum", default: "adaptive" },
  "hstore.handling.mode": { kind: "enum", default: "json" },
  "binary.handling.mode": { kind: "enum", default: "bytes" },
  "interval.handling.mode": { kind: "enum", default: "numeric" },
  "schema.name.adjustment.mode": { kind: "enum", default: "none" },
  "schema.refresh.mode": { kind: "enum", default: "columns_diff" },
  "include.unknown.datatypes": { kind: "boolean", default: "false" },
  "provide.transaction.metadata": { kind: "boolean", default: "false" },
  "unavailable.value.placeholder": { kind: "string", default: "__debezium_unavailable_value" },
  "topic.naming.strategy": { kind: "string", default: "io.debezium.schema.SchemaTopicNamingStrategy" },
  // Heartbeats and signals
  "heartbeat.interval.ms": { kind: "int", default: "0" },
  "heartbeat.topics.prefix": { kind: "string", default: "__debezium-heartbeat" },
  "signal.enabled.channels": { kind: "string", default: "source" },
  "signal.poll.interval.ms": { kind: "int", default: "5000" },
  // Batching and errors
  "max.batch.size": { kind: "int", default: "2048" },
  "max.queue.size": { kind: "int", default: "8192" },
  "poll.interval.ms": { kind: "int", default: "500" },
  "errors.max.retries": { kind: "int", default: "-1" },
  "event.processing.failure.handling.mode": { kind: "enum", default: "fail" },
  "retriable.restart.connector.wait.ms": { kind: "int", default: "10000" },
};

/** Java's String.trim: every character up to U+0020 at either end. */
function javaTrim(s: string): string {
  return s.replace(/^[\u0000-\u0020]+|[\u0000-\u0020]+$/g, "");
}

/** Java's CASE_INSENSITIVE without UNICODE_CASE folds US-ASCII letters only. */
function asciiLower(s: string): string {
  return s.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

/**
 * The entries of a Debezium regex list as Debezium's RegExSplitter cuts it: at every comma not escaped
 * by a backslash, each entry trimmed, empty ones dropped, `\,` turned into a comma.
 */
export function splitCollectionList(list: string): string[] {
  const out: string[] = [];
  let start = 0;
  const push = (end: number) => {
    const part = list.slice(start, end);
    if (part.length) out.push(javaTrim(part).replace(/\\,/g, ","));
  };
  for (let i = 0; i < list.length; i++) {
    if (list[i] === "\\") i++;
    else if (list[i] === ",") {
      push(i);
      start = i + 1;
    }
  }
  push(list.length);
  return out;
}

const REGEX_METACHARACTERS = new Set([..."\\^$.|?*+()[]{}"]);

/**
 * The one name an entry of a regex list matches, when it is a plain name: characters that are not
 * regex syntax, backslash-escaped punctuation (`\.`, `\$`), and unescaped dots only where every name
 * it can meet has a dot. A qualified name has at least `minDots` dots, so an entry with exactly that
 * many dot positions matches only names with a dot in each: `public.orders` (a wildcard) and
 * `public\.orders` match the same tables. Undefined when the entry is any other regex.
 */
function plainName(entry: string, minDots: number): string | undefined {
  let name = "";
  let dots = 0;
  let wildcards = 0;
  for (let i = 0; i < entry.length; i++) {
    const c = entry[i];
    if (c === "\\") {
      const next = entry[i + 1];
      if (next === undefined || /[A-Za-z0-9]/.test(next)) return undefined; // \d, \Q, \1 ... are regex constructs
      name += next;
      if (next === ".") dots++;
      i++;
    } else if (c === ".") {
      name += ".";
      dots++;
      wildcards++;
    } else if (REGEX_METACHARACTERS.has(c)) return undefined;
    else name += c;
  }
  if (wildcards > 0 && dots !== minDots) return undefined;
  return name;
}

/**
 * The tokens a Debezium include/exclude list stands for, one per distinct entry, such that two lists
 * with the same token set select the same names (order, duplicates, whitespace around entries and
 * escaping of plain names do not matter). A plain name becomes "ci:<name in ASCII lower case>" (Debezium
 * matches case-insensitively), a plain name in `(?-i:...)` "cs:<name>", any other regex "re:<entry>",
 * compared exactly. `minDots`: how many dots every matched name has at least (1 for "schema.table").
 */
export function collectionListTokens(list: string, minDots: number): Set<string> {
  const tokens = new Set<string>();
  for (const entry of splitCollectionList(list)) {
    const sensitive = /^\(\?-i:([\s\S]*)\)$/.exec(entry);
    const name = plainName(sensitive ? sensitive[1] : entry, minDots);
    if (name === undefined) tokens.add(`re:${entry}`);
    else tokens.add(sensitive ? `cs:${name}` : `ci:${asciiLower(name)}`);
  }
  return tokens;
}

/** A value in the form two spellings of the same meaning share, for a property of this kind. */
function canonicalValue(kind: PropertyKind, value: string): string {
  switch (kind) {
    case "int": {
      const t = javaTrim(value);
      return /^[+-]?\d+$/.test(t) ? BigInt(t).toString() : value;
    }
    case "boolean": {
      const t = asciiLower(javaTrim(value));
      return t === "true" || t === "false" ? t : value;
    }
    case "enum":
      return asciiLower(javaTrim(value));
    case "tables":
    case "schemas":
      return JSON.stringify([...collectionListTokens(value, kind === "tables" ? 1 : 0)].sort());
    case "string":
      return value;
  }
}

/**
 * What differs between two connector configs in what Debezium would do, by Debezium property name:
 * unlike {@link configDifferences}, an include list with the same tables in another spelling
 * (`public.orders,public.customers` vs `public\.customers, public\.orders`), a default written out or
 * left out (`tasks.max=1`, `snapshot.mode=initial`, `database.port=5432`, ...), and a number or boolean
 * spelled otherwise (" 1", "TRUE") are no difference. Applies to Debezium PostgreSQL connectors (both
 * configs with {@link DEBEZIUM_POSTGRES_CLASS}); any other connector is compared as written.
 * Properties are those of {@link DEBEZIUM_POSTGRES_PROPERTIES}; other keys are compared as written.
 * Server keys and masked live values are ignored as in {@link configDifferences}. Symmetric: swapping
 * the configs swaps "added" and "removed". Never includes a value.
 */
export function debeziumConfigDifferences(live: Readonly<Record<string, string>>, wanted: Readonly<Record<string, string>>): ConfigDifference[] {
  const debezium = live["connector.class"] === DEBEZIUM_POSTGRES_CLASS && wanted["connector.class"] === DEBEZIUM_POSTGRES_CLASS;
  if (!debezium) return configDifferences(live, wanted);
  return differencesBy(live, wanted, (key, a, b) => {
    const known = DEBEZIUM_POSTGRES_PROPERTIES[key];
    const ea = a ?? known?.default;
    const eb = b ?? known?.default;
    if (ea === undefined || eb === undefined) return ea !== eb;
    return known ? canonicalValue(known.kind, ea) !== canonicalValue(known.kind, eb) : ea !== eb;
  });
}
