/**
 * What the pipeline captures, shared by the program (index.ts) and the two
 * scripts that run outside it (check.ts before `pulumi up`, status.ts after).
 */

/** The seed's request body: `{"name": "orders-cdc", "config": {"tables": [...], "topic_prefix": "shop", "snapshot_mode": "initial"}}`. */
export const PIPELINE_NAME = "orders-cdc";
export const TABLES: string[] = ["public.orders", "public.customers"];
export const TOPIC_PREFIX = "shop";

export type SslMode = "disable" | "prefer" | "require" | "verify-ca" | "verify-full";
export const SSL_MODES: SslMode[] = ["disable", "prefer", "require", "verify-ca", "verify-full"];
