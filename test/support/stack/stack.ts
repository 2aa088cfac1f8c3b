/**
 * Starts the real CDC stack on 127.0.0.1: one Kafka broker in KRaft mode
 * (combined controller and broker, no ZooKeeper) and a Kafka Connect cluster
 * in distributed mode with two workers in one group, Debezium on their
 * `plugin.path`. Everything lives in one temporary directory (configs, logs,
 * the broker's log dir); every port is free-picked.
 *
 * Processes are started directly (no shell), remembered by PID in the
 * directory's `state.json`, and stopped by those PIDs only: by {@link
 * KafkaStack.stop}, on process exit, on SIGINT/SIGTERM, and, for a run that
 * was killed outright, by the next start, which reaps stacks whose owner
 * process is gone.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { freePort } from "../postgres";
import { ensureStackJars, type StackJars } from "./fetch";

export const DEBEZIUM_POSTGRES_CLASS = "io.debezium.connector.postgresql.PostgresConnector";
const STATE = "state.json";
const DIR_PREFIX = "cdc-stack-";

/** One JVM of the stack. */
export interface StackProcess {
  readonly role: "broker" | "worker";
  readonly name: string;
  /** PID of the running JVM (undefined while stopped). */
  readonly pid: number | undefined;
  readonly log: string;
  /** SIGKILL (no shutdown hooks), as a crash would. Resolves when the process is gone. */
  kill(): Promise<void>;
  /** Starts it again with the same config (same ports, same data), and waits until it serves. */
  start(): Promise<void>;
  running(): boolean;
}

export interface ConnectWorker extends StackProcess {
  readonly role: "worker";
  readonly port: number;
  readonly url: string;
  /** The id Connect reports for tasks on this worker (host:port). */
  readonly workerId: string;
}

export interface KafkaStack {
  readonly dir: string;
  readonly bootstrap: string;
  /** The first worker's REST URL. */
  readonly connectUrl: string;
  readonly broker: StackProcess;
  readonly workers: ConnectWorker[];
  readonly jars: StackJars;
  /** Seconds from start to both workers listing the Debezium plugin. */
  readonly startupSeconds: number;
  /** Connect's internal topics. */
  readonly topics: { configs: string; offsets: string; status: string };
  /** Kills every process it started (by PID) and removes its directory. */
  stop(): Promise<void>;
}

export interface StackOptions {
  /** Heap of each JVM (default "512m"). */
  heap?: string;
  /** Connect group id (default "cdc-test-connect"). */
  groupId?: string;
  log?: (line: string) => void;
  /** Keep the processes running after this Node process exits (`npm run stack -- up`). */
  detached?: boolean;
  /** Start-up deadline in seconds (default 240). */
  timeoutSeconds?: number;
}

interface StateFile {
  ownerPid: number;
  detached: boolean;
  bootstrap: string;
  connectUrl: string;
  workerUrls: string[];
  pids: Record<string, number>;
}

const liveStacks = new Set<KafkaStack>();

/** True while a process with this PID exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** True if `pid` is a process whose command line mentions `dir` (guards against PID reuse). */
function ownsDir(pid: number, dir: string): boolean {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(dir);
  } catch {
    return false;
  }
}

function killTree(pids: number[], dir: string): void {
  for (const pid of pids) {
    if (ownsDir(pid, dir)) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        /* already gone */
      }
    }
  }
}

/** Reads a stack's state file, if that directory is a stack of ours. */
export function readState(dir: string): StateFile | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, STATE), "utf8")) as StateFile;
  } catch {
    return undefined;
  }
}

/** Stops the processes recorded in a stack directory (by PID) and removes the directory. */
export async function stopStackDir(dir: string): Promise<void> {
  const state = readState(dir);
  const pids = state ? Object.values(state.pids) : [];
  killTree(pids, dir);
  const deadline = Date.now() + 10000;
  while (pids.some((p) => alive(p) && ownsDir(p, dir)) && Date.now() < deadline) await sleep(50);
  fs.rmSync(dir, { recursive: true, force: true });
}

/** Stack directories under the temp dir, with their state. */
export function stackDirs(): { dir: string; state: StateFile | undefined }[] {
  const tmp = os.tmpdir();
  return fs
    .readdirSync(tmp)
    .filter((d) => d.startsWith(DIR_PREFIX))
    .map((d) => ({ dir: path.join(tmp, d), state: readState(path.join(tmp, d)) }));
}

/** Removes stacks left by runs that were killed (owner gone, not started detached). */
async function reapOrphans(log: (line: string) => void): Promise<void> {
  for (const { dir, state } of stackDirs()) {
    if (!state || state.detached || alive(state.ownerPid)) continue;
    log(`removing the stack a killed run left in ${dir}`);
    await stopStackDir(dir);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

const LOG4J = `status = warn
appender.file.type = Console
appender.file.name = OUT
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = OUT
logger.reflections.name = org.reflections
logger.reflections.level = ERROR
`;

function properties(values: Record<string, string | number>): string {
  return Object.entries(values).map(([k, v]) => `${k}=${v}`).join("\n") + "\n";
}

async function waitUntil(what: string, deadline: number, check: () => Promise<boolean>, proc?: { running(): boolean; log: string }): Promise<void> {
  for (;;) {
    if (await check().catch(() => false)) return;
    if (proc && !proc.running()) throw new Error(`${what}: the process exited; see ${proc.log}:\n${tail(proc.log)}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; see ${proc?.log ?? "the logs"}`);
    await sleep(250);
  }
}

function tail(file: string, lines = 15): string {
  try {
    return fs.readFileSync(file, "utf8").split("\n").filter((l) => /ERROR|Exception|Caused by/.test(l)).slice(-lines).join("\n");
  } catch {
    return "";
  }
}

function canConnect(port: number): Promise<boolean> {
  const net = require("node:net") as typeof import("node:net");
  return new Promise((resolve) => {
    const s = net.connect({ host: "127.0.0.1", port }, () => {
      s.destroy();
      resolve(true);
    });
    s.on("error", () => resolve(false));
  });
}

async function listsDebezium(url: string): Promise<boolean> {
  const res = await fetch(`${url}/connector-plugins`, { signal: AbortSignal.timeout(2000) });
  if (res.status !== 200) return false;
  const plugins = (await res.json()) as { class: string }[];
  return plugins.some((p) => p.class === DEBEZIUM_POSTGRES_CLASS);
}

/** Starts the broker and two Connect workers; resolves once both workers list Debezium. */
export async function startStack(opts: StackOptions = {}): Promise<KafkaStack> {
  const log = opts.log ?? (() => undefined);
  const started = Date.now();
  await reapOrphans(log);
  const jars = ensureStackJars(log);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), DIR_PREFIX));
  const heap = opts.heap ?? "512m";
  const groupId = opts.groupId ?? "cdc-test-connect";
  const deadline = () => started + (opts.timeoutSeconds ?? 240) * 1000 + jars.fetchSeconds * 1000;
  const [brokerPort, controllerPort, w1, w2] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const bootstrap = `127.0.0.1:${brokerPort}`;
  const topics = { configs: `${groupId}-configs`, offsets: `${groupId}-offsets`, status: `${groupId}-status` };
  fs.writeFileSync(path.join(dir, "log4j2.properties"), LOG4J);
  const classPath = `${jars.kafkaLibs}/*`;
  const state: StateFile = { ownerPid: process.pid, detached: !!opts.detached, bootstrap, connectUrl: `http://127.0.0.1:${w1}`, workerUrls: [`http://127.0.0.1:${w1}`, `http://127.0.0.1:${w2}`], pids: {} };
  const saveState = () => fs.writeFileSync(path.join(dir, STATE), JSON.stringify(state, null, 2));
  saveState();

  const java = process.env.JAVA_HOME ? path.join(process.env.JAVA_HOME, "bin", "java") : "java";
  const jvm = (main: string, args: string[]) => [`-Xmx${heap}`, "-Xms128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", `-Dlog4j2.configurationFile=${path.join(dir, "log4j2.properties")}`, `-Dkafka.logs.dir=${dir}`, "-cp", classPath, main, ...args];

  function makeProcess(role: "broker" | "worker", name: string, main: string, args: string[], ready: () => Promise<boolean>): StackProcess {
    let child: ChildProcess | undefined;
    const logFile = path.join(dir, `${name}.log`);
    const proc: StackProcess = {
      role,
      name,
      log: logFile,
      get pid() {
        return child && child.exitCode === null && child.signalCode === null ? child.pid : undefined;
      },
      running: () => !!child && child.exitCode === null && child.signalCode === null,
      async start() {
        if (proc.running()) return;
        const out = fs.openSync(logFile, "a");
        child = spawn(java, jvm(main, args), { cwd: dir, stdio: ["ignore", out, out], detached: !!opts.detached });
        fs.closeSync(out);
        if (opts.detached) child.unref();
        state.pids[name] = child.pid!;
        saveState();
        await waitUntil(`${name} to serve`, Math.max(deadline(), Date.now() + 120000), ready, proc);
      },
      async kill() {
        const c = child;
        if (!c || !proc.running()) return;
        const gone = new Promise<void>((r) => c.once("exit", () => r()));
        c.kill("SIGKILL");
        await gone;
      },
    };
    return proc;
  }

  // The broker: format the KRaft log dir once, then start.
  const serverProps = path.join(dir, "server.properties");
  fs.writeFileSync(
    serverProps,
    properties({
      "process.roles": "broker,controller",
      "node.id": 1,
      "controller.quorum.voters": `1@127.0.0.1:${controllerPort}`,
      listeners: `PLAINTEXT://127.0.0.1:${brokerPort},CONTROLLER://127.0.0.1:${controllerPort}`,
      "advertised.listeners": `PLAINTEXT://127.0.0.1:${brokerPort}`,
      "controller.listener.names": "CONTROLLER",
      "inter.broker.listener.name": "PLAINTEXT",
      "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
      "log.dirs": path.join(dir, "kafka-logs"),
      "offsets.topic.replication.factor": 1,
      "offsets.topic.num.partitions": 3,
      "transaction.state.log.replication.factor": 1,
      "transaction.state.log.min.isr": 1,
      "share.coordinator.state.topic.replication.factor": 1,
      "share.coordinator.state.topic.min.isr": 1,
      "group.initial.rebalance.delay.ms": 0,
      "num.partitions": 1,
      "auto.create.topics.enable": "true",
    }),
  );
  const format = spawn(java, jvm("kafka.tools.StorageTool", ["format", "-t", "5L6g3nShT-eMCtK--X86sw", "-c", serverProps]), { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
  let formatOut = "";
  format.stdout!.on("data", (d: Buffer) => (formatOut += d));
  format.stderr!.on("data", (d: Buffer) => (formatOut += d));
  const formatCode = await new Promise<number | null>((r) => format.on("exit", r));
  if (formatCode !== 0) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw new Error(`formatting the KRaft log dir failed (exit ${formatCode}):\n${formatOut.slice(-2000)}`);
  }
  const broker = makeProcess("broker", "broker", "kafka.Kafka", [serverProps], () => canConnect(brokerPort));

  const workers: ConnectWorker[] = [w1, w2].map((port, i) => {
    const name = `worker${i + 1}`;
    const props = path.join(dir, `${name}.properties`);
    fs.writeFileSync(
      props,
      properties({
        "bootstrap.servers": bootstrap,
        "group.id": groupId,
        "key.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "config.storage.topic": topics.configs,
        "offset.storage.topic": topics.offsets,
        "status.storage.topic": topics.status,
        "config.storage.replication.factor": 1,
        "offset.storage.replication.factor": 1,
        "status.storage.replication.factor": 1,
        "offset.storage.partitions": 1,
        "status.storage.partitions": 1,
        "offset.flush.interval.ms": 1000,
        listeners: `http://127.0.0.1:${port}`,
        "rest.advertised.host.name": "127.0.0.1",
        "rest.advertised.port": port,
        "plugin.path": jars.pluginPath,
        "plugin.discovery": "service_load",
        // A worker that dies has its connectors and tasks reassigned after this delay (default 5 minutes).
        "scheduled.rebalance.max.delay.ms": 5000,
        "session.timeout.ms": 10000,
        "heartbeat.interval.ms": 2000,
        "task.shutdown.graceful.timeout.ms": 5000,
        "offset.flush.timeout.ms": 5000,
      }),
    );
    const url = `http://127.0.0.1:${port}`;
    const p = makeProcess("worker", name, "org.apache.kafka.connect.cli.ConnectDistributed", [props], () => listsDebezium(url));
    return Object.assign(p, { role: "worker" as const, port, url, workerId: `127.0.0.1:${port}` }) as ConnectWorker;
  });

  const stack: KafkaStack = {
    dir,
    bootstrap,
    connectUrl: workers[0].url,
    broker,
    workers,
    jars,
    startupSeconds: 0,
    topics,
    async stop() {
      liveStacks.delete(stack);
      for (const p of [...workers, broker]) await p.kill().catch(() => undefined);
      await stopStackDir(dir);
    },
  };
  liveStacks.add(stack);
  try {
    await broker.start();
    // Both workers boot in parallel (the plugin scan is most of their start-up).
    await Promise.all(workers.map((w) => w.start()));
  } catch (err) {
    await stack.stop();
    throw err;
  }
  (stack as { startupSeconds: number }).startupSeconds = (Date.now() - started) / 1000;
  log(`Kafka ${jars.versions.kafka} (KRaft) and 2 Connect workers with Debezium ${jars.versions.debezium} up in ${stack.startupSeconds.toFixed(1)} s (broker ${bootstrap}, Connect ${workers.map((w) => w.url).join(", ")})`);
  return stack;
}

function killAllSync(): void {
  for (const s of liveStacks) {
    const state = readState(s.dir);
    if (state?.detached) continue;
    killTree(Object.values(state?.pids ?? {}), s.dir);
    fs.rmSync(s.dir, { recursive: true, force: true });
  }
  liveStacks.clear();
}
process.on("exit", killAllSync);
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.once(sig, () => {
    killAllSync();
    process.kill(process.pid, sig);
  });
}
