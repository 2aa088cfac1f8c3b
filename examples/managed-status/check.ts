/**
 * The document's troubleshooting table, run before anything is created:
 *
 *   npm run check                 # for the selected stack
 *   npm run check -- --stack prod
 *
 * It runs the library's preflight against the source database with the
 * stack's config: wal_level, free replication slots and WAL senders, whether
 * the tables exist and have a primary key or replica identity, and whether the
 * connector's role has REPLICATION and SELECT (or can be given them). Every
 * problem is listed with its fix, not just the first one. `pulumi up` runs the
 * same checks itself and stops on the same problems; this is for checking a
 * database before you hand it to the pipeline. Exit code 0 when ready.
 */
import { preflight } from "pulumi-postgres-cdc";
import { TABLES } from "./settings";
import { readStack } from "./stack";

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const i = args.indexOf("--stack");
  const stack = await readStack(i >= 0 ? args[i + 1] : undefined);

  const result = await preflight(stack.source, { tables: TABLES, role: stack.connectorUser });

  console.log(`preflight of ${stack.source.host}/${stack.source.database} for ${TABLES.join(", ")} (role ${stack.connectorUser})`);
  for (const p of result.problems) {
    console.log(`  ✗ ${p.check}${p.object ? ` (${p.object})` : ""}: ${p.message}`);
    console.log(`      fix: ${p.fix}`);
  }
  for (const w of result.warnings) {
    console.log(`  ! ${typeof w === "string" ? w : JSON.stringify(w)}`);
  }
  console.log(result.ok ? "  ✓ ready for pulumi up" : `  ${result.problems.length} problem(s)`);
  process.exitCode = result.ok ? 0 : 1;
}

main().catch((e: unknown) => {
  console.error(`preflight could not run: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 2;
});
