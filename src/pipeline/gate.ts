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
import { readSlot, type SlotSpec } from "../postgres/slots";
import { missingStandbySlotProblems, primaryFailoverProblems, readPrimaryFailoverFacts, readStandbyFacts, standbyProblems } from "../postgres/standby";
import { resolveConnection, resolveConnectionInput } from "../validation/connection";
import { connectClusterSchema, DEFAULT_RUNNING_TIMEOUT_SECONDS } from "../validation/debezium-connector";
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
  /** The standby that keeps a synchronized copy of the slot (PostgreSQL 17 failover slots), when declared. */
  standby: pulumi.Output<StandbyInput | undefined>;
  /** Where the connector is to reach the database (its host and port). */
  connectorTarget: pulumi.Output<{ host: string; port: number }>;
  /** What the pipeline's slot is, should the gate have to create it (onSlotLoss: "resnapshot"). */
  slotSpec: pulumi.Output<Omit<SlotSpec, "name">>;
}

/** The standby side of a failover slot: the physical slot the standby streams from, and optionally how to reach the standby. */
export interface StandbyInput {
  physicalSlot: string;
  connection?: PostgresConnectionInput | string;
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
    .all([
      pulumi.all([a.source, a.connect, a.plan, a.role, a.identityTables, a.preflight, a.onSlotLoss, a.manageGrants]),
      pulumi.all([a.standby, a.connectorTarget, a.slotSpec]),
    ])
    .apply(async ([[sourceRaw, connectRaw, plan, role, identityTables, runChecks, onSlotLoss, manageGrants], [standby, connectorTarget, slotSpec]]) => {
      if (!runChecks) return [] as pulumi.Resource[];
      const what = `CdcPipeline "${a.pipeline}"`;
      const preview = pulumi.runtime.isDryRun();
      try {
        const source = resolveConnection({ connection: sourceRaw as PostgresConnectionInput }, what);
        const { ownSlot, report, failover } = await withSession(source, what, async (s) => {
          const ownSlot = (await readSlot(s, plan.names.slotName)) ?? null;
          return {
            ownSlot,
            report: await preflightSession(s, { tables: plan.tables.length ? plan.tables : undefined, role }),
            // Failover slots: the primary's side of the synchronization, when the pipeline has or wants one.
            failover: standby || ownSlot?.failover ? await readPrimaryFailoverFacts(s) : undefined,
          };
        });
        const problems = pipelineProblems(report, { manageGrants, identityTables, ownSlotExists: !!ownSlot, roleCreatedByPipeline: a.roleCreatedByPipeline });
        if (failover) {
          problems.push(...(standby ? primaryFailoverProblems(failover, standby.physicalSlot) : []), ...missingStandbySlotProblems(failover));
        }
        if (standby && ownSlot && !ownSlot.failover && report.major >= 17) {
          problems.push({
            check: "failover",
            object: plan.names.slotName,
            message: `replication slot "${plan.names.slotName}" exists without failover, so the standby gets no copy of it`,
            fix:
              `make it a failover slot while no one streams from it: set state: "stopped" and run \`pulumi up\`, then run ALTER_REPLICATION_SLOT ${plan.names.slotName} (FAILOVER true) ` +
              `over a replication connection (psql "host=... dbname=${source.database} replication=database"), then set state back`,
          });
        }
        if (standby?.connection) {
          const standbyConn = resolveConnectionInput(standby.connection, `${what}: standby`);
          const facts = await withSession(standbyConn, `${what}: standby`, readStandbyFacts);
          problems.push(...standbyProblems(facts, standby.physicalSlot).map((p) => ({ ...p, object: `standby ${standbyConn.host}:${standbyConn.port}${p.object ? ` ${p.object}` : ""}` })));
        }
        if (problems.length) {
          throw new CdcError(
            `${what}: preflight found ${problems.length} problem${problems.length === 1 ? "" : "s"} on ${source.host}:${source.port}/${source.database} (PostgreSQL ${report.serverVersion}); nothing was changed:\n` +
              problems.map((p) => `  - ${p.object ? `${p.object}: ` : ""}${p.message}\n    fix: ${p.fix}`).join("\n"),
          );
        }
        for (const w of report.warnings) console.error(`${what}: warning: ${w.object ? `${w.object}: ` : ""}${w.message} (${w.fix})`);
        if (standby && failover) {
          const physical = failover.physicalSlots.find((p) => p.name === standby.physicalSlot);
          if (physical && !physical.active) console.error(`${what}: warning: no standby streams from physical slot "${standby.physicalSlot}" now: failover slots are not synchronized, and Debezium receives nothing until the standby is back (synchronized_standby_slots).`);
        }
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
            timeoutMs: DEFAULT_RUNNING_TIMEOUT_SECONDS * 1000,
            log: (l) => console.error(l),
            slot: ownSlot,
            sourceMajor: report.major,
            spec: { ...slotSpec, name: plan.names.slotName },
            connectorTarget,
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
