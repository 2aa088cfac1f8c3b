import { z } from "zod";
import { postgresConnectionSchema } from "./common";
import { normalizeTableName, tableNameSchema } from "./table-name";

function isLoopback(host: string): boolean {
  return host === "localhost" || host === "[::1]" || host === "::1" || /^127\./.test(host);
}

/** Default of runningTimeoutSeconds (and of the streaming wait): how long to wait for RUNNING, for Debezium to hold the slot, and for a delete. */
export const DEFAULT_RUNNING_TIMEOUT_SECONDS = 300;

export const connectTlsSchema = z.object({
  ca: z.string().optional(),
  cert: z.string().optional(),
  key: z.string().optional(),
  rejectUnauthorized: z.boolean().optional(),
});

/** How to reach a Kafka Connect REST API (resolved, plain values). */
export const connectClusterSchema = z
  .object({
    url: z.string().refine((u) => {
      try {
        const p = new URL(u);
        return p.protocol === "http:" || p.protocol === "https:";
      } catch {
        return false;
      }
    }, { error: 'url must be an http:// or https:// URL of the Kafka Connect REST API, e.g. "http://localhost:8083"' }),
    username: z.string().optional(),
    password: z.string().optional(),
    headers: z.record(z.string(), z.string()).optional(),
    tls: connectTlsSchema.optional(),
    requestTimeoutMs: z.number().int().positive({ error: "requestTimeoutMs must be a positive number of milliseconds" }).optional(),
  })
  .superRefine((c, ctx) => {
    let url: URL;
    try {
      url = new URL(c.url);
    } catch {
      return;
    }
    if (url.protocol === "http:" && c.tls && (c.tls.ca || c.tls.cert || c.tls.key)) {
      ctx.addIssue({ code: "custom", path: ["url"], message: "tls settings are given but the url is http://; use https:// so the certificates are used" });
    }
    const sendsCredentials = !!c.password || Object.keys(c.headers ?? {}).some((h) => /^authorization$/i.test(h));
    if (url.protocol === "http:" && sendsCredentials && !isLoopback(url.hostname)) {
      ctx.addIssue({
        code: "custom",
        path: ["url"],
        message: `credentials would be sent in clear text to ${url.host}; use an https:// url (plain http is only accepted for localhost)`,
      });
    }
    if (!!c.tls?.cert !== !!c.tls?.key) {
      ctx.addIssue({ code: "custom", path: ["tls"], message: "tls.cert and tls.key go together for mutual TLS: give both or neither" });
    }
  });

export type ConnectCluster = z.output<typeof connectClusterSchema>;

export const connectorStates = ["running", "paused", "stopped"] as const;
export type ConnectorTargetState = (typeof connectorStates)[number];

/**
 * ISO control characters as Java's Character.isISOControl counts them (U+0000-U+001F and
 * U+007F-U+009F), which Connect's NonEmptyStringWithoutControlChars rejects in connector names.
 */
export const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/;

/** Connector names: non-empty, not blank, no control characters (Connect's NonEmptyStringWithoutControlChars). */
export const connectorName = z
  .string()
  .min(1, { error: "the connector name must not be empty" })
  .refine((n) => n.trim().length > 0, { error: "the connector name must not be blank" })
  .refine((n) => !CONTROL_CHARACTERS.test(n), { error: "the connector name must not contain control characters (Kafka Connect rejects them)" });

export const debeziumConnectorInputsSchema = z.object({
  connect: connectClusterSchema,
  name: connectorName,
  config: z
    .record(z.string(), z.union([z.string(), z.number(), z.boolean()]))
    .transform((c) => Object.fromEntries(Object.entries(c).map(([k, v]) => [k, String(v)])))
    .refine((c) => !!c["connector.class"], {
      error: 'config needs "connector.class", e.g. "io.debezium.connector.postgresql.PostgresConnector"',
    }),
  state: z.enum(connectorStates, { error: `state must be one of ${connectorStates.join(", ")}` }).default("running"),
  waitForRunning: z.boolean().default(true),
  runningTimeoutSeconds: z.number().positive({ error: "runningTimeoutSeconds must be positive" }).default(DEFAULT_RUNNING_TIMEOUT_SECONDS),
  validate: z.boolean().default(true),
  restartFailedTasks: z.boolean().default(true),
  resetOffsetsOnDelete: z.boolean().default(false),
  streaming: z
    .object({
      connection: postgresConnectionSchema,
      slotName: z.string().min(1),
      timeoutSeconds: z.number().positive().default(DEFAULT_RUNNING_TIMEOUT_SECONDS),
    })
    .optional(),
  snapshots: z
    .object({
      connection: postgresConnectionSchema,
      signalTable: tableNameSchema.transform(normalizeTableName),
      tables: z.array(tableNameSchema.transform(normalizeTableName)).default([]),
      onTablesAdded: z.enum(["snapshot", "stream-only"], { error: 'onTablesAdded must be "snapshot" or "stream-only"' }).default("snapshot"),
      resnapshot: z
        .object({
          tables: z.array(tableNameSchema.transform(normalizeTableName)).min(1, { error: "resnapshot.tables must name at least one table" }),
          nonce: z.string().min(1, { error: "resnapshot.nonce must not be empty: any new value (a date, a ticket number) asks for a new snapshot" }),
        })
        .optional(),
      waitSeconds: z.number().positive({ error: "snapshots.waitSeconds must be positive" }).default(120),
    })
    .optional(),
});

export type DebeziumConnectorInputs = z.output<typeof debeziumConnectorInputsSchema>;
