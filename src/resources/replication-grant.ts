import * as pulumi from "@pulumi/pulumi";
import type { Grant } from "../postgres/grants";
import { providerStub } from "../providers/stub";
import { DYNAMIC_MODULE, secretTarget, withDefaults, type PostgresTargetArgs } from "./common";

/** Inputs of {@link ReplicationGrant}. */
export interface ReplicationGrantArgs extends PostgresTargetArgs {
  /**
   * An existing login role that Debezium will use. Changing it replaces the
   * grant (the old role's privileges are revoked first).
   */
  role: pulumi.Input<string>;
  /**
   * Give the role the right to stream changes. Default true: the REPLICATION
   * attribute (`ALTER ROLE ... REPLICATION`), or on RDS/Aurora, where a role
   * named `rds_replication` exists, membership in it. Fails before changing
   * anything when the connecting user may not do this, saying what to run
   * instead. Updates in place.
   */
  replication?: pulumi.Input<boolean>;
  /**
   * Tables to grant SELECT on (for the snapshot), and USAGE on their schemas:
   * "schema.table" or "table" (schema public), raw names, not SQL-quoted.
   * Updates in place. Default none.
   */
  tables?: pulumi.Input<pulumi.Input<string>[]>;
  /**
   * Schemas to grant USAGE on, SELECT on all their tables, and SELECT on tables
   * created later (`ALTER DEFAULT PRIVILEGES FOR ROLE <connecting user>`: this
   * covers tables that the connecting user creates). Delete also revokes the
   * SELECT those defaults gave to tables created since. Updates in place.
   * Default none.
   */
  schemas?: pulumi.Input<pulumi.Input<string>[]>;
  /** CREATE on the database, which lets Debezium create publications. Default false. Updates in place. */
  createOnDatabase?: pulumi.Input<boolean>;
}

/**
 * The privileges Debezium's role needs on the source database: REPLICATION
 * (or `rds_replication`), SELECT on the captured tables, USAGE on their
 * schemas, optionally CREATE on the database.
 *
 * Only what the role lacks is granted, and delete revokes exactly that: a
 * privilege or attribute the role had before stays. Table and schema changes
 * update in place; changing the role or database replaces (revoking first).
 */
export class ReplicationGrant extends pulumi.dynamic.Resource {
  /** The role the privileges were granted to. */
  declare readonly role: pulumi.Output<string>;
  /** The database the grants live in. */
  declare readonly database: pulumi.Output<string>;
  /** Whether REPLICATION (or rds_replication) was requested. */
  declare readonly replication: pulumi.Output<boolean>;
  /** Tables, normalized to "schema.table". */
  declare readonly tables: pulumi.Output<string[]>;
  declare readonly schemas: pulumi.Output<string[]>;
  declare readonly createOnDatabase: pulumi.Output<boolean>;
  /**
   * What the role holds of the request, as read back, e.g.
   * ["REPLICATION", "USAGE ON SCHEMA public", "SELECT ON public.orders", "CREATE ON DATABASE app"].
   * Refresh shows privileges revoked out of band as missing entries; the next up grants them again.
   */
  declare readonly privileges: pulumi.Output<string[]>;
  /**
   * What this resource added (and revokes on delete); privileges the role
   * already had are recorded apart and never revoked.
   */
  declare readonly granted: pulumi.Output<Grant[]>;
  /** "attribute" (ALTER ROLE ... REPLICATION) or "rds_replication" (membership). */
  declare readonly replicationVia: pulumi.Output<"attribute" | "rds_replication">;

  constructor(name: string, args: ReplicationGrantArgs, opts?: pulumi.CustomResourceOptions) {
    const props: Record<string, unknown> = {
      ...secretTarget(args),
      role: args.role,
      replication: args.replication,
      tables: args.tables,
      schemas: args.schemas,
      createOnDatabase: args.createOnDatabase,
      database: undefined,
      privileges: undefined,
      granted: undefined,
      kept: undefined,
      grantor: undefined,
      replicationVia: undefined,
    };
    super(
      providerStub("replication-grant"),
      name,
      props,
      withDefaults(opts, { additionalSecretOutputs: ["connection", "connectionString"], deleteBeforeReplace: true }),
      DYNAMIC_MODULE,
      "ReplicationGrant",
    );
  }
}
