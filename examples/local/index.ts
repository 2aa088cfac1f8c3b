/**
 * examples/local: the whole PostgreSQL -> Debezium -> Kafka pipeline of
 * docker-compose.yml declared as one CdcPipeline.
 *
 * What `pulumi up` does, in order (each step waits for the one before):
 *   1. preflight: wal_level, free slots and WAL senders, the tables exist,
 *      every table has a primary key or replica identity; all problems at once
 *   2. ReplicationGrant: REPLICATION + SELECT on the three tables for `debezium`
 *   3. REPLICA IDENTITY FULL on the three tables, so updates and deletes carry
 *      the old row in `before` (without it `before` is null on updates)
 *   4. Publication over exactly these tables
 *   5. ReplicationSlot (pgoutput)
 *   6. the Kafka topics `inventory.public.<table>` (createTopics=true)
 *   7. the Debezium connector on Kafka Connect, waiting until it and its task
 *      are RUNNING and the slot is active
 * `pulumi destroy` walks the same list backwards (see README.md).
 */
import * as pulumi from "@pulumi/pulumi";
import * as kafka from "@pulumi/kafka";
import { CdcPipeline } from "pulumi-postgres-cdc";

const config = new pulumi.Config();

// How Pulumi reaches PostgreSQL (from the host: the port docker compose publishes).
const source = {
  host: config.get("pgHost") ?? "localhost",
  port: config.getNumber("pgPort") ?? 5432,
  database: config.get("pgDatabase") ?? "inventory",
  user: config.get("pgUser") ?? "postgres",
  password: config.requireSecret("pgPassword"),
  sslMode: "disable" as const, // the local container has no TLS
};

// How the Connect workers reach PostgreSQL: inside the compose network, as the
// unprivileged `debezium` role created by init/inventory.sql.
const connectorSource = {
  host: config.get("workerPgHost") ?? "postgres",
  port: config.getNumber("workerPgPort") ?? 5432,
  user: "debezium",
  password: config.requireSecret("debeziumPassword"),
};

const createTopics = config.getBoolean("createTopics") ?? true;
const kafkaProvider = createTopics
  ? new kafka.Provider("local-kafka", {
      bootstrapServers: [config.get("kafkaBootstrapServers") ?? "localhost:9094"],
      tlsEnabled: false, // the provider defaults to TLS; the local broker is plaintext
    })
  : undefined;

const pipeline = new CdcPipeline(
  "inventory",
  {
    source,
    connect: { url: config.get("connectUrl") ?? "http://localhost:8083" },
    // `pulumi config set tables public.customers,public.orders` changes the captured set in place.
    tables: (config.get("tables") ?? "public.customers,public.products,public.orders").split(",").map((t) => t.trim()),
    topicPrefix: "inventory", // topics: inventory.public.customers, ...
    snapshotMode: "initial", // read the existing rows first (op "r"), then stream changes
    connectorSource,
    replicaIdentityFull: true, // before-images on update and delete
    heartbeat: { intervalMs: 10_000 }, // keeps the slot's confirmed position moving when the tables are idle
    topics: createTopics ? { partitions: 1, replicationFactor: 1, config: { "cleanup.policy": "delete" } } : undefined,
    connectorConfig: {
      // plain JSON without the schema block, so console consumers print just the envelope
      "key.converter": "org.apache.kafka.connect.json.JsonConverter",
      "key.converter.schemas.enable": "false",
      "value.converter": "org.apache.kafka.connect.json.JsonConverter",
      "value.converter.schemas.enable": "false",
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
