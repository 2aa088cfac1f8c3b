/**
 * Entity shapes of the Kafka Connect REST API (Connect 2.x - 4.x), as the
 * server serialises them. Field names are Connect's own (snake_case). Clients
 * must tolerate unknown fields: Kafka 4.1 adds `version` to status objects.
 * See docs/connect-and-debezium.md.
 */

/** Connector and task states (AbstractStatus.State). DESTROYED is never shown to users. */
export type ConnectState = "UNASSIGNED" | "RUNNING" | "PAUSED" | "FAILED" | "RESTARTING" | "STOPPED" | "DESTROYED";

/** The state a connector can be asked to reach. */
export type TargetState = "RUNNING" | "PAUSED" | "STOPPED";

/** `source`, `sink`, or `unknown` when the worker cannot load the class. */
export type ConnectorType = "source" | "sink" | "unknown";

/** A connector configuration as Connect stores it: every value is a string. */
export type ConnectorConfig = Record<string, string>;

/** A configuration as a caller may give it; numbers and booleans are sent as strings. */
export type ConnectorConfigInput = Record<string, string | number | boolean>;

/** GET / */
export interface ServerInfo {
  version: string;
  commit: string;
  kafka_cluster_id: string;
}

/** A task id: connector name plus task number. */
export interface ConnectorTaskId {
  connector: string;
  task: number;
}

/** GET /connectors/{name} */
export interface ConnectorInfo {
  name: string;
  config: ConnectorConfig;
  tasks: ConnectorTaskId[];
  type: ConnectorType;
}

/** The connector part of a status. `trace` is present only after a failure. */
export interface ConnectorStatus {
  state: ConnectState;
  worker_id: string;
  trace?: string;
}

/** One task of a status. `trace` is present only after a failure. */
export interface TaskStatus {
  id: number;
  state: ConnectState;
  worker_id: string;
  trace?: string;
}

/** GET /connectors/{name}/status */
export interface ConnectorStateInfo {
  name: string;
  connector: ConnectorStatus;
  tasks: TaskStatus[];
  type: ConnectorType;
}

/** GET /connectors/{name}/tasks entries. */
export interface TaskInfo {
  id: ConnectorTaskId;
  config: ConnectorConfig;
}

/** GET /connectors?expand=status&expand=info entries. Status is absent while the worker has none yet. */
export interface ConnectorExpanded {
  status?: ConnectorStateInfo;
  info?: ConnectorInfo;
}

/** GET /connector-plugins entries. */
export interface PluginInfo {
  class: string;
  type: "source" | "sink" | "transformation" | "predicate" | "converter" | "header_converter" | string;
  version?: string;
}

/** One config definition (ConfigKeyInfo). */
export interface ConfigKeyInfo {
  name: string;
  type: string;
  required: boolean;
  default_value: string | null;
  importance: string;
  documentation: string;
  group: string | null;
  width: string;
  display_name: string;
  dependents: string[];
  order: number;
}

/** One validated value (ConfigValueInfo). PASSWORD values read "[hidden]"; Debezium keys have `value: null`. */
export interface ConfigValueInfo {
  name: string;
  value: string | null;
  recommended_values: string[];
  errors: string[];
  visible: boolean;
}

/** A definition and its validated value; either may be null. */
export interface ConfigInfo {
  definition: ConfigKeyInfo | null;
  value: ConfigValueInfo | null;
}

/** PUT /connector-plugins/{class}/config/validate (200 even when error_count > 0). */
export interface ConfigInfos {
  name: string;
  error_count: number;
  groups: string[];
  configs: ConfigInfo[];
}

/** One source partition and its offset (`offset: null` in a PATCH removes it). */
export interface ConnectorOffset {
  partition: Record<string, unknown>;
  offset: Record<string, unknown> | null;
}

/** GET /connectors/{name}/offsets (Connect 3.5+). */
export interface ConnectorOffsets {
  offsets: ConnectorOffset[];
}

/** Connect's error body. `error_code` normally equals the HTTP status. */
export interface ErrorBody {
  error_code: number;
  message: string | null;
}

/** One property with its validation errors, from {@link ConfigInfos}. */
export interface PropertyErrors {
  name: string;
  errors: string[];
}
