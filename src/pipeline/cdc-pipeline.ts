import * as pulumi from "@pulumi/pulumi";
import type { ConnectClusterArgs } from "../resources/connect-args";
import { DebeziumConnector, type ConnectorTask } from "../resources/debezium-connector";
import { Publication } from "../resources/publication";
import { ReplicaIdentity } from "../resources/replica-identity";
import { ReplicationGrant } from "../resources/replication-grant";
import { ReplicationSlot } from "../resources/replication-slot";
import { SignalTable } from "../resources/signal-table";
import type { PostgresConnectionArgs } from "../resources/common";
import { debeziumConfig, type SnapshotMode } from "./debezium-config";
import { pipelineGate, type SlotLossPolicy, type StandbyInput } from "./gate";
import { CdcError } from "../errors";
import { parseConnectionString, slotName, type PostgresConnectionInput } from "../validation/common";
import { assertPipelineArgs, pipelineNames, replicaIdentityTables, topicMap } from "./plan";
import { withoutUndefined } from "../validation/connection";
import { DEFAULT_RUNNING_TIMEOUT_SECONDS } from "../validation/debezium-connector";
import { normalizeTables } from "../validation/table-name";

/** Arguments of a {@link CdcPipeline}. */
export interface CdcPipelineArgs {
  /**
   * How Pulumi reaches the database to set it up (grants, publication, slot): connection fields, or a
   * connection string "postgres://user:password@host:5432/db?sslmode=require". Stored as a secret.
   */
  source: pulumi.Input<PostgresConnectionArgs | string>;
  /** The Kafka Connect cluster that runs Debezium. */
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
  /** Debezium snapshot.mode. Default "initial": snapshot existing rows, then stream. */
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
   * The role named here (default: source.user) is the one that gets REPLICATION and SELECT.
   */
  connectorSource?: pulumi.Input<Partial<PostgresConnectionArgs>>;
  /**
   * REPLICA IDENTITY FULL, so update and delete events carry the whole old row ("before").
   * true: every captured table (needs an explicit `tables` list); or a list of tables.
   * The previous identity is restored on destroy.
   */
  replicaIdentityFull?: pulumi.Input<boolean | pulumi.Input<string>[]>;
  /**
   * Debezium heartbeats, so an idle database does not pin WAL: heartbeat.interval.ms plus an action
   * query. Default action: `SELECT pg_logical_emit_message(false, 'debezium-heartbeat', now()::varchar)`.
   */
  heartbeat?: pulumi.Input<{ intervalMs: number; actionQuery?: string }>;
  /**
   * Pre-create one Kafka topic per table (and one for the signal table) with @pulumi/kafka (partitions,
   * replication factor, topic config). Needs a kafka provider in `opts.providers`
   * (`{ kafka: new kafka.Provider(...) }`). Topics are retained: removing a table or destroying the
   * pipeline leaves its topic and data in Kafka (delete them with kafka-topics.sh when you want them gone).
   */
  topics?: pulumi.Input<{ partitions?: number; replicationFactor?: number; config?: Record<string, string> }>;
  /** Extra or overriding Debezium properties; they win over generated ones. */
  connectorConfig?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /** Wanted connector state. Default "running". */
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
  /** Grant REPLICATION and SELECT to the connector's role. Default true. */
  manageGrants?: pulumi.Input<boolean>;
  /**
   * Run the checks before creating anything, also in preview: the source preflight (wal_level, free slots and
   * WAL senders, missing tables, tables without primary key or replica identity, role, server version), failing
   * with every problem at once, and the detection of a slot lost out of band (`onSlotLoss`). Default true.
   * false skips both.
   */
  preflight?: pulumi.Input<boolean>;
  /** Seconds to wait for the connector and its tasks to run and the slot to become active. Default 300. */
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
    const parent = { parent: this };
    assertKnownArgs(name, args);

    const source = pulumi.secret(pulumi.output(args.source).apply((s) => (typeof s === "string" ? parseConnectionString(s) : s) as PostgresConnectionInput));
    const loginRole = args.loginRole ? pulumi.output(args.loginRole) : undefined;
    const connectorSource = pulumi.secret(
      pulumi
        .all([source, args.connectorSource ?? {}, loginRole ?? {}])
        .apply(([s, c, r]) => ({ ...s, ...roleLogin(r as { name?: string; password?: string }), ...withoutUndefined(c as Record<string, unknown>) }) as PostgresConnectionInput),
    );
    const plan = pulumi
      .all([args.tables ?? [], args.slotName, args.publicationName, args.connectorName, args.topicPrefix, args.snapshotMode ?? "initial", args.heartbeat, args.signalTable ?? {}])
      .apply(([tables, slotName, publicationName, connectorName, topicPrefix, snapshotMode, heartbeat, signal]) => {
        const names = pipelineNames({ pipeline: name, slotName, publicationName, connectorName, topicPrefix, signalSchema: signal.schema, signalTableName: signal.name });
        const normalized = normalizeTables(tables as string[]);
        assertPipelineArgs({ pipeline: name, names, tables: normalized, snapshotMode, heartbeatIntervalMs: heartbeat?.intervalMs });
        return { names, tables: normalized, snapshotMode: snapshotMode as SnapshotMode };
      });
    const tables = plan.tables;
    // The role name is not a secret, although it comes from the (secret) connection.
    const role = pulumi.unsecret(connectorSource.apply((c) => c.user));
    const identityTables = pulumi.all([args.replicaIdentityFull, tables]).apply(([opt, t]) => replicaIdentityTables(opt as boolean | string[] | undefined, t, name));

    const standby = args.standby
      ? pulumi.secret(pulumi.output(args.standby).apply((sb) => standbyInput(name, sb.physicalSlot, sb.connection as PostgresConnectionInput | string | undefined)))
      : pulumi.output(undefined);
    const failover = args.standby !== undefined;
    // What the pipeline's slot is: the ReplicationSlot creates it so, and so does the gate should it have to
    // recreate it (onSlotLoss: "resnapshot").
    const slotSpec = { plugin: "pgoutput" as const, twoPhase: false, failover };

    const config = pulumi
      .all([plan, connectorSource, args.heartbeat, args.connectorConfig ?? {}])
      .apply(([p, cs, heartbeat, overrides]) =>
        debeziumConfig({
          source: { host: cs.host, port: cs.port ?? 5432, database: cs.database, user: cs.user, password: cs.password, sslMode: cs.sslMode },
          topicPrefix: p.names.topicPrefix,
          slotName: p.names.slotName,
          publicationName: p.names.publicationName,
          tables: p.tables,
          snapshotMode: p.snapshotMode,
          heartbeat: heartbeat ?? undefined,
          signalTable: p.names.signalTable,
          failoverSlot: failover,
          overrides: overrides as Record<string, string>,
        }),
      );

    // Runs before anything is created (and in preview): preflight, slot-loss detection, the failover set-up.
    const gate = pipelineGate({
      pipeline: name,
      source,
      connect: pulumi.secret(pulumi.output(args.connect)),
      plan,
      role,
      identityTables,
      preflight: args.preflight ?? true,
      onSlotLoss: args.onSlotLoss ?? "fail",
      manageGrants: args.manageGrants ?? true,
      roleCreatedByPipeline: !!args.loginRole && !(args.connectorSource as { user?: unknown } | undefined)?.user,
      standby,
      // Where the connector will point (its generated config, overrides included).
      connectorTarget: pulumi.unsecret(config.apply((c) => ({ host: c["database.hostname"] ?? "", port: Number(c["database.port"] ?? 5432) }))),
      slotSpec: pulumi.output(slotSpec),
    });

    const manageGrants = pulumi.output(args.manageGrants ?? true);
    let last: pulumi.Resource[] = [];
    if (loginRole) {
      const postgresql = require("@pulumi/postgresql") as typeof import("@pulumi/postgresql");
      this.loginRole = new postgresql.Role(
        `${name}-role`,
        { name: loginRole.apply((r) => r.name), login: true, password: pulumi.secret(loginRole.apply((r) => r.password)) },
        { ...parent, provider: providerFor(opts, "postgresql"), dependsOn: gate, ignoreChanges: ["roles", "replication"], additionalSecretOutputs: ["password"] },
      );
    }
    this.grant = new ReplicationGrant(
      `${name}-grant`,
      {
        connection: source,
        role,
        replication: manageGrants,
        tables: pulumi.all([tables, manageGrants]).apply(([t, m]) => (m ? t : [])),
        schemas: pulumi.all([tables, manageGrants]).apply(([t, m]) => (m && !t.length ? ["public"] : [])),
      },
      { ...parent, dependsOn: this.loginRole ? [this.loginRole] : gate },
    );
    last = [this.grant];

    if (args.replicaIdentityFull) {
      this.replicaIdentity = new ReplicaIdentity(`${name}-replica-identity`, { connection: source, tables: identityTables, identity: "full" }, { ...parent, dependsOn: last });
      last = [this.replicaIdentity];
    }

    // The signal table is in the publication before the connector exists (a FOR ALL TABLES one has it anyway).
    this.signalTable = new SignalTable(`${name}-signal-table`, { connection: source, table: plan.names.signalTable, role }, { ...parent, dependsOn: last });
    this.publication = new Publication(
      `${name}-publication`,
      {
        connection: source,
        name: plan.names.publicationName,
        tables: pulumi.all([tables, plan.names.signalTable]).apply(([t, signal]) => (t.length ? [...t, signal] : [])),
        allTables: tables.apply((t) => t.length === 0),
      },
      { ...parent, dependsOn: [...last, this.signalTable] },
    );
    this.slot = new ReplicationSlot(
      `${name}-slot`,
      { connection: source, name: plan.names.slotName, ...slotSpec, onDeleteWhileActive: "wait" },
      // failover is set when the slot is created: adding `standby` later is checked by the gate (the slot must be
      // converted), removing it keeps the slot a failover slot instead of replacing it and losing its position.
      { ...parent, dependsOn: [this.publication], ignoreChanges: ["failover"] },
    );
    last = [this.slot];

    const topicResources = args.topics ? createTopics(name, this, plan, args.topics, opts) : undefined;

    const readyTimeout = pulumi.output(args.readyTimeoutSeconds ?? DEFAULT_RUNNING_TIMEOUT_SECONDS);
    this.connector = new DebeziumConnector(
      `${name}-connector`,
      {
        connect: args.connect,
        name: plan.names.connectorName,
        config,
        state: args.state ?? "running",
        runningTimeoutSeconds: readyTimeout,
        resetOffsetsOnDelete: true,
        streaming: { connection: source, slotName: plan.names.slotName, timeoutSeconds: readyTimeout },
        snapshots: {
          connection: source,
          signalTable: plan.names.signalTable,
          tables,
          onTablesAdded: args.onTablesAdded ?? "snapshot",
          resnapshot: args.resnapshot,
        },
      },
      { ...parent, dependsOn: topicResources ? topicResources.apply((t) => [...last, ...t]) : last },
    );

    this.connectorName = this.connector.name;
    this.slotName = this.slot.name;
    this.publicationName = this.publication.name;
    this.topics = plan.apply((p) => topicMap(p.names.topicPrefix, p.tables));
    this.connectorState = this.connector.connectorState;
    this.tasks = this.connector.tasks;
    this.lagBytes = this.slot.retainedWalBytes;
    this.registerOutputs({
      connectorName: this.connectorName,
      slotName: this.slotName,
      publicationName: this.publicationName,
      topics: this.topics,
      connectorState: this.connectorState,
      tasks: this.tasks,
      lagBytes: this.lagBytes,
    });
  }
}

/** Validates the naming arguments at once when they are plain values, so mistakes fail at the line that made them. */
function assertKnownArgs(name: string, args: CdcPipelineArgs): void {
  const plain = (v: unknown) => v === undefined || typeof v === "string" || typeof v === "number" || typeof v === "boolean";
  const tables = args.tables;
  const tablesKnown = tables === undefined || (Array.isArray(tables) && tables.every((t) => typeof t === "string"));
  const heartbeat = args.heartbeat as { intervalMs?: unknown } | undefined;
  const heartbeatKnown = heartbeat === undefined || (typeof heartbeat === "object" && !pulumi.Output.isInstance(heartbeat) && plain(heartbeat.intervalMs));
  if (![args.slotName, args.publicationName, args.connectorName, args.topicPrefix, args.snapshotMode].every(plain) || !tablesKnown || !heartbeatKnown) return;
  assertPipelineArgs({
    pipeline: name,
    names: pipelineNames({ pipeline: name, slotName: args.slotName as string | undefined, publicationName: args.publicationName as string | undefined, connectorName: args.connectorName as string | undefined, topicPrefix: args.topicPrefix as string | undefined }),
    tables: normalizeTables((tables as string[] | undefined) ?? []),
    snapshotMode: (args.snapshotMode as string | undefined) ?? "initial",
    heartbeatIntervalMs: heartbeat?.intervalMs as number | undefined,
  });
}

/** The `standby` argument, its physical slot name checked by the rule every slot name follows. */
function standbyInput(pipeline: string, physicalSlot: string, connection: PostgresConnectionInput | string | undefined): StandbyInput {
  const parsed = slotName.safeParse(physicalSlot);
  if (!parsed.success) {
    throw new CdcError(`CdcPipeline "${pipeline}": standby.physicalSlot ${JSON.stringify(physicalSlot)}: ${parsed.error.issues.map((i) => i.message).join("; ")}. Give the name of the physical slot the standby streams from (its primary_slot_name).`);
  }
  return { physicalSlot: parsed.data, connection };
}

/** user/password of the login role, when the pipeline creates one. */
function roleLogin(r: { name?: string; password?: string }): Partial<PostgresConnectionInput> {
  return r.name ? { user: r.name, password: r.password } : {};
}

function createTopics(
  name: string,
  parent: pulumi.Resource,
  plan: pulumi.Output<{ names: { topicPrefix: string; signalTable: string }; tables: string[] }>,
  topics: NonNullable<CdcPipelineArgs["topics"]>,
  opts: pulumi.ComponentResourceOptions | undefined,
): pulumi.Output<pulumi.Resource[]> {
  // Loaded only when topics are asked for: @pulumi/kafka is a large module.
  const kafka = require("@pulumi/kafka") as typeof import("@pulumi/kafka");
  const provider = providerFor(opts, "kafka");
  // The signal table's topic too: Debezium writes its rows (signals, snapshot watermarks) there.
  return pulumi.all([plan, topics]).apply(([p, t]) =>
    Object.entries(topicMap(p.names.topicPrefix, [...p.tables, p.names.signalTable])).map(
      ([table, topic]) =>
        new kafka.Topic(
          `${name}-topic-${table}`,
          { name: topic, partitions: t.partitions ?? 1, replicationFactor: t.replicationFactor ?? 1, config: t.config },
          // A table removed from the pipeline (or the pipeline destroyed) leaves its topic and its data alone.
          { parent, provider, retainOnDelete: true },
        ),
    ),
  );
}

function providerFor(opts: pulumi.ComponentResourceOptions | undefined, pkg: string): pulumi.ProviderResource | undefined {
  const providers = opts?.providers;
  if (!providers) return undefined;
  if (Array.isArray(providers)) return providers.find((p) => (p as unknown as { getPackage?: () => string }).getPackage?.() === pkg);
  return (providers as Record<string, pulumi.ProviderResource>)[pkg];
}
