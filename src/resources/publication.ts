import * as pulumi from "@pulumi/pulumi";
import { providerStub } from "../providers/stub";
import { defaultObjectName } from "../validation/common";
import type { PublicationOperation } from "../validation/publication";
import { DYNAMIC_MODULE, secretTarget, withDefaults, type PostgresTargetArgs } from "./common";

const stub = providerStub("publication");

/** A table of a publication with a column list and/or a row filter (PostgreSQL 15+). */
export interface PublicationTableArgs {
  /**
   * "schema.table" or "table" (schema public). Raw names, not SQL-quoted:
   * "public.Order Items" is the table `Order Items`; case matters. The text
   * is split at the first dot, so a schema name cannot contain a dot.
   */
  name: string;
  /** Publish only these columns (PostgreSQL 15+). Must include the replica identity columns when updates/deletes are published. */
  columns?: string[];
  /**
   * Row filter: an SQL expression (for example `"status <> 'draft'"`), sent to
   * PostgreSQL as written, wrapped in parentheses. It must be one expression:
   * no `;`, no comments, balanced parentheses. When updates or deletes are
   * published it may only use replica identity columns. PostgreSQL 15+.
   */
  where?: string;
}

/** Arguments of {@link Publication}. */
export interface PublicationArgs extends PostgresTargetArgs {
  /**
   * Publication name. Default: the resource name lower-cased, with every
   * character outside [a-z0-9_] replaced by "_". At most 63 bytes. Changing it
   * replaces the publication (delete first).
   */
  name?: pulumi.Input<string>;
  /**
   * Tables to publish: "schema.table" or "table" (schema public), raw names
   * (not SQL-quoted), or objects with a column list / row filter (PostgreSQL
   * 15+). Every table must exist; missing ones are reported together.
   * Changes are applied in place (ALTER PUBLICATION ... SET TABLE). Excludes `allTables`.
   */
  tables?: pulumi.Input<pulumi.Input<string | PublicationTableArgs>[]>;
  /**
   * Schemas whose tables (now and future) are published: FOR TABLES IN SCHEMA
   * (PostgreSQL 15+, needs superuser). Changes are applied in place. Excludes `allTables`.
   */
  schemas?: pulumi.Input<pulumi.Input<string>[]>;
  /**
   * FOR ALL TABLES: publish every table of the database, now and future (needs
   * superuser). Default false. Changing it replaces the publication (delete first).
   * Excludes `tables` and `schemas`; one of the three is required.
   */
  allTables?: pulumi.Input<boolean>;
  /** Operations to publish. Default all four: insert, update, delete, truncate. Changed in place. */
  operations?: pulumi.Input<PublicationOperation[]>;
  /**
   * Publish changes of partitions as changes of the partitioned (root) table
   * (publish_via_partition_root). Default false. Changed in place.
   */
  publishViaPartitionRoot?: pulumi.Input<boolean>;
}

/**
 * A PostgreSQL publication (CREATE PUBLICATION), the set of tables logical
 * replication (pgoutput, Debezium) streams. Created, or adopted when a
 * publication of the same name with exactly this definition exists; changes
 * of tables, schemas, operations and publishViaPartitionRoot are applied in
 * place; `pulumi refresh` reads tables and options back from the catalogs, so
 * out-of-band changes show as drift. Deleting it drops the publication.
 */
export class Publication extends pulumi.dynamic.Resource {
  /** Publication name. */
  declare readonly name: pulumi.Output<string>;
  /** Database the publication lives in. */
  declare readonly database: pulumi.Output<string>;
  /** Tables named in the publication, "schema.table" (raw names), as read back from the catalogs, sorted. */
  declare readonly tables: pulumi.Output<string[]>;
  /** The same tables with their column lists and row filters, as read back. */
  declare readonly tableDefinitions: pulumi.Output<Array<{ name: string; columns?: string[]; where?: string; rowFilter?: string }>>;
  /** Schemas published with FOR TABLES IN SCHEMA, sorted. */
  declare readonly schemas: pulumi.Output<string[]>;
  /** Whether this is a FOR ALL TABLES publication. */
  declare readonly allTables: pulumi.Output<boolean>;
  /** Published operations, as read back. */
  declare readonly operations: pulumi.Output<PublicationOperation[]>;
  /** publish_via_partition_root, as read back. */
  declare readonly publishViaPartitionRoot: pulumi.Output<boolean>;
  /** Every table the publication publishes (ALL TABLES and schemas expanded), "schema.table", sorted. */
  declare readonly publishedTables: pulumi.Output<string[]>;

  constructor(name: string, args: PublicationArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      stub,
      name,
      {
        ...secretTarget(args),
        name: args.name ?? defaultObjectName(name),
        tables: args.tables,
        schemas: args.schemas,
        allTables: args.allTables,
        operations: args.operations,
        publishViaPartitionRoot: args.publishViaPartitionRoot,
        database: undefined,
        tableDefinitions: undefined,
        publishedTables: undefined,
      },
      withDefaults(opts, { additionalSecretOutputs: ["connection", "connectionString"], deleteBeforeReplace: true }),
      DYNAMIC_MODULE,
      "Publication",
    );
  }
}
