import * as pulumi from "@pulumi/pulumi";
import { providerStub } from "../providers/stub";
import { DYNAMIC_MODULE, secretInput, withDefaults, type PostgresConnectionArgs } from "./common";
import type { ConnectClusterArgs } from "./connect-args";

/**
 * A connector task as Kafka Connect reported it at the last `pulumi up` or `pulumi refresh` (an output:
 * it changes nothing, and the live state may have moved on; `pipelineStatus()` reads it live).
 */
export interface ConnectorTask {
  /** The task number, from 0. */
  id: number;
  /** RUNNING, PAUSED, FAILED, UNASSIGNED or RESTARTING. A FAILED task is restarted by the next `pulumi up` (restartFailedTasks). */
  state: string;
  /** The worker running it, host:port as Connect reports it. */
  workerId: string;
  /** The Java stack trace of a FAILED task, secrets scrubbed. Absent otherwise. */
  trace?: string;
}

/** Arguments of a {@link DebeziumConnector}. */
export interface DebeziumConnectorArgs {
  /** The Kafka Connect cluster. Changing `url` replaces the connector (it lives on another cluster). */
  connect: pulumi.Input<ConnectClusterArgs>;
  /** Connector name. Default: the resource name. Changing it replaces the connector (deleted first). */
  name?: pulumi.Input<string>;
  /**
   * The connector configuration; `connector.class` is required. Works for any connector (source or sink).
   * Values are compared as Connect stores them (strings); `name`, `__internal.*` keys and masked values
   * ("****", "[hidden]") are ignored in comparisons; config-provider references (`${file:...}`) are values. Stored as a secret (it usually holds a password). Changes update in place.
   */
  config: pulumi.Input<Record<string, pulumi.Input<string | number | boolean>>>;
  /** Wanted state: "running" (default), "paused" or "stopped" (Connect 3.5+). Changes update in place. */
  state?: pulumi.Input<"running" | "paused" | "stopped">;
  /** Default true: create/update return once the connector and all tasks reach the wanted state. */
  waitForRunning?: pulumi.Input<boolean>;
  /** Default 300. Bounds that wait; on timeout or a FAILED task the error carries the task's trace. */
  runningTimeoutSeconds?: pulumi.Input<number>;
  /** Default true: validate the config with Connect (PUT /connector-plugins/{class}/config/validate) first and fail listing every invalid property. */
  validate?: pulumi.Input<boolean>;
  /**
   * Default true: an up that finds FAILED tasks restarts them (restart?includeTasks=true&onlyFailed=true).
   * Task states are known from the last create, update or `pulumi refresh`, so run `pulumi refresh` then `pulumi up`.
   */
  restartFailedTasks?: pulumi.Input<boolean>;
  /** Default false: on delete, stop the connector and delete its offsets (Connect 3.6+) so a new connector of the same name starts clean. */
  resetOffsetsOnDelete?: pulumi.Input<boolean>;
  /**
   * For Debezium PostgreSQL connectors: after Connect reports RUNNING, wait until Debezium really holds this
   * replication slot (RUNNING does not mean streaming), and refuse to start when another backend holds it.
   */
  streaming?: pulumi.Input<{ connection: pulumi.Input<PostgresConnectionArgs>; slotName: pulumi.Input<string>; timeoutSeconds?: pulumi.Input<number> }>;
  /**
   * For Debezium connectors with a signal table (`signal.data.collection`): incremental snapshots
   * asked for by an update. After the connector runs, an `execute-snapshot` signal (type incremental)
   * is written to `signalTable` for the tables added to `tables` since the last deployment
   * (unless `onTablesAdded` is "stream-only"), and for `resnapshot.tables` whenever
   * `resnapshot.nonce` changes. The update then waits up to `waitSeconds` (default 120) until
   * Debezium's offsets show it has read the signal. Never on create: the initial snapshot covers the tables.
   */
  snapshots?: pulumi.Input<{
    connection: pulumi.Input<PostgresConnectionArgs>;
    signalTable: pulumi.Input<string>;
    tables?: pulumi.Input<pulumi.Input<string>[]>;
    onTablesAdded?: pulumi.Input<"snapshot" | "stream-only">;
    resnapshot?: pulumi.Input<{ tables: pulumi.Input<pulumi.Input<string>[]>; nonce: pulumi.Input<string> }>;
    waitSeconds?: pulumi.Input<number>;
  }>;
}

/**
 * A connector on a Kafka Connect cluster, managed through the Connect REST
 * API: validated before it is applied, waited for until RUNNING (with task
 * traces on failure), updated in place, paused/resumed/stopped, and deleted
 * (optionally with its offsets). Create adopts an existing connector of the
 * same name when its config matches and fails naming the differing keys when
 * it does not (dynamic resources cannot be imported).
 */
export class DebeziumConnector extends pulumi.dynamic.Resource {
  /** Connector name. */
  declare readonly name: pulumi.Output<string>;
  /** The config as Connect stores it (strings); secret. */
  declare readonly config: pulumi.Output<Record<string, string>>;
  /** Connector state as last seen: RUNNING, PAUSED, STOPPED, FAILED, UNASSIGNED. */
  declare readonly connectorState: pulumi.Output<string>;
  /** Task states as last seen. */
  declare readonly tasks: pulumi.Output<ConnectorTask[]>;
  /** "source" or "sink". */
  declare readonly type: pulumi.Output<string>;

  constructor(name: string, args: DebeziumConnectorArgs, opts?: pulumi.CustomResourceOptions) {
    const connect = pulumi.secret(pulumi.output(args.connect));
    super(
      providerStub("debezium-connector"),
      name,
      {
        connect,
        name: args.name ?? name,
        config: secretInput(args.config),
        state: args.state,
        waitForRunning: args.waitForRunning,
        runningTimeoutSeconds: args.runningTimeoutSeconds,
        validate: args.validate,
        restartFailedTasks: args.restartFailedTasks,
        resetOffsetsOnDelete: args.resetOffsetsOnDelete,
        streaming: secretInput(args.streaming),
        snapshots: secretInput(args.snapshots),
        connectorState: undefined,
        tasks: undefined,
        type: undefined,
      },
      withDefaults(opts, { additionalSecretOutputs: ["config", "connect", "streaming", "snapshots"], deleteBeforeReplace: true }),
      DYNAMIC_MODULE,
      "DebeziumConnector",
    );
  }
}
