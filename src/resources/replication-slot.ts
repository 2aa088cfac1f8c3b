import * as pulumi from "@pulumi/pulumi";
import { providerStub } from "../providers/stub";
import { defaultObjectName } from "../validation/common";
import type { DeleteWhileActive, SlotPlugin } from "../validation/replication-slot";
import { DYNAMIC_MODULE, secretTarget, withDefaults, type PostgresTargetArgs } from "./common";

const stub = providerStub("replication-slot");

/** Arguments of {@link ReplicationSlot}. */
export interface ReplicationSlotArgs extends PostgresTargetArgs {
  /**
   * Slot name: lower-case letters, digits and "_", at most 63 bytes
   * (PostgreSQL's rule; other names are rejected before any SQL). Default: the
   * resource name lower-cased, with every other character replaced by "_".
   * Changing it replaces the slot (delete first).
   */
  name?: pulumi.Input<string>;
  /**
   * Logical decoding output plugin: "pgoutput" (built in, default) or
   * "decoderbufs" (must be installed on the server). Changing it replaces the slot.
   */
  plugin?: pulumi.Input<SlotPlugin>;
  /** Decode prepared transactions at PREPARE time (two-phase). PostgreSQL 14+. Default false. Changing it replaces the slot. */
  twoPhase?: pulumi.Input<boolean>;
  /** Synchronize the slot to physical standbys for failover. PostgreSQL 17+. Default false. Changing it replaces the slot. */
  failover?: pulumi.Input<boolean>;
  /**
   * What delete does while a consumer holds the slot: "wait" (default) polls
   * until it lets go, bounded by `deleteTimeoutSeconds`; "terminate" ends the
   * holding backend (pg_terminate_backend) and drops; "fail" errors at once,
   * naming the holder's PID. Changed in place.
   */
  onDeleteWhileActive?: pulumi.Input<DeleteWhileActive>;
  /**
   * Bound of "wait" on delete, in seconds (and of the retries after
   * "terminate", at least 10 s). Default 300. Pulumi's customTimeouts do not
   * reach dynamic resources, so this is the bound. Changed in place.
   */
  deleteTimeoutSeconds?: pulumi.Input<number>;
}

/**
 * A PostgreSQL logical replication slot (pg_create_logical_replication_slot),
 * the server-side cursor a CDC consumer such as Debezium reads from. Created,
 * or adopted when a slot of the same name with the same database, plugin and
 * options exists. `pulumi refresh` brings back its live state: whether a
 * consumer holds it, its LSNs, and how much WAL it keeps. Deleting it drops the
 * slot, handling a consumer that still holds it as `onDeleteWhileActive` says.
 */
export class ReplicationSlot extends pulumi.dynamic.Resource {
  /** Slot name. */
  declare readonly name: pulumi.Output<string>;
  /** Database the slot decodes. */
  declare readonly database: pulumi.Output<string>;
  /** Output plugin. */
  declare readonly plugin: pulumi.Output<SlotPlugin>;
  /** Whether two-phase decoding is on (always false before PostgreSQL 14). */
  declare readonly twoPhase: pulumi.Output<boolean>;
  /** Whether the slot is synchronized to standbys (always false before PostgreSQL 17). */
  declare readonly failover: pulumi.Output<boolean>;
  /** What delete does while the slot is held. */
  declare readonly onDeleteWhileActive: pulumi.Output<DeleteWhileActive>;
  /** Bound of "wait" on delete, seconds. */
  declare readonly deleteTimeoutSeconds: pulumi.Output<number>;
  /** Whether a consumer holds the slot (as of create or the last refresh). */
  declare readonly active: pulumi.Output<boolean>;
  /** PID of the backend holding the slot, or null. */
  declare readonly activePid: pulumi.Output<number | null>;
  /** Oldest WAL position the slot still needs, e.g. "0/1A2B3C8". */
  declare readonly restartLsn: pulumi.Output<string | null>;
  /** Position the consumer confirmed. */
  declare readonly confirmedFlushLsn: pulumi.Output<string | null>;
  /** reserved | extended | unreserved | lost. */
  declare readonly walStatus: pulumi.Output<string | null>;
  /** Bytes of WAL kept on the server for this slot (current WAL position minus restart_lsn). */
  declare readonly retainedWalBytes: pulumi.Output<number | null>;

  constructor(name: string, args: ReplicationSlotArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      stub,
      name,
      {
        ...secretTarget(args),
        name: args.name ?? defaultObjectName(name),
        plugin: args.plugin,
        twoPhase: args.twoPhase,
        failover: args.failover,
        onDeleteWhileActive: args.onDeleteWhileActive,
        deleteTimeoutSeconds: args.deleteTimeoutSeconds,
        database: undefined,
        active: undefined,
        activePid: undefined,
        restartLsn: undefined,
        confirmedFlushLsn: undefined,
        walStatus: undefined,
        retainedWalBytes: undefined,
      },
      withDefaults(opts, { additionalSecretOutputs: ["connection", "connectionString"], deleteBeforeReplace: true }),
      DYNAMIC_MODULE,
      "ReplicationSlot",
    );
  }
}
