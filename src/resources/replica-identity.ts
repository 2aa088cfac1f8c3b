import * as pulumi from "@pulumi/pulumi";
import { providerStub } from "../providers/stub";
import type { ReplicaIdentityValue, WantedIdentity } from "../validation/replica-identity";
import { DYNAMIC_MODULE, secretTarget, withDefaults, type PostgresTargetArgs } from "./common";

/** Arguments of {@link ReplicaIdentity}. */
export interface ReplicaIdentityArgs extends PostgresTargetArgs {
  /**
   * Tables whose replica identity this resource manages: "schema.table" or
   * "table" (schema public). Names are raw, not SQL-quoted: "public.Order Items"
   * is the table `Order Items`. Order and duplicates do not matter. All tables
   * must exist; missing ones are reported together before anything changes.
   * Adding a table records its current identity and sets the wanted one;
   * removing a table puts its recorded identity back. Updates in place.
   */
  tables: pulumi.Input<pulumi.Input<string>[]>;
  /**
   * The replica identity to set. Default "full": PostgreSQL writes the whole
   * old row to WAL on UPDATE and DELETE, so change events carry before-images
   * (and tables without a primary key can be updated while published).
   * Changing it updates in place.
   */
  identity?: pulumi.Input<WantedIdentity>;
  /**
   * How long ALTER TABLE may wait for its table lock, in milliseconds, before
   * it gives up with a clear error and changes nothing. Default 10000.
   * Updates in place.
   */
  lockTimeoutMs?: pulumi.Input<number>;
}

/**
 * Manages the REPLICA IDENTITY of tables for change data capture
 * (`ALTER TABLE ... REPLICA IDENTITY FULL` by default), and restores each
 * table's previous identity (DEFAULT, NOTHING, FULL or USING INDEX) when the
 * resource is deleted or a table is removed from it.
 *
 * All tables are read in one catalog query and changed in one transaction.
 * `pulumi refresh` shows each table's live identity in `identities`, and the
 * next `pulumi up` sets drifted tables again. Changing the server or database
 * replaces the resource (restore on the old database first); every other
 * change is made in place.
 */
export class ReplicaIdentity extends pulumi.dynamic.Resource {
  /** The managed tables, normalized to "schema.table", sorted. */
  declare readonly tables: pulumi.Output<string[]>;
  /** The replica identity this resource sets. */
  declare readonly identity: pulumi.Output<WantedIdentity>;
  /** The live replica identity per table ("default", "nothing", "full" or "index:<name>"), as last read. */
  declare readonly identities: pulumi.Output<Record<string, ReplicaIdentityValue>>;
  /** Each table's replica identity before this resource changed it; put back on delete. */
  declare readonly previous: pulumi.Output<Record<string, ReplicaIdentityValue>>;
  /** The database the tables live in. */
  declare readonly database: pulumi.Output<string>;
  /** Lock wait for ALTER TABLE, in milliseconds. */
  declare readonly lockTimeoutMs: pulumi.Output<number>;
  /** The connection used (secret). */
  declare readonly connection: pulumi.Output<unknown>;
  /** The connection string used, when given (secret). */
  declare readonly connectionString: pulumi.Output<string | undefined>;

  constructor(name: string, args: ReplicaIdentityArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      providerStub("replica-identity"),
      name,
      {
        ...secretTarget(args),
        tables: args.tables,
        identity: args.identity,
        lockTimeoutMs: args.lockTimeoutMs,
        identities: undefined,
        previous: undefined,
        database: undefined,
      },
      withDefaults(opts, { additionalSecretOutputs: ["connection", "connectionString"], deleteBeforeReplace: true }),
      DYNAMIC_MODULE,
      "ReplicaIdentity",
    );
  }
}
