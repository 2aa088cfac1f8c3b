import * as pulumi from "@pulumi/pulumi";
import type { ConnectClusterArgs } from "../resources/connect-args";
import type { ConnectorTask, DebeziumConnector } from "../resources/debezium-connector";
import type { Publication } from "../resources/publication";
import type { ReplicaIdentity } from "../resources/replica-identity";
import type { ReplicationGrant } from "../resources/replication-grant";
import type { ReplicationSlot } from "../resources/replication-slot";
import type { SignalTable } from "../resources/signal-table";
import type { PostgresConnectionArgs } from "../resources/common";
import { createPipeline } from "./create";
import type { SnapshotMode } from "./debezium-config";
import type { SlotLossPolicy } from "./gate";

/** Arguments of a {@link CdcPipeline}. */
export interface CdcPipelineArgs {
  /**
   * How Pulumi reaches the database to set it up (grants, publication, slot): connection fields, or a
   * connection string "postgres://user:password@host:5432/db?sslmode=require". Stored as a secret. Required.
   * Another host, port or credentials (e.g. the promoted server after a failover) update every child in
   * place and point the connector there, after the checks of `onSlotLoss`; another database replaces the
   * pipeline's objects (they live in that database).
   */
  source: pulumi.Input<PostgresConnectionArgs | string>;
  /**
   * The Kafka Connect cluster that runs Debezium (url, auth, TLS, timeouts). Required. Another `url` replaces
   * the connector (it is created on the new cluster and deleted from the old one; its offsets stay behind).
   */
  connect: pulumi.Input<ConnectClusterArgs>;
  /**
   * Tables to capture, "schema.table" or "table" (= public.table), raw names.
   * Omitted or empty: all tables (FOR ALL TABLES publication, which needs a superuser).
   * Changing the list alters the publication in place (a table streams from that commit on, and stops at the
   * commit that removes it; its topic is left alone) and the connector's snapshot.include.collection.list;
   * added tables get their existing rows by incremental snapshot (see `onTablesAdded`).
   */
  tables?: pulumi.Input<pulumi.Input<string>[]>;
  /** Topic prefix; topics are `<prefix>.<schema>.<table>`. Default: the pipeline name. Changing it replaces nothing but makes Debezium write to new topics. */
  topicPrefix?: pulumi.Input<string>;
  /**
   * Debezium snapshot.mode. Default "initial": snapshot existing rows, then stream. Changing it updates the
   * connector in place; it matters when Debezium has no offsets (first start, or after a re-snapshot).
   */
  snapshotMode?: pulumi.Input<SnapshotMode>;
  /** Replication slot name. Default `<name>_slot` (lower-cased, [a-z0-9_]). Changing it replaces the slot and the connector's position. */
  slotName?: pulumi.Input<string>;
  /** Publication name. Default `<name>_pub`. Changing it replaces the publication. */
  publicationName?: pulumi.Input<string>;
  /** Kafka Connect connector name. Default: the pipeline name. Changing it replaces the connector. */
  connectorName?: pulumi.Input<string>;
  /**
   * How the Connect workers reach the database (host, port, user, password, sslMode), when it differs from
   * `source` (e.g. a private address, or a dedicated Debezium role). Fields not given are taken from `source`.
   * Worker-side TLS files (database.sslrootcert, database.sslcert, database.sslkey) go in `connectorConfig`.
   * The role named here (default: source.user) is the one that gets REPLICATION and SELECT. Default: `source`.
   * Changing it updates the connector in place (Connect restarts its task); another user moves the grants.
   */
  connectorSource?: pulumi.Input<Partial<PostgresConnectionArgs>>;
  /**
   * REPLICA IDENTITY FULL, so update and delete events carry the whole old row ("before").
   * true: every captured table (needs an explicit `tables` list); or a list of tables.
   * Default: none (identities left alone). Adding or removing tables sets or restores their identity in
   * place; the previous identity is restored on destroy.
   */
  replicaIdentityFull?: pulumi.Input<boolean | pulumi.Input<string>[]>;
  /**
   * Debezium heartbeats, so an idle database does not pin WAL: heartbeat.interval.ms plus an action
   * query. Default: no heartbeats. Default action: `SELECT pg_logical_emit_message(false, 'debezium-heartbeat',
   * now()::varchar)`. Changing it updates the connector in place.
   */
  heartbeat?: pulumi.Input<{ intervalMs: number; actionQuery?: string }>;
  /**
   * Pre-create one Kafka topic per table (and one for the signal table) with @pulumi/kafka (partitions,
   * replication factor, topic config). Needs a kafka provider in `opts.providers`
   * (`{ kafka: new kafka.Provider(...) }`). Topics are retained: removing a table or destroying the
   * pipeline leaves its topic and data in Kafka (delete them with kafka-topics.sh when you want them gone).
   * Default: none (Connect or the broker creates topics on first write). Changing partitions or config
   * updates the topics in place (partitions can only grow).
   */
  topics?: pulumi.Input<{ partitions?: number; replicationFactor?: number; config?: Record<string, string> }>;
  /**
   * Extra or overriding Debezium properties; they win over generated ones. Default: none. Changing them
   * updates the connector in place (validated by Connect first; the task restarts with the new config).
   */
  connectorConfig?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /**
   * Wanted connector state. Default "running". Changing it pauses (tasks stay, the slot stays held), stops
   * (tasks removed, the slot released; Connect 3.5+) or resumes the connector in place.
   */
  state?: pulumi.Input<"running" | "paused" | "stopped">;
  /**
   * What to do when the connector exists but its slot cannot continue where the connector left off: the
   * slot vanished out of band, PostgreSQL invalidated it (wal_status 'lost'), or `source` moved to a server
   * (a promoted standby) where the slot is missing or starts after the connector's committed offset.
   * Default "fail": stop the up before anything changes and explain the data gap, with the LSN from which
   * changes are missing (a new slot starts at the current WAL position). "resnapshot": stop the connector,
   * clear its offsets, create the slot where needed and run the connector again (on the new server, after
   * a move), so Debezium snapshots every table again.
   */
  onSlotLoss?: pulumi.Input<SlotLossPolicy>;
  /**
   * Create the login role Debezium uses, with @pulumi/postgresql (needs a postgresql provider in
   * `opts.providers`, e.g. `{ postgresql: new postgresql.Provider(...) }`). Unless `connectorSource` names
   * another user, the connector logs in as this role. Its REPLICATION attribute and memberships (e.g.
   * rds_replication) are left to the pipeline's ReplicationGrant (`ignoreChanges`), so the role resource
   * does not revoke them on the next up. Changing the name replaces the role.
   */
  loginRole?: pulumi.Input<{ name: pulumi.Input<string>; password: pulumi.Input<string> }>;
  /**
   * Grant REPLICATION and SELECT to the connector's role (and USAGE on the schemas). Default true. Setting it
   * to false later revokes exactly what the pipeline granted, nothing the role had before.
   */
  manageGrants?: pulumi.Input<boolean>;
  /**
   * Run the checks before creating anything, also in preview: the source preflight (wal_level, free slots and
   * WAL senders, missing tables, tables without primary key or replica identity, role, server version), failing
   * with every problem at once, the detection of a slot lost out of band or behind a moved source
   * (`onSlotLoss`), and the failover set-up of `standby`. Default true. false skips them all.
   */
  preflight?: pulumi.Input<boolean>;
  /**
   * Seconds to wait for the connector and its tasks to run and for Debezium to hold the slot (after a
   * snapshot, once it streams). Default 300. On timeout the up fails with the task's state and trace.
   */
  readyTimeoutSeconds?: pulumi.Input<number>;
  /**
   * Debezium's signal table, which the pipeline creates, grants to the connector's role (SELECT, INSERT,
   * DELETE; USAGE on the schema), keeps in the publication and names in `signal.data.collection`. Default
   * `public.<name>_signal`; the schema must exist. Its rows (signals, snapshot watermarks) also reach the
   * topic `<topicPrefix>.<schema>.<table>`, which consumers can ignore. Changing it replaces the table.
   */
  signalTable?: pulumi.Input<{ schema?: pulumi.Input<string>; name?: pulumi.Input<string> }>;
  /**
   * What a running pipeline does with the rows already in a table added to `tables`. Default "snapshot":
   * after the connector is updated, an incremental snapshot reads exactly the added tables (op "r" events,
   * interleaved with streaming; the other tables are not read again). "stream-only": only changes made
   * after the table joined the publication. Either way no change is lost: the publication alone decides
   * what is captured, so a table streams from the commit of the ALTER PUBLICATION that adds it.
   */
  onTablesAdded?: pulumi.Input<"snapshot" | "stream-only">;
  /**
   * Read chosen tables again without recreating anything: whenever `nonce` changes (any new value, e.g.
   * today's date), the next `pulumi up` asks Debezium for an incremental snapshot of `tables`. Keeping the
   * same nonce does nothing. The same on demand: `npx pulumi-postgres-cdc snapshot`.
   */
  resnapshot?: pulumi.Input<{ tables: pulumi.Input<pulumi.Input<string>[]>; nonce: pulumi.Input<string> }>;
  /**
   * A PostgreSQL 17 streaming standby that keeps a synchronized copy of the slot, so that a failover loses
   * nothing: the slot is created as a failover slot (and Debezium's `slot.failover` is set), and the checks
   * before every up require that the primary has the physical slot `physicalSlot` and lists it in
   * `synchronized_standby_slots`; with `connection`, also that the standby streams through that slot with
   * `sync_replication_slots`, `hot_standby_feedback` and `wal_level = logical`. Every missing piece is named
   * with the statement that fixes it. Needs PostgreSQL 17 (earlier majors: an error that says so).
   *
   * After a failover, point `source` (and `connectorSource`) at the promoted server: the checks find the
   * synchronized slot there and the connector resumes from it, without a new slot or a snapshot. Where the
   * slot is missing or starts after the connector's committed position, `onSlotLoss` decides, and the
   * message names the LSN from which changes are missing. Adding `standby` to a pipeline whose slot exists
   * without failover is refused with the steps to convert it; removing it (e.g. after the failover, until a
   * new standby exists) keeps the slot as it is. Default: none.
   */
  standby?: pulumi.Input<{
    /** The physical replication slot on the primary that the standby streams from (its primary_slot_name). */
    physicalSlot: pulumi.Input<string>;
    /** How to reach the standby (read-only checks of its settings). Optional; stored as a secret. */
    connection?: pulumi.Input<PostgresConnectionArgs | string>;
  }>;
}

/**
 * A whole PostgreSQL -> Debezium -> Kafka change data capture pipeline.
 *
 * Children, in dependency order: (login role, when asked) -> ReplicationGrant -> ReplicaIdentity (when
 * asked) -> SignalTable -> Publication -> ReplicationSlot -> Kafka topics (when asked) ->
 * DebeziumConnector. `pulumi destroy` therefore deletes the connector first
 * (releasing the slot, clearing its offsets), then the slot, the publication,
 * the replica identities and the grants. Before creating anything the
 * pipeline runs the preflight checks and detects a slot lost out of band.
 * "Ready" means streaming: after the connector reports RUNNING the pipeline
 * waits until Debezium holds the slot.
 */
export class CdcPipeline extends pulumi.ComponentResource {
  /** Kafka Connect connector name. */
  declare readonly connectorName: pulumi.Output<string>;
  /** Replication slot name. */
  declare readonly slotName: pulumi.Output<string>;
  /** Publication name. */
  declare readonly publicationName: pulumi.Output<string>;
  /** "schema.table" -> Kafka topic. Empty when capturing all tables. */
  declare readonly topics: pulumi.Output<Record<string, string>>;
  /** Connector state as last seen (RUNNING, PAUSED, STOPPED, FAILED). */
  declare readonly connectorState: pulumi.Output<string>;
  /** Task states as last seen, with traces for failed tasks. */
  declare readonly tasks: pulumi.Output<ConnectorTask[]>;
  /** WAL bytes the slot holds back (restart_lsn to current WAL position; null before the slot has one); refreshes with `pulumi refresh`. */
  declare readonly lagBytes: pulumi.Output<number | null>;
  /** The child resources, for users who want to depend on or export them. */
  readonly loginRole?: import("@pulumi/postgresql").Role;
  readonly grant?: ReplicationGrant;
  readonly replicaIdentity?: ReplicaIdentity;
  readonly signalTable: SignalTable;
  readonly publication: Publication;
  readonly slot: ReplicationSlot;
  readonly connector: DebeziumConnector;

  constructor(name: string, args: CdcPipelineArgs, opts?: pulumi.ComponentResourceOptions) {
    // Only non-sensitive arguments go to the engine as component inputs (they are stored in state).
    super("postgres-cdc:index:CdcPipeline", name, { tables: args.tables, topicPrefix: args.topicPrefix, snapshotMode: args.snapshotMode }, opts);
    const { children, outputs } = createPipeline(name, args, this, opts);
    this.loginRole = children.loginRole;
    this.grant = children.grant;
    this.replicaIdentity = children.replicaIdentity;
    this.signalTable = children.signalTable;
    this.publication = children.publication;
    this.slot = children.slot;
    this.connector = children.connector;
    this.connectorName = outputs.connectorName;
    this.slotName = outputs.slotName;
    this.publicationName = outputs.publicationName;
    this.topics = outputs.topics;
    this.connectorState = outputs.connectorState;
    this.tasks = outputs.tasks;
    this.lagBytes = outputs.lagBytes;
    this.registerOutputs(outputs);
  }
}
