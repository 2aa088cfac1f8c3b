import * as pulumi from "@pulumi/pulumi";
import type { SslMode } from "../validation/common";

/** The `module` part of every dynamic resource's type token: `pulumi-nodejs:dynamic/postgres-cdc:<ClassName>`. */
export const DYNAMIC_MODULE = "postgres-cdc";

/** How Pulumi reaches a PostgreSQL server. Passwords and keys are always stored as secrets. */
export interface PostgresConnectionArgs {
  /** Host name or IP address. */
  host: pulumi.Input<string>;
  /** Port. Default 5432. */
  port?: pulumi.Input<number>;
  /** Database to connect to; publications and slots live in this database. */
  database: pulumi.Input<string>;
  /** Role to log in as. */
  user: pulumi.Input<string>;
  /** Password; stored as a secret even when given as a plain string. */
  password?: pulumi.Input<string>;
  /** TLS mode, as libpq's sslmode. Default "prefer". verify-ca and verify-full need `sslRootCert`. */
  sslMode?: pulumi.Input<SslMode>;
  /** PEM text of the CA that signed the server certificate. */
  sslRootCert?: pulumi.Input<string>;
  /** PEM text of the client certificate (mutual TLS / `cert` authentication). Needs `sslKey`. */
  sslCert?: pulumi.Input<string>;
  /** PEM text of the client key; stored as a secret. */
  sslKey?: pulumi.Input<string>;
}

/** Connection arguments shared by every resource that talks to PostgreSQL: `connection` or `connectionString`. */
export interface PostgresTargetArgs {
  /** Discrete connection fields. Give this or `connectionString` (fields given here override the string's). */
  connection?: pulumi.Input<PostgresConnectionArgs>;
  /** "postgres://user:password@host:5432/db?sslmode=require"; stored as a secret. */
  connectionString?: pulumi.Input<string>;
}

/**
 * The value wrapped as a Pulumi secret (or undefined when not given), so that
 * credentials are encrypted in state even when the user passed plain strings.
 */
export function secretInput<T>(value: pulumi.Input<T> | undefined): pulumi.Output<pulumi.Unwrap<T>> | undefined {
  return value === undefined ? undefined : pulumi.secret(value);
}

/** The connection inputs of a Postgres resource, wrapped as secrets. */
export function secretTarget(args: PostgresTargetArgs): { connection?: pulumi.Output<unknown>; connectionString?: pulumi.Output<string> } {
  return { connection: secretInput(args.connection), connectionString: secretInput(args.connectionString) };
}

/**
 * Adds resource options a resource type always needs (e.g. `additionalSecretOutputs`,
 * `deleteBeforeReplace`) to the user's, keeping the user's where they set them.
 */
export function withDefaults(
  opts: pulumi.CustomResourceOptions | undefined,
  defaults: { additionalSecretOutputs?: string[]; deleteBeforeReplace?: boolean },
): pulumi.CustomResourceOptions {
  const o: pulumi.CustomResourceOptions = { ...opts };
  if (defaults.additionalSecretOutputs) {
    o.additionalSecretOutputs = [...new Set([...(opts?.additionalSecretOutputs ?? []), ...defaults.additionalSecretOutputs])];
  }
  if (defaults.deleteBeforeReplace !== undefined && opts?.deleteBeforeReplace === undefined) {
    o.deleteBeforeReplace = defaults.deleteBeforeReplace;
  }
  return o;
}
