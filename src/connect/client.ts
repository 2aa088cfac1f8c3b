/**
 * Kafka Connect REST client: the endpoints (connectors, their config, status,
 * tasks, offsets, plugins, validation), version checks, and adoption of a
 * create whose answer was lost. Requests, retries, auth, TLS and scrubbing are
 * in transport.ts.
 *
 * Knows nothing of Pulumi. Behaviour follows docs/connect-and-debezium.md and the
 * recordings in test/fixtures/connect-transcripts/.
 */
import { configDifferences, stringifyConfig } from "./config-compare";
import { ConnectError } from "./errors";
import { buildPath, ConnectTransport } from "./transport";
import { kafkaVersion, versionAtLeast } from "./versions";
import type {
  ConfigInfos,
  ConnectorConfig,
  ConnectorConfigInput,
  ConnectorExpanded,
  ConnectorInfo,
  ConnectorOffset,
  ConnectorOffsets,
  ConnectorStateInfo,
  ConfigKeyInfo,
  PluginInfo,
  PropertyErrors,
  ServerInfo,
  TargetState,
  TaskInfo,
  TaskStatus,
} from "./types";

export { buildPath, connectStats, type ConnectClientOptions, type ConnectTlsOptions } from "./transport";
export { kafkaVersion } from "./versions";

/** Result of {@link ConnectClient.putConfig}. */
export interface PutConfigResult {
  /** True when Connect answered 201 (the connector did not exist). */
  created: boolean;
  info: ConnectorInfo;
}

/** Result of {@link ConnectClient.create}. */
export interface CreateResult {
  /** True when this call created the connector (also when its answer was lost and it was adopted). */
  created: boolean;
  /** True when a write whose answer was lost had in fact created the connector, found with an equal config. */
  adopted: boolean;
  info: ConnectorInfo;
}

/** Options of {@link ConnectClient.restart}. */
export interface RestartOptions {
  /** Restart the tasks as well (Connect 3.0+). Default false. */
  includeTasks?: boolean;
  /** Restart only FAILED instances (Connect 3.0+). Default false. */
  onlyFailed?: boolean;
}

/** Stringifies config values the way Connect stores them (see config-compare.ts). */
export const normalizeConfig = stringifyConfig;

/** True when a stored config equals the wanted one as Connect compares them: server keys and masked secrets ignored. */
export function sameConnectorConfig(stored: Readonly<Record<string, string>>, wanted: Readonly<Record<string, string>>): boolean {
  return configDifferences(stored, wanted).length === 0;
}

/** The per-property errors of a validate answer (only properties with errors). */
export function validationErrors(infos: ConfigInfos): PropertyErrors[] {
  const out: PropertyErrors[] = [];
  for (const c of infos.configs) {
    const errors = c.value?.errors ?? [];
    if (errors.length > 0) out.push({ name: c.value?.name ?? c.definition?.name ?? "?", errors: [...errors] });
  }
  return out;
}

/** "property: error" for every error of a validate answer. */
export function validationLines(infos: ConfigInfos): string[] {
  return validationErrors(infos).flatMap((p) => p.errors.map((e) => `${p.name}: ${e}`));
}

/**
 * A client of one Kafka Connect cluster's REST API. Every method retries
 * transient failures within `deadlineMs`; 404 answers for a missing connector
 * become `undefined`/`false` where the method says so.
 */
export class ConnectClient extends ConnectTransport {
  private info?: ServerInfo;

  /** GET / : version, commit and Kafka cluster id. */
  async serverInfo(): Promise<ServerInfo> {
    const res = await this.call("GET", [], {});
    this.info = res.body as ServerInfo;
    return this.info;
  }

  /** The Apache Kafka [major, minor] of the worker (from GET /, cached). */
  async kafkaVersion(): Promise<[number, number]> {
    const info = this.info ?? (await this.serverInfo());
    return kafkaVersion(info.version);
  }

  /** True when the worker runs at least Kafka major.minor. */
  async atLeast(major: number, minor: number): Promise<boolean> {
    return versionAtLeast(await this.kafkaVersion(), major, minor);
  }

  private async requireVersion(major: number, minor: number, feature: string, connector?: string): Promise<void> {
    if (await this.atLeast(major, minor)) return;
    throw new ConnectError({
      kind: "unsupported",
      connector,
      message: `${feature} needs Kafka Connect ${major}.${minor} or later, but ${this.displayUrl} runs ${this.info?.version}. Upgrade the Connect workers.`,
    });
  }

  /** GET /connector-plugins: installed connector plugins (all plugin kinds with connectorsOnly=false, Connect 3.2+). */
  async plugins(connectorsOnly = true): Promise<PluginInfo[]> {
    const res = await this.call("GET", ["connector-plugins"], { query: connectorsOnly ? [] : [["connectorsOnly", "false"]] });
    return res.body as PluginInfo[];
  }

  /** GET /connector-plugins/{class}/config (Connect 3.2+): the plugin's config definitions. */
  async pluginConfig(connectorClass: string): Promise<ConfigKeyInfo[]> {
    const res = await this.call("GET", ["connector-plugins", connectorClass, "config"], {});
    return res.body as ConfigKeyInfo[];
  }

  /**
   * PUT /connector-plugins/{class}/config/validate. Answers 200 with
   * error_count even when the config is invalid; see {@link validationErrors}.
   * connector.class is added when missing.
   */
  async validate(connectorClass: string, config: Readonly<ConnectorConfigInput>): Promise<ConfigInfos> {
    const body = normalizeConfig(config);
    if (!("connector.class" in body)) body["connector.class"] = connectorClass;
    const res = await this.call("PUT", ["connector-plugins", connectorClass, "config", "validate"], { body, config: body, connector: body.name });
    return res.body as ConfigInfos;
  }

  // ---------------------------------------------------------------- connectors

  /** GET /connectors: connector names. */
  async listNames(): Promise<string[]> {
    const res = await this.call("GET", ["connectors"], {});
    return res.body as string[];
  }

  /** GET /connectors?expand=status&expand=info: every connector with its status (absent while it has none yet) and info. */
  async list(): Promise<Record<string, ConnectorExpanded>> {
    const res = await this.call("GET", ["connectors"], { query: [["expand", "status"], ["expand", "info"]] });
    return res.body as Record<string, ConnectorExpanded>;
  }

  /**
   * PUT /connectors/{name}/config: creates or updates (idempotent upsert).
   * `name` is set to the connector name. `created` is true on 201.
   */
  async putConfig(name: string, config: Readonly<ConnectorConfigInput>): Promise<PutConfigResult> {
    const body = { ...normalizeConfig(config), name };
    const res = await this.call("PUT", ["connectors", name, "config"], { body, config: body, connector: name }).catch((err: unknown) => this.explainConfigCrash(err, `PUT /connectors/${name}/config`, name, body));
    return { created: res.status === 201, info: res.body as ConnectorInfo };
  }

  /**
   * Kafka Connect 4.3 with Debezium 3.6 answers a create or config update
   * whose validation found any error with HTTP 500 and a NullPointerException
   * about ConfigInfo.configValue() (Debezium returns one key without a value,
   * which Connect's error report dereferences), instead of the 400 listing the
   * errors. The validate endpoint still lists them, so
   * the error the user sees names the properties as for a 400.
   */
  private async explainConfigCrash(err: unknown, endpoint: string, name: string, config: Record<string, string>): Promise<never> {
    if (!(err instanceof ConnectError) || err.status !== 500 || !/ConfigInfo\.configValue\(\)|ConfigValueInfo\.errors\(\)/.test(err.connectMessage ?? "")) throw err;
    const connectorClass = config["connector.class"];
    const result = connectorClass ? await this.validate(connectorClass, config).catch(() => undefined) : undefined;
    const lines = result ? validationLines(result) : [];
    if (!lines.length) throw err;
    throw new ConnectError({
      kind: "http",
      status: 500,
      errorCode: err.errorCode,
      connectMessage: err.connectMessage,
      connector: name,
      endpoint,
      configErrors: lines,
      message: this.scrub(
        `Kafka Connect ${endpoint} for connector "${name}" rejected the connector configuration with ${lines.length} error(s) (Connect answered HTTP 500 instead of listing them; these come from its validate endpoint):\n` +
          lines.map((l) => `  - ${l}`).join("\n") +
          `\nFix these properties; the connector was not ${endpoint.startsWith("POST") ? "created" : "changed"}.`,
      ),
    });
  }

  /**
   * POST /connectors. `initialState` PAUSED or STOPPED is sent as
   * initial_state on Connect 3.7+; older workers get a create followed by a
   * pause or stop. When a create's answer is lost (timeout, reset, "Request
   * timed out"), the server state is checked before any retry, and a 409
   * "already exists" is resolved by comparing the stored config with the
   * wanted one: equal means our create happened and it is adopted.
   */
  async create(name: string, config: Readonly<ConnectorConfigInput>, initialState?: TargetState): Promise<CreateResult> {
    const wanted = { ...normalizeConfig(config), name };
    let sendState: TargetState | undefined;
    let after: TargetState | undefined;
    if (initialState && initialState !== "RUNNING") {
      if (await this.atLeast(3, 7)) sendState = initialState;
      else {
        if (initialState === "STOPPED") await this.requireVersion(3, 5, `Creating connector "${name}" in state STOPPED`, name);
        after = initialState;
      }
    }
    const body: Record<string, unknown> = { name, config: wanted };
    if (sendState) body.initial_state = sendState;
    let unknown = false;
    const endpoint = "POST /connectors";
    const adopt = async (): Promise<CreateResult | undefined> => {
      const stored = await this.attempt("GET", ["connectors", name, "config"], { connector: name }).then(
        (r) => r.body as ConnectorConfig,
        (err: unknown) => {
          if (err instanceof ConnectError && err.isNotFound) return undefined;
          throw err;
        },
      );
      if (!stored) return undefined;
      if (!sameConnectorConfig(stored, wanted))
        throw new ConnectError({
          kind: "http",
          status: 409,
          errorCode: 409,
          connector: name,
          endpoint,
          connectMessage: `Connector ${name} already exists`,
          message: `Kafka Connect ${endpoint} for connector "${name}": an earlier attempt got no answer and the connector now exists with a different configuration, so another writer created it. Compare GET /connectors/${encodeURIComponent(name)}/config with the wanted config, then update it or choose another name.`,
        });
      const info = await this.attempt("GET", ["connectors", name], { connector: name });
      return { created: true, adopted: true, info: info.body as ConnectorInfo };
    };
    const result = await this.withRetries(endpoint, async () => {
      if (unknown) {
        const adopted = await adopt();
        if (adopted) return adopted;
      }
      try {
        const res = await this.attempt("POST", ["connectors"], { body, config: wanted, connector: name });
        return { created: true, adopted: false, info: res.body as ConnectorInfo } satisfies CreateResult;
      } catch (err) {
        if (err instanceof ConnectError) {
          if (err.status === 409 && /already exists/.test(err.connectMessage ?? "")) {
            if (unknown) {
              const adopted = await adopt();
              if (adopted) return adopted;
            }
            throw err;
          }
          if (err.outcomeUnknown) unknown = true;
        }
        throw err;
      }
    }).catch((err: unknown) => this.explainConfigCrash(err, endpoint, name, wanted));
    if (after === "PAUSED") await this.pause(name);
    if (after === "STOPPED") await this.stop(name);
    return result;
  }

  /** GET /connectors/{name}; undefined when the connector does not exist. */
  async getConnector(name: string): Promise<ConnectorInfo | undefined> {
    return this.orUndefined(this.call("GET", ["connectors", name], { connector: name })) as Promise<ConnectorInfo | undefined>;
  }

  /** GET /connectors/{name}/config (passwords in plain text); undefined when the connector does not exist. */
  async getConfig(name: string): Promise<ConnectorConfig | undefined> {
    return this.orUndefined(this.call("GET", ["connectors", name, "config"], { connector: name })) as Promise<ConnectorConfig | undefined>;
  }

  /**
   * GET /connectors/{name}/status; undefined on 404 "No status found" (the
   * connector does not exist, or in distributed mode is not started yet).
   */
  async getStatus(name: string): Promise<ConnectorStateInfo | undefined> {
    return this.orUndefined(this.call("GET", ["connectors", name, "status"], { connector: name })) as Promise<ConnectorStateInfo | undefined>;
  }

  /** GET /connectors/{name}/tasks: task configs ([] before tasks are generated and while STOPPED). */
  async getTasks(name: string): Promise<TaskInfo[]> {
    const res = await this.call("GET", ["connectors", name, "tasks"], { connector: name });
    return res.body as TaskInfo[];
  }

  /** GET /connectors/{name}/tasks/{id}/status; undefined on 404. */
  async getTaskStatus(name: string, taskId: number): Promise<TaskStatus | undefined> {
    return this.orUndefined(this.call("GET", ["connectors", name, "tasks", String(taskId), "status"], { connector: name })) as Promise<TaskStatus | undefined>;
  }

  /** PUT /connectors/{name}/pause (202, asynchronous; tasks stay allocated). */
  async pause(name: string): Promise<void> {
    await this.call("PUT", ["connectors", name, "pause"], { connector: name });
  }

  /** PUT /connectors/{name}/resume (202, asynchronous; also resumes a STOPPED connector). */
  async resume(name: string): Promise<void> {
    await this.call("PUT", ["connectors", name, "resume"], { connector: name });
  }

  /** PUT /connectors/{name}/stop (Connect 3.5+): connector STOPPED, tasks removed. */
  async stop(name: string): Promise<void> {
    await this.requireVersion(3, 5, `Stopping connector "${name}"`, name);
    await this.call("PUT", ["connectors", name, "stop"], { connector: name });
  }

  /**
   * POST /connectors/{name}/restart. Without options (204) only the connector
   * instance restarts; with includeTasks/onlyFailed (Connect 3.0+, 202) the
   * answer is the status with the restarted instances RESTARTING.
   */
  async restart(name: string, opts: RestartOptions = {}): Promise<ConnectorStateInfo | undefined> {
    const query: [string, string][] = [];
    if (opts.includeTasks || opts.onlyFailed) {
      await this.requireVersion(3, 0, `Restarting the tasks of connector "${name}"`, name);
      query.push(["includeTasks", String(!!opts.includeTasks)], ["onlyFailed", String(!!opts.onlyFailed)]);
    }
    const res = await this.call("POST", ["connectors", name, "restart"], { query, connector: name });
    return res.status === 202 ? (res.body as ConnectorStateInfo) : undefined;
  }

  /** POST /connectors/{name}/tasks/{id}/restart (204). */
  async restartTask(name: string, taskId: number): Promise<void> {
    await this.call("POST", ["connectors", name, "tasks", String(taskId), "restart"], { connector: name });
  }

  /** GET /connectors/{name}/offsets (Connect 3.5+). */
  async getOffsets(name: string): Promise<ConnectorOffsets> {
    await this.requireVersion(3, 5, `Reading the offsets of connector "${name}"`, name);
    const res = await this.call("GET", ["connectors", name, "offsets"], { connector: name });
    return res.body as ConnectorOffsets;
  }

  /** PATCH /connectors/{name}/offsets (Connect 3.6+; the connector must be STOPPED). Returns Connect's message. */
  async alterOffsets(name: string, offsets: ConnectorOffset[]): Promise<string> {
    await this.requireVersion(3, 6, `Altering the offsets of connector "${name}"`, name);
    const res = await this.call("PATCH", ["connectors", name, "offsets"], { body: { offsets }, connector: name });
    return (res.body as { message: string }).message;
  }

  /** DELETE /connectors/{name}/offsets (Connect 3.6+; the connector must be STOPPED). Returns Connect's message. */
  async deleteOffsets(name: string): Promise<string> {
    await this.requireVersion(3, 6, `Resetting the offsets of connector "${name}"`, name);
    const res = await this.call("DELETE", ["connectors", name, "offsets"], { connector: name });
    return (res.body as { message: string }).message;
  }

  /**
   * DELETE /connectors/{name}. A missing connector is success: returns false
   * when there was nothing to delete (true also when a lost answer's delete
   * happened and the retry found the connector gone).
   */
  async delete(name: string): Promise<boolean> {
    let unknown = false;
    return this.withRetries(`DELETE ${buildPath(["connectors", name])}`, async () => {
      try {
        await this.attempt("DELETE", ["connectors", name], { connector: name });
        return true;
      } catch (err) {
        if (err instanceof ConnectError && err.isNotFound) return unknown;
        if (err instanceof ConnectError && err.outcomeUnknown) unknown = true;
        throw err;
      }
    });
  }
}
