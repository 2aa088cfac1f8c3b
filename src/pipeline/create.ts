/**
 * Builds a CdcPipeline's children, in dependency order, and its outputs. The
 * component's constructor only calls this and assigns what it returns.
 */
import * as pulumi from "@pulumi/pulumi";
import type { ConnectorTask } from "../resources/debezium-connector";
import { DebeziumConnector } from "../resources/debezium-connector";
import { Publication } from "../resources/publication";
import { ReplicaIdentity } from "../resources/replica-identity";
import { ReplicationGrant } from "../resources/replication-grant";
import { ReplicationSlot } from "../resources/replication-slot";
import { SignalTable } from "../resources/signal-table";
import { CdcError } from "../errors";
import { parseConnectionString, slotName, type PostgresConnectionInput } from "../validation/common";
import { withoutUndefined } from "../validation/connection";
import { DEFAULT_RUNNING_TIMEOUT_SECONDS } from "../validation/debezium-connector";
import { normalizeTables } from "../validation/table-name";
import type { CdcPipelineArgs } from "./cdc-pipeline";
import { debeziumConfig, type SnapshotMode } from "./debezium-config";
import { pipelineGate, type StandbyInput } from "./gate";
import { assertPipelineArgs, pipelineNames, replicaIdentityTables, topicMap } from "./plan";

/** The resources a pipeline is made of (the login role and the replica identities only when asked for). */
export interface PipelineChildren {
  loginRole?: import("@pulumi/postgresql").Role;
  grant: ReplicationGrant;
  replicaIdentity?: ReplicaIdentity;
  signalTable: SignalTable;
  publication: Publication;
  slot: ReplicationSlot;
  connector: DebeziumConnector;
}

/** What a pipeline exposes. */
export interface PipelineOutputs {
  connectorName: pulumi.Output<string>;
  slotName: pulumi.Output<string>;
  publicationName: pulumi.Output<string>;
  topics: pulumi.Output<Record<string, string>>;
  connectorState: pulumi.Output<string>;
  tasks: pulumi.Output<ConnectorTask[]>;
  lagBytes: pulumi.Output<number | null>;
}

/** Creates the pipeline's resources as children of `component`. */
export function createPipeline(
  name: string,
  args: CdcPipelineArgs,
  component: pulumi.ComponentResource,
  opts?: pulumi.ComponentResourceOptions,
): { children: PipelineChildren; outputs: PipelineOutputs } {
  const parent = { parent: component };
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
  let loginRoleResource: import("@pulumi/postgresql").Role | undefined;
  let replicaIdentity: ReplicaIdentity | undefined;
  if (loginRole) {
    const postgresql = require("@pulumi/postgresql") as typeof import("@pulumi/postgresql");
    loginRoleResource = new postgresql.Role(
      `${name}-role`,
      { name: loginRole.apply((r) => r.name), login: true, password: pulumi.secret(loginRole.apply((r) => r.password)) },
      { ...parent, provider: providerFor(opts, "postgresql"), dependsOn: gate, ignoreChanges: ["roles", "replication"], additionalSecretOutputs: ["password"] },
    );
  }
  const grant = new ReplicationGrant(
    `${name}-grant`,
    {
      connection: source,
      role,
      replication: manageGrants,
      tables: pulumi.all([tables, manageGrants]).apply(([t, m]) => (m ? t : [])),
      schemas: pulumi.all([tables, manageGrants]).apply(([t, m]) => (m && !t.length ? ["public"] : [])),
    },
    { ...parent, dependsOn: loginRoleResource ? [loginRoleResource] : gate },
  );
  last = [grant];

  if (args.replicaIdentityFull) {
    replicaIdentity = new ReplicaIdentity(`${name}-replica-identity`, { connection: source, tables: identityTables, identity: "full" }, { ...parent, dependsOn: last });
    last = [replicaIdentity];
  }

  // The signal table is in the publication before the connector exists (a FOR ALL TABLES one has it anyway).
  const signalTable = new SignalTable(`${name}-signal-table`, { connection: source, table: plan.names.signalTable, role }, { ...parent, dependsOn: last });
  const publication = new Publication(
    `${name}-publication`,
    {
      connection: source,
      name: plan.names.publicationName,
      tables: pulumi.all([tables, plan.names.signalTable]).apply(([t, signal]) => (t.length ? [...t, signal] : [])),
      allTables: tables.apply((t) => t.length === 0),
    },
    { ...parent, dependsOn: [...last, signalTable] },
  );
  const slot = new ReplicationSlot(
    `${name}-slot`,
    { connection: source, name: plan.names.slotName, ...slotSpec, onDeleteWhileActive: "wait" },
    // failover is set when the slot is created: adding `standby` later is checked by the gate (the slot must be
    // converted), removing it keeps the slot a failover slot instead of replacing it and losing its position.
    { ...parent, dependsOn: [publication], ignoreChanges: ["failover"] },
  );
  last = [slot];

  const topicResources = args.topics ? createTopics(name, component, plan, args.topics, opts) : undefined;

  const readyTimeout = pulumi.output(args.readyTimeoutSeconds ?? DEFAULT_RUNNING_TIMEOUT_SECONDS);
  const connector = new DebeziumConnector(
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

  return {
    children: { loginRole: loginRoleResource, grant, replicaIdentity, signalTable, publication, slot, connector },
    outputs: {
      connectorName: connector.name,
      slotName: slot.name,
      publicationName: publication.name,
      topics: plan.apply((p) => topicMap(p.names.topicPrefix, p.tables)),
      connectorState: connector.connectorState,
      tasks: connector.tasks,
      lagBytes: slot.retainedWalBytes,
    },
  };
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
