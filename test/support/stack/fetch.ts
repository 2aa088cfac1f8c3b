/**
 * The jars of the real CDC stack: Apache Kafka (broker and Connect worker) and
 * the Debezium PostgreSQL connector as a Connect plugin directory.
 *
 * Versions have one home, tools/stack/pom.xml. The first call on a machine
 * runs Maven (Maven Central only) once per profile into
 * `~/.cache/pulumi-postgres-cdc/stack/<kafka>-<debezium>-<pom hash>/`; later
 * calls find the finished directories and run nothing. A directory is only
 * used once complete (Maven writes into a scratch directory that is renamed).
 *
 * A developer who already has Kafka points at it instead: `KAFKA_HOME` (its
 * `libs/` is the class path) and `DEBEZIUM_PLUGIN_PATH` (a Connect
 * `plugin.path` holding the Debezium PostgreSQL connector).
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export const repoRoot = path.resolve(__dirname, "..", "..", "..", "..");
export const POM = path.join(repoRoot, "tools", "stack", "pom.xml");

/** The cache root shared by every tool this project fetches or builds. */
export function cacheRoot(): string {
  return process.env.PULUMI_CDC_CACHE ?? path.join(os.homedir(), ".cache", "pulumi-postgres-cdc");
}

export interface StackVersions {
  kafka: string;
  debezium: string;
}

/** The pinned versions, read from the pom's properties. */
export function stackVersions(pom = fs.readFileSync(POM, "utf8")): StackVersions {
  const prop = (name: string) => {
    const m = new RegExp(`<${name.replace(/\./g, "\\.")}>([^<]+)</`).exec(pom);
    if (!m) throw new Error(`${POM} has no <${name}> property`);
    return m[1].trim();
  };
  return { kafka: prop("kafka.version"), debezium: prop("debezium.version") };
}

export interface StackJars {
  /** Directory of jars for the broker's and the workers' class path. */
  kafkaLibs: string;
  /** Connect `plugin.path` (a directory of plugin directories). */
  pluginPath: string;
  versions: StackVersions;
  /** Where they came from: the cache (filled now or before) or the user's KAFKA_HOME / DEBEZIUM_PLUGIN_PATH. */
  source: "cache" | "fetched" | "env";
  /** Seconds spent running Maven (0 when nothing was fetched). */
  fetchSeconds: number;
}

const COMPLETE = ".complete";

function jarsIn(dir: string): number {
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith(".jar")).length : 0;
}

/** Runs one Maven profile of the pom into `out`, atomically. */
function mavenCopy(profile: string, out: string, log: (line: string) => void): void {
  if (fs.existsSync(path.join(out, COMPLETE))) return;
  const scratch = `${out}.tmp-${process.pid}`;
  fs.rmSync(scratch, { recursive: true, force: true });
  log(`fetching ${profile} jars with Maven into ${out}`);
  const r = spawnSync("mvn", ["-B", "-q", "-f", POM, "-P", profile, "dependency:copy-dependencies", `-Dstack.out=${scratch}`], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  if (r.error) throw new Error(`Could not run Maven (${r.error.message}). Install Java 17+ and Maven, or set KAFKA_HOME and DEBEZIUM_PLUGIN_PATH to an existing Kafka and Debezium.`);
  if (r.status !== 0) {
    const tail = `${r.stdout}\n${r.stderr}`.split("\n").filter((l) => /ERROR|Could not/.test(l)).slice(0, 5).join("\n");
    throw new Error(`Maven could not fetch the ${profile} jars (exit ${r.status}):\n${tail}`);
  }
  if (!jarsIn(scratch)) throw new Error(`Maven fetched no jars for ${profile} into ${scratch}`);
  fs.writeFileSync(path.join(scratch, COMPLETE), new Date().toISOString());
  fs.rmSync(out, { recursive: true, force: true });
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.renameSync(scratch, out);
}

/** Ensures the stack's jars exist (fetching them once per machine) and says where they are. */
export function ensureStackJars(log: (line: string) => void = () => undefined): StackJars {
  const pom = fs.readFileSync(POM, "utf8");
  const versions = stackVersions(pom);
  const kafkaHome = process.env.KAFKA_HOME;
  const userPlugins = process.env.DEBEZIUM_PLUGIN_PATH;
  if (kafkaHome && userPlugins) {
    const kafkaLibs = path.join(kafkaHome, "libs");
    if (!jarsIn(kafkaLibs)) throw new Error(`KAFKA_HOME=${kafkaHome} has no jars in libs/: point it at an unpacked Apache Kafka 4.x distribution`);
    if (!fs.existsSync(userPlugins)) throw new Error(`DEBEZIUM_PLUGIN_PATH=${userPlugins} does not exist: point it at a directory holding the Debezium PostgreSQL connector plugin`);
    return { kafkaLibs, pluginPath: userPlugins, versions, source: "env", fetchSeconds: 0 };
  }
  const hash = createHash("sha256").update(pom).digest("hex").slice(0, 10);
  const dir = path.join(cacheRoot(), "stack", `kafka-${versions.kafka}_debezium-${versions.debezium}_${hash}`);
  const kafkaLibs = kafkaHome ? path.join(kafkaHome, "libs") : path.join(dir, "kafka-libs");
  const pluginPath = userPlugins ?? path.join(dir, "plugins");
  const plugin = path.join(pluginPath, "debezium-connector-postgres");
  const started = Date.now();
  let fetched = false;
  if (!kafkaHome && !fs.existsSync(path.join(kafkaLibs, COMPLETE))) {
    mavenCopy("kafka", kafkaLibs, log);
    fetched = true;
  }
  if (!userPlugins && !fs.existsSync(path.join(plugin, COMPLETE))) {
    mavenCopy("debezium-postgres", plugin, log);
    fetched = true;
  }
  const fetchSeconds = fetched ? (Date.now() - started) / 1000 : 0;
  if (fetched) log(`fetched the stack's jars in ${fetchSeconds.toFixed(1)} s`);
  return { kafkaLibs, pluginPath, versions, source: fetched ? "fetched" : "cache", fetchSeconds };
}
