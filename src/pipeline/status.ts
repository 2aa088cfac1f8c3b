/**
 * The health of a running pipeline in one call, in the spirit of a managed
 * pipeline's status endpoint: connector and task states (with traces),
 * whether Debezium holds the slot, and how much WAL the slot holds back.
 * No Pulumi here: usable from scripts, the command line and tests.
 */
import { ConnectClient, type ConnectClientOptions } from "../connect/client";
import { traceHeadline } from "../connect/wait";
import { CdcError, messageOf } from "../errors";
import { withSession } from "../postgres/connection";
import { readSlot } from "../postgres/slots";
import { missingStandbySlotProblems, primaryFailoverProblems, readPrimaryFailoverFacts } from "../postgres/standby";
import { isDebeziumHolder } from "../postgres/slot-activity";
import { resolveConnectionInput } from "../validation/connection";
import type { PostgresConnectionInput } from "../validation/common";

export interface PipelineStatusInput {
  /** How to reach the database (connection fields or a postgres:// string). */
  source: PostgresConnectionInput | string;
  /** The Kafka Connect REST API. */
  connect: ConnectClientOptions;
  connectorName: string;
  slotName: string;
  /** The standby that keeps a synchronized copy of the slot (PostgreSQL 17 failover slots), to report on it. */
  standby?: { physicalSlot: string; connection?: PostgresConnectionInput | string };
}

/** How the slot is protected against a failover of the source. */
export interface FailoverStatus {
  /** The slot is a failover slot (PostgreSQL 17+). */
  slotFailover: boolean;
  /** The standby's physical slot on the primary, when a standby was named. */
  physicalSlot: string | null;
  /** A standby streams through that physical slot now. */
  standbyConnected: boolean | null;
  /** WAL bytes the standby has not yet confirmed (current WAL position minus the physical slot's restart_lsn). */
  standbyLagBytes: number | null;
  /**
   * On the standby (when its connection was given): "ready" when it has a synchronized, persistent copy of the
   * slot (usable after promotion), "pending" while the copy is still temporary, "missing" when it has none.
   */
  standbySlot: "ready" | "pending" | "missing" | null;
  /** confirmed_flush_lsn of the standby's copy: where Debezium would resume after a failover. */
  standbySlotConfirmedFlushLsn: string | null;
}

export interface PipelineStatus {
  connectorName: string;
  slotName: string;
  /** "Running" when the connector and every task run and Debezium holds the slot; "Degraded" otherwise; "Missing" when the connector does not exist. */
  status: "Running" | "Paused" | "Stopped" | "Degraded" | "Missing";
  connectorState: string | null;
  tasks: Array<{ id: number; state: string; workerId: string; trace?: string }>;
  slotExists: boolean;
  slotActive: boolean;
  /** The backend holding the slot, when active. */
  slotHolder: { pid: number | null; applicationName: string | null } | null;
  /** WAL bytes the slot holds back (current WAL position minus restart_lsn). */
  retainedWalBytes: number | null;
  /** WAL bytes not yet confirmed by the consumer (current WAL position minus confirmed_flush_lsn). */
  confirmedLagBytes: number | null;
  walStatus: string | null;
  /** The failover protection of the slot. */
  failover: FailoverStatus;
  /** Human-readable problems, empty when healthy. */
  problems: string[];
  /** ISO time of this check. */
  checkedAt: string;
}

export async function pipelineStatus(input: PipelineStatusInput): Promise<PipelineStatus> {
  const what = `pipeline status for connector "${input.connectorName}"`;
  const source = resolveConnectionInput(input.source, what);
  const client = new ConnectClient(input.connect);
  try {
    const standbyConn = input.standby?.connection
      ? resolveConnectionInput(input.standby.connection, `${what}: standby`)
      : undefined;
    const [status, slot, standbySlot] = await Promise.all([
      client.getStatus(input.connectorName),
      withSession(source, what, async (s) => {
        const live = await readSlot(s, input.slotName);
        const lag = live
          ? await s.query<{ lag: string | null }>(
              "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::bigint AS lag FROM pg_replication_slots WHERE slot_name = $1",
              [input.slotName],
            )
          : [];
        const primary = input.standby ? await readPrimaryFailoverFacts(s) : undefined;
        return { live, confirmedLag: lag[0]?.lag ?? null, primary, physical: primary?.physicalSlots.find((p) => p.name === input.standby?.physicalSlot) };
      }),
      standbyConn ? withSession(standbyConn, `${what}: standby`, (s) => readSlot(s, input.slotName)) : Promise.resolve(undefined),
    ]);
    const problems: string[] = [];
    const tasks = (status?.tasks ?? []).map((t) => ({ id: t.id, state: t.state, workerId: t.worker_id, ...(t.trace ? { trace: client.scrub(t.trace) } : {}) }));
    const connectorState = status?.connector.state ?? null;
    if (!status) problems.push(`connector "${input.connectorName}" does not exist on ${redactUrl(input.connect.url)} (or has no status yet)`);
    for (const t of tasks) if (t.state === "FAILED") problems.push(`task ${t.id} FAILED: ${traceHeadline(t.trace ?? "")}`);
    if (connectorState === "FAILED") problems.push("connector FAILED");
    else if (connectorState && !["RUNNING", "PAUSED", "STOPPED"].includes(connectorState)) problems.push(`connector is ${connectorState} (rebalancing or restarting)`);
    if (connectorState === "RUNNING") {
      if (!tasks.length) problems.push("connector has no tasks yet");
      for (const t of tasks) if (t.state !== "RUNNING" && t.state !== "FAILED") problems.push(`task ${t.id} is ${t.state}`);
    }
    const live = slot.live;
    if (!live) problems.push(`replication slot "${input.slotName}" does not exist`);
    else if (connectorState === "RUNNING" && !isDebeziumHolder(live)) {
      problems.push(live.active ? `slot "${input.slotName}" is held by PID ${live.activePid} (${live.holderApplication ?? "unknown application"}), not by Debezium` : `slot "${input.slotName}" is not active: Debezium is not streaming`);
    }
    if (live?.walStatus === "lost") problems.push(`slot "${input.slotName}" lost WAL it needed (wal_status lost): re-snapshot required`);
    const failover: FailoverStatus = {
      slotFailover: !!live?.failover,
      physicalSlot: input.standby?.physicalSlot ?? null,
      standbyConnected: input.standby ? !!slot.physical?.active : null,
      standbyLagBytes: slot.physical?.lagBytes ?? null,
      standbySlot: standbyConn ? (!standbySlot ? "missing" : standbySlot.synced && !standbySlot.temporary ? "ready" : "pending") : null,
      standbySlotConfirmedFlushLsn: standbySlot?.confirmedFlushLsn ?? null,
    };
    if (input.standby && slot.primary) {
      // The set-up rules are the pipeline's checks (postgres/standby.ts); the rest is how it runs now.
      problems.push(...[...primaryFailoverProblems(slot.primary, input.standby.physicalSlot), ...missingStandbySlotProblems(slot.primary)].map((p) => p.message));
      if (live && !live.failover) problems.push(`slot "${input.slotName}" is not a failover slot: the standby gets no copy of it`);
      if (slot.physical && !slot.physical.active) problems.push(`no standby streams from physical slot "${input.standby.physicalSlot}": failover slots are not synchronized, and Debezium waits for it`);
      if (failover.standbySlot === "missing") problems.push(`the standby has no copy of slot "${input.slotName}" (check sync_replication_slots on the standby)`);
    }
    let overall: PipelineStatus["status"];
    if (!status) overall = "Missing";
    else if (problems.length) overall = "Degraded";
    else if (connectorState === "PAUSED") overall = "Paused";
    else if (connectorState === "STOPPED") overall = "Stopped";
    else overall = "Running";
    return {
      connectorName: input.connectorName,
      slotName: input.slotName,
      status: overall,
      connectorState,
      tasks,
      slotExists: !!live,
      slotActive: !!live?.active,
      slotHolder: live?.active ? { pid: live.activePid, applicationName: live.holderApplication } : null,
      retainedWalBytes: live?.retainedWalBytes ?? null,
      confirmedLagBytes: slot.confirmedLag === null ? null : Number(slot.confirmedLag),
      walStatus: live?.walStatus ?? null,
      failover,
      problems,
      checkedAt: new Date().toISOString(),
    };
  } catch (err) {
    if (err instanceof CdcError) throw err;
    throw new CdcError(`${what}: ${client.scrub(messageOf(err))}`);
  } finally {
    await client.close();
  }
}

function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = "";
    u.password = "";
    return u.toString().replace(/\/$/, "");
  } catch {
    return "(invalid url)";
  }
}
