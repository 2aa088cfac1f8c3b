/**
 * `npm test`: the whole suite as three mocha processes side by side, since
 * most of the time of each is spent waiting on other processes (PostgreSQL,
 * Kafka Connect, Debezium, the Pulumi CLI) rather than on the CPU:
 *   - the suites run by the real Pulumi CLI (tagged @engine),
 *   - the other suites on the real Kafka + Connect + Debezium stack (@real),
 *   - everything else (PostgreSQL and the Connect double);
 * then, alone, the differential test (@differential).
 * The double suites and the differential test stream their output; the
 * others' is printed when they end. The exit code is non-zero if any failed. `TEST_SERIAL=1` runs them one after
 * the other. Arguments (`npm test -- <files or mocha options>`) run one plain
 * mocha process with them instead.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

const repoRoot = path.resolve(__dirname, "..", "..", "..");
const mochaBin = path.join(repoRoot, "node_modules", "mocha", "bin", "mocha.js");
const ALL = "build/test/**/*.test.js";

function mocha(args: string[], stream: boolean): Promise<{ code: number; output: string; seconds: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [mochaBin, ...args], { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout?.on("data", (d: Buffer) => {
      output += d;
      if (stream) process.stdout.write(d);
    });
    child.stderr?.on("data", (d: Buffer) => {
      output += d;
      if (stream) process.stderr.write(d);
    });
    child.on("close", (code, signal) => resolve({ code: code ?? (signal ? 1 : 0), output, seconds: (Date.now() - started) / 1000 }));
  });
}

/** The groups, as mocha --grep arguments over every test file. */
const ENGINE = { name: "the suites run by the real Pulumi CLI (@engine)", args: ["--grep", "@engine", ALL] };
const REAL = { name: "the other suites on the real Kafka + Connect + Debezium stack (@real)", args: ["--grep", "^(?!.*(@engine|@differential)).*@real", ALL] };
const REST = { name: "PostgreSQL and Connect double suites", args: ["--grep", "@engine|@real", "--invert", ALL] };
/**
 * The differential test compares what the double and the real cluster show at
 * given moments ("right after the response"), so it runs alone, after the
 * other groups: on a busy 2-core machine the real cluster lags and the
 * moments differ (seen in CI runs with other suites alongside).
 */
const DIFFERENTIAL = { name: "the Connect double against the real stack (@differential)", args: ["--grep", "@differential", ALL] };

/** Mocha's failure report of a run (from "N failing" on), empty when none failed. */
function failureReport(output: string): string {
  const at = output.search(/^ {2}\d+ failing/m);
  return at < 0 ? "" : output.slice(at).trimEnd();
}

/**
 * Repeats every group's failures at the very end (a long log is often read from its tail), and
 * writes them to TEST_FAILURES_FILE when set (CI prints that file after its other legs).
 */
function recap(runs: Array<{ name: string; output: string; code: number }>): void {
  const failed = runs.filter((r) => r.code !== 0);
  if (!failed.length) return;
  const text = failed.map((r) => `== failures of ${r.name} (exit ${r.code})\n${failureReport(r.output) || "(no mocha failure report: see its output above)"}`).join("\n\n") + "\n";
  process.stdout.write(`\n${text}`);
  if (process.env.TEST_FAILURES_FILE) fs.writeFileSync(process.env.TEST_FAILURES_FILE, text);
}

async function main(): Promise<number> {
  const extra = process.argv.slice(2);
  if (extra.length) return (await mocha(extra, true)).code;
  if (process.env.TEST_SERIAL === "1") {
    const runs = [];
    for (const g of [REST, REAL, DIFFERENTIAL, ENGINE]) runs.push({ ...(await mocha(g.args, true)), name: g.name });
    recap(runs);
    return Math.max(...runs.map((r) => r.code));
  }
  const buffered = (g: { name: string; args: string[] }) => mocha(g.args, false).then((r) => ({ ...r, name: g.name }));
  const print = (r: { name: string; output: string; seconds: number }) =>
    process.stdout.write(`\n== ${r.name}, in parallel with the others: ${r.seconds.toFixed(0)} s\n${r.output}`);
  const engine = buffered(ENGINE);
  const real = buffered(REAL);
  const rest = await mocha(REST.args, true);
  const realDone = await real;
  print(realDone);
  const engineDone = await engine;
  print(engineDone);
  process.stdout.write(`\n== ${DIFFERENTIAL.name}, alone\n`);
  const differential = await mocha(DIFFERENTIAL.args, true);
  recap([
    { ...rest, name: REST.name },
    realDone,
    engineDone,
    { ...differential, name: DIFFERENTIAL.name },
  ]);
  return Math.max(rest.code, realDone.code, differential.code, engineDone.code);
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(2);
  },
);
