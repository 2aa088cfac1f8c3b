/**
 * The DebeziumConnector provider: thin glue between Pulumi's dynamic
 * provider protocol and the Kafka Connect client (src/connect).
 */
import { pollUntil } from "../poll";
import type * as dynamic from "@pulumi/pulumi/dynamic";
import { ConnectClient, validationLines } from "../connect/client";
import { isSecretKey } from "../connect/errors";
import { configDifferences, debeziumConfigDifferences, describeDifferences, isMaskedValue, isServerKey, mergeLiveConfig } from "../connect/config-compare";
import type { ConnectorStateInfo } from "../connect/types";
import { throwIfFailed, waitForState } from "../connect/wait";
import { CdcError } from "../errors";
import { requestIncrementalSnapshot } from "../debezium/request-snapshot";
import { tablesToSnapshot } from "../debezium/snapshots";
import { holderOf, isDebeziumHolder, waitForDebeziumRelease, waitForDebeziumToHoldSlot } from "../postgres/slot-activity";
import { readSlot, type LiveSlot } from "../postgres/slots";
import { withSession } from "../postgres/connection";
import { containsUnknown } from "../validation/common";
import { DEFAULT_RUNNING_TIMEOUT_SECONDS, debeziumConnectorInputsSchema, type ConnectorTargetState, type DebeziumConnectorInputs } from "../validation/debezium-connector";
import { checkWith, parseOrThrow, plainJson, withoutProvider } from "./common";

/** Outputs as stored in state. */
export interface DebeziumConnectorOutputs extends DebeziumConnectorInputs {
  connectorState: string;
  tasks: Array<{ id: number; state: string; workerId: string; trace?: string }>;
  type: string;
}

const KIND = "DebeziumConnector";
const what = (name: string) => `${KIND} "${name}"`;
const progress = (line: string) => console.error(line);

function clientFor(i: Pick<DebeziumConnectorInputs, "connect" | "config">): ConnectClient {
  return new ConnectClient({
    url: i.connect.url,
    username: i.connect.username,
    password: i.connect.password,
    headers: i.connect.headers,
    tls: i.connect.tls,
    requestTimeoutMs: i.connect.requestTimeoutMs,
    secrets: secretValues(i.config),
    // Transient answers (409 during a rebalance, a worker that refuses connections) are retried;
    // each retry is shown, so a slow `pulumi up` says what it is waiting for.
    onRetry: ({ endpoint, attempt, delayMs, reason }) =>
      progress(`Kafka Connect ${endpoint}: ${reason.split("\n")[0].slice(0, 240)}; retry ${attempt} in ${Math.round(delayMs)} ms`),
  });
}

/** Values of secret-looking config keys, scrubbed from every error the client raises. */
function secretValues(config: Readonly<Record<string, string>>): string[] {
  return Object.entries(config).filter(([k]) => isSecretKey(k)).map(([, v]) => v);
}

/** Runs `fn` with a client for the connector and closes the client's connections afterwards. */
async function withClient<T>(i: Pick<DebeziumConnectorInputs, "connect" | "config">, fn: (c: ConnectClient) => Promise<T>): Promise<T> {
  const client = clientFor(i);
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

const CONNECT_STATE: Record<ConnectorTargetState, "RUNNING" | "PAUSED" | "STOPPED"> = { running: "RUNNING", paused: "PAUSED", stopped: "STOPPED" };

function tasksOf(status: ConnectorStateInfo | undefined): DebeziumConnectorOutputs["tasks"] {
  return (status?.tasks ?? []).map((t) => plainJson({ id: t.id, state: t.state, workerId: t.worker_id, trace: t.trace }));
}

/** Every problem of a name/config pair that Connect would reject anyway, found before calling it. */
function inputProblems(i: DebeziumConnectorInputs): string[] {
  const p: string[] = [];
  const cfgName = i.config.name;
  if (cfgName !== undefined && cfgName !== i.name) {
    p.push(`config.name is "${cfgName}" but the connector name is "${i.name}"; remove config.name or make them equal (Connect rejects a mismatch)`);
  }
  return p;
}

async function validateWithConnect(client: ConnectClient, i: DebeziumConnectorInputs): Promise<void> {
  const result = await client.validate(i.config["connector.class"], { ...i.config, name: i.name });
  if (result.error_count === 0) return;
  const lines = validationLines(result).map((l) => `  - ${l}`);
  throw new CdcError(
    `${what(i.name)}: Kafka Connect rejected the configuration (${result.error_count} error${result.error_count === 1 ? "" : "s"}):\n${lines.join("\n")}\nFix these properties in config; nothing was changed on the cluster.`,
  );
}

/** How long a Debezium backend that holds the slot gets to let go before a create refuses. */
const RELEASE_GRACE_MS = 15_000;

/** The connector's slot as it is now (read before the connector exists), or undefined without `streaming`. */
function readStreamingSlot(i: DebeziumConnectorInputs): Promise<LiveSlot | undefined> {
  const st = i.streaming;
  return st ? withSession(st.connection, what(i.name), (s) => readSlot(s, st.slotName)) : Promise.resolve(undefined);
}

/** Before a Debezium connector starts: its slot (as read just now) must not be held by someone else. */
async function assertSlotFree(i: DebeziumConnectorInputs, connectorExists: boolean, read: LiveSlot | undefined): Promise<void> {
  if (!i.streaming || connectorExists) return;
  const { connection, slotName } = i.streaming;
  let slot = read;
  if (slot && isDebeziumHolder(slot)) {
    // Often the task of a connector deleted just before (a replace, a rename) that its worker has not
    // stopped yet: Connect stops it within task.shutdown.graceful.timeout.ms (5 s by default).
    await waitForDebeziumRelease(connection, slotName, what(i.name), RELEASE_GRACE_MS, progress);
    slot = await withSession(connection, what(i.name), (s) => readSlot(s, slotName));
  }
  if (slot?.active) {
    throw new CdcError(
      `${what(i.name)}: replication slot "${slotName}" is already held by another backend, ${holderOf(slot)}. Debezium would report RUNNING but never stream. Stop that consumer (SELECT pg_terminate_backend(${slot.activePid})) or use another slot name.`,
    );
  }
}

/**
 * Waits until the connector is as wanted: its state (RUNNING, PAUSED, STOPPED) with every task, and for a
 * running connector with `streaming`, until Debezium holds the replication slot (streaming, not just RUNNING).
 * A task that fails meanwhile ends the wait with its trace.
 */
async function waitUntilReady(client: ConnectClient, i: DebeziumConnectorInputs, restartedAt?: number): Promise<ConnectorStateInfo | undefined> {
  if (!i.waitForRunning) return client.getStatus(i.name);
  const wanted = CONNECT_STATE[i.state];
  const timeoutMs = i.runningTimeoutSeconds * 1000;
  if (!i.streaming || wanted !== "RUNNING") return waitForState(client, i.name, wanted, { timeoutMs, onProgress: progress, restartedAt });
  // Debezium holding the slot is stronger evidence than RUNNING holding for a while: wait for it
  // (a task that fails meanwhile ends the wait with its trace), then read the status once more.
  await waitForState(client, i.name, wanted, { timeoutMs, onProgress: progress, settleMs: 0, restartedAt });
  const role = typeof i.config["database.user"] === "string" ? i.config["database.user"] : undefined;
  await waitForDebeziumToHoldSlot(i.streaming.connection, i.streaming.slotName, what(i.name), {
    timeoutMs: i.streaming.timeoutSeconds * 1000,
    onProgress: progress,
    check: () => throwIfFailed(client, i.name, wanted),
    role,
  });
  return waitForState(client, i.name, wanted, { timeoutMs, onProgress: progress, settleMs: 0 });
}

/**
 * Moves a connector that exists to the wanted target state. Only a PAUSED or
 * STOPPED connector is resumed: right after a create or a config change a
 * distributed cluster reports 404 or UNASSIGNED for a while, which is not a
 * reason to resume.
 */
/**
 * Moves the connector to the wanted state. A status read right after a config change can show a transient
 * state (UNASSIGNED while the worker restarts a stopped connector with its new config), so a running
 * connector is wanted back with a resume whenever the status is not RUNNING: resuming is idempotent.
 */
async function applyState(client: ConnectClient, i: DebeziumConnectorInputs, current: string | undefined): Promise<void> {
  const wanted = CONNECT_STATE[i.state];
  if (current === wanted) return;
  if (wanted === "PAUSED") await client.pause(i.name);
  else if (wanted === "STOPPED") await client.stop(i.name);
  else if (current !== "FAILED") await client.resume(i.name);
}

/**
 * With restartFailedTasks and state running: restarts the FAILED connector/tasks found in the live
 * status. Returns when the restart was requested (for the wait that follows), or undefined.
 */
async function restartFailed(client: ConnectClient, i: DebeziumConnectorInputs, known?: ConnectorStateInfo): Promise<number | undefined> {
  if (!i.restartFailedTasks || i.state !== "running") return undefined;
  const status = known ?? (await client.getStatus(i.name));
  if (status?.tasks.some((t) => t.state === "FAILED") || status?.connector.state === "FAILED") {
    progress(`${what(i.name)}: restarting failed tasks`);
    const at = Date.now();
    await client.restart(i.name, { includeTasks: true, onlyFailed: true });
    return at;
  }
  return undefined;
}

/**
 * The error for a create that made (or adopted) the connector but did not see it reach the wanted state:
 * Pulumi's dynamic provider host turns an error with `id` and `properties` into ErrorResourceInitFailed,
 * so the connector is recorded in state (with its FAILED tasks) rather than orphaned on the cluster.
 */
async function initFailed(client: ConnectClient, i: DebeziumConnectorInputs, err: unknown, provider: unknown): Promise<Error> {
  const e = err instanceof Error ? err : new CdcError(String(err));
  const status = await client.getStatus(i.name).catch(() => undefined);
  const info = await client.getConnector(i.name).catch(() => undefined);
  if (!info) return e; // not there after all: a plain failure
  const partial = e as Error & { id?: string; properties?: Record<string, unknown>; reasons?: string[] };
  partial.id = i.name;
  partial.properties = { ...outputsOf(i, status, info.type), __provider: provider };
  partial.reasons = [e.message];
  return partial;
}

function outputsOf(i: DebeziumConnectorInputs, status: ConnectorStateInfo | undefined, type: string | undefined): DebeziumConnectorOutputs {
  return plainJson({
    ...i,
    connectorState: status?.connector.state ?? "UNKNOWN",
    tasks: tasksOf(status),
    type: type ?? status?.type ?? "unknown",
  }) satisfies DebeziumConnectorOutputs;
}

export const provider = {
  async check(_olds: Record<string, unknown>, news: Record<string, unknown>): Promise<dynamic.CheckResult> {
    const r = checkWith(debeziumConnectorInputsSchema, news, KIND);
    if (r.failures || containsUnknown(withoutProvider(news))) return r;
    const problems = inputProblems(r.inputs as DebeziumConnectorInputs);
    return problems.length ? { failures: problems.map((reason) => ({ property: "config", reason: `${what(String(news.name))}: ${reason}` })) } : r;
  },

  /**
   * A new name or cluster URL replaces the connector; anything else updates it in place. The config is
   * compared string by string as Connect stores it ({@link configDifferences}), the same test update
   * applies, so a config-provider reference changed to another is a change.
   */
  async diff(_id: string, olds: DebeziumConnectorOutputs, news: Record<string, unknown>): Promise<dynamic.DiffResult> {
    if (containsUnknown(withoutProvider(news))) {
      const replaces = olds.name !== news.name || (typeof news.connect === "object" && (news.connect as { url?: unknown }).url !== olds.connect?.url) ? ["name"] : [];
      return { changes: true, replaces, deleteBeforeReplace: true };
    }
    const n = news as unknown as DebeziumConnectorInputs;
    const replaces: string[] = [];
    if (n.name !== olds.name) replaces.push("name");
    if (n.connect.url !== olds.connect.url) replaces.push("connect");
    const configChanged = configDifferences(olds.config ?? {}, n.config).length > 0;
    const failedTasks = n.restartFailedTasks && (olds.tasks ?? []).some((t) => t.state === "FAILED");
    const stateChanged = n.state !== olds.state || (olds.connectorState && olds.connectorState !== CONNECT_STATE[n.state]);
    const settingsChanged = (["waitForRunning", "runningTimeoutSeconds", "validate", "restartFailedTasks", "resetOffsetsOnDelete"] as const).some((k) => n[k] !== olds[k]);
    const connectChanged = JSON.stringify(n.connect) !== JSON.stringify(olds.connect) || JSON.stringify(n.streaming ?? null) !== JSON.stringify(olds.streaming ?? null) ||
      JSON.stringify(n.snapshots ?? null) !== JSON.stringify(olds.snapshots ?? null);
    const changes = replaces.length > 0 || configChanged || !!failedTasks || !!stateChanged || settingsChanged || connectChanged;
    return { changes, replaces, deleteBeforeReplace: true };
  },

  /**
   * Creates the connector, or adopts an existing one of the same name whose config is equivalent for
   * Debezium ({@link debeziumConfigDifferences}: include lists in another spelling, defaults written out
   * or left out, numbers and booleans spelled otherwise); one that differs is refused, naming the
   * differing properties. An adopted connector whose config is written differently is recorded with
   * the config Connect has, so the next `pulumi up` shows the difference and its update PUTs the config
   * as this program writes it.
   */
  async create(inputs: Record<string, unknown>): Promise<dynamic.CreateResult> {
    const i = parseOrThrow(debeziumConnectorInputsSchema, inputs, KIND);
    return withClient(i, async (client) => {
      // Independent reads at once: Connect's validation, the connector of this name, the slot's holder.
      const [, existing, slotNow] = await Promise.all([i.validate ? validateWithConnect(client, i) : undefined, client.getConfig(i.name), readStreamingSlot(i)]);
      let recorded = i;
      if (existing) {
        const diffs = debeziumConfigDifferences(existing, i.config);
        if (diffs.length) {
          throw new CdcError(
            `${what(i.name)}: a connector with this name already exists on ${client.url} with a different config (${describeDifferences(diffs)}; Debezium would run it differently). Dynamic resources cannot be imported: delete that connector, give this one another name, or make these properties match to adopt it.`,
          );
        }
        const spelled = configDifferences(existing, i.config);
        if (spelled.length) {
          recorded = { ...i, config: mergeLiveConfig(existing, i.config) };
          progress(
            `${what(i.name)}: adopting the existing connector, whose config is equivalent for Debezium but written differently (${describeDifferences(spelled)}); the next update writes it as configured here`,
          );
        } else progress(`${what(i.name)}: adopting the existing connector with the same config`);
      }
      await assertSlotFree(i, !!existing, slotNow);
      if (!existing) {
        const initial = CONNECT_STATE[i.state];
        await client.create(i.name, i.config, initial === "RUNNING" ? undefined : initial);
      }
      try {
        // A new connector starts in its initial target state; an adopted one is moved to it.
        let restartedAt: number | undefined;
        if (existing) {
          const status0 = await client.getStatus(i.name);
          await applyState(client, i, status0?.connector.state);
          restartedAt = await restartFailed(client, i, status0);
        }
        const status = await waitUntilReady(client, i, restartedAt);
        // The status names the type on Connect 2.x and later; older workers only say it in GET /connectors/{name}.
        const type = status?.type ?? (await client.getConnector(i.name))?.type;
        return { id: i.name, outs: outputsOf(recorded, status, type) };
      } catch (err) {
        // The connector exists now: report a partial create (ErrorResourceInitFailed) so Pulumi records it
        // and the next `pulumi up` updates it (new config, restart of failed tasks) instead of creating again.
        throw await initFailed(client, recorded, err, inputs.__provider);
      }
    });
  },

  /**
   * Applies the config when the live one differs as Connect stores it ({@link configDifferences}: string
   * by string, server keys and masked secrets aside), not only when it would make Debezium behave
   * differently: a connector adopted with an equivalent config in another spelling, or a config-provider
   * reference changed to another, gets the config PUT as written here, so what Connect stores converges
   * to the program. Then moves the connector to the wanted state and waits for it.
   */
  async update(_id: string, olds: DebeziumConnectorOutputs, news: Record<string, unknown>): Promise<dynamic.UpdateResult> {
    const i = parseOrThrow(debeziumConnectorInputsSchema, news, KIND);
    return withClient(i, async (client) => {
      const live = await client.getConfig(i.name);
      if (!live) {
        throw new CdcError(`${what(i.name)}: the connector no longer exists on ${client.url} (deleted out of band). Run \`pulumi refresh\` so the next \`pulumi up\` creates it again.`);
      }
      if (configDifferences(live, i.config).length) {
        if (i.validate) await validateWithConnect(client, i);
        await client.putConfig(i.name, i.config);
      }
      let status = await client.getStatus(i.name);
      await applyState(client, i, status?.connector.state);
      const restartedAt = await restartFailed(client, i);
      status = await waitUntilReady(client, i, restartedAt);
      await requestSnapshots(client, olds, i);
      const info = await client.getConnector(i.name);
      return { outs: outputsOf(i, status, info?.type ?? olds.type) };
    });
  },

  async read(id: string, props: DebeziumConnectorOutputs): Promise<dynamic.ReadResult> {
    return withClient(props, async (client) => {
      const live = await client.getConfig(props.name ?? id);
      if (!live) return {};
      const status = await client.getStatus(props.name ?? id);
      const config = mergeLiveConfig(live, props.config ?? {});
      const outs = outputsOf({ ...props, config }, status, props.type);
      const inputs = plainJson({ ...stripOutputs(outs) });
      return { id, props: outs, inputs };
    });
  },

  async delete(id: string, props: DebeziumConnectorOutputs): Promise<void> {
    const name = props.name ?? id;
    const timeoutMs = (props.runningTimeoutSeconds ?? DEFAULT_RUNNING_TIMEOUT_SECONDS) * 1000;
    return withClient(props, async (client) => {
      if (props.resetOffsetsOnDelete) {
        const exists = await client.getConfig(name);
        if (exists) {
          await client.stop(name);
          await waitForState(client, name, "STOPPED", { timeoutMs, onProgress: progress });
          await client.deleteOffsets(name);
        }
      }
      await client.delete(name);
      const deadline = Date.now() + timeoutMs;
      const gone = await pollUntil(async () => ((await client.getConfig(name)) ? undefined : true), { timeoutMs: deadline - Date.now(), maxDelayMs: 200 });
      if (!gone) throw new CdcError(`${what(name)}: still present on ${client.url} after delete; check the Connect workers`);
      // The worker stops the task after the config is gone: wait until Debezium lets go of the slot,
      // so whatever runs next (a replacement connector, the slot's delete) finds it free.
      if (props.streaming) {
        const released = await waitForDebeziumRelease(props.streaming.connection, props.streaming.slotName, what(name), Math.max(0, deadline - Date.now()), progress);
        if (!released) progress(`${what(name)}: deleted, but Debezium still holds slot "${props.streaming.slotName}"; check the Connect workers`);
      }
    });
  },
};

/**
 * After an update: an incremental snapshot of the tables added since the last
 * deployment and of a resnapshot whose nonce is new (see `snapshots`).
 */
async function requestSnapshots(client: ConnectClient, olds: DebeziumConnectorOutputs, i: DebeziumConnectorInputs): Promise<void> {
  const s = i.snapshots;
  if (!s) return;
  const tables = tablesToSnapshot(olds.snapshots, s);
  if (!tables.length) return;
  const running = CONNECT_STATE[i.state] === "RUNNING";
  if (!running) progress(`${what(i.name)}: the connector is ${i.state}; Debezium snapshots ${tables.join(", ")} once it runs again`);
  await requestIncrementalSnapshot(client, {
    connection: s.connection,
    signalTable: s.signalTable,
    tables,
    connectorName: i.name,
    waitMs: running && i.waitForRunning ? s.waitSeconds * 1000 : 0,
    what: what(i.name),
    onProgress: progress,
  });
}

/** The inputs part of the outputs (for read's `inputs`, so refresh-then-preview shows drift). */
function stripOutputs(o: DebeziumConnectorOutputs): DebeziumConnectorInputs {
  const { connectorState: _s, tasks: _t, type: _ty, ...inputs } = o;
  const config = Object.fromEntries(Object.entries(inputs.config).filter(([k, v]) => !isServerKey(k) && !isMaskedValue(v)));
  return { ...inputs, config };
}
