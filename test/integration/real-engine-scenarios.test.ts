/**
 * More programs under the real Pulumi CLI, against embedded PostgreSQL 17 and
 * the real Kafka + Connect + Debezium stack:
 *  - a failed create (the connector's password is wrong): the error names the
 *    object and the fix, nothing is left half-made that blocks the next run,
 *    and after fixing the config `pulumi up` converges;
 *  - preview of a program whose source host is the output of another resource,
 *    unknown until that resource is created; up then creates everything;
 *  - examples/managed-status with its `npm run status` script (which reads the
 *    stack through the Automation API, i.e. the CLI);
 *  - examples/building-blocks (the five resources composed by hand);
 *  - examples/neon-confluent previewed against stand-ins (the embedded server
 *    as Neon through a secret connection string, the real workers behind a
 *    proxy that serves them under Confluent Cloud's path prefix): the checks
 *    run on both, nothing is written;
 *  - the repository's own Pulumi.yaml, run at the repository root where the
 *    library is the package itself, not a dependency in node_modules.
 * Every step's CLI output and `pulumi stack export` are scanned for the passwords.
 */
import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { connectTargets, sharedStack } from "../support/connect-target";
import { startPostgres, type PgServer } from "../support/postgres";
import { cliProject, pulumiTools, type CliProject, type CliResult } from "../support/real-engine";
import type { KafkaStack } from "../support/stack/stack";
import { pulumiEnv } from "../support/tools/pulumi-cli";

const repoRoot = path.resolve(__dirname, "..", "..", "..");
const DBZ_PASSWORD = "Debezium-scenario-pw-8830";
const WRONG_PASSWORD = "Not-the-password-4417";
const enabled = connectTargets().includes("real") && process.env.REAL_ENGINE !== "off";
const UP = ["up", "--yes", "--skip-plugin-pre-install"];
const DESTROY = ["destroy", "--yes", "--skip-plugin-pre-install"];

/** A program whose source host is an output of another resource, known only once that resource exists. */
const UNKNOWN_HOST_PROGRAM = `
import * as pulumi from "@pulumi/pulumi";
import { CdcPipeline } from "pulumi-postgres-cdc";

const config = new pulumi.Config();

// Stands for a database server whose address the cloud assigns on create.
const addressProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: { assigned: string }) {
    return { id: "address", outs: { assigned: inputs.assigned, host: inputs.assigned } };
  },
};
class ServerAddress extends pulumi.dynamic.Resource {
  declare readonly host: pulumi.Output<string>;
  constructor(name: string, assigned: string) {
    super(addressProvider, name, { assigned, host: undefined }, {});
  }
}
const server = new ServerAddress("db-address", config.require("pgHost"));

const pipeline = new CdcPipeline("later", {
  source: {
    host: server.host,
    port: config.requireNumber("pgPort"),
    database: "inventory",
    user: "postgres",
    password: config.requireSecret("pgPassword"),
    sslMode: "disable",
  },
  connectorSource: { host: server.host, user: "debezium", password: config.requireSecret("debeziumPassword") },
  connect: { url: config.require("connectUrl") },
  tables: ["public.products"],
  topicPrefix: "later",
});

export const connectorName = pipeline.connectorName;
export const connectorState = pipeline.connectorState;
export const host = server.host;
`;

(enabled ? describe : describe.skip)("more programs under the real Pulumi CLI and the real stack (PostgreSQL 17) @pg @real @engine", function () {
  this.timeout(900000);
  let pg: PgServer;
  let stack: KafkaStack;
  const projects: CliProject[] = [];
  const secrets = () => [pg.superPassword, DBZ_PASSWORD, WRONG_PASSWORD];

  const connectors = async () => (await (await fetch(`${stack.connectUrl}/connectors`)).json()) as string[];
  const slots = async () => (await pg.query<{ slot_name: string }>("SELECT slot_name FROM pg_replication_slots ORDER BY 1")).map((r) => r.slot_name);
  const publications = async () => (await pg.query<{ pubname: string }>("SELECT pubname FROM pg_publication ORDER BY 1", [], "inventory")).map((r) => r.pubname);

  function assertNoPlainSecrets(step: string, results: CliResult[]): void {
    for (const s of secrets()) {
      for (const r of results) assert.ok(!r.stdout.includes(s) && !r.stderr.includes(s), `${step}: a password is in the output of ${r.args.join(" ")}`);
    }
  }

  async function project(example: string, files?: Record<string, string>): Promise<CliProject> {
    // Type-checked by `npm run typecheck` (examples) and examples/local's own run in real-engine.test.ts.
    const p = await cliProject(example, { files, transpileOnly: true });
    projects.push(p);
    await p.config("pgHost", "127.0.0.1");
    await p.config("pgPort", String(pg.port));
    await p.config("connectUrl", stack.connectUrl);
    await p.config("pgPassword", pg.superPassword, true);
    return p;
  }

  /** Destroys, checks that nothing is left on either side, and scans everything the project printed and its state. */
  async function destroyAndAudit(p: CliProject, step: string): Promise<void> {
    await p.pulumi(["stack", "export", "--show-secrets=false"]);
    await p.pulumi(DESTROY);
    assert.deepEqual(await connectors(), []);
    assert.deepEqual(await slots(), []);
    assert.deepEqual(await publications(), []);
    assertNoPlainSecrets(step, p.history);
  }

  before(async () => {
    pg = await startPostgres({ major: 17 });
    await pg.query("CREATE DATABASE inventory");
    const init = fs.readFileSync(path.join(repoRoot, "examples", "local", "init", "inventory.sql"), "utf8").replace(/'debezium'/g, `'${DBZ_PASSWORD}'`);
    await pg.query(init, [], "inventory");
    ({ stack } = await sharedStack());
  });

  after(async () => {
    for (const p of projects) {
      await p.pulumi(DESTROY, { allowFailure: true }).catch(() => undefined);
      p.close();
    }
    await pg?.destroy();
  });

  it("a failed create (wrong connector password) names the connector and the fix; after the fix, up converges", async () => {
    const p = await project("local");
    await p.config("workerPgHost", "127.0.0.1");
    await p.config("workerPgPort", String(pg.port));
    await p.config("createTopics", "false");
    await p.config("debeziumPassword", WRONG_PASSWORD, true);
    const failed = await p.pulumi(UP, { allowFailure: true });
    const text = `${failed.stdout}\n${failed.stderr}`;
    assert.notEqual(failed.status, 0, text);
    assert.match(text, /DebeziumConnector "inventory"/, text);
    assert.match(text, /password authentication failed for user "debezium"/, text);
    assert.match(text, /Fix these properties/, text);
    assert.deepEqual(await connectors(), [], "no connector was created");

    await p.config("debeziumPassword", DBZ_PASSWORD, true);
    const fixed = await p.pulumi(UP);
    assert.match(fixed.stdout, /created/, fixed.stdout);
    const outs = JSON.parse((await p.pulumi(["stack", "output", "--json"])).stdout) as Record<string, unknown>;
    assert.equal(outs.connectorState, "RUNNING");
    assert.deepEqual(await connectors(), ["inventory"]);
    const again = await p.pulumi(UP);
    assert.doesNotMatch(again.stdout, /[+~-] \d+ (created|updated|deleted|replaced)/, again.stdout);
    await destroyAndAudit(p, "failed create, then fixed");
  });

  it("preview of a program whose source host is unknown until another resource exists says what it will create; up creates it all", async () => {
    const p = await project("local", { "index.ts": UNKNOWN_HOST_PROGRAM });
    await p.config("debeziumPassword", DBZ_PASSWORD, true);
    const preview = await p.pulumi(["preview", "--skip-plugin-pre-install"]);
    assert.match(preview.stdout, /\+\s+\S+\s+db-address\s+create/, preview.stdout);
    for (const child of ["later-grant", "later-publication", "later-slot", "later-connector"]) assert.match(preview.stdout, new RegExp(`\\+\\s+\\S+\\s+${child}\\s+create`), preview.stdout);
    assert.deepEqual(await connectors(), [], "preview touched nothing");
    assert.deepEqual(await slots(), []);

    await p.pulumi(UP);
    const outs = JSON.parse((await p.pulumi(["stack", "output", "--json"])).stdout) as Record<string, unknown>;
    assert.equal(outs.host, "127.0.0.1");
    assert.equal(outs.connectorState, "RUNNING");
    assert.deepEqual(await connectors(), [outs.connectorName]);
    await destroyAndAudit(p, "unknown host");
  });

  it("examples/managed-status: up, then its status script reports Running (exit 0) from the stack's config and outputs; destroy", async () => {
    const p = await project("managed-status");
    await p.config("pgDatabase", "inventory");
    await p.config("pgUser", "postgres");
    await p.config("pgSslMode", "disable");
    const up = await p.pulumi(UP);
    assert.match(up.stdout, /created/, up.stdout);
    const outs = JSON.parse((await p.pulumi(["stack", "output", "--json"])).stdout) as Record<string, unknown>;
    assert.equal(outs.connectorState, "RUNNING");
    const tsNode = path.join(repoRoot, "node_modules", "ts-node", "dist", "bin.js");
    const status = await p.node([tsNode, "status.ts"], { allowFailure: true });
    assert.equal(status.status, 0, `${status.stdout}\n${status.stderr}`);
    assert.match(status.stdout, /Running/, status.stdout);
    assert.match(status.stdout, new RegExp(String(outs.connectorName)), status.stdout);
    await destroyAndAudit(p, "managed-status");
  });

  it("examples/building-blocks: the five resources composed by hand come up streaming and go away in reverse order", async () => {
    const p = await project("building-blocks");
    await p.config("workerPgHost", "127.0.0.1");
    await p.config("workerPgPort", String(pg.port));
    await p.config("debeziumPassword", DBZ_PASSWORD, true);
    await p.pulumi(UP);
    const outs = JSON.parse((await p.pulumi(["stack", "output", "--json"])).stdout) as Record<string, unknown>;
    assert.equal(outs.connectorState, "RUNNING");
    assert.deepEqual(await connectors(), ["shop-orders"]);
    assert.deepEqual(await slots(), ["shop_orders"]);
    const filter = await pg.query<{ rowfilter: string | null }>("SELECT rowfilter FROM pg_publication_tables WHERE pubname = 'shop_orders' AND tablename = 'orders'", [], "inventory");
    assert.match(filter[0]?.rowfilter ?? "", /draft/);
    await destroyAndAudit(p, "building-blocks");
  });

  it("examples/neon-confluent: preview against stand-ins (embedded PostgreSQL as Neon through its connection string, Connect under Confluent's path prefix) runs the checks on the database and lists the creates; nothing is written", async () => {
    // Neon and Confluent Cloud cannot run here; their parts that preview exercises can: the secret connection
    // string (parsed, connected to, preflight run on it) and the Connect URL under Confluent Cloud's path prefix.
    const p = await cliProject("neon-confluent", { transpileOnly: true });
    projects.push(p);
    const url = `postgres://postgres:${encodeURIComponent(pg.superPassword)}@127.0.0.1:${pg.port}/inventory?sslmode=disable`;
    // Confluent Cloud serves the Connect API under /connect/v1/environments/<env>/clusters/<cluster>: a stand-in
    // that strips that prefix in front of the real workers (and answers 404 elsewhere, as Confluent does).
    const prefix = "/connect/v1/environments/env-standin/clusters/lkc-standin";
    const upstream = new URL(stack.connectUrl);
    const served: string[] = [];
    const standIn = http.createServer((req, res) => {
      if (!req.url?.startsWith(`${prefix}/`)) {
        res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ error_code: 404, message: "Not Found" }));
        return;
      }
      served.push(`${req.method} ${req.url.slice(prefix.length)}`);
      const out = http.request({ host: upstream.hostname, port: upstream.port, path: req.url.slice(prefix.length), method: req.method, headers: { ...req.headers, host: upstream.host } }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      });
      out.on("error", () => req.socket.destroy());
      req.pipe(out);
    });
    await new Promise<void>((r) => standIn.listen(0, "127.0.0.1", r));
    try {
      await p.config("neonConnectionString", url, true);
      await p.config("confluentApiUrl", `http://127.0.0.1:${(standIn.address() as AddressInfo).port}`);
      await p.config("confluentEnvironmentId", "env-standin");
      await p.config("confluentClusterId", "lkc-standin");
      await p.config("confluentCloudApiKey", "STANDINKEY");
      await p.config("confluentCloudApiSecret", WRONG_PASSWORD, true);
      await p.config("kafkaApiKey", "STANDINKAFKAKEY");
      await p.config("kafkaApiSecret", DBZ_PASSWORD, true);
      await p.config("tables", JSON.stringify(["public.customers"]));
      const r = await p.pulumi(["preview", "--skip-plugin-pre-install"]);
      const out = r.stdout + r.stderr;
      for (const name of ["neon-users-publication", "neon-users-slot", "neon-users-connector"]) assert.match(r.stdout, new RegExp(`\\+\\s+\\S+\\s+${name}\\s+create`), r.stdout);
      // The gate ran on the stand-in database (its warnings are printed) instead of being skipped.
      assert.match(out, /CdcPipeline "neon-users": warning: /, out);
      assert.doesNotMatch(out, /checks skipped in preview/, out);
      // ... and asked the workers, through the path prefix, whether the connector exists; preview only reads.
      assert.ok(served.some((r) => r.startsWith("GET /connectors/PostgresCdcSourceConnector_0")), served.join("\n"));
      assert.ok(served.every((r) => r.startsWith("GET ")), served.join("\n"));
      assert.deepEqual(await connectors(), []);
      assert.deepEqual(await slots(), []);
      assert.deepEqual(await publications(), []);
      assertNoPlainSecrets("neon-confluent preview", p.history);
      assert.ok(!p.history.some((h) => h.stdout.includes(url) || h.stderr.includes(url)), "the connection string is not printed");
    } finally {
      standIn.closeAllConnections();
      await new Promise<void>((r) => standIn.close(() => r()));
    }
  });

  it("the repository's own Pulumi.yaml: preview, up and destroy at the repository root, the library resolved as the package itself", async () => {
    const tools = await pulumiTools();
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "cdc-root-"));
    const env = pulumiEnv(tools.binDir, path.join(work, "backend"));
    const configFile = path.join(work, "Pulumi.root.yaml");
    const history: CliResult[] = [];
    const run = (args: string[], allowFailure = false) =>
      new Promise<CliResult>((resolve, reject) => {
        const started = Date.now();
        const child = spawn(tools.pulumi, [...args, "--non-interactive"], { cwd: repoRoot, env, stdio: ["ignore", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d: Buffer) => (stdout += d));
        child.stderr.on("data", (d: Buffer) => (stderr += d));
        child.on("error", reject);
        child.on("close", (status) => {
          const r = { args, status, stdout, stderr, seconds: (Date.now() - started) / 1000 };
          history.push(r);
          if (status !== 0 && !allowFailure) reject(new Error(`pulumi ${args.join(" ")} exited ${status}:\n${stdout}\n${stderr}`));
          else resolve(r);
        });
      });
    // The stack's config lives outside the checkout (--config-file), so the run leaves the repository as it was.
    const cfg = (key: string, value: string, secret = false) => run(["config", "set", "--config-file", configFile, ...(secret ? ["--secret"] : []), key, value]);
    try {
      await run(["login", env.PULUMI_BACKEND_URL]);
      await run(["stack", "init", "root"]);
      await cfg("pgHost", "127.0.0.1");
      await cfg("pgPort", String(pg.port));
      await cfg("workerPgHost", "127.0.0.1");
      await cfg("workerPgPort", String(pg.port));
      await cfg("connectUrl", stack.connectUrl);
      await cfg("createTopics", "false");
      await cfg("pgPassword", pg.superPassword, true);
      await cfg("debeziumPassword", DBZ_PASSWORD, true);
      const preview = await run(["preview", "--config-file", configFile, "--skip-plugin-pre-install"]);
      assert.match(preview.stdout, /inventory-connector\s+create/, preview.stdout);
      await run(["up", "--config-file", configFile, ...UP.slice(1)]);
      assert.deepEqual(await connectors(), ["inventory"]);
      await run(["destroy", "--config-file", configFile, ...DESTROY.slice(1)]);
      assert.deepEqual(await connectors(), []);
      assert.deepEqual(await slots(), []);
      assertNoPlainSecrets("repository root", history);
    } finally {
      await run(["destroy", "--config-file", configFile, ...DESTROY.slice(1)], true).catch(() => undefined);
      await run(["stack", "rm", "--yes", "--force", "root"], true).catch(() => undefined);
      fs.rmSync(work, { recursive: true, force: true });
    }
  });
});
