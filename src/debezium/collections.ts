/**
 * How Debezium names and matches tables ("data collections"): pure functions,
 * shared by the generated connector config and the signals sent to a running
 * connector. No I/O, no Pulumi.
 */
import { parseTableName } from "../validation/table-name";

/** Escapes a literal for a Java regular expression (Debezium matches include lists as anchored regexes). */
export function javaRegexLiteral(s: string): string {
  return s.replace(/[\\^$.|?*+()[\]{}]/g, (c) => `\\${c}`);
}

/**
 * The regex that matches exactly one table's "schema.table". Debezium
 * compiles list entries with CASE_INSENSITIVE after trimming them
 * (Strings.setOfRegex, RegExSplitter), so the entry is wrapped in
 * `(?-i:...)`: "public.Orders" does not also match "public.orders", and
 * leading or trailing spaces in a name are kept.
 */
export function collectionRegex(table: string): string {
  const t = parseTableName(table);
  return `(?-i:${javaRegexLiteral(t.schema)}\\.${javaRegexLiteral(t.table)})`;
}

/** A comma-separated Debezium collection list (table.include.list, snapshot.include.collection.list) matching exactly `tables`. */
export function collectionList(tables: readonly string[]): string {
  return tables.map(collectionRegex).join(",");
}

/** The `data` of an `execute-snapshot` signal for an incremental snapshot of exactly `tables`. */
export function snapshotSignalData(tables: readonly string[]): string {
  return JSON.stringify({ "data-collections": tables.map(collectionRegex), type: "incremental" });
}
