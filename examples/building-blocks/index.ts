/**
 * examples/building-blocks: the pieces CdcPipeline is made of, composed by
 * hand, for when you need what the pipeline does not expose. Runs against the
 * docker compose stack of ../local (PostgreSQL 15+ for the row filter and the
 * column list; the stack has 17).
 *
 *   ReplicationGrant ─┐
 *   ReplicaIdentity ──┼─> Publication ─> ReplicationSlot ─> DebeziumConnector
 *
 * Here the publication carries a row filter (orders that are not drafts) and
 * a column list (customers without the internal `notes`), and the connector's
 * snapshot is told to match them. `dependsOn` and the outputs passed along
 * give the order: `pulumi up` creates left to right, `pulumi destroy` deletes
 * right to left, so the connector goes first and the grants are revoked last.
 */
import * as pulumi from "@pulumi/pulumi";
import {
  DebeziumConnector,
  Publication,
  ReplicaIdentity,
  ReplicationGrant,
  ReplicationSlot,
} from "pulumi-postgres-cdc";

const config = new pulumi.Config();

const connection = {
  host: config.get("pgHost") ?? "localhost",
  port: config.getNumber("pgPort") ?? 5432,
  database: config.get("pgDatabase") ?? "inventory",
  user: config.get("pgUser") ?? "postgres",
  password: config.requireSecret("pgPassword"),
  sslMode: "disable" as const, // the local container has no TLS
};
const connect = { url: config.get("connectUrl") ?? "http://localhost:8083" };
const connectorRole = config.get("connectorRole") ?? "debezium"; // created by ../local/init/inventory.sql
const connectorPassword = config.requireSecret("debeziumPassword");

// 1. What the connector's role may do: REPLICATION (to stream from the slot)
//    and SELECT on the two tables (for the snapshot). Deleting this resource
//    revokes exactly these, and nothing the role had before.
const grant = new ReplicationGrant("shop-grant", {
  connection,
  role: connectorRole,
  replication: true,
  tables: ["public.orders", "public.customers"],
});

// 2. The row filter below reads `status`. For a publication that publishes
//    updates and deletes, PostgreSQL requires filtered columns to be part of
//    the replica identity, or UPDATE/DELETE on `orders` would fail; FULL also
//    gives before-images in the change events.
const ordersIdentity = new ReplicaIdentity("orders-identity", {
  connection,
  tables: ["public.orders"],
  identity: "full",
});

// 3. The publication: what the slot's stream contains.
const publication = new Publication(
  "shop-publication",
  {
    connection,
    name: "shop_orders",
    tables: [
      // a row filter: draft orders never leave the database
      { name: "public.orders", where: "status <> 'draft'" },
      // a column list: `notes` is internal. The replica identity (the primary
      // key `id`) must be in the list when updates and deletes are published.
      { name: "public.customers", columns: ["id", "first_name", "last_name", "email", "created_at"] },
    ],
    operations: ["insert", "update", "delete"], // no TRUNCATE events
  },
  { dependsOn: [grant, ordersIdentity] },
);

// 4. The slot: the connector's position in the WAL. PostgreSQL 17 can
//    synchronize it to standbys (failoverSlot=true), so it survives a failover.
const slot = new ReplicationSlot(
  "shop-slot",
  {
    connection,
    name: "shop_orders",
    plugin: "pgoutput",
    failover: config.getBoolean("failoverSlot") ?? false,
    // on delete, wait up to 2 minutes for the connector to let go of the slot
    onDeleteWhileActive: "wait",
    deleteTimeoutSeconds: 120,
  },
  { dependsOn: [publication] },
);

// 5. The connector, written out in full. It uses the slot and publication
//    above and never creates or drops its own.
const connector = new DebeziumConnector(
  "shop-connector",
  {
    connect,
    name: "shop-orders",
    config: {
      "connector.class": "io.debezium.connector.postgresql.PostgresConnector",
      "tasks.max": "1",
      "database.hostname": config.get("workerPgHost") ?? "postgres",
      "database.port": String(config.getNumber("workerPgPort") ?? 5432),
      "database.dbname": connection.database,
      "database.user": grant.role,
      "database.password": connectorPassword,
      "topic.prefix": "shop", // topics shop.public.orders, shop.public.customers
      "plugin.name": "pgoutput",
      "slot.name": slot.name,
      "publication.name": publication.name,
      "publication.autocreate.mode": "disabled",
      "slot.drop.on.stop": "false",
      "table.include.list": "public\\.orders,public\\.customers",
      // The publication filters the stream; the snapshot reads the tables
      // directly, so give it the same filter and the same columns.
      "snapshot.mode": "initial",
      "snapshot.select.statement.overrides": "public.orders",
      "snapshot.select.statement.overrides.public.orders": "SELECT * FROM public.orders WHERE status <> 'draft'",
      "column.exclude.list": "public\\.customers\\.notes",
      "key.converter": "org.apache.kafka.connect.json.JsonConverter",
      "key.converter.schemas.enable": "false",
      "value.converter": "org.apache.kafka.connect.json.JsonConverter",
      "value.converter.schemas.enable": "false",
    },
    runningTimeoutSeconds: 180,
    resetOffsetsOnDelete: true, // a later connector named shop-orders starts with a fresh snapshot
  },
  { dependsOn: [grant, ordersIdentity, publication, slot] },
);

export const grantedPrivileges = grant.privileges;
export const publishedTables = publication.tables;
export const slotActive = slot.active;
export const slotRestartLsn = slot.restartLsn;
export const slotRetainedWalBytes = slot.retainedWalBytes;
export const connectorState = connector.connectorState;
export const connectorTasks = connector.tasks;
