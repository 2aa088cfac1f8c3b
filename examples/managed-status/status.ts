/**
 * The document's status endpoint, for a pipeline declared with Pulumi:
 *
 *   npm run status                       # once, for the selected stack
 *   npm run status -- --watch 15         # every 15 s until Ctrl-C
 *   npm run status -- --stack prod --max-lag-bytes 67108864
 *
 * It reads the stack's config and outputs (connector and slot names), asks
 * Kafka Connect for the connector and task states and PostgreSQL for the
 * slot, and prints the same fields as `GET /pipelines/$PIPELINE_ID/status`.
 * Exit code 0 when the pipeline is Running, 1 otherwise, 2 when the check
 * itself failed, so cron jobs and CI can alert on it.
 */
import { pipelineStatus } from "pulumi-postgres-cdc";
import { readStack } from "./stack";

interface Options {
  stack?: string;
  watchSeconds?: number;
  maxLagBytes: number;
}

function parseArgs(argv: string[]): Options {
  const opts: Options = { maxLagBytes: 16 * 1024 * 1024 };
  for (let i = 0; i < argv.length; i++) {
    const next = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${argv[i - 1]} needs a value`);
      return v;
    };
    switch (argv[i]) {
      case "--stack":
        opts.stack = next();
        break;
      case "--watch":
        opts.watchSeconds = Number(next());
        break;
      case "--max-lag-bytes":
        opts.maxLagBytes = Number(next());
        break;
      default:
        throw new Error(`unknown argument ${argv[i]}; use --stack <name>, --watch <seconds>, --max-lag-bytes <n>`);
    }
  }
  return opts;
}

async function checkOnce(opts: Options): Promise<number> {
  const stack = await readStack(opts.stack);
  const connectorName = stack.outputs["connectorName"];
  const slotName = stack.outputs["slotName"];
  if (typeof connectorName !== "string" || typeof slotName !== "string") {
    console.log(JSON.stringify({ status: "Pending", error_message: `stack ${stack.stackName} has no pipeline yet: run pulumi up` }, null, 2));
    return 1;
  }

  // One call: connector and task states from Connect, the slot from PostgreSQL.
  // "Degraded" covers FAILED tasks, a missing slot, and a connector that says
  // RUNNING while Debezium does not hold the slot (it keeps its task RUNNING
  // while it retries a busy slot, a missing privilege or an unreachable
  // database, so RUNNING alone does not prove that data flows).
  const s = await pipelineStatus({ source: stack.source, connect: stack.connect, connectorName, slotName, standby: stack.standby });

  let status: string = s.status;
  const problems = [...s.problems];
  if (status === "Running" && (s.connectorState !== "RUNNING" || s.tasks.some((t) => t.state !== "RUNNING"))) {
    status = "Provisioning"; // UNASSIGNED or RESTARTING: Connect is (re)starting it
  } else if (status === "Running" && s.confirmedLagBytes !== null && s.confirmedLagBytes > opts.maxLagBytes) {
    status = "Lagging";
    problems.push(`source lag ${s.confirmedLagBytes} bytes is above ${opts.maxLagBytes}`);
  }

  console.log(
    JSON.stringify(
      {
        status,
        connector_name: connectorName,
        connector_state: s.connectorState,
        task_states: s.tasks.map((t) => ({ id: t.id, state: t.state, worker_id: t.workerId })),
        slot_name: slotName,
        slot_active: s.slotActive,
        source_lag_bytes: s.confirmedLagBytes,
        retained_wal_bytes: s.retainedWalBytes,
        wal_status: s.walStatus,
        ...(stack.standby
          ? { failover_slot: s.failover.slotFailover, standby_lag_bytes: s.failover.standbyLagBytes, standby_slot: s.failover.standbySlot }
          : {}),
        topic_prefix: stack.outputs["topicPrefix"] ?? null,
        last_health_check_at: s.checkedAt,
        error_message: problems.length ? problems.join("; ") : null,
      },
      null,
      2,
    ),
  );
  return status === "Running" ? 0 : 1;
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  for (;;) {
    let code: number;
    try {
      code = await checkOnce(opts);
    } catch (e) {
      console.error(`status check failed: ${e instanceof Error ? e.message : String(e)}`);
      code = 2;
    }
    if (!opts.watchSeconds) {
      process.exitCode = code;
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, opts.watchSeconds! * 1000));
  }
}

void main();
