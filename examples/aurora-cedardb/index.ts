/**
 * examples/aurora-cedardb (source document 003): Aurora PostgreSQL -> Debezium
 * -> Kafka -> Debezium JDBC sink -> CedarDB, so analytical queries run on
 * CedarDB while Aurora stays the system of record.
 *
 * - A dedicated login role `debezium` for the connector (created with
 *   @pulumi/postgresql), instead of the cluster's admin user the document uses.
 * - The CdcPipeline: its ReplicationGrant gives `debezium` the `rds_replication`
 *   role (Aurora has no REPLICATION attribute to grant) and SELECT on the
 *   tables; publication, slot and the Debezium source connector follow, with
 *   heartbeats so an idle Aurora cluster does not keep piling up WAL.
 * - A second DebeziumConnector: the JDBC sink into CedarDB (upsert, deletes,
 *   schema evolution), created after the pipeline and deleted before it.
 */
import * as pulumi from "@pulumi/pulumi";
import * as postgresql from "@pulumi/postgresql";
import { CdcPipeline, DebeziumConnector } from "pulumi-postgres-cdc";

const config = new pulumi.Config();

// Aurora, as Pulumi reaches it: the cluster (writer) endpoint and the admin user.
const host = config.require("auroraHost"); // <cluster>.cluster-xxxx.<region>.rds.amazonaws.com
const port = config.getNumber("auroraPort") ?? 5432;
const database = config.get("auroraDatabase") ?? "postgres";
const adminUser = config.get("auroraAdminUser") ?? "postgresuser";
const adminPassword = config.requireSecret("auroraAdminPassword");
// With the RDS CA bundle (https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem)
// Pulumi verifies the server's certificate and host name; without it, TLS without verification.
const rdsCaBundle = config.get("rdsCaBundle");

// The connector's own login role. It gets nothing here but LOGIN and a
// password; the pipeline's ReplicationGrant adds rds_replication and SELECT.
const aurora = new postgresql.Provider("aurora", {
  host,
  port,
  database,
  username: adminUser,
  password: adminPassword,
  sslmode: "require",
  superuser: false, // the RDS admin user is not a real superuser
});
const debeziumPassword = config.requireSecret("debeziumPassword");
const debeziumRole = new postgresql.Role(
  "debezium",
  { name: config.get("debeziumRole") ?? "debezium", login: true, password: debeziumPassword },
  { provider: aurora },
);

// Kafka Connect on the EC2 host that also runs Kafka and CedarDB (the document's docker compose).
const connect = { url: config.get("connectUrl") ?? "http://localhost:8083" };
const tables = config.getObject<string[]>("tables") ?? ["public.lineitem"];

const pipeline = new CdcPipeline("aurora-source", {
  source: {
    host,
    port,
    database,
    user: adminUser,
    password: adminPassword,
    sslMode: rdsCaBundle ? "verify-full" : "require",
    sslRootCert: rdsCaBundle,
  },
  connect,
  tables,
  topicPrefix: config.get("topicPrefix") ?? "postgres", // topic postgres.public.lineitem, as in the document
  connectorName: "postgres-source",
  snapshotMode: "initial",
  connectorSource: { host, port, user: debeziumRole.name, password: debeziumPassword, sslMode: "require" },
  // The document meant to set a heartbeat ("heartbeat.inverval.ms": "20", a
  // misspelt key that Debezium ignores). On RDS and Aurora an idle database
  // still writes WAL the connector never sees, so the slot's position only
  // moves when heartbeats are on: every 10 s, each one a logical message.
  heartbeat: { intervalMs: 10_000 },
  connectorConfig: {
    // Connect creates the topics with the broker's defaults (-1), as in the document.
    "topic.creation.default.replication.factor": "-1",
    "topic.creation.default.partitions": "-1",
  },
});

// The sink reads exactly the pipeline's topics and writes one CedarDB table per
// source table (`${source.table}`: lineitem), keyed by the Kafka record key,
// which is the source table's primary key (lineitem_id in the document).
const sink = new DebeziumConnector(
  "cedar-sink",
  {
    connect,
    name: "cedar-sink",
    config: {
      "connector.class": "io.debezium.connector.jdbc.JdbcSinkConnector",
      "tasks.max": "1",
      topics: pipeline.topics.apply((t) => Object.values(t).join(",")),
      "connection.url": config.get("cedarJdbcUrl") ?? "jdbc:postgresql://cedardb:5432/postgres?stringtype=unspecified",
      "connection.username": config.get("cedarUser") ?? "postgres",
      "connection.password": config.requireSecret("cedarPassword"),
      "insert.mode": "upsert", // inserts and updates become INSERT … ON CONFLICT DO UPDATE
      "delete.enabled": "true", // delete events delete the row (needs primary.key.mode=record_key)
      "primary.key.mode": "record_key",
      "schema.evolution": "basic", // create missing tables and add new columns
      "table.name.format": "${source.table}",
    },
    resetOffsetsOnDelete: true, // a later sink of the same name starts from the beginning of the topics
  },
  { dependsOn: [pipeline] }, // created after the source is streaming, deleted before it
);

export const sourceConnector = pipeline.connectorName;
export const sinkConnector = sink.name;
export const slotName = pipeline.slotName;
export const publicationName = pipeline.publicationName;
export const topics = pipeline.topics;
export const sourceState = pipeline.connectorState;
export const sinkState = sink.connectorState;
export const tasks = pipeline.tasks;
export const sinkTasks = sink.tasks;
export const lagBytes = pipeline.lagBytes;
