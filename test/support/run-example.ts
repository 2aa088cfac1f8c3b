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

async function demo(): Promise<void> {
  const log = (s = "") => process.stdout.write(s + "\n");
  const kind: TargetKind = process.env.EXAMPLE_CONNECT === "double" ? "double" : "real";
  log(
    kind === "real"
      ? "examples/local on this machine: PostgreSQL (embedded), real Kafka + Kafka Connect (2 workers) + Debezium, the example program unchanged (engine harness).\n"
      : "examples/local on this machine: PostgreSQL (embedded), the Kafka Connect double with a Debezium-like task, the example program unchanged (engine harness).\n",
  );
  const ex = await startLocalExample({ connect: kind });
  try {
    log("== pulumi up");
    const outputs = await ex.up();
    log(JSON.stringify(outputs, null, 2));
    log("\n== writes in PostgreSQL");
    await ex.sql("INSERT INTO customers (first_name, last_name, email) VALUES ('Ada', 'Lovelace', 'ada@example.com')");
    await ex.sql("UPDATE products SET price = 79.00 WHERE name = 'scooter'");
    await ex.sql("DELETE FROM orders WHERE status = 'draft'");
    await new Promise((r) => setTimeout(r, kind === "real" ? 4000 : 1500));
    for (const topic of Object.values(outputs.topics as Record<string, string>)) {
      const records = await ex.connect.records(topic);
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
    log(`\nreplication slots left: ${slots.length}; connectors left: ${(await ex.connect.connectorNames()).length}`);
  } finally {
    await ex.close();
    await destroySharedStack();
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
