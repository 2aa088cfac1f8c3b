/**
 * Records the Connect double's version-specific fixtures from a running real
 * Kafka Connect worker with the Debezium PostgreSQL connector installed
 * (e.g. `npm run stack -- up`):
 *
 *   node build/test/support/connect-double/record-fixtures.js http://127.0.0.1:<port>
 *
 * writes, next to this file,
 * - connect-<major.minor>-source-definitions.json: Connect's own keys of a
 *   source connector, in validate order (Common ... offsets.topic);
 * - connect-<major.minor>-builtin-plugins.json: GET /connector-plugins?connectorsOnly=false without the Debezium entry;
 * - debezium-<major.minor>-definitions.json: Debezium's keys in validate order,
 *   with their recommended values; a key validate answers with `value: null`
 *   (Debezium 3.6: internal.legacy.snapshot.max.threads) is marked `noValue`.
 *
 * The validate call uses a config without errors, so every value is the
 * default one. Nothing else of the double reads the worker.
 */
import * as fs from "node:fs";
import * as path from "node:path";

const DEBEZIUM = "io.debezium.connector.postgresql.PostgresConnector";
const CONNECT_GROUPS = new Set(["Common", "Transforms", "Predicates", "Error Handling", "Topic Creation", "Exactly Once Support", "offsets.topic"]);

interface KeyInfo {
  name: string;
  type: string;
  required: boolean;
  default_value: string | null;
  importance: string;
  documentation: string;
  group: string;
  order?: number;
  order_in_group?: number;
  width: string;
  display_name: string;
  dependents: string[];
}

async function get<T>(url: string, init?: RequestInit): Promise<T> {
  const res = await fetch(url, init);
  if (!res.ok) throw new Error(`${init?.method ?? "GET"} ${url}: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

function source(dir: string): string {
  // Compiled to build/test/support/connect-double: write into the source tree.
  const src = path.resolve(dir, "../../../../test/support/connect-double");
  return fs.existsSync(src) ? src : dir;
}

export async function recordFixtures(url: string, outDir = source(__dirname)): Promise<string[]> {
  const root = await get<{ version: string }>(`${url}/`);
  const plugins = await get<Array<{ class: string; type: string; version?: string }>>(`${url}/connector-plugins?connectorsOnly=false`);
  const dbz = plugins.find((p) => p.class === DEBEZIUM);
  if (!dbz?.version) throw new Error(`${url} does not list ${DEBEZIUM}`);
  const mm = (v: string) => v.split(".").slice(0, 2).join(".");
  const config = {
    "connector.class": DEBEZIUM,
    name: "fixture-recorder",
    "topic.prefix": "fixture",
    "database.hostname": "127.0.0.1",
    "database.user": "nobody",
    "database.dbname": "nothing",
    // A field error keeps Debezium from connecting; it is removed from the recorded values below.
    "database.port": "not-a-number",
  };
  const infos = await get<{ configs: Array<{ definition: KeyInfo | null; value: { name: string; recommended_values: string[]; visible: boolean } | null }> }>(
    `${url}/connector-plugins/${DEBEZIUM}/config/validate`,
    { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify(config) },
  );
  const asDefinition = (d: KeyInfo) => ({
    name: d.name,
    type: d.type,
    required: d.required,
    default_value: d.default_value,
    importance: d.importance,
    documentation: d.documentation,
    group: d.group,
    width: d.width,
    display_name: d.display_name,
    dependents: d.dependents,
    order: d.order ?? d.order_in_group ?? -1,
  });
  const connect: unknown[] = [];
  const debezium: unknown[] = [];
  for (const c of infos.configs) {
    if (!c.definition) continue;
    const def = asDefinition(c.definition);
    if (CONNECT_GROUPS.has(c.definition.group)) {
      connect.push({ ...def, echoValue: true, ...(c.value?.recommended_values.length ? { recommended: c.value.recommended_values } : {}) });
    } else {
      debezium.push({ ...def, recommended_values: c.value?.recommended_values ?? [], ...(c.value ? {} : { noValue: true }), ...(c.value && !c.value.visible ? { invisible: true } : {}) });
    }
  }
  const files = {
    [`connect-${mm(root.version)}-source-definitions.json`]: connect,
    [`connect-${mm(root.version)}-builtin-plugins.json`]: plugins.filter((p) => p.type !== "source" && p.type !== "sink"),
    [`debezium-${mm(dbz.version)}-definitions.json`]: debezium,
  };
  const written: string[] = [];
  for (const [name, data] of Object.entries(files)) {
    const file = path.join(outDir, name);
    fs.writeFileSync(file, JSON.stringify(data, null, 2) + "\n");
    written.push(file);
  }
  return written;
}

if (require.main === module) {
  const url = process.argv[2] ?? process.env.CONNECT_URL;
  if (!url) {
    console.error("usage: node record-fixtures.js <connect-url>");
    process.exit(2);
  }
  recordFixtures(url.replace(/\/+$/, "")).then(
    (files) => console.log(files.join("\n")),
    (err: Error) => {
      console.error(err.message);
      process.exit(1);
    },
  );
}
