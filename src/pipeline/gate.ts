/**
 * The step a CdcPipeline runs before it creates anything, in the program
 * (also during preview): preflight checks and slot-loss detection. Its
 * result is an empty resource list the first child depends on, so a failure
 * here stops the up before any resource is touched.
 */
import * as pulumi from "@pulumi/pulumi";
import { ConnectClient } from "../connect/client";
import { CdcError } from "../errors";
import { preflightSession, type PreflightReport } from "../postgres/preflight";
import { withSession } from "../postgres/connection";
import { readSlot } from "../postgres/slots";
import { resolveConnection } from "../providers/common";
import { connectClusterSchema } from "../validation/debezium-connector";
import type { PostgresConnectionInput } from "../validation/common";
import { checkSlotLoss, type SlotLossPolicy } from "./slot-loss";
import type { PipelineNames } from "./plan";

export type { SlotLossPolicy };

export interface GateArgs {
  pipeline: string;
  source: pulumi.Output<unknown>;
  connect: pulumi.Output<unknown>;
  plan: pulumi.Output<{ names: PipelineNames; tables: string[] }>;
  role: pulumi.Output<string>;
  identityTables: pulumi.Output<string[]>;
  preflight: pulumi.Input<boolean>;
  onSlotLoss: pulumi.Input<SlotLossPolicy>;
  manageGrants: pulumi.Input<boolean>;
  /** The pipeline creates the connector's login role itself (after this gate). */
  roleCreatedByPipeline: boolean;
}

/** Problems the pipeline itself fixes are not problems: grants it makes, replica identity it sets, the slot it already has. */
export function pipelineProblems(
  report: PreflightReport,
  o: { manageGrants: boolean; identityTables: string[]; ownSlotExists: boolean; roleCreatedByPipeline?: boolean },
): PreflightReport["problems"] {
  return report.problems.filter((p) => {
    if (o.roleCreatedByPipeline && ["role", "login", "connect"].includes(p.check)) return false;
    if (o.manageGrants && ["replication", "select", "usage"].includes(p.check)) return false;
    if (p.check === "replica_identity" && p.object && o.identityTables.includes(p.object)) return false;
    if (o.ownSlotExists && ["replication_slots", "wal_senders"].includes(p.check)) return false;
    return true;
  });
}

export function pipelineGate(a: GateArgs): pulumi.Output<pulumi.Resource[]> {
  return pulumi
    .all([a.source, a.connect, a.plan, a.role, a.identityTables, a.preflight, a.onSlotLoss, a.manageGrants])
    .apply(async ([sourceRaw, connectRaw, plan, role, identityTables, runChecks, onSlotLoss, manageGrants]) => {
      if (!runChecks) return [] as pulumi.Resource[];
      const what = `CdcPipeline "${a.pipeline}"`;
      const preview = pulumi.runtime.isDryRun();
      try {
        const source = resolveConnection({ connection: sourceRaw as PostgresConnectionInput }, what);
        const { ownSlot, report } = await withSession(source, what, async (s) => ({
          ownSlot: (await readSlot(s, plan.names.slotName)) ?? null,
          report: await preflightSession(s, { tables: plan.tables.length ? plan.tables : undefined, role }),
        }));
        const problems = pipelineProblems(report, { manageGrants, identityTables, ownSlotExists: !!ownSlot, roleCreatedByPipeline: a.roleCreatedByPipeline });
        if (problems.length) {
          throw new CdcError(
            `${what}: preflight found ${problems.length} problem${problems.length === 1 ? "" : "s"} on ${source.host}:${source.port}/${source.database} (PostgreSQL ${report.serverVersion}); nothing was changed:\n` +
              problems.map((p) => `  - ${p.object ? `${p.object}: ` : ""}${p.message}\n    fix: ${p.fix}`).join("\n"),
          );
        }
        for (const w of report.warnings) console.error(`${what}: warning: ${w.object ? `${w.object}: ` : ""}${w.message} (${w.fix})`);
        const client = new ConnectClient(connectClusterSchema.parse(connectRaw));
        try {
          await checkSlotLoss({
            pipeline: a.pipeline,
            source,
            client,
            connectorName: plan.names.connectorName,
            slotName: plan.names.slotName,
            policy: onSlotLoss,
            preview,
            timeoutMs: 300_000,
            log: (l) => console.error(l),
            slot: ownSlot,
          });
        } finally {
          await client.close();
        }
      } catch (err) {
        // A preview must not fail because a system is not reachable yet; `pulumi up` will.
        if (preview) {
          console.error(`${what}: warning: checks skipped in preview: ${(err as Error).message}`);
          return [] as pulumi.Resource[];
        }
        throw err;
      }
      return [] as pulumi.Resource[];
    });
}
