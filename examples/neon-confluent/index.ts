/**
 * examples/neon-confluent (source document 000): a Neon database streamed into
 * Confluent Cloud by Confluent's managed Postgres CDC Source connector
 * (Debezium inside), with the publication and the replication slot `debezium`
 * created and owned by Pulumi instead of by hand in the SQL editor.
 *
 * Confluent Cloud serves the Kafka Connect REST API under a path prefix,
 *   https://api.confluent.cloud/connect/v1/environments/<env>/clusters/<cluster>/connectors
 * with HTTP basic auth (a Cloud API key and secret), so the pipeline's
 * `connect` points there; everything else is the same pipeline as locally.
 */
import * as pulumi from "@pulumi/pulumi";
import { CdcPipeline } from "pulumi-postgres-cdc";

const config = new pulumi.Config();

// Neon: the direct (not "-pooler") connection string from the Connection
// Details widget, e.g. postgres://alex:AbC123dEf@ep-cool-darkness-123456.us-east-2.aws.neon.tech/dbname?sslmode=require
// It carries the password, so it is a secret; sslmode=require comes with it.
const neonConnectionString = config.requireSecret("neonConnectionString");

// Confluent Cloud: the Connect API of one Kafka cluster, reached with a Cloud API key.
const confluentApi = config.get("confluentApiUrl") ?? "https://api.confluent.cloud";
const environmentId = config.require("confluentEnvironmentId"); // env-xxxxx
const clusterId = config.require("confluentClusterId"); // lkc-xxxxx

const tables = config.getObject<string[]>("tables") ?? ["public.users"];

const pipeline = new CdcPipeline("neon-users", {
  source: neonConnectionString, // a postgres:// connection string is accepted as well as discrete fields
  connect: {
    url: `${confluentApi}/connect/v1/environments/${environmentId}/clusters/${clusterId}`,
    username: config.require("confluentCloudApiKey"),
    password: config.requireSecret("confluentCloudApiSecret"),
  },
  tables,
  topicPrefix: config.get("topicPrefix") ?? "neon_server", // the seed's "database.server.name": topics neon_server.public.users
  snapshotMode: "initial",
  slotName: "debezium", // the seed's pg_create_logical_replication_slot('debezium', 'pgoutput')
  publicationName: "users_publication", // the seed's CREATE PUBLICATION users_publication FOR TABLE users
  connectorName: "PostgresCdcSourceConnector_0",
  // Neon drops slots that stay inactive for about 40 hours, and a branch
  // restore drops them too. "fail" (the default) stops `pulumi up` with an
  // explanation instead of silently recreating the slot behind the connector's
  // offsets; set onSlotLoss=resnapshot to rebuild the slot and snapshot again.
  onSlotLoss: config.get("onSlotLoss") === "resnapshot" ? "resnapshot" : "fail",
  connectorConfig: {
    // Confluent's managed Debezium connector, and how it writes to the cluster.
    "connector.class": "PostgresCdcSourceV2",
    "kafka.auth.mode": "KAFKA_API_KEY",
    "kafka.api.key": config.require("kafkaApiKey"),
    "kafka.api.secret": config.requireSecret("kafkaApiSecret"),
    "output.data.format": "JSON",
    "output.key.format": "JSON",
    // The seed's choices that differ from Debezium's defaults.
    "after.state.only": "true",
    "decimal.handling.mode": "precise",
    "tasks.max": "1",
  },
});

export const connectorName = pipeline.connectorName;
export const slotName = pipeline.slotName;
export const publicationName = pipeline.publicationName;
export const topics = pipeline.topics;
export const connectorState = pipeline.connectorState;
export const tasks = pipeline.tasks;
export const lagBytes = pipeline.lagBytes;
