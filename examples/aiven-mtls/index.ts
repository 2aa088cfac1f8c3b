/**
 * examples/aiven-mtls (source document 001): a PostgreSQL server that wants
 * client certificates (verify-ca + client cert and key), captured by Debezium
 * running on Aiven for Apache Kafka Connect, reached over HTTPS with basic auth.
 *
 * Two different clients talk to the database, and both use mutual TLS:
 * - Pulumi itself (grants, publication, slot, preflight): PEM texts from stack
 *   config, held as secrets (`source`);
 * - the Connect worker running Debezium: the PostgreSQL JDBC driver reads
 *   certificate FILES on the worker, so the connector gets file paths
 *   (`connectorSource` + `connectorConfig`), or Aiven's integration endpoint
 *   delivers them (`aivenEndpointId`).
 */
import * as pulumi from "@pulumi/pulumi";
import * as kafka from "@pulumi/kafka";
import { CdcPipeline } from "pulumi-postgres-cdc";

const config = new pulumi.Config();

const host = config.require("pgHost");
const port = config.getNumber("pgPort") ?? 5432;
const user = config.require("pgUser");
const password = config.requireSecret("pgPassword");

// Pulumi's own connection: sslmode=verify-ca with a client certificate, like
// the seed's `psql "sslmode=verify-ca sslrootcert=… sslcert=… sslkey=…"` test.
const source = {
  host,
  port,
  database: config.get("pgDatabase") ?? "defaultdb",
  user,
  password,
  sslMode: "verify-ca" as const,
  sslRootCert: config.require("pgCaCert"), // server CA (PEM text)
  sslCert: config.requireSecret("pgClientCert"), // client certificate (PEM text)
  sslKey: config.requireSecret("pgClientKey"), // client key (PEM text)
};

// The worker side. With Aiven's external PostgreSQL integration endpoint the
// connector names the endpoint and Aiven puts the certificate files on the
// worker (asynchronously: allow about five minutes after creating the
// integration). Without it, point Debezium at files you installed on the worker.
const aivenEndpointId = config.get("aivenEndpointId");
const workerTls: Record<string, string> = aivenEndpointId
  ? { endpoint_id: aivenEndpointId }
  : {
      "database.sslrootcert": config.require("workerSslRootCertPath"),
      "database.sslcert": config.require("workerSslCertPath"),
      "database.sslkey": config.require("workerSslKeyPath"), // PKCS-8 DER (.pk8) for the JDBC driver
    };

// Connect's REST API on Aiven: HTTPS with basic auth (avnadmin). Give the
// service's CA only if your machine does not already trust it.
const connectCa = config.get("connectCaCert");

// Optional: create the topics up front (when the Kafka service does not
// auto-create topics). Aiven's Kafka takes client certificates as well.
const kafkaBootstrap = config.get("kafkaBootstrapServers");
const kafkaProvider = kafkaBootstrap
  ? new kafka.Provider("aiven-kafka", {
      bootstrapServers: kafkaBootstrap.split(","),
      tlsEnabled: true,
      caCert: config.require("kafkaCaCert"),
      clientCert: config.requireSecret("kafkaAccessCert"),
      clientKey: config.requireSecret("kafkaAccessKey"),
    })
  : undefined;

const unwrap = config.getBoolean("unwrap") ?? false;

const pipeline = new CdcPipeline(
  "aiven-cdc",
  {
    source,
    connect: {
      url: config.require("connectUrl"), // https://<connect-service>-<project>.aivencloud.com:<port>
      username: config.get("connectUser") ?? "avnadmin",
      password: config.requireSecret("connectPassword"),
      tls: connectCa ? { ca: connectCa } : undefined,
    },
    // Omitted: every table. FOR ALL TABLES needs a superuser, which managed
    // services (Aiven, Cloud SQL) do not give you; list the tables there.
    tables: config.getObject<string[]>("tables"),
    topicPrefix: config.get("topicPrefix") ?? "my_prefix", // topics: my_prefix.<schema>.<table>
    connectorName: "debezium-postgres-connector",
    publicationName: "debezium_publication",
    connectorSource: { host, port, user, password, sslMode: "verify-ca" },
    topics: kafkaProvider
      ? { partitions: config.getNumber("topicPartitions") ?? 1, replicationFactor: config.getNumber("topicReplicationFactor") ?? 3 }
      : undefined,
    connectorConfig: {
      ...workerTls,
      "database.tcpKeepAlive": "true", // keeps idle database connections from being cut
      ...(unwrap
        ? {
            // flatten the change event to the new row state
            transforms: "unwrap",
            "transforms.unwrap.type": "io.debezium.transforms.ExtractNewRecordState",
          }
        : {}),
    },
  },
  kafkaProvider ? { providers: { kafka: kafkaProvider } } : undefined,
);

export const connectorName = pipeline.connectorName;
export const slotName = pipeline.slotName;
export const publicationName = pipeline.publicationName;
export const topics = pipeline.topics;
export const connectorState = pipeline.connectorState;
export const tasks = pipeline.tasks;
export const lagBytes = pipeline.lagBytes;
