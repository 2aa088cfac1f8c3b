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

/** The first line of a Java stack trace: the exception and its message. */
function firstLine(trace: string | undefined): string | undefined {
  return trace?.split("\n", 1)[0];
}

async function checkOnce(opts: Options): Promise<number> {
  const stack = await readStack(opts.stack);
  const connectorName = stack.outputs["connectorName"];
  const slotName = stack.outputs["slotName"];
  if (typeof connectorName !== "string" || typeof slotName !== "string") {
    console.log(JSON.stringify({ status: "Pending", error_message: `stack ${stack.stackName} has no pipeline yet: run pulumi up` }, null, 2));
    return 1;
  }

  const s = await pipelineStatus({ source: stack.source, connect: stack.connect, connectorName, slotName });

  const failedTask = s.tasks.find((t) => t.state === "FAILED");
  let status: string;
  let error: string | null = null;
  if (s.connectorState === "FAILED" || failedTask) {
    status = "Failed";
    error = failedTask ? `task ${failedTask.id} failed: ${firstLine(failedTask.trace) ?? "no trace"}` : "connector failed";
  } else if (s.connectorState === "PAUSED" || s.connectorState === "STOPPED") {
    status = s.connectorState === "PAUSED" ? "Paused" : "Stopped";
  } else if (s.connectorState !== "RUNNING" || s.tasks.some((t) => t.state !== "RUNNING")) {
    status = "Provisioning"; // UNASSIGNED or RESTARTING: Connect is (re)starting it
  } else if (!s.slotActive) {
    // Debezium keeps a task RUNNING while it retries a busy slot, a missing
    // privilege or an unreachable database: RUNNING alone does not mean data flows.
    status = "Degraded";
    error = `connector is RUNNING but replication slot ${slotName} is not active: nothing is streaming`;
  } else if (s.confirmedLagBytes > opts.maxLagBytes) {
    status = "Lagging";
    error = `source lag ${s.confirmedLagBytes} bytes is above ${opts.maxLagBytes}`;
  } else {
    status = "Running";
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
        topic_prefix: stack.outputs["topicPrefix"] ?? null,
        last_health_check_at: s.checkedAt,
        error_message: error,
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
