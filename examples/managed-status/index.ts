/**
 * examples/managed-status (source document 002): the managed "PostgreSQL to
 * Kafka CDC pipeline" of the document, as code. The document's API call
 *
 *   POST /organizations/$ORG_ID/pipelines
 *   {"name": "orders-cdc", "config": {"database_name": "defaultdb",
 *    "tables": ["public.orders", "public.customers"],
 *    "topic_prefix": "shop", "snapshot_mode": "initial"}}
 *
 * becomes the CdcPipeline below; its provisioning steps (prepare_source,
 * create_publication, create_connector) are the pipeline's children, created
 * in that order, and DELETE's ordered teardown is `pulumi destroy`.
 * The document's status endpoint is `npm run status` (status.ts), and its
 * troubleshooting table is `npm run check` (check.ts).
 */
import * as pulumi from "@pulumi/pulumi";
import { CdcPipeline } from "pulumi-postgres-cdc";
import { PIPELINE_NAME, SSL_MODES, TABLES, TOPIC_PREFIX } from "./settings";

const config = new pulumi.Config();

const source = {
  host: config.require("pgHost"),
  port: config.getNumber("pgPort") ?? 5432,
  database: config.get("pgDatabase") ?? "defaultdb",
  user: config.require("pgUser"),
  password: config.requireSecret("pgPassword"),
  sslMode: config.get("pgSslMode", { allowedValues: SSL_MODES }) ?? "require",
};

// The role the Connect workers use, and where they find the database, when
// that differs from Pulumi's own connection (e.g. a private address).
const connectorUser = config.get("connectorUser");
const workerPgHost = config.get("workerPgHost");
const connectorSource =
  connectorUser || workerPgHost
    ? {
        host: workerPgHost ?? source.host,
        port: source.port,
        user: connectorUser ?? source.user,
        password: connectorUser ? config.requireSecret("connectorPassword") : source.password,
        sslMode: source.sslMode,
      }
    : undefined;

const connectUser = config.get("connectUser");

// The document's failover handling, without its data gap: on PostgreSQL 17 a
// standby keeps a synchronized copy of the slot (standbySlot = the physical
// slot it streams from). After a failover, set pgHost to the promoted server
// and remove standbySlot: the connector resumes from the synchronized slot.
const standbySlot = config.get("standbySlot");
const standbyHost = config.get("standbyHost");
const standby = standbySlot
  ? { physicalSlot: standbySlot, connection: standbyHost ? { ...source, host: standbyHost } : undefined }
  : undefined;

const pipeline = new CdcPipeline(PIPELINE_NAME, {
  source,
  connect: {
    url: config.require("connectUrl"),
    ...(connectUser ? { username: connectUser, password: config.requireSecret("connectPassword") } : {}),
  },
  tables: TABLES,
  topicPrefix: TOPIC_PREFIX, // topics shop.public.orders and shop.public.customers
  snapshotMode: "initial", // existing rows first (op "r"), then every change
  connectorSource,
  heartbeat: { intervalMs: 30_000 },
  standby,
  // After a failover without a synchronized slot (before PostgreSQL 17, or no
  // standby declared) the new primary has no slot. "fail" stops the next
  // `pulumi up` and names the gap instead of recreating the slot at the current
  // WAL position behind the connector's offsets (changes in between would be
  // lost without anyone noticing); "resnapshot" recreates it and snapshots again.
  onSlotLoss: config.get<"fail" | "resnapshot">("onSlotLoss", { allowedValues: ["fail", "resnapshot"] }) ?? "fail",
  state: config.get<"running" | "paused" | "stopped">("state", { allowedValues: ["running", "paused", "stopped"] }) ?? "running",
});

export const connectorName = pipeline.connectorName;
export const slotName = pipeline.slotName;
export const publicationName = pipeline.publicationName;
export const topicPrefix = TOPIC_PREFIX;
export const topics = pipeline.topics;
export const connectorState = pipeline.connectorState;
export const tasks = pipeline.tasks;
export const lagBytes = pipeline.lagBytes;
