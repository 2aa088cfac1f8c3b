/**
 * Runs examples/local without Docker or the Pulumi CLI: a real PostgreSQL
 * (the example's init/inventory.sql loaded into database `inventory`), the
 * Kafka Connect double running the Debezium-like task, and the example
 * program itself, unchanged, through the engine harness with its stack
 * config set. `npm run example:local` prints what `pulumi up` would build,
 * the change events a few writes produce, and what `pulumi destroy` removes.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { startDebeziumDouble } from "./debezium-fixture";
import type { ConnectDouble } from "./connect-double/server";
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
  double: ConnectDouble;
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
export async function startLocalExample(opts: { major?: number; programDir?: string; nodeModules?: string } = {}): Promise<LocalExample> {
  const major = opts.major ?? ALL_MAJORS[ALL_MAJORS.length - 1];
  const pg = await startPostgres({ major });
  await pg.query("CREATE DATABASE inventory");
  await pg.query(fs.readFileSync(path.join(repoRoot, "examples", "local", "init", "inventory.sql"), "utf8"), [], "inventory");
  const double = await startDebeziumDouble();
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
      connectUrl: double.url,
      createTopics: "false",
    },
    secretConfigKeys: ["pgPassword", "debeziumPassword"],
  });
  return {
    pg,
    double,
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
      await double.close();
      await pg.destroy();
      if (!opts.programDir) fs.rmSync(programDir, { recursive: true, force: true });
    },
  };
}

async function demo(): Promise<void> {
  const log = (s = "") => process.stdout.write(s + "\n");
  log("examples/local on this machine: PostgreSQL (embedded), a Kafka Connect double with a Debezium-like task, the example program unchanged.\n");
  const ex = await startLocalExample();
  try {
    log("== pulumi up");
    const outputs = await ex.up();
    log(JSON.stringify(outputs, null, 2));
    log("\n== writes in PostgreSQL");
    await ex.sql("INSERT INTO customers (first_name, last_name, email) VALUES ('Ada', 'Lovelace', 'ada@example.com')");
    await ex.sql("UPDATE products SET price = 79.00 WHERE name = 'scooter'");
    await ex.sql("DELETE FROM orders WHERE status = 'draft'");
    await new Promise((r) => setTimeout(r, 1500));
    for (const [topic, records] of ex.double.topics) {
      if (topic.startsWith("__")) continue;
      log(`\n-- topic ${topic}: ${records.length} records`);
      for (const r of records.slice(-3)) {
        const v = r.value as { op?: string; before?: unknown; after?: unknown } | null;
        if (v) log(`   op=${v.op} before=${JSON.stringify(v.before)} after=${JSON.stringify(v.after)}`);
      }
    }
    log("\n== pulumi destroy");
    const steps = await ex.engine.destroy();
    for (const s of steps) log(`   deleted ${s.key.split("::")[1]}`);
    const slots = await ex.pg.query("SELECT slot_name FROM pg_replication_slots");
    log(`\nreplication slots left: ${slots.length}; connectors left: ${ex.double.connectorNames().length}`);
  } finally {
    await ex.close();
  }
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
