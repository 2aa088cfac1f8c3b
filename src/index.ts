/**
 * pulumi-postgres-cdc: a PostgreSQL -> Debezium -> Kafka change data capture
 * pipeline as Pulumi resources.
 */
export { Publication, type PublicationArgs, type PublicationTableArgs } from "./resources/publication";
export { ReplicationSlot, type ReplicationSlotArgs } from "./resources/replication-slot";
export { ReplicationGrant, type ReplicationGrantArgs } from "./resources/replication-grant";
export { ReplicaIdentity, type ReplicaIdentityArgs } from "./resources/replica-identity";
export { SignalTable, type SignalTableArgs } from "./resources/signal-table";
export { DebeziumConnector, type DebeziumConnectorArgs, type ConnectorTask } from "./resources/debezium-connector";
export type { PostgresConnectionArgs, PostgresTargetArgs } from "./resources/common";
export type { ConnectClusterArgs, ConnectTlsArgs } from "./resources/connect-args";
export { debeziumConfig, topicFor, topicMap, DEFAULT_HEARTBEAT_QUERY, POSTGRES_CONNECTOR_CLASS, type SnapshotMode } from "./pipeline/debezium-config";
export { CdcError } from "./errors";
export { CdcPipeline, type CdcPipelineArgs } from "./pipeline/cdc-pipeline";
export { preflight, formatReport as formatPreflightReport, type PreflightReport, type PreflightFinding, type PreflightOptions, type PostgresFlavour } from "./postgres/preflight";
export { pipelineStatus, type PipelineStatus, type PipelineStatusInput, type FailoverStatus } from "./pipeline/status";
export { requestSnapshot, type RequestSnapshotInput } from "./pipeline/snapshot";
