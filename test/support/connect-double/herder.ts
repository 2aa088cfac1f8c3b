/**
 * The Connect double's herder: connector configs, target states, connector
 * and task statuses, offsets and topics, with the asynchronous transitions
 * seen in the recordings (connector-transcripts/). Every operation returns a
 * {@link Reply}; server.ts owns HTTP. See README.md for what is reproduced.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { ConfigKeyDefinition, ConnectorPlugin, TaskContext, TaskRuntime } from "./plugin";
import { asJavaHashMap, javaMapToString } from "./java";

export type State = "UNASSIGNED" | "RUNNING" | "PAUSED" | "FAILED" | "RESTARTING" | "STOPPED";
type Target = "STARTED" | "PAUSED" | "STOPPED";

/** What an operation answers. */
export interface Reply {
  status: number;
  /** JSON body; undefined = no body. */
  body?: unknown;
  /** Location header path (below the prefix), for 201. */
  location?: string;
  /** Jersey's own 404/405/406 answers carry no Content-Type. */
  noContentType?: boolean;
  /** Send `content-length: 0` (202 from pause/resume). */
  emptyWithLength?: boolean;
  /** Raw text body (401 from the basic auth extension). */
  text?: string;
  /** Content-Type of a raw text body (default text/plain). */
  contentType?: string;
}

export const reply = {
  ok: (body: unknown, status = 200): Reply => ({ status, body }),
  error: (status: number, message: string | null, noContentType = false): Reply => ({ status, body: { error_code: status, message }, noContentType }),
  accepted: (): Reply => ({ status: 202, emptyWithLength: true }),
  noContent: (): Reply => ({ status: 204 }),
};

/** Timings of the asynchronous transitions. */
export interface ConnectDoubleTiming {
  /** Connector RUNNING with `tasks: []` before its tasks start (create, resume from STOPPED, config change). Default 100. */
  tasksDelayMs: number;
  /** Distributed mode: 404 "No status found" this long after a create. Default 150. */
  statusWindowMs: number;
  /** Pause: tasks stay RUNNING this long before they show PAUSED (recorded: ~600 ms). Default 100. */
  pauseDelayMs: number;
  /** Task restart: UNASSIGNED/RESTARTING this long before RUNNING. Default 100. */
  restartDelayMs: number;
  /** task.shutdown.graceful.timeout.ms: how long stop/delete waits for a task to stop. Default 5000. */
  taskShutdownTimeoutMs: number;
  /**
   * Distributed mode: how long after the answer a write to the config topic
   * (pause, resume, stop, restart, delete) takes effect on the worker that
   * runs the connector (measured on Connect 4.3: 30-600 ms). Default 50.
   */
  targetStateDelayMs: number;
}

export const DEFAULT_TIMING: ConnectDoubleTiming = {
  tasksDelayMs: 100,
  statusWindowMs: 150,
  pauseDelayMs: 100,
  restartDelayMs: 100,
  taskShutdownTimeoutMs: 5000,
  targetStateDelayMs: 50,
};

export interface HerderOptions {
  mode: "standalone" | "distributed";
  plugins: ConnectorPlugin[];
  version: string;
  timing: ConnectDoubleTiming;
  workerId: () => string;
  /** Standalone restart of a nonexistent task leaves a FAILED phantom task in the status (recorded). */
  phantomTasks: boolean;
}

interface TaskSlot {
  id: number;
  state: State;
  trace?: string;
  runtime?: TaskRuntime;
  gen: number;
  started: boolean;
  /** Set when a stop begins: reports and records are ignored from then on. */
  stopping?: boolean;
  /** Set when the stop completed: offset commits are ignored too. */
  stopped: boolean;
  phantom?: boolean;
  /**
   * A new task that has not reported yet. Connect records a task's status only
   * when start() returned (onStartup: RUNNING) or threw (FAILED), so until then
   * the status lists no such task (recorded: `tasks=[]` then straight to
   * `[0:FAILED]` for a task failing in start()).
   */
  unreported?: boolean;
  /** Records and offset commits made while PAUSED, delivered on resume. */
  buffer: Array<() => void>;
}

interface Conn {
  name: string;
  config: Record<string, string>;
  plugin: ConnectorPlugin;
  target: Target;
  state: State;
  trace?: string;
  taskConfigs: Record<string, string>[];
  tasks: Map<number, TaskSlot>;
  epoch: number;
  pendingStart: boolean;
  statusVisibleAt: number;
  topics: Set<string>;
  /**
   * Distributed mode: task states still shown for ids whose new task has not
   * reported yet (after a config update the old statuses stay until the new
   * tasks overwrite them; during a stop the stopped tasks show UNASSIGNED).
   */
  lingering?: Map<number, { state: State; trace?: string }>;
  /** Distributed stop: the task configs are gone and the tasks are stopping (status `tasks: []`). */
  hideTasks?: boolean;
}

/** One stored offset. */
export interface StoredOffset {
  partition: Record<string, unknown>;
  offset: Record<string, unknown>;
}

function fixture(name: string): unknown {
  const candidates = [path.join(__dirname, name), path.resolve(__dirname, "../../../../test/support/connect-double", name)];
  for (const c of candidates) if (fs.existsSync(c)) return JSON.parse(fs.readFileSync(c, "utf8"));
  throw new Error(`Connect double fixture ${name} not found (looked in ${candidates.join(", ")})`);
}

/** Connect's own keys for source connectors (Common, Transforms, Predicates, Error Handling, Topic Creation, Exactly Once Support, offsets.topic), as recorded from 3.7.1. */
export const SOURCE_COMMON_DEFINITIONS = fixture("connect-source-definitions.json") as ConfigKeyDefinition[];

/** Connect 4.3's own keys for source connectors (recorded from the real stack with record-fixtures.ts). */
const SOURCE_COMMON_DEFINITIONS_4 = fixture("connect-4.3-source-definitions.json") as ConfigKeyDefinition[];

/** Connect's own keys for sink connectors. Not recorded: built from the source keys plus SinkConnectorConfig's (topics, topics.regex, dead letter queue). */
export const SINK_COMMON_DEFINITIONS: ConfigKeyDefinition[] = (() => {
  const pick = (n: string) => SOURCE_COMMON_DEFINITIONS.find((d) => d.name === n) as ConfigKeyDefinition;
  const base = ["name", "connector.class", "tasks.max", "key.converter", "value.converter", "header.converter", "transforms", "predicates", "config.action.reload"].map(pick);
  const def = (name: string, type: ConfigKeyDefinition["type"], dflt: string | null, group: string, order: number, display: string, documentation: string): ConfigKeyDefinition => ({
    name,
    type,
    required: false,
    default_value: dflt,
    importance: "HIGH",
    documentation,
    group,
    width: "LONG",
    display_name: display,
    dependents: [],
    order,
    echoValue: true,
  });
  const errs = ["errors.retry.timeout", "errors.retry.delay.max.ms", "errors.tolerance", "errors.log.enable", "errors.log.include.messages"].map(pick);
  return [
    ...base,
    def("topics", "LIST", "", "Common", 4, "Topics", "List of topics to consume, separated by commas"),
    def("topics.regex", "STRING", "", "Common", 4, "Topics regex", "Regular expression giving topics to consume."),
    ...errs,
    def("errors.deadletterqueue.topic.name", "STRING", "", "Error Handling", 6, "Dead Letter Queue Topic Name", "The name of the topic to be used as the DLQ for errant records."),
    def("errors.deadletterqueue.topic.replication.factor", "SHORT", "3", "Error Handling", 7, "Dead Letter Queue Topic Replication Factor", "Replication factor used to create the dead letter queue topic."),
    def("errors.deadletterqueue.context.headers.enable", "BOOLEAN", "false", "Error Handling", 8, "Enable Error Context Headers", "If true, add headers containing error context to the messages written to the dead letter queue."),
  ];
})();

/** Kafka's built-in transformations, predicates and converters (GET /connector-plugins?connectorsOnly=false), as recorded from 3.7.1. */
const BUILTIN_PLUGINS = fixture("connect-builtin-plugins.json") as Array<{ class: string; type: string; version?: string }>;
/** The same for Connect 4.3 (recorded from the real stack). */
const BUILTIN_PLUGINS_4 = fixture("connect-4.3-builtin-plugins.json") as Array<{ class: string; type: string; version?: string }>;

/**
 * ConfigKeyInfo as serialised: exactly Connect's 11 fields, in Connect's
 * order. Connect 4.x (ConfigKeyInfo is a record) writes `order_in_group`
 * after `group`; 3.x writes `order` last.
 */
function keyInfo(d: ConfigKeyDefinition, v4 = false) {
  const head = { name: d.name, type: d.type, required: d.required, default_value: d.default_value, importance: d.importance, documentation: d.documentation, group: d.group };
  const tail = { width: d.width, display_name: d.display_name, dependents: d.dependents };
  // Key order is part of the answer: 4.x writes order_in_group after group, 3.x writes order last.
  return v4 ? { ...head, order_in_group: d.order, ...tail } : { ...head, ...tail, order: d.order };
}

const NPE_TRACE = (name: string, id: number) =>
  [
    `java.lang.NullPointerException: Cannot invoke "java.util.Map.size()" because "<parameter1>" is null`,
    "\tat org.apache.kafka.common.utils.Utils.castToStringObjectMap(Utils.java:1515)",
    "\tat org.apache.kafka.common.config.AbstractConfig.<init>(AbstractConfig.java:111)",
    "\tat org.apache.kafka.common.config.AbstractConfig.<init>(AbstractConfig.java:147)",
    "\tat org.apache.kafka.connect.runtime.TaskConfig.<init>(TaskConfig.java:51)",
    "\tat org.apache.kafka.connect.runtime.Worker.startTask(Worker.java:623)",
    "\tat org.apache.kafka.connect.runtime.Worker.startSourceTask(Worker.java:560)",
    "\tat org.apache.kafka.connect.runtime.standalone.StandaloneHerder.startTask(StandaloneHerder.java:464)",
    "\tat org.apache.kafka.connect.runtime.standalone.StandaloneHerder.restartTask(StandaloneHerder.java:303)",
    "\tat org.apache.kafka.connect.runtime.rest.resources.ConnectorsResource.restartTask(ConnectorsResource.java:332)",
    `\t... (task ${name}-${id})`,
  ].join("\n");

/** A Java-like trace for an exception thrown by plugin code. */
function traceOf(err: unknown): string {
  const e = err instanceof Error ? err : new Error(String(err));
  const frames = (e.stack ?? "").split("\n").slice(1, 6).map((l) => `\t${l.trim()}`);
  return [`org.apache.kafka.connect.errors.ConnectException: ${e.message}`, ...frames].join("\n");
}

const offsetKey = (connector: string, partition: Record<string, unknown>) => `${connector}\u0000${stable(partition)}`;
function stable(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stable).join(",")}]`;
  if (v && typeof v === "object")
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stable((v as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  return JSON.stringify(v);
}

const NAME_CHECK = /[\u0000-\u001f\u007f]/;

/** The double's herder. */
export class Herder {
  readonly connectors = new Map<string, Conn>();
  /** Distributed mode: deleted connectors whose tasks are still stopping (their status is still served). */
  private readonly deleting = new Map<string, Conn>();
  /** Offsets by connector name and partition; kept when a connector is deleted (like Connect's offset store). */
  readonly offsets = new Map<string, StoredOffset>();
  readonly topics = new Map<string, Array<{ key: unknown; value: unknown }>>();
  readonly workerLog: string[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private gen = 0;

  constructor(readonly opts: HerderOptions) {}

  log(line: string): void {
    this.workerLog.push(`${new Date().toISOString()} ${line}`);
  }

  private schedule(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  /** Cancels scheduled transitions and stops every task. */
  async shutdown(forget: boolean): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    const all = [...this.connectors.values(), ...this.deleting.values()];
    this.deleting.clear();
    for (const c of all) {
      c.epoch++;
      c.pendingStart = false;
    }
    await Promise.all(all.map((c) => this.stopTasks(c, !forget)));
    if (forget) this.connectors.clear();
  }

  /** Starts again every kept connector (distributed worker restart). */
  restartAll(): void {
    for (const c of this.connectors.values()) {
      c.state = c.target === "STARTED" ? "RUNNING" : c.target === "PAUSED" ? "PAUSED" : "STOPPED";
      c.statusVisibleAt = Date.now() + (this.opts.mode === "distributed" ? this.opts.timing.statusWindowMs : 0);
      if (c.target !== "STOPPED") this.startTasksLater(c);
    }
  }

  // ------------------------------------------------------------------ version gates

  atLeast(major: number, minor: number): boolean {
    const m = /^(\d+)\.(\d+)/.exec(this.opts.version);
    const a = m ? Number(m[1]) : 0;
    const b = m ? Number(m[2]) : 0;
    return a > major || (a === major && b >= minor);
  }

  private get distributed(): boolean {
    return this.opts.mode === "distributed";
  }

  /** Runs `fn` now (standalone) or once a config-topic write has reached the worker (distributed). */
  private applyLater(fn: () => void | Promise<void>): void {
    if (!this.distributed) {
      void fn();
      return;
    }
    this.schedule(this.opts.timing.targetStateDelayMs, () => void fn());
  }

  // ------------------------------------------------------------------ plugins

  findPlugin(nameOrAlias: string): ConnectorPlugin | undefined {
    for (const p of this.opts.plugins) {
      const simple = p.className.split(".").pop() ?? p.className;
      if (p.className === nameOrAlias || simple === nameOrAlias || simple.replace(/Connector$/, "") === nameOrAlias) return p;
    }
    return undefined;
  }

  private notFoundClassMessage(cls: string): string {
    const descs = this.opts.plugins
      .map(
        (p) =>
          `PluginDesc{klass=class ${p.className}, name='${p.className}', version='${p.version}', encodedVersion=${p.version}, type=${p.type}, typeName='${p.type}', location='file:/opt/connect/plugins/${p.className.split(".").slice(0, -1).join("-")}/'}`,
      )
      .join(", ");
    return `Failed to find any class that implements Connector and which name matches ${cls}, available connectors are: ${descs}`;
  }

  listPlugins(connectorsOnly: boolean): Reply {
    const connectors = [...this.opts.plugins]
      .sort((a, b) => a.className.localeCompare(b.className))
      .map((p) => ({ class: p.className, type: p.type, version: p.version }));
    const v4 = this.atLeast(4, 0);
    const builtins = (v4 ? BUILTIN_PLUGINS_4 : BUILTIN_PLUGINS).map((p) => ({ ...p, version: p.version === (v4 ? "4.3.0" : "3.7.1") ? this.opts.version : p.version }));
    return reply.ok(connectorsOnly ? connectors : [...connectors, ...builtins]);
  }

  /** Connect's own keys for a plugin's type, in this version's form (4.x: recorded from 4.3, with the plugin's and the worker's versions). */
  private commonDefinitions(p: ConnectorPlugin): ConfigKeyDefinition[] {
    if (p.type === "sink" || !this.atLeast(4, 0)) return p.type === "sink" ? SINK_COMMON_DEFINITIONS : SOURCE_COMMON_DEFINITIONS;
    return SOURCE_COMMON_DEFINITIONS_4.map((d) => {
      if (d.name === "connector.plugin.version") return { ...d, default_value: p.version, recommended: [p.version] };
      if (/\.converter\.plugin\.version$/.test(d.name)) return { ...d, default_value: this.opts.version, recommended: [this.opts.version] };
      return d;
    });
  }

  private definitionsOf(p: ConnectorPlugin): ConfigKeyDefinition[] {
    return [...this.commonDefinitions(p), ...p.definitions];
  }

  pluginConfig(name: string): Reply {
    const p = this.findPlugin(name);
    if (!p) return reply.error(404, `Unknown plugin ${name}.`);
    // Recorded: the plugin's own keys first, then Connect's (validate lists Connect's first).
    const v4 = this.atLeast(4, 0);
    return reply.ok([...p.definitions, ...this.commonDefinitions(p)].map((d) => keyInfo(d, v4)));
  }

  // ------------------------------------------------------------------ validation

  private commonErrors(config: Readonly<Record<string, string>>, p: ConnectorPlugin): Record<string, string[]> {
    const errs: Record<string, string[]> = {};
    const add = (k: string, m: string) => (errs[k] ??= []).push(m);
    const name = config.name;
    if (name === undefined) add("name", `Missing required configuration "name" which has no default value.`);
    else if (name.trim().length === 0) add("name", `Invalid value ${name} for configuration name: String may not be empty`);
    else if (NAME_CHECK.test(name)) {
      const codes = [...name].filter((c) => NAME_CHECK.test(c)).map((c) => c.charCodeAt(0));
      add("name", `Invalid value ${name} for configuration name: String may not contain control sequences but had the following ASCII chars: ${codes.join(", ")}`);
    }
    for (const d of this.commonDefinitions(p)) {
      const v = config[d.name];
      if (v === undefined || d.name === "name") continue;
      const t = v.trim();
      if (d.type === "INT" || d.type === "LONG" || d.type === "SHORT") {
        if (!/^-?\d+$/.test(t)) add(d.name, `Invalid value ${v} for configuration ${d.name}: Not a number of type ${d.type}`);
        else if (d.name === "tasks.max" && Number(t) < 1) add(d.name, `Invalid value ${t} for configuration ${d.name}: Value must be at least 1`);
      } else if (d.type === "BOOLEAN" && !/^(true|false)$/i.test(t)) add(d.name, `Invalid value ${v} for configuration ${d.name}: Expected value to be either true or false`);
    }
    if (p.type === "sink" && !config.topics && !config["topics.regex"]) add("topics", "Must configure one of topics or topics.regex");
    return errs;
  }

  /** ConfigInfos for a config, as PUT .../config/validate answers. */
  async validate(p: ConnectorPlugin, config: Readonly<Record<string, string>>): Promise<{ status: number; body: unknown }> {
    const errs = this.commonErrors(config, p);
    let pluginErrs: Record<string, string[]>;
    try {
      pluginErrs = await p.validate(config);
    } catch (e) {
      return { status: 500, body: { error_code: 500, message: e instanceof Error ? e.message : String(e) } };
    }
    for (const [k, list] of Object.entries(pluginErrs)) for (const m of list) (errs[k] ??= []).push(m);
    const defs = this.definitionsOf(p);
    const seen = new Set<string>();
    const configs: unknown[] = [];
    let count = 0;
    const v4 = this.atLeast(4, 0);
    for (const d of defs) {
      seen.add(d.name);
      const raw = config[d.name] ?? d.default_value;
      const value = d.echoValue ? (raw === null || raw === undefined ? null : d.type === "PASSWORD" ? "[hidden]" : raw) : null;
      const e = errs[d.name] ?? [];
      count += e.length;
      const rec = d.recommended ?? (d as { recommended_values?: string[] }).recommended_values ?? [];
      configs.push({ definition: keyInfo(d, v4), value: d.noValue ? null : { name: d.name, value, recommended_values: rec, errors: e, visible: !d.invisible } });
    }
    for (const [k, e] of Object.entries(errs)) {
      if (seen.has(k)) continue;
      count += e.length;
      configs.push({ definition: null, value: { name: k, value: config[k] ?? null, recommended_values: [], errors: e, visible: true } });
    }
    const groups: string[] = [];
    for (const d of defs) if (d.group && !groups.includes(d.group)) groups.push(d.group);
    return { status: 200, body: { name: config["connector.class"], error_count: count, groups, configs } };
  }

  /** Validation as create/update does it: undefined when valid, else the 4xx/5xx reply. */
  private async checkConfig(config: Record<string, string>): Promise<{ plugin: ConnectorPlugin } | { reply: Reply }> {
    const cls = config["connector.class"];
    if (cls === undefined) return { reply: reply.error(400, `Connector config ${javaMapToString(config)} contains no connector type`) };
    const plugin = this.findPlugin(cls);
    // Connect 4.x: 400 with the ConnectException's text (3.7.1: 500 with the bare message).
    if (!plugin) return { reply: this.atLeast(4, 0) ? reply.error(400, `org.apache.kafka.connect.errors.ConnectException: ${this.notFoundClassMessage(cls)}`) : reply.error(500, this.notFoundClassMessage(cls)) };
    const v = await this.validate(plugin, config);
    if (v.status !== 200) return { reply: { status: v.status, body: v.body } };
    const infos = v.body as { error_count: number; configs: Array<{ value: { errors: string[] } | null }> };
    if (infos.error_count > 0 && infos.configs.some((c) => c.value === null)) {
      // AbstractHerder.maybeAddConfigErrors calls configValue().errors() on every ConfigInfo; a key the
      // plugin left without a value (Debezium 3.6) makes it throw (measured on Connect 4.3 + Debezium 3.6.1).
      return {
        reply: reply.error(
          500,
          `Cannot invoke "org.apache.kafka.connect.runtime.rest.entities.ConfigValueInfo.errors()" because the return value of "org.apache.kafka.connect.runtime.rest.entities.ConfigInfo.configValue()" is null`,
        ),
      };
    }
    if (infos.error_count > 0) {
      const lines = infos.configs.flatMap((c) => c.value?.errors ?? []);
      return {
        reply: reply.error(
          400,
          `Connector configuration is invalid and contains the following ${lines.length} error(s):\n${lines.join("\n")}\n` +
            "You can also find the above list of errors at the endpoint `/connector-plugins/{connectorType}/config/validate`",
        ),
      };
    }
    return { plugin };
  }

  /** PUT /connector-plugins/{p}/config/validate */
  async validateEndpoint(pluginName: string, config: Record<string, string>): Promise<Reply> {
    const cls = config["connector.class"];
    if (cls === undefined) return reply.error(500, `org.apache.kafka.connect.runtime.rest.errors.BadRequestException: Connector config ${javaMapToString(config)} contains no connector type`);
    const norm = (s: string) => s.replace(/Connector$/, "");
    if (!norm(cls).endsWith(norm(pluginName))) return reply.error(400, `Included connector type ${cls} does not match request type ${pluginName}`);
    const plugin = this.findPlugin(cls);
    if (!plugin)
      return reply.error(500, `${this.atLeast(4, 0) ? "org.apache.kafka.connect.runtime.rest.errors.BadRequestException" : "org.apache.kafka.connect.errors.ConnectException"}: ${this.notFoundClassMessage(cls)}`);
    const v = await this.validate(plugin, config);
    return { status: v.status, body: v.body };
  }

  // ------------------------------------------------------------------ views

  private statusVisible(c: Conn): boolean {
    return Date.now() >= c.statusVisibleAt;
  }

  private taskIds(c: Conn) {
    return c.taskConfigs.map((_, i) => ({ connector: c.name, task: i }));
  }

  private info(c: Conn) {
    return { name: c.name, config: { ...c.config }, tasks: this.taskIds(c), type: c.plugin.type };
  }

  /** A task status entry; Connect 4.1+ adds the plugin `version` (KAFKA-18988, measured on 4.3). */
  private taskEntry(id: number, state: State, trace: string | undefined, c: Conn): Record<string, unknown> {
    const t: Record<string, unknown> = { id, state, worker_id: this.opts.workerId() };
    if (this.atLeast(4, 1)) t.version = c.plugin.version;
    if (trace) t.trace = trace;
    return t;
  }

  /** The tasks a status shows: reported tasks, and (distributed) lingering states for ids whose new task has not reported. */
  private visibleTasks(c: Conn): Array<{ id: number; state: State; trace?: string; slot?: TaskSlot }> {
    if (c.hideTasks) return [];
    const out = new Map<number, { id: number; state: State; trace?: string; slot?: TaskSlot }>();
    for (const s of c.tasks.values()) {
      if (!s.unreported) out.set(s.id, { id: s.id, state: s.state, trace: s.trace, slot: s });
      else {
        const l = c.lingering?.get(s.id);
        if (l) out.set(s.id, { id: s.id, ...l });
      }
    }
    for (const [id, l] of c.lingering ?? []) if (!out.has(id) && !c.tasks.has(id)) out.set(id, { id, ...l });
    return [...out.values()].sort((a, b) => a.id - b.id);
  }

  private status(c: Conn, override?: { connector?: State; tasks?: Map<number, State> }) {
    const connector: Record<string, unknown> = { state: override?.connector ?? c.state, worker_id: this.opts.workerId() };
    if (this.atLeast(4, 1)) connector.version = c.plugin.version;
    if (c.trace) connector.trace = c.trace;
    const tasks = this.visibleTasks(c).map((v) => this.taskEntry(v.id, override?.tasks?.get(v.id) ?? v.state, v.trace, c));
    return { name: c.name, connector, tasks, type: c.plugin.type };
  }

  list(expand: string[]): Reply {
    const names = [...this.connectors.keys()];
    if (expand.length === 0) return reply.ok(names);
    const out: Record<string, Record<string, unknown>> = {};
    for (const n of names) {
      const c = this.connectors.get(n) as Conn;
      const e: Record<string, unknown> = {};
      let omit = false;
      for (const x of expand) {
        if (x === "status") {
          if (this.statusVisible(c)) e.status = this.status(c);
          else omit = true;
        } else if (x === "info") e.info = this.info(c);
      }
      if (!omit) out[n] = e;
    }
    return reply.ok(out);
  }

  private missing(name: string): Reply {
    return reply.error(404, `Connector ${name} not found`);
  }

  getInfo(name: string): Reply {
    const c = this.connectors.get(name);
    return c ? reply.ok(this.info(c)) : this.missing(name);
  }

  getConfig(name: string): Reply {
    const c = this.connectors.get(name);
    return c ? reply.ok({ ...c.config }) : this.missing(name);
  }

  getTasks(name: string): Reply {
    const c = this.connectors.get(name);
    if (!c) return this.missing(name);
    return reply.ok(c.taskConfigs.map((cfg, i) => ({ id: { connector: name, task: i }, config: asJavaHashMap(cfg) })));
  }

  getTasksConfig(name: string): Reply {
    const c = this.connectors.get(name);
    if (!c) return this.missing(name);
    return reply.ok(Object.fromEntries(c.taskConfigs.map((cfg, i) => [`${name}-${i}`, asJavaHashMap(cfg)])));
  }

  getStatus(name: string): Reply {
    // Distributed: a deleted connector's status is served until its tasks have stopped (measured on 4.3).
    const c = this.connectors.get(name) ?? this.deleting.get(name);
    if (!c || !this.statusVisible(c)) return reply.error(404, `No status found for connector ${name}`);
    return reply.ok(this.status(c));
  }

  getTaskStatus(name: string, id: number): Reply {
    const c = this.connectors.get(name) ?? this.deleting.get(name);
    const v = c && this.statusVisible(c) ? this.visibleTasks(c).find((t) => t.id === id) : undefined;
    if (!c || !v) return reply.error(404, `No status found for task ${name}-${id}`);
    return reply.ok(this.taskEntry(v.id, v.state, v.trace, c));
  }

  getTopics(name: string): Reply {
    const c = this.connectors.get(name);
    return reply.ok({ [name]: { topics: c ? [...c.topics].sort() : [] } });
  }

  resetTopics(name: string): Reply {
    const c = this.connectors.get(name);
    if (c) c.topics.clear();
    return reply.accepted();
  }

  // ------------------------------------------------------------------ config writes

  /**
   * POST /connectors and PUT /connectors/{name}/config after body parsing and
   * the name check: validation, 409, create or update.
   */
  async putConfig(name: string, config: Record<string, string>, opts: { allowReplace: boolean; initial?: Target }): Promise<Reply> {
    const checked = await this.checkConfig(config);
    if ("reply" in checked) return checked.reply;
    const existing = this.connectors.get(name);
    if (existing && !opts.allowReplace) return reply.error(409, `Connector ${name} already exists`);
    if (!existing) {
      const c = this.createConn(name, config, checked.plugin, opts.initial ?? "STARTED");
      return { status: 201, body: this.info(c), location: name };
    }
    if (stable(existing.config) === stable(config)) return reply.ok(this.info(existing));
    const before = this.info(existing);
    await this.reconfigure(existing, config, checked.plugin);
    return reply.ok({ ...before, config: { ...existing.config } });
  }

  /** PATCH /connectors/{name}/config (3.8+): null removes a key. */
  async patchConfig(name: string, patch: Record<string, string | null>): Promise<Reply> {
    const c = this.connectors.get(name);
    if (!c) return this.missing(name);
    const merged: Record<string, string> = { ...c.config };
    for (const [k, v] of Object.entries(patch)) {
      if (v === null) delete merged[k];
      else merged[k] = v;
    }
    const checked = await this.checkConfig(merged);
    if ("reply" in checked) return checked.reply;
    await this.reconfigure(c, merged, checked.plugin);
    return reply.ok(this.info(c));
  }

  private createConn(name: string, config: Record<string, string>, plugin: ConnectorPlugin, target: Target): Conn {
    const distributed = this.opts.mode === "distributed";
    const c: Conn = {
      name,
      config: { ...config },
      plugin,
      target,
      state: target === "STARTED" ? "RUNNING" : target === "PAUSED" ? "PAUSED" : "STOPPED",
      taskConfigs: [],
      tasks: new Map(),
      epoch: 0,
      pendingStart: false,
      statusVisibleAt: Date.now() + (distributed ? this.opts.timing.statusWindowMs : 0),
      topics: new Set(),
    };
    this.connectors.set(name, c);
    this.log(`INFO [${name}] Connector created (target state ${target})`);
    if (target !== "STOPPED") {
      // Standalone generates task configs before answering (the 201 lists task 0); distributed later.
      if (!distributed) this.generateTaskConfigs(c);
      this.startTasksLater(c, distributed ? this.opts.timing.statusWindowMs : 0);
    }
    return c;
  }

  private async reconfigure(c: Conn, config: Record<string, string>, plugin: ConnectorPlugin): Promise<void> {
    c.epoch++;
    c.pendingStart = false;
    // Distributed: the old task statuses stay in the status topic until the new tasks report (measured on 4.3:
    // a config update shows RUNNING throughout, no `tasks: []`).
    if (this.distributed) c.lingering = new Map(this.visibleTasks(c).map((t) => [t.id, { state: t.state, trace: t.trace }]));
    await this.stopTasks(c, true);
    c.config = { ...config };
    c.plugin = plugin;
    c.taskConfigs = [];
    this.log(`INFO [${c.name}] Connector config updated; restarting`);
    if (c.target !== "STOPPED") {
      if (this.opts.mode === "standalone") this.generateTaskConfigs(c);
      this.startTasksLater(c);
    }
    if (this.distributed && c.target !== "STOPPED") {
      // The worker restarts the connector for the new config: UNASSIGNED (written on its shutdown) shows
      // until the restarted connector reports again (measured on 4.3, when a poll lands in it).
      const epoch = c.epoch;
      this.applyLater(() => {
        if (this.connectors.get(c.name) !== c || c.epoch !== epoch) return;
        c.state = "UNASSIGNED";
        // Short: the connector instance restarts in tens of ms, well before the new tasks report.
        this.schedule(this.opts.timing.targetStateDelayMs, () => {
          if (this.connectors.get(c.name) === c && c.epoch === epoch && c.state === "UNASSIGNED") c.state = c.target === "PAUSED" ? "PAUSED" : "RUNNING";
        });
      });
    }
  }

  private generateTaskConfigs(c: Conn): void {
    const max = Number(c.config["tasks.max"] ?? "1");
    const n = Math.max(0, Math.min(c.plugin.taskCount(c.config), Number.isFinite(max) ? max : 1));
    c.taskConfigs = Array.from({ length: n }, () => ({ ...c.config, "task.class": `${c.plugin.className}Task` }));
  }

  private startTasksLater(c: Conn, extraDelay = 0): void {
    const epoch = c.epoch;
    c.pendingStart = true;
    this.schedule(this.opts.timing.tasksDelayMs + extraDelay, () => {
      if (this.connectors.get(c.name) !== c || c.epoch !== epoch || !c.pendingStart) return;
      c.pendingStart = false;
      if (c.target === "STOPPED") return;
      if (c.taskConfigs.length === 0) this.generateTaskConfigs(c);
      for (const id of c.lingering?.keys() ?? []) if (id >= c.taskConfigs.length) c.lingering?.delete(id);
      for (let i = 0; i < c.taskConfigs.length; i++) {
        const slot = this.newTask(c, i, c.target === "PAUSED" ? "PAUSED" : "RUNNING", false);
        if (c.target === "STARTED") {
          slot.unreported = true;
          this.launch(c, slot);
        }
      }
    });
  }

  private newTask(c: Conn, id: number, state: State, launch: boolean): TaskSlot {
    const slot: TaskSlot = { id, state, gen: ++this.gen, started: false, stopped: false, buffer: [] };
    c.tasks.set(id, slot);
    if (launch) this.launch(c, slot);
    return slot;
  }

  private launch(c: Conn, slot: TaskSlot): void {
    slot.started = true;
    const gen = slot.gen;
    const live = () => this.connectors.get(c.name) === c && c.tasks.get(slot.id) === slot && slot.gen === gen && !slot.stopped && !slot.stopping;
    const herder = this;
    const deliver = (fn: () => void) => {
      if (!live()) return;
      if (c.target === "PAUSED") slot.buffer.push(fn);
      else fn();
    };
    const taskConfig = c.taskConfigs[slot.id] ?? { ...c.config };
    const ctx: TaskContext = {
      connector: c.name,
      taskId: slot.id,
      config: Object.freeze({ ...taskConfig }),
      report(state, trace) {
        if (!live()) return;
        slot.unreported = false;
        if (state === "FAILED") {
          slot.state = "FAILED";
          slot.trace = trace ?? "org.apache.kafka.connect.errors.ConnectException: task failed";
          herder.log(`ERROR [${c.name}|task-${slot.id}] Task threw an uncaught and unrecoverable exception. Task is being killed and will not recover until manually restarted`);
        } else if (c.target === "STARTED") {
          slot.state = "RUNNING";
          slot.trace = undefined;
        }
      },
      produce(topic, key, value) {
        deliver(() => {
          let list = herder.topics.get(topic);
          if (!list) herder.topics.set(topic, (list = []));
          list.push({ key, value });
          c.topics.add(topic);
        });
      },
      commitOffset(partition, offset) {
        const commit = () => herder.offsets.set(offsetKey(c.name, partition), { partition: { ...partition }, offset: { ...offset } });
        // A stopping task may still commit (Connect commits offsets when a task stops).
        if (slot.stopping && !slot.stopped && slot.gen === gen) commit();
        else deliver(commit);
      },
      readOffset(partition) {
        const o = herder.offsets.get(offsetKey(c.name, partition));
        return o ? { ...o.offset } : undefined;
      },
      log(line) {
        herder.workerLog.push(`${new Date().toISOString()} [${c.name}|task-${slot.id}] ${line}`);
      },
    };
    try {
      slot.runtime = c.plugin.startTask(ctx);
      this.log(`INFO [${c.name}|task-${slot.id}] Task started`);
    } catch (e) {
      slot.unreported = false;
      slot.state = "FAILED";
      slot.trace = traceOf(e);
    }
  }

  private async stopTask(c: Conn, slot: TaskSlot): Promise<void> {
    slot.stopping = true;
    slot.buffer = [];
    const rt = slot.runtime;
    slot.runtime = undefined;
    if (!rt) {
      slot.stopped = true;
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), this.opts.timing.taskShutdownTimeoutMs)));
    const r = await Promise.race([rt.stop().then(() => "ok" as const, () => "error" as const), timeout]);
    clearTimeout(timer);
    slot.stopped = true;
    if (r === "timeout") this.log(`ERROR [${c.name}|task-${slot.id}] Graceful stop of task ${c.name}-${slot.id} failed.`);
    else this.log(`INFO [${c.name}|task-${slot.id}] Task stopped`);
  }

  /** Stops every task and removes it from the status (phantom tasks stay when keepPhantoms). */
  private async stopTasks(c: Conn, keepPhantoms: boolean): Promise<void> {
    const slots = [...c.tasks.values()];
    for (const s of slots) if (!(keepPhantoms && s.phantom)) c.tasks.delete(s.id);
    await Promise.all(slots.map((s) => this.stopTask(c, s)));
  }

  // ------------------------------------------------------------------ lifecycle

  deleteConnector = async (name: string): Promise<Reply> => {
    const c = this.connectors.get(name);
    if (!c) return this.missing(name);
    c.epoch++;
    c.pendingStart = false;
    this.connectors.delete(name);
    if (this.distributed) {
      // Distributed: 204 once the config topic has the tombstone; the worker then removes the statuses and
      // stops the tasks (measured on 4.3: status 200 for a moment, sometimes UNASSIGNED, then 404; the slot
      // still active when the 204 arrived, inactive 200-600 ms later).
      this.deleting.set(name, c);
      this.applyLater(async () => {
        if (this.deleting.get(name) === c) this.deleting.delete(name);
        await this.stopTasks(c, false);
        this.log(`INFO [${name}] Connector deleted`);
      });
      return reply.noContent();
    }
    await this.stopTasks(c, false);
    this.log(`INFO [${name}] Connector deleted`);
    return reply.noContent();
  };

  pause(name: string): Reply {
    const c = this.connectors.get(name);
    if (!c) return reply.error(404, `Unknown connector ${name}`);
    // Distributed: the target state reaches the worker through the config topic (measured on 4.3: the status
    // still shows the old state for a moment after the 202).
    if (this.distributed) {
      this.applyLater(() => {
        if (this.connectors.get(name) === c) this.pauseNow(c);
      });
      return reply.accepted();
    }
    this.pauseNow(c);
    return reply.accepted();
  }

  private pauseNow(c: Conn): void {
    c.target = "PAUSED";
    c.state = "PAUSED";
    for (const s of c.tasks.values()) {
      if (s.phantom || s.state !== "RUNNING") continue;
      const gen = s.gen;
      this.schedule(this.opts.timing.pauseDelayMs, () => {
        if (c.target === "PAUSED" && s.gen === gen && !s.stopping && s.state === "RUNNING") s.state = "PAUSED";
      });
    }
  }

  resume(name: string): Reply {
    const c = this.connectors.get(name);
    if (!c) return reply.error(404, `Unknown connector ${name}`);
    if (this.distributed) {
      this.applyLater(() => {
        if (this.connectors.get(name) === c) this.resumeNow(c);
      });
      return reply.accepted();
    }
    return this.resumeNow(c);
  }

  private resumeNow(c: Conn): Reply {
    if (c.target === "STARTED") return reply.accepted();
    c.target = "STARTED";
    c.state = "RUNNING";
    const real = [...c.tasks.values()].filter((s) => !s.phantom);
    if (real.length === 0) {
      if (!c.pendingStart) {
        if (this.opts.mode === "standalone") this.generateTaskConfigs(c);
        this.startTasksLater(c);
      }
      return reply.accepted();
    }
    for (const s of real) {
      if (s.state === "PAUSED") s.state = "RUNNING";
      if (!s.started && !s.stopping) this.launch(c, s);
      const buffered = s.buffer;
      s.buffer = [];
      for (const fn of buffered) fn();
    }
    return reply.accepted();
  }

  async stop(name: string): Promise<Reply> {
    const c = this.connectors.get(name);
    if (!c) return this.opts.mode === "standalone" ? reply.error(500, `No connector \`${name}\` configured`) : reply.error(404, `Unknown connector ${name}`);
    if (this.distributed) {
      // Distributed (measured on 4.3): 204 once empty task configs and the STOPPED target are written; then the
      // status shows the connector RUNNING with `tasks: []` while the tasks stop, the stopped tasks UNASSIGNED,
      // and finally STOPPED with `tasks: []`.
      c.target = "STOPPED";
      c.epoch++;
      c.pendingStart = false;
      c.taskConfigs = [];
      const epoch = c.epoch;
      this.applyLater(async () => {
        if (this.connectors.get(name) !== c || c.epoch !== epoch) return;
        const ids = [...c.tasks.values()].filter((t) => !t.phantom).map((t) => t.id);
        c.hideTasks = true;
        c.lingering = undefined;
        await Promise.all([this.stopTasks(c, true), new Promise((r) => setTimeout(r, this.opts.timing.restartDelayMs))]);
        c.hideTasks = false;
        if (this.connectors.get(name) !== c || c.epoch !== epoch) return;
        c.lingering = new Map(ids.map((id) => [id, { state: "UNASSIGNED" as State }]));
        this.schedule(this.opts.timing.restartDelayMs, () => {
          if (this.connectors.get(name) !== c || c.epoch !== epoch) return;
          c.lingering = undefined;
          c.state = "STOPPED";
          this.log(`INFO [${name}] Connector stopped`);
        });
      });
      return reply.noContent();
    }
    c.target = "STOPPED";
    c.epoch++;
    c.pendingStart = false;
    await this.stopTasks(c, true);
    c.taskConfigs = [];
    c.state = "STOPPED";
    this.log(`INFO [${name}] Connector stopped`);
    return reply.noContent();
  }

  async restart(name: string, includeTasks: boolean, onlyFailed: boolean): Promise<Reply> {
    const c = this.connectors.get(name);
    if (!c)
      return this.opts.mode === "standalone"
        ? reply.error(500, `Cannot invoke "java.util.Map.get(Object)" because "connProps" is null`)
        : reply.error(404, `Unknown connector: ${name}`);
    const running = (): State => (c.target === "STARTED" ? "RUNNING" : c.target === "PAUSED" ? "PAUSED" : "STOPPED");
    if (!includeTasks && !onlyFailed) {
      if (c.target !== "STOPPED" && c.state === "FAILED") {
        c.state = running();
        c.trace = undefined;
      }
      return reply.noContent();
    }
    if (!this.statusVisible(c)) return reply.error(404, `Status for connector ${name} not found`);
    const restartConnector = c.target !== "STOPPED" && (!onlyFailed || c.state === "FAILED");
    const tasks = includeTasks ? [...c.tasks.values()].filter((s) => !s.phantom && (!onlyFailed || s.state === "FAILED")) : [];
    const body = this.status(c, {
      connector: restartConnector ? "RESTARTING" : undefined,
      tasks: new Map(tasks.map((s) => [s.id, "RESTARTING" as State])),
    });
    if (this.distributed) {
      // Distributed (measured on 4.3): the 202 answers the plan; the worker carries it out afterwards, so the
      // status first still shows the old states (a FAILED task stays FAILED for a moment), then the connector
      // RESTARTING (when restarted), then the tasks RESTARTING until they report again.
      const epoch = c.epoch;
      this.applyLater(async () => {
        if (this.connectors.get(name) !== c || c.epoch !== epoch) return;
        const restartTasks = () => Promise.all(tasks.filter((s) => c.tasks.get(s.id) === s).map((s) => this.restartSlot(c, s, "RESTARTING")));
        if (!restartConnector) return void (await restartTasks());
        c.state = "RESTARTING";
        c.trace = undefined;
        this.schedule(this.opts.timing.restartDelayMs, () => {
          if (this.connectors.get(name) !== c || c.epoch !== epoch) return;
          c.state = running();
          void restartTasks();
        });
      });
      return reply.ok(body, 202);
    }
    if (restartConnector) {
      c.state = running();
      c.trace = undefined;
    }
    await Promise.all(tasks.map((s) => this.restartSlot(c, s, "RESTARTING")));
    return reply.ok(body, 202);
  }

  /** Restarts a task and resolves once the new task has started and reported (distributed task restart answers then). */
  private async restartSlotAndWait(c: Conn, s: TaskSlot, transient: State): Promise<void> {
    await this.restartSlot(c, s, transient);
    const deadline = Date.now() + Math.max(10000, this.opts.timing.restartDelayMs * 4);
    for (;;) {
      const now = c.tasks.get(s.id);
      if (this.connectors.get(c.name) !== c || !now || now === s || now.state !== transient || now.stopping || Date.now() > deadline) return;
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  private async restartSlot(c: Conn, s: TaskSlot, transient: State): Promise<void> {
    s.state = transient;
    s.trace = undefined;
    await this.stopTask(c, s);
    if (this.connectors.get(c.name) !== c || c.tasks.get(s.id) !== s) return;
    const next = this.newTask(c, s.id, transient, false);
    const epoch = c.epoch;
    this.schedule(this.opts.timing.restartDelayMs, () => {
      if (this.connectors.get(c.name) !== c || c.tasks.get(s.id) !== next || c.epoch !== epoch) return;
      if (c.target === "STOPPED") return;
      // A restarted task keeps showing the transient state until its start() returns (then RUNNING) or throws (FAILED).
      if (c.target === "PAUSED") next.state = "PAUSED";
      else this.launch(c, next);
    });
  }

  async restartTask(name: string, id: number): Promise<Reply> {
    const c = this.connectors.get(name);
    const standalone = this.opts.mode === "standalone";
    if (!c) return standalone ? this.missing(name) : reply.error(404, `Unknown connector: ${name}`);
    const s = c.tasks.get(id);
    if (id >= c.taskConfigs.length || !s || s.phantom) {
      if (standalone) {
        if (this.opts.phantomTasks && id >= 0) {
          const phantom: TaskSlot = { id, state: "FAILED", trace: NPE_TRACE(name, id), gen: ++this.gen, started: false, stopped: true, phantom: true, buffer: [] };
          c.tasks.set(id, phantom);
        }
        return reply.error(404, `Task ${name}-${id} not found`);
      }
      return reply.error(404, `Unknown task: ${name}-${id}`);
    }
    // Distributed (measured on 4.3): the worker running the task restarts it before answering (204 after
    // ~600 ms), so the status right after the 204 already shows the new task.
    if (!standalone) await this.restartSlotAndWait(c, s, "UNASSIGNED");
    else await this.restartSlot(c, s, "UNASSIGNED");
    return reply.noContent();
  }

  // ------------------------------------------------------------------ offsets

  private offsetsOf(name: string): StoredOffset[] {
    const prefix = `${name}\u0000`;
    return [...this.offsets.entries()].filter(([k]) => k.startsWith(prefix)).map(([, v]) => ({ partition: { ...v.partition }, offset: { ...v.offset } }));
  }

  /** Stored offsets of a connector name (also after it was deleted). */
  storedOffsets(name: string): StoredOffset[] {
    return this.offsetsOf(name);
  }

  getOffsets(name: string): Reply {
    const c = this.connectors.get(name);
    if (!c) return this.missing(name);
    return reply.ok({ offsets: c.plugin.type === "source" ? this.offsetsOf(name) : [] });
  }

  private stoppedPrecondition(c: Conn): Reply | undefined {
    if (c.target === "STOPPED" && c.taskConfigs.length === 0) return undefined;
    return reply.error(
      400,
      `Connectors must be in the STOPPED state before their offsets can be modified. This can be done for the specified connector by issuing a 'PUT' request to the '/connectors/${c.name}/stop' endpoint`,
    );
  }

  alterOffsets(name: string, body: unknown): Reply {
    const c = this.connectors.get(name);
    if (!c) return this.missing(name);
    const list = body && typeof body === "object" ? (body as { offsets?: unknown }).offsets : undefined;
    if (!Array.isArray(list) || list.length === 0) return reply.error(400, "Partitions / offsets need to be provided for an alter offsets request");
    const pre = this.stoppedPrecondition(c);
    if (pre) return pre;
    for (const e of list as Array<{ partition?: Record<string, unknown>; offset?: Record<string, unknown> | null }>) {
      if (!e || typeof e.partition !== "object" || e.partition === null) return reply.error(400, "The partition for an offset to be altered must be specified");
      const key = offsetKey(name, e.partition);
      if (e.offset === null || e.offset === undefined) this.offsets.delete(key);
      else this.offsets.set(key, { partition: { ...e.partition }, offset: { ...e.offset } });
    }
    return reply.ok({
      message:
        "The Connect framework-managed offsets for this connector have been altered successfully. However, if this connector manages offsets externally, they will need to be manually altered in the system that the connector uses.",
    });
  }

  resetOffsets(name: string): Reply {
    const c = this.connectors.get(name);
    if (!c) return this.missing(name);
    const pre = this.stoppedPrecondition(c);
    if (pre) return pre;
    const prefix = `${name}\u0000`;
    for (const k of [...this.offsets.keys()]) if (k.startsWith(prefix)) this.offsets.delete(k);
    return reply.ok({
      message:
        "The Connect framework-managed offsets for this connector have been reset successfully. However, if this connector manages offsets externally, they will need to be manually reset in the system that the connector uses.",
    });
  }
}
