/**
 * examples/local under the real Pulumi engine: the Pulumi CLI (built from
 * source by test/support/tools) runs the example from a project that
 * installed the packed package, against embedded PostgreSQL and the real
 * Kafka + Connect + Debezium stack, exactly as a user runs it:
 * stack init, config set --secret, preview, up, a second up, a change of
 * tables (preview --diff, up), drift then refresh, destroy. After every step
 * `pulumi stack export` and everything the CLI printed are scanned for the
 * passwords. Change events are read from the real topics.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { connectTargets, sharedStack } from "../support/connect-target";
import { startPostgres, type PgServer } from "../support/postgres";
import { cliProject, type CliProject } from "../support/real-engine";
import type { KafkaStack } from "../support/stack/stack";
import type { TopicReader } from "../support/stack/topics";

const repoRoot = path.resolve(__dirname, "..", "..", "..");
const DBZ_PASSWORD = "Debezium-engine-pw-5521";
const enabled = connectTargets().includes("real") && process.env.REAL_ENGINE !== "off";

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** PIDs of every process below `pid` (children, their children, ...), read from /proc. */
function descendants(pid: number): number[] {
  const parent = new Map<number, number>();
  for (const d of fs.readdirSync("/proc").filter((x) => /^\d+$/.test(x))) {
    try {
      // /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may hold spaces or parentheses.
      const stat = fs.readFileSync(`/proc/${d}/stat`, "utf8");
      parent.set(Number(d), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {
      /* gone meanwhile */
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const [child, pp] of parent) if (pp === p) out.push(child), walk(child);
  };
  walk(pid);
  return out;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

(enabled ? describe : describe.skip)("examples/local under the real Pulumi CLI and the real stack (PostgreSQL 17) @pg @real @engine", function () {
  this.timeout(900000);
  let pg: PgServer;
  let stack: KafkaStack;
  let topics: TopicReader;
  let project: CliProject;
  const secrets = () => [pg.superPassword, DBZ_PASSWORD];

  /** Nothing the CLI printed and nothing in the exported state contains a password in plain text. */
  async function assertNoPlainSecrets(step: string): Promise<void> {
    const exported = await project.pulumi(["stack", "export", "--show-secrets=false"]);
    for (const s of secrets()) {
      assert.ok(!exported.stdout.includes(s), `${step}: a password is in plain text in pulumi stack export`);
      for (const r of project.history) assert.ok(!r.stdout.includes(s) && !r.stderr.includes(s), `${step}: a password is in the output of pulumi ${r.args.join(" ")}`);
    }
  }

  const connectors = async () => (await (await fetch(`${stack.connectUrl}/connectors`)).json()) as string[];
  const sql = <R = Record<string, unknown>>(text: string, params: unknown[] = []) => pg.query<R>(text, params, "inventory");

  before(async () => {
    pg = await startPostgres({ major: 17 });
    await pg.query("CREATE DATABASE inventory");
    const init = fs.readFileSync(path.join(repoRoot, "examples", "local", "init", "inventory.sql"), "utf8").replace(/'debezium'/g, `'${DBZ_PASSWORD}'`);
    await sql(init);
    ({ stack, topics } = await sharedStack());
    project = await cliProject("local");
    await project.config("pgHost", "127.0.0.1");
    await project.config("pgPort", String(pg.port));
    await project.config("workerPgHost", "127.0.0.1");
    await project.config("workerPgPort", String(pg.port));
    await project.config("connectUrl", stack.connectUrl);
    await project.config("createTopics", "false");
    await project.config("pgPassword", pg.superPassword, true);
    await project.config("debeziumPassword", DBZ_PASSWORD, true);
  });

  after(async () => {
    if (project && process.env.KEEP_ENGINE_PROJECT !== "1") {
      await project.pulumi(["destroy", "--yes", "--skip-plugin-pre-install"], { allowFailure: true }).catch(() => undefined);
      project.close();
    }
    await pg?.destroy();
  });

  it("preview lists the creates and touches neither PostgreSQL nor Connect", async () => {
    const r = await project.pulumi(["preview", "--skip-plugin-pre-install"]);
    for (const name of ["inventory-grant", "inventory-replica-identity", "inventory-publication", "inventory-slot", "inventory-connector"]) assert.match(r.stdout, new RegExp(`\\+\\s+\\S+\\s+${name}\\s+create`), r.stdout);
    assert.deepEqual(await connectors(), []);
    assert.equal((await sql("SELECT 1 FROM pg_publication")).length, 0);
    assert.equal((await pg.query("SELECT 1 FROM pg_replication_slots")).length, 0);
    await assertNoPlainSecrets("preview");
  });

  it("up creates the pipeline; Debezium streams the seed-004 envelope to the real topics; secrets show as [secret]", async () => {
    const r = await project.pulumi(["up", "--yes", "--skip-plugin-pre-install"]);
    console.log(`      pulumi up: ${r.seconds.toFixed(1)} s`);
    assert.match(r.stdout, /Resources:\s+\+ \d+ created/, r.stdout);
    // The provider's progress (waiting for RUNNING, for Debezium to take the slot) reaches the user.
    assert.match(r.stdout + r.stderr, /connector "inventory": connector RUNNING, tasks \[0 RUNNING\]/, `pulumi up output:\n${r.stdout}\n${r.stderr}`);
    const outs = JSON.parse((await project.pulumi(["stack", "output", "--json"])).stdout) as Record<string, unknown>;
    assert.equal(outs.connectorState, "RUNNING");
    assert.deepEqual(await connectors(), ["inventory"]);
    const [slot] = await pg.query<{ active: boolean }>("SELECT active FROM pg_replication_slots WHERE slot_name = 'inventory_slot'");
    assert.equal(slot?.active, true);
    const text = (await project.pulumi(["stack", "output"])).stdout;
    assert.ok(!text.includes(DBZ_PASSWORD));
    await sql("INSERT INTO customers (first_name, last_name, email) VALUES ('Ada', 'Lovelace', 'ada-engine@example.com')");
    await sql("UPDATE customers SET last_name = 'King' WHERE email = 'ada-engine@example.com'");
    await sql("DELETE FROM customers WHERE email = 'ada-engine@example.com'");
    type Ev = { op: string; before: Record<string, unknown> | null; after: Record<string, unknown> | null };
    let events: Ev[] = [];
    for (let i = 0; i < 120 && !events.some((e) => e.op === "d"); i++) {
      events = await topics.values<Ev>("inventory.public.customers");
      await sleep(250);
    }
    const ops = events.map((e) => e.op);
    assert.ok(ops.includes("r"), `snapshot events: ${ops.join(",")}`);
    const u = events.find((e) => e.op === "u");
    assert.equal(u?.before?.last_name, "Lovelace", "before-image under REPLICA IDENTITY FULL");
    assert.equal(u?.after?.last_name, "King");
    assert.equal(events.find((e) => e.op === "d")?.before?.email, "ada-engine@example.com");
    await assertNoPlainSecrets("up");
  });

  it("a second up changes nothing", async () => {
    const r = await project.pulumi(["up", "--yes", "--skip-plugin-pre-install"]);
    assert.match(r.stdout, /\d+ unchanged/);
    assert.doesNotMatch(r.stdout, /[+~-] \d+ (created|updated|deleted)/);
  });

  it("a change of tables: preview --diff names the changed properties; up updates in place", async () => {
    await project.config("tables", "public.customers,public.orders");
    const d = await project.pulumi(["preview", "--diff", "--skip-plugin-pre-install"]);
    assert.match(d.stdout, /inventory-publication[\s\S]*update/);
    assert.match(d.stdout, /tables/);
    assert.doesNotMatch(d.stdout, /replace/);
    const r = await project.pulumi(["up", "--yes", "--skip-plugin-pre-install"]);
    assert.match(r.stdout, /~ \d+ updated/, r.stdout);
    const pub = await sql<{ t: string }>("SELECT schemaname || '.' || tablename AS t FROM pg_publication_tables WHERE pubname = 'inventory_pub' ORDER BY 1");
    assert.deepEqual(pub.map((p) => p.t), ["public.customers", "public.inventory_signal", "public.orders"], "the tables and the signal table");
    assert.deepEqual(await connectors(), ["inventory"]);
    await assertNoPlainSecrets("update");
  });

  it("drift made by hand shows on refresh", async () => {
    await sql("ALTER PUBLICATION inventory_pub DROP TABLE orders");
    const r = await project.pulumi(["refresh", "--yes", "--skip-plugin-pre-install"]);
    assert.match(r.stdout, /inventory-publication[\s\S]*updated|~ \d+ updated/, r.stdout);
    const d = await project.pulumi(["preview", "--diff", "--skip-plugin-pre-install"]);
    assert.match(d.stdout, /inventory-publication/);
    await project.pulumi(["up", "--yes", "--skip-plugin-pre-install"]);
    const pub = await sql("SELECT 1 FROM pg_publication_tables WHERE pubname = 'inventory_pub'");
    assert.equal(pub.length, 3, "up put the table back (two tables and the signal table)");
  });

  it("destroy leaves nothing behind", async () => {
    const r = await project.pulumi(["destroy", "--yes", "--skip-plugin-pre-install"]);
    assert.match(r.stdout, /- \d+ deleted/, r.stdout);
    assert.deepEqual(await connectors(), []);
    assert.equal((await sql("SELECT 1 FROM pg_publication")).length, 0);
    assert.equal((await pg.query("SELECT 1 FROM pg_replication_slots")).length, 0);
    await assertNoPlainSecrets("destroy");
  });

  it("an up SIGKILLed while the connector is being created recovers with refresh --clear-pending-creates and up: no orphaned or duplicate slot, publication or connector", async () => {
    let cliPid: number | undefined;
    let plugins: number[] = [];
    let killedAt = "";
    const up = project.pulumi(["up", "--yes", "--skip-plugin-pre-install"], { allowFailure: true, onSpawn: (pid) => (cliPid = pid) });
    // Kill the CLI as soon as the connector exists on Connect (its create is in flight).
    for (let i = 0; i < 600 && !killedAt; i++) {
      if ((await connectors()).includes("inventory")) {
        plugins = descendants(cliPid!);
        process.kill(cliPid!, "SIGKILL");
        killedAt = `after ${i * 100} ms of polling`;
      } else await sleep(100);
    }
    const killed = await up;
    // SIGKILL leaves the CLI's plugins (language host, dynamic-provider host) running with nobody to answer; the
    // Node.js dynamic-provider host then spins on its broken output pipe. Stop them, as the README tells users to.
    const orphans = plugins.filter((pid) => alive(pid));
    for (const pid of orphans) process.kill(pid, "SIGKILL");
    console.log(`      plugin processes the killed CLI left running: ${orphans.length} (stopped)`);
    assert.ok(killedAt, "the connector was created while the up ran");
    assert.notEqual(killed.status, 0);
    const exported = JSON.parse((await project.pulumi(["stack", "export"])).stdout) as { deployment: { pending_operations?: unknown[] } };
    const pending = exported.deployment.pending_operations ?? [];
    console.log(`      killed ${killedAt}; pending operations in state: ${pending.length}`);
    assert.ok(pending.length > 0, "the killed deployment left pending operations");
    // The documented recovery: the killed CLI left the stack locked (pulumi cancel removes the lock),
    // and pending creates (refresh --clear-pending-creates drops them); then up again: the library
    // adopts the objects that were created but not recorded.
    const cancel = await project.pulumi(["cancel", "--yes"], { allowFailure: true });
    assert.equal(cancel.status, 0, `${cancel.stdout}\n${cancel.stderr}`);
    const refresh = await project.pulumi(["refresh", "--clear-pending-creates", "--yes", "--skip-plugin-pre-install"], { allowFailure: true });
    assert.equal(refresh.status, 0, `${refresh.stdout}\n${refresh.stderr}`);
    await project.pulumi(["up", "--yes", "--skip-plugin-pre-install"]);
    assert.deepEqual(await connectors(), ["inventory"]);
    assert.deepEqual((await pg.query<{ slot_name: string }>("SELECT slot_name FROM pg_replication_slots")).map((r) => r.slot_name), ["inventory_slot"]);
    assert.deepEqual((await sql<{ pubname: string }>("SELECT pubname FROM pg_publication")).map((r) => r.pubname), ["inventory_pub"]);
    const outs = JSON.parse((await project.pulumi(["stack", "output", "--json"])).stdout) as Record<string, unknown>;
    assert.equal(outs.connectorState, "RUNNING");
    await project.pulumi(["destroy", "--yes", "--skip-plugin-pre-install"]);
    assert.deepEqual(await connectors(), []);
    assert.equal((await pg.query("SELECT 1 FROM pg_replication_slots")).length, 0);
    await assertNoPlainSecrets("interrupted up and recovery");
  });
});
