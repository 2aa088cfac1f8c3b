import { z } from "zod";
import { slotName } from "./common";
import { postgresTargetShape, requireTarget } from "./target";

/** Logical decoding output plugins a slot may use. */
export const SLOT_PLUGINS = ["pgoutput", "decoderbufs"] as const;
export type SlotPlugin = (typeof SLOT_PLUGINS)[number];

/** What delete does when a consumer still holds the slot. */
export const DELETE_WHILE_ACTIVE = ["wait", "terminate", "fail"] as const;
export type DeleteWhileActive = (typeof DELETE_WHILE_ACTIVE)[number];

/** Default bound of "wait" (and of the retries of "terminate"), in seconds. */
export const DEFAULT_DELETE_TIMEOUT_SECONDS = 300;

/** The optional fields of a ReplicationSlot, each with its default. */
const slotSettingsShape = {
  plugin: z
    .enum(SLOT_PLUGINS, {
      error: (iss) => `unsupported plugin ${JSON.stringify(iss.input)}; allowed: ${SLOT_PLUGINS.join(", ")} (pgoutput is built into PostgreSQL 10+)`,
    })
    .default("pgoutput"),
  twoPhase: z.boolean({ error: "twoPhase must be true or false" }).default(false),
  failover: z.boolean({ error: "failover must be true or false" }).default(false),
  onDeleteWhileActive: z
    .enum(DELETE_WHILE_ACTIVE, {
      error: (iss) => `onDeleteWhileActive must be one of ${DELETE_WHILE_ACTIVE.join(", ")}, not ${JSON.stringify(iss.input)}`,
    })
    .default("wait"),
  deleteTimeoutSeconds: z
    .number({ error: "deleteTimeoutSeconds must be a number of seconds" })
    .finite({ error: "deleteTimeoutSeconds must be a finite number of seconds" })
    .min(0, { error: "deleteTimeoutSeconds must not be negative" })
    .max(86400, { error: "deleteTimeoutSeconds must be at most 86400 (one day)" })
    .default(DEFAULT_DELETE_TIMEOUT_SECONDS),
};

/** The defaults of a ReplicationSlot's optional fields, as its schema fills them in (for diffs of partial inputs). */
export const SLOT_DEFAULTS = z.object(slotSettingsShape).parse({});

/** ReplicationSlot inputs as the provider receives them (after the resource class filled in the default name). */
export const replicationSlotInputsSchema = z
  .object({
    ...postgresTargetShape,
    name: slotName,
    ...slotSettingsShape,
  })
  .superRefine(requireTarget);

export type ReplicationSlotInputs = z.output<typeof replicationSlotInputsSchema>;
