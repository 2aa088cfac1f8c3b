/**
 * Pure planning for a CdcPipeline: defaults, object names and validation of
 * the pipeline's arguments once they are known. No I/O, no Pulumi.
 */
import { CdcError } from "../errors";
import { defaultObjectName, identifier, MAX_IDENTIFIER_BYTES, slotName } from "../validation/common";
import { normalizeTableName, normalizeTables, tableNameProblems } from "../validation/table-name";
import { connectorName } from "../validation/debezium-connector";
import { snapshotModes, tableListProblems, topicMap, topicPrefixProblem, type SnapshotMode } from "./debezium-config";

export interface PipelineNamesInput {
  /** The pipeline's resource name. */
  pipeline: string;
  slotName?: string;
  publicationName?: string;
  connectorName?: string;
  topicPrefix?: string;
  /** Schema of the signal table (default public). */
  signalSchema?: string;
  /** Name of the signal table (default `<name>_signal`). */
  signalTableName?: string;
}

export interface PipelineNames {
  slotName: string;
  publicationName: string;
  connectorName: string;
  topicPrefix: string;
  /** "schema.table" of Debezium's signal table. */
  signalTable: string;
}

/**
 * Object names of a pipeline. Defaults: slot `<name>_slot` and publication
 * `<name>_pub` (lower-cased, anything outside [a-z0-9_] becomes "_"),
 * connector and topic prefix = the pipeline name, signal table
 * `public.<name>_signal`.
 */
export function pipelineNames(i: PipelineNamesInput): PipelineNames {
  const base = defaultObjectName(i.pipeline).slice(0, MAX_IDENTIFIER_BYTES - 5);
  return {
    slotName: i.slotName ?? `${base}_slot`,
    publicationName: i.publicationName ?? `${base}_pub`,
    connectorName: i.connectorName ?? i.pipeline,
    topicPrefix: i.topicPrefix ?? i.pipeline,
    signalTable: `${i.signalSchema ?? "public"}.${i.signalTableName ?? `${defaultObjectName(i.pipeline).slice(0, MAX_IDENTIFIER_BYTES - 7)}_signal`}`,
  };
}

/** Which tables get REPLICA IDENTITY FULL for `replicaIdentityFull`. */
export function replicaIdentityTables(option: boolean | readonly string[] | undefined, tables: readonly string[], pipeline: string): string[] {
  if (!option) return [];
  if (option === true) {
    if (!tables.length) {
      throw new CdcError(
        `CdcPipeline "${pipeline}": replicaIdentityFull: true needs an explicit table list (the pipeline captures all tables). Pass replicaIdentityFull: ["schema.table", ...] instead.`,
      );
    }
    return [...tables];
  }
  return normalizeTables(option);
}

/** Every problem with the pipeline's arguments, at once (empty when fine). */
export function pipelineArgProblems(a: {
  pipeline: string;
  names: PipelineNames;
  tables: readonly string[];
  snapshotMode: string;
  heartbeatIntervalMs?: number;
}): string[] {
  const p: string[] = [];
  // The resources' own rules for slot, publication and connector names.
  const slot = slotName.safeParse(a.names.slotName);
  if (!slot.success) p.push(`slotName ${JSON.stringify(a.names.slotName)}: ${slot.error.issues.map((i) => i.message).join("; ")}`);
  const publication = identifier("a publication name").safeParse(a.names.publicationName);
  if (!publication.success) p.push(`publicationName ${JSON.stringify(a.names.publicationName)}: ${publication.error.issues.map((i) => i.message).join("; ")}`);
  const connector = connectorName.safeParse(a.names.connectorName);
  if (!connector.success) p.push(`connectorName ${JSON.stringify(a.names.connectorName)}: ${connector.error.issues.map((i) => i.message).join("; ")}`);
  const prefix = topicPrefixProblem(a.names.topicPrefix);
  if (prefix) p.push(`${prefix}; set topicPrefix explicitly`);
  p.push(...tableListProblems([...a.tables]));
  // One rule for every table name (the resources' own), the signal table's included.
  const nameProblem = (what: string, t: string): string | undefined => {
    const problems = tableNameProblems(t);
    return problems.length ? `${what}: ${problems.join("; ")}` : undefined;
  };
  const signalProblem = nameProblem("signalTable", a.names.signalTable);
  if (signalProblem) p.push(signalProblem);
  else if (a.tables.includes(normalizeTableName(a.names.signalTable))) {
    p.push(`signalTable "${a.names.signalTable}" is also in tables: Debezium's signal table holds signals, not data; give it another name`);
  }
  for (const t of a.tables) {
    const problem = nameProblem("table", t);
    if (problem) p.push(problem);
  }
  if (!(snapshotModes as readonly string[]).includes(a.snapshotMode)) {
    p.push(`snapshotMode "${a.snapshotMode}": must be one of ${snapshotModes.join(", ")}`);
  }
  if (a.heartbeatIntervalMs !== undefined && (!Number.isInteger(a.heartbeatIntervalMs) || a.heartbeatIntervalMs < 0)) {
    p.push(`heartbeat.intervalMs must be a whole number of milliseconds >= 0`);
  }
  return p;
}

/** Throws one CdcError listing every argument problem. */
export function assertPipelineArgs(a: Parameters<typeof pipelineArgProblems>[0]): void {
  const problems = pipelineArgProblems(a);
  if (problems.length) {
    throw new CdcError(`CdcPipeline "${a.pipeline}": invalid arguments:\n${problems.map((x) => `  - ${x}`).join("\n")}`);
  }
}

export { topicMap, type SnapshotMode };
