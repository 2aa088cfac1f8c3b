/**
 * `npm run stress:tables -- [runs] [double|real]`: the table-added-under-writes
 * scenario (writer-scenario.ts) many times in a row against real PostgreSQL 17,
 * the real Pulumi CLI and the real stack (default) or the Connect double.
 * Prints lost / duplicated / total per run and a summary line; exit code 1 if
 * any row was lost.
 */
import { destroySharedStack, startConnectTarget, type TargetKind } from "./connect-target";
import { destroySharedServers, sharedPostgres } from "./postgres";
import { writerScenario } from "./writer-scenario";

async function main(): Promise<number> {
  const runs = Number(process.argv[2] ?? 20);
  const kind = (process.argv[3] ?? "real") as TargetKind;
  const pg = await sharedPostgres(17);
  const target = await startConnectTarget(kind);
  const scenario = await writerScenario(pg, target, { log: console.log });
  let lost = 0;
  let duplicated = 0;
  let total = 0;
  let failures = 0;
  try {
    for (let n = 1; n <= runs; n++) {
      const r = await scenario.run(n);
      lost += r.lostCaptured.length + r.lostAdded.length;
      duplicated += r.duplicated;
      total += r.total;
      if (r.lostCaptured.length || r.lostAdded.length || r.removedStillCaptured || r.capturedResnapshotted) failures++;
    }
  } finally {
    await scenario.close();
    await target.close();
    await destroySharedServers();
    await destroySharedStack();
  }
  console.log(`${runs} runs on ${kind}: lost ${lost} / duplicated ${duplicated} / total ${total}; runs with a problem: ${failures}`);
  return lost > 0 || failures > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(2);
  },
);
