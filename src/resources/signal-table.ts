import * as pulumi from "@pulumi/pulumi";
import { providerStub } from "../providers/stub";
import { DYNAMIC_MODULE, secretTarget, withDefaults, type PostgresTargetArgs } from "./common";

/** Arguments of {@link SignalTable}. */
export interface SignalTableArgs extends PostgresTargetArgs {
  /**
   * The table, "schema.table" or "table" (schema public), raw names. The
   * schema must exist. Changing it replaces the table (the old one is dropped
   * if this resource created it).
   */
  table: pulumi.Input<string>;
  /** The role Debezium logs in as; it gets SELECT, INSERT and DELETE on the table and USAGE on its schema. Changing it moves the grants. */
  role: pulumi.Input<string>;
}

/**
 * Debezium's signal table (the source signal channel): `id varchar(64)
 * PRIMARY KEY, type varchar(32) NOT NULL, data text`. A connector with
 * `signal.data.collection` set to it runs what is inserted there, e.g.
 * incremental snapshots of chosen tables. The table must be in the
 * connector's publication (CdcPipeline puts it there).
 *
 * An existing table of the right shape is adopted: delete then revokes only
 * what this resource granted and leaves the table. A table this resource
 * created is dropped on delete. `pulumi refresh` records privileges removed
 * by hand (`missing`), and the next `pulumi up` grants them again.
 */
export class SignalTable extends pulumi.dynamic.Resource {
  /** "schema.table". */
  declare readonly table: pulumi.Output<string>;
  /** The role granted on the table. */
  declare readonly role: pulumi.Output<string>;
  /** True when this resource created the table (delete drops it). */
  declare readonly created: pulumi.Output<boolean>;
  /** Privileges this resource granted on an adopted table (and USAGE on the schema), revoked on delete. */
  declare readonly granted: pulumi.Output<string[]>;
  /** The database the table lives in. */
  declare readonly database: pulumi.Output<string>;

  constructor(name: string, args: SignalTableArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      providerStub("signal-table"),
      name,
      { ...secretTarget(args), table: args.table, role: args.role, created: undefined, granted: undefined, database: undefined },
      withDefaults(opts, { additionalSecretOutputs: ["connection", "connectionString"], deleteBeforeReplace: true }),
      DYNAMIC_MODULE,
      "SignalTable",
    );
  }
}
