/**
 * Runs examples/local without Docker: a real PostgreSQL (the example's
 * init/inventory.sql loaded into database `inventory`), a Kafka Connect
 * cluster (the real stack of test/support/stack: Kafka, two Connect workers,
 * Debezium 3.6; or the Connect double, EXAMPLE_CONNECT=double), and the
 * example program itself, unchanged, with its stack config set, through the
 * engine harness. `npm run example:local` prints what the up built, the
 * change events a few writes produce (read from Kafka), and what the destroy
 * removed.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { destroySharedStack, startConnectTarget, type ConnectTarget, type TargetKind } from "./connect-target";
import { Engine } from "./engine";
import { ALL_MAJORS, startPostgres, type PgServer } from "./postgres";

const repoRoot = path.resolve(__dirname, "..", "..", "..");

/** Transpiles an example's TypeScript to CommonJS next to `outDir`, so its `require("pulumi-postgres-cdc")` resolves from there. */
export function transpileExample(example: string, outDir: string): string {
  const ts = require("typescript") as typeof import("typescript");
  const source = fs.readFileSync(path.join(repoRoot, "examples", example, "index.ts"), "utf8");
  const { outputText } = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true } });
  fs.mkdirSync(outDir, { recursive: true });
  const file = path.join(outDir, `${example}.js`);
  fs.writeFileSync(file, outputText);
  return file;
}

export interface LocalExample {
  pg: PgServer;
  connect: ConnectTarget;
  engine: Engine;
  /** Runs `pulumi up` of the example and returns its stack outputs. */
  up(): Promise<Record<string, unknown>>;
  /** Runs SQL in the inventory database. */
  sql(text: string): Promise<unknown[]>;
  close(): Promise<void>;
}

/**
 * Starts PostgreSQL and the Connect double and prepares the example program.
 * `programDir`: where the transpiled program lives (its node_modules decides
 * which copy of the library it uses); default a scratch directory inside the repo's build/.
 */
export async function startLocalExample(opts: { major?: number; programDir?: string; nodeModules?: string; connect?: TargetKind } = {}): Promise<LocalExample> {
  const major = opts.major ?? ALL_MAJORS[ALL_MAJORS.length - 1];
  const pg = await startPostgres({ major });
  await pg.query("CREATE DATABASE inventory");
  await pg.query(fs.readFileSync(path.join(repoRoot, "examples", "local", "init", "inventory.sql"), "utf8"), [], "inventory");
  const connect = await startConnectTarget(opts.connect ?? "double");
  const programDir = opts.programDir ?? fs.mkdtempSync(path.join(repoRoot, "build", "example-"));
  const programFile = transpileExample("local", programDir);
  const engine = new Engine({
    project: "postgres-cdc-local",
    nodeModules: opts.nodeModules,
    config: {
      pgHost: "127.0.0.1",
      pgPort: String(pg.port),
      pgPassword: pg.superPassword,
      debeziumPassword: "debezium",
      workerPgHost: "127.0.0.1",
      workerPgPort: String(pg.port),
      connectUrl: connect.url,
      createTopics: "false",
    },
    secretConfigKeys: ["pgPassword", "debeziumPassword"],
  });
  return {
    pg,
    connect,
    engine,
    async up() {
      const { outputs } = await engine.up(() => {
        delete require.cache[programFile];
        return require(programFile) as Record<string, unknown>;
      });
      return outputs;
    },
    sql: (text) => pg.query(text, [], "inventory"),
    async close() {
      await connect.deleteAllConnectors();
      await connect.close();
      await pg.destroy();
      if (!opts.programDir) fs.rmSync(programDir, { recursive: true, force: true });
    },
  };
}

/** Prints a few change events of each topic (the last three). */
async function printEvents(log: (s?: string) => void, topics: string[], records: (topic: string) => Promise<Array<{ value: unknown }>>): Promise<void> {
  for (const topic of topics) {
    // A topic's reader starts on first use: give the records a moment to arrive.
    let all = await records(topic);
    for (let i = 0; i < 80 && all.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 250));
      all = await records(topic);
    }
    log(`\n-- topic ${topic}: ${all.length} records`);
    for (const r of all.slice(-3)) {
      const v = r.value as { op?: string; before?: unknown; after?: unknown } | null;
      if (v) log(`   op=${v.op} before=${JSON.stringify(v.before)} after=${JSON.stringify(v.after)}`);
    }
  }
}

const WRITES = [
  "INSERT INTO customers (first_name, last_name, email) VALUES ('Ada', 'Lovelace', 'ada@example.com')",
  "UPDATE products SET price = 79.00 WHERE name = 'scooter'",
  "DELETE FROM orders WHERE status = 'draft'",
];

/**
 * The main job: examples/local with the real Pulumi CLI (`pulumi up` and
 * `pulumi destroy` as a user runs them, their output shown as is), embedded
 * PostgreSQL and the real Kafka + Connect + Debezium stack.
 */
async function realDemo(log: (s?: string) => void): Promise<void> {
  const { cliProject, pulumiTools } = await import("./real-engine.js");
  const { sharedStack } = await import("./connect-target.js");
  log("examples/local with the real Pulumi CLI, embedded PostgreSQL 17 and real Kafka + Kafka Connect (2 workers) + Debezium.");
  log("(The first run on a machine fetches the Kafka and Debezium jars with Maven and builds the Pulumi CLI with Go: about 15 minutes; later runs use ~/.cache/pulumi-postgres-cdc.)\n");
  let t = Date.now();
  const tools = await pulumiTools();
  log(`pulumi ${tools.version} ready (${tools.built ? "built" : "cached"}, ${((Date.now() - t) / 1000).toFixed(1)} s)`);
  t = Date.now();
  const pg = await startPostgres({ major: 17 });
  await pg.query("CREATE DATABASE inventory");
  await pg.query(fs.readFileSync(path.join(repoRoot, "examples", "local", "init", "inventory.sql"), "utf8"), [], "inventory");
  const { stack, topics } = await sharedStack();
  log(`PostgreSQL ${pg.major} on 127.0.0.1:${pg.port}; Kafka ${stack.bootstrap}; Connect ${stack.connectUrl} (${((Date.now() - t) / 1000).toFixed(1)} s)\n`);
  const project = await cliProject("local");
  const echo = (text: string) => process.stdout.write(text);
  try {
    for (const [k, v] of Object.entries({ pgHost: "127.0.0.1", pgPort: String(pg.port), workerPgHost: "127.0.0.1", workerPgPort: String(pg.port), connectUrl: stack.connectUrl, createTopics: "false" })) await project.config(k, v);
    await project.config("pgPassword", pg.superPassword, true);
    await project.config("debeziumPassword", "debezium", true);
    log("$ pulumi up --yes");
    await project.pulumi(["up", "--yes", "--skip-plugin-pre-install"], { echo });
    log("\n== writes in PostgreSQL");
    for (const w of WRITES) {
      log(`   ${w}`);
      await pg.query(w, [], "inventory");
    }
    await new Promise((r) => setTimeout(r, 4000));
    const outs = JSON.parse((await project.pulumi(["stack", "output", "--json"])).stdout) as { topics: Record<string, string> };
    await printEvents(log, Object.values(outs.topics), async (topic) => topics.records(topic));
    log("\n$ pulumi destroy --yes");
    await project.pulumi(["destroy", "--yes", "--skip-plugin-pre-install"], { echo });
    const slots = await pg.query("SELECT slot_name FROM pg_replication_slots");
    const left = (await (await fetch(`${stack.connectUrl}/connectors`)).json()) as string[];
    log(`\nreplication slots left: ${slots.length}; connectors left: ${left.length}`);
  } finally {
    project.close();
    await destroySharedStack();
    await pg.destroy();
  }
}

/** Without Go (no Pulumi CLI): the same program through the engine harness, a simulation of the engine. */
async function harnessDemo(log: (s?: string) => void, kind: TargetKind): Promise<void> {
  log(`SIMULATION: the Pulumi CLI is not available here, so the example runs through the engine harness (test/support/engine.ts), not \`pulumi up\`; Kafka Connect: ${kind === "real" ? "the real stack" : "the Connect double"}.\n`);
  const ex = await startLocalExample({ connect: kind });
  try {
    log("== up (engine harness)");
    const outputs = await ex.up();
    log(JSON.stringify(outputs, null, 2));
    log("\n== writes in PostgreSQL");
    for (const w of WRITES) await ex.sql(w);
    await new Promise((r) => setTimeout(r, kind === "real" ? 4000 : 1500));
    await printEvents(log, Object.values(outputs.topics as Record<string, string>), (topic) => ex.connect.records(topic));
    log("\n== destroy (engine harness)");
    const steps = await ex.engine.destroy();
    for (const s of steps) log(`   deleted ${s.key.split("::")[1]}`);
    const slots = await ex.pg.query("SELECT slot_name FROM pg_replication_slots");
    log(`\nreplication slots left: ${slots.length}; connectors left: ${(await ex.connect.connectorNames()).length}`);
  } finally {
    await ex.close();
    await destroySharedStack();
  }
}

function has(cmd: string): boolean {
  const { spawnSync } = require("node:child_process") as typeof import("node:child_process");
  return !spawnSync(cmd, ["version"], { stdio: "ignore" }).error || !spawnSync(cmd, ["-version"], { stdio: "ignore" }).error;
}

async function demo(): Promise<void> {
  const log = (s = "") => process.stdout.write(s + "\n");
  const javaOk = has("java") && (has("mvn") || !!process.env.KAFKA_HOME);
  const kind: TargetKind = process.env.EXAMPLE_CONNECT === "double" || !javaOk ? "double" : "real";
  if (kind === "real" && process.env.EXAMPLE_ENGINE !== "harness" && (has("go") || has("pulumi"))) return realDemo(log);
  return harnessDemo(log, kind);
}

if (require.main === module) {
  demo().then(
    () => process.exit(0),
    (err) => {
      process.stderr.write(`${(err as Error).message}\n`);
      process.exit(1);
    },
  );
}
