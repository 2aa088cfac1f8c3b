import type * as pulumi from "@pulumi/pulumi";

/** TLS settings for the Kafka Connect REST endpoint. */
export interface ConnectTlsArgs {
  /** PEM text of the CA that signed the REST endpoint's certificate (default: the system CAs). */
  ca?: string;
  /** PEM text of the client certificate, for mutual TLS. Needs `key`. */
  cert?: string;
  /** PEM text of the client key, for mutual TLS; stored as a secret. */
  key?: string;
  /** Verify the server certificate. Default true; false only for development. */
  rejectUnauthorized?: boolean;
}

/** How to reach a Kafka Connect cluster's REST API. Password, header values and TLS key are stored as secrets. */
export interface ConnectClusterArgs {
  /** Base URL, e.g. "http://localhost:8083"; may carry a path prefix (hosted Connect APIs). */
  url: pulumi.Input<string>;
  /** HTTP basic auth user (e.g. an API key). */
  username?: pulumi.Input<string>;
  /** HTTP basic auth password (e.g. an API secret); stored as a secret. */
  password?: pulumi.Input<string>;
  /** Extra headers, e.g. `{ Authorization: "Bearer ..." }`; values are stored as secrets. */
  headers?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /** TLS: custom CA, client certificate and key (mutual TLS). */
  tls?: pulumi.Input<ConnectTlsArgs>;
  /**
   * Timeout of each HTTP request in milliseconds. Default 30000. Connection failures before Connect has
   * answered once (wrong url or port, refused client certificate) are retried only this long.
   */
  requestTimeoutMs?: pulumi.Input<number>;
}
