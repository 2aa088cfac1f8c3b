/**
 * pulumi-postgres-cdc: a PostgreSQL -> Debezium -> Kafka change data capture
 * pipeline as Pulumi resources.
 */
export { Publication, type PublicationArgs, type PublicationTableArgs } from "./resources/publication";
export { ReplicationSlot, type ReplicationSlotArgs } from "./resources/replication-slot";
export { ReplicationGrant, type ReplicationGrantArgs } from "./resources/replication-grant";
export { ReplicaIdentity, type ReplicaIdentityArgs } from "./resources/replica-identity";
export { DebeziumConnector, type DebeziumConnectorArgs, type ConnectorTask } from "./resources/debezium-connector";
export type { PostgresConnectionArgs, PostgresTargetArgs } from "./resources/common";
export type { ConnectClusterArgs, ConnectTlsArgs } from "./resources/connect-args";
export { debeziumConfig, topicFor, topicMap, DEFAULT_HEARTBEAT_QUERY, POSTGRES_CONNECTOR_CLASS, type SnapshotMode } from "./pipeline/debezium-config";
export { CdcError } from "./errors";
