/**
 * CdcPipeline under real faults of the real stack: one of the two Connect
 * workers is SIGKILLed while a pipeline is being created, updated or
 * deleted (and started again a moment later), and the broker is killed and
 * restarted during an up. Every run must converge: after the interrupted
 * operation (re-run once if it failed, as a user would), exactly one
 * connector of the pipeline's name runs with Debezium holding the slot, or,
 * after a destroy, nothing is left: no connector, no slot, no publication.
 *
 * The library talks to worker 1 directly (no proxy), so killing worker 1
 * gives real refused connections and killing worker 2 a real rebalance
 * (409s, 500s). Each kill is timed by the progress the providers print
 * (right after the connector was created, while Debezium takes the slot,
 * after a stop, ...), so runs hit the phases on purpose; the retries the
 * client logged are counted and printed with where each kill landed.
 * REAL_FAULT_RUNS (default 1) runs each phase and worker that many times.
 */
import { strict as assert } from "node:assert";
import type { CdcPipelineArgs } from "pulumi-postgres-cdc";
import { CdcPipeline } from "pulumi-postgres-cdc";
import { connectTargets, majorsFor, sharedStack } from "../support/connect-target";
import { Engine } from "../support/engine";
import { sharedPostgres, uniqueName, type PgServer } from "../support/postgres";
import type { KafkaStack, StackProcess } from "../support/stack/stack";

const RUNS = Math.max(1, Number(process.env.REAL_FAULT_RUNS ?? 1) || 1);
const majors = majorsFor("real");
const major = majors[majors.length - 1];

type Phase = "create" | "update" | "delete";

interface Outcome {
  phase: string;
  victim: string;
  /** What the operation had done when the kill landed. */
  landed: string;
  firstTryFailed: boolean;
  retries: number;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

(connectTargets().includes("real") && major !== undefined ? describe : describe.skip)(`CdcPipeline under real Connect worker and broker failures on PostgreSQL ${major} @pg @real`, function () {
  this.timeout(600000);
  let pg: PgServer;
  let stack: KafkaStack;
  let db: string;
  let role: string;
  const rolePassword = "dbz-realfault-Secret-2290";
  const outcomes: Outcome[] = [];
  const retryLines: string[] = [];
  const firstErrors: string[] = [];

  before(async () => {
    pg = await sharedPostgres(major);
    stack = (await sharedStack()).stack;
    db = await pg.createDatabase("rfaults");
    role = uniqueName("dbz");
    await pg.query(`CREATE ROLE ${role} LOGIN PASSWORD '${rolePassword}'`);
    await pg.query("CREATE TABLE customers (id int primary key, name text); CREATE TABLE orders (id int primary key, total numeric); CREATE TABLE invoices (id int primary key, amount numeric)", [], db);
    await pg.query("INSERT INTO customers VALUES (1, 'Ada'), (2, 'Grace')", [], db);
  });

  after(async () => {
    // Leave the shared stack whole for the suites after this one.
    for (const p of [stack.broker, ...stack.workers]) if (!p.running()) await p.start();
    const count = (re: RegExp) => retryLines.filter((l) => re.test(l)).length;
    const hit: Record<string, number> = {};
    for (const o of outcomes) hit[`${o.phase}/${o.landed}`] = (hit[`${o.phase}/${o.landed}`] ?? 0) + 1;
    console.log(
      `      faults-real: ${outcomes.length} runs converged; kills landed ${JSON.stringify(hit)}; ` +
        `${outcomes.filter((o) => o.firstTryFailed).length} first tries failed and were re-run; ` +
        `client retries logged: ${retryLines.length} (HTTP 409: ${count(/HTTP 409/)}, HTTP 500: ${count(/HTTP 500/)}, refused/reset: ${count(/ECONNREFUSED|ECONNRESET|refused|other side closed|socket/i)})` +
        (firstErrors.length ? `\n        first tries that failed: ${firstErrors.join("\n          ")}` : ""),
    );
  });

  const args = (extra: Partial<CdcPipelineArgs> = {}): CdcPipelineArgs => ({
    source: pg.connection(db),
    connectorSource: { user: role, password: rolePassword },
    connect: { url: stack.workers[0].url, requestTimeoutMs: 20000 },
    tables: ["public.customers", "public.orders"],
    replicaIdentityFull: true,
    readyTimeoutSeconds: 120,
    ...extra,
  });

  const names = async (): Promise<string[]> => {
    for (;;) {
      const live = stack.workers.find((w) => w.running());
      const res = await fetch(`${live!.url}/connectors`).catch(() => undefined);
      if (res?.ok) return (await res.json()) as string[];
      await sleep(500);
    }
  };
  const slots = async () => (await pg.query<{ slot_name: string; active: boolean; application_name: string | null }>(
    "SELECT s.slot_name, s.active, a.application_name FROM pg_replication_slots s LEFT JOIN pg_stat_activity a ON a.pid = s.active_pid WHERE s.database = $1",
    [db],
  ));

  /** Captures the provider's progress lines (console.error) while `fn` runs. */
  async function capturing<T>(fn: () => Promise<T>): Promise<{ value?: T; error?: Error; lines: string[] }> {
    const lines: string[] = [];
    const original = console.error;
    console.error = (...a: unknown[]) => lines.push(a.map(String).join(" "));
    try {
      return { value: await fn(), lines };
    } catch (error) {
      return { error: error as Error, lines };
    } finally {
      console.error = original;
    }
  }

  /**
   * Runs `op` and SIGKILLs `victim` as soon as the operation's progress shows `trigger` (or after
   * `fallbackMs`), starting it again 1 s later; re-runs `op` once if it failed, as a user would.
   */
  async function underKill(phase: string, victim: StackProcess, trigger: { name: string; re: RegExp }, op: () => Promise<unknown>, fallbackMs = 8000): Promise<void> {
    let landed = "missed (the operation finished first)";
    let finished = false;
    let fire: () => void = () => undefined;
    const fired = new Promise<void>((r) => (fire = r));
    const progressSoFar: string[] = [];
    const original = console.error;
    console.error = (...a: unknown[]) => {
      const line = a.map(String).join(" ");
      progressSoFar.push(line);
      if (trigger.re.test(line)) fire();
    };
    const killer = (async () => {
      const how = await Promise.race([fired.then(() => trigger.name), sleep(fallbackMs).then(() => `after ${fallbackMs} ms`)]);
      if (finished) return;
      landed = how;
      await victim.kill();
      await sleep(1000);
      await victim.start();
    })();
    let first: Error | undefined;
    try {
      await op().catch((e: Error) => (first = e));
    } finally {
      finished = true;
      fire();
      console.error = original;
    }
    await killer;
    retryLines.push(...progressSoFar.filter((l) => /; retry \d+ in \d+ ms/.test(l)));
    if (first) {
      firstErrors.push(`${phase}/${victim.name}: ${first.message.split("\n")[0].slice(0, 200)}`);
      const again = await capturing(op);
      retryLines.push(...again.lines.filter((l) => /; retry \d+ in \d+ ms/.test(l)));
      if (again.error) throw new Error(`${phase}: failed twice; first: ${first.message}\nthen: ${again.error.message}`);
    }
    outcomes.push({ phase, victim: victim.name, landed, firstTryFailed: !!first, retries: retryLines.length });
  }

  async function assertRunning(name: string, slotName: string): Promise<void> {
    assert.deepEqual((await names()).filter((n) => n.startsWith(name)), [name], "exactly one connector of the pipeline");
    const all = await slots();
    assert.deepEqual(all.map((s) => s.slot_name), [slotName], "exactly the pipeline's slot");
    for (let i = 0; i < 100 && !(all[0].active && /Debezium/.test(all[0].application_name ?? "")); i++) {
      await sleep(300);
      all.splice(0, all.length, ...(await slots()));
    }
    assert.match(all[0].application_name ?? "", /Debezium/, "Debezium holds the slot");
  }

  async function assertNothingLeft(name: string): Promise<void> {
    assert.deepEqual((await names()).filter((n) => n.startsWith(name)), [], "no connector left");
    assert.deepEqual(await slots(), [], "no slot left");
    assert.equal((await pg.query("SELECT 1 FROM pg_publication", [], db)).length, 0, "no publication left");
  }

  const phases: Phase[] = ["create", "update", "delete"];
  /** Where in each operation a kill lands, by the progress the providers print; runs cycle through them. */
  const TRIGGERS: Record<Phase, { name: string; re: RegExp }[]> = {
    create: [
      { name: "right after the connector was created", re: /no status yet|tasks \[\]/ },
      { name: "while Debezium takes the slot", re: /tasks \[0 RUNNING\]/ },
    ],
    update: [
      { name: "right after the config change", re: /connector "[^"]+": / },
      { name: "while the task restarts", re: /tasks \[\]|tasks \[0 (RUNNING|UNASSIGNED)\]/ },
    ],
    delete: [
      { name: "after the stop, before offsets are reset", re: /connector STOPPED/ },
      { name: "at the delete's first status read", re: /connector "[^"]+": / },
    ],
  };
  for (let run = 1; run <= RUNS; run++) {
    for (const phase of phases) {
      for (const w of [0, 1]) {
        const trigger = TRIGGERS[phase][(run + w) % 2];
        it(`run ${run}: worker ${w + 1} SIGKILLed during ${phase} (${trigger.name}) converges`, async () => {
          const name = uniqueName(`rf${phase[0]}${w + 1}`);
          const engine = new Engine();
          const program = (extra: Partial<CdcPipelineArgs> = {}) => () => {
            const p = new CdcPipeline(name, args(extra));
            return { slotName: p.slotName };
          };
          const victim = stack.workers[w];
          if (phase === "create") {
            await underKill(phase, victim, trigger, () => engine.up(program()));
          } else {
            await engine.up(program());
            if (phase === "update") await underKill(phase, victim, trigger, () => engine.up(program({ tables: ["public.customers", "public.orders", "public.invoices"] })));
            else await underKill(phase, victim, trigger, () => engine.destroy());
          }
          if (phase === "delete") {
            await assertNothingLeft(name);
            return;
          }
          await assertRunning(name, `${name}_slot`);
          await engine.destroy();
          await assertNothingLeft(name);
        });
      }
    }
    it(`run ${run}: the broker killed and restarted during an up converges`, async () => {
      const name = uniqueName("rfb");
      const engine = new Engine();
      await underKill("create", stack.broker, { name: "right after the connector was created", re: /no status yet|tasks \[\]/ }, () => engine.up(() => void new CdcPipeline(name, args())));
      outcomes[outcomes.length - 1].phase = "create (broker)";
      await assertRunning(name, `${name}_slot`);
      await engine.destroy();
      await assertNothingLeft(name);
    });
  }
});
