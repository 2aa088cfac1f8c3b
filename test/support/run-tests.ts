/**
 * `npm test`: the whole suite as three mocha processes side by side, since
 * most of the time of each is spent waiting on other processes (PostgreSQL,
 * Kafka Connect, Debezium, the Pulumi CLI) rather than on the CPU:
 *   - the suites run by the real Pulumi CLI (tagged @engine),
 *   - the other suites on the real Kafka + Connect + Debezium stack (@real),
 *   - everything else (PostgreSQL and the Connect double).
 * The last streams its output; the others' is printed when they end. The
 * exit code is non-zero if any failed. `TEST_SERIAL=1` runs them one after
 * the other. Arguments (`npm test -- <files or mocha options>`) run one plain
 * mocha process with them instead.
 */
import { spawn } from "node:child_process";
import * as path from "node:path";

const repoRoot = path.resolve(__dirname, "..", "..", "..");
const mochaBin = path.join(repoRoot, "node_modules", "mocha", "bin", "mocha.js");
const ALL = "build/test/**/*.test.js";

function mocha(args: string[], stream: boolean): Promise<{ code: number; output: string; seconds: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [mochaBin, ...args], { cwd: repoRoot, stdio: ["ignore", stream ? "inherit" : "pipe", stream ? "inherit" : "pipe"] });
    let output = "";
    child.stdout?.on("data", (d: Buffer) => (output += d));
    child.stderr?.on("data", (d: Buffer) => (output += d));
    child.on("close", (code, signal) => resolve({ code: code ?? (signal ? 1 : 0), output, seconds: (Date.now() - started) / 1000 }));
  });
}

/** The three groups, as mocha --grep arguments over every test file. */
const GROUPS: Array<{ name: string; args: string[] }> = [
  { name: "the suites run by the real Pulumi CLI (@engine)", args: ["--grep", "@engine", ALL] },
  { name: "the other suites on the real Kafka + Connect + Debezium stack (@real)", args: ["--grep", "^(?!.*@engine).*@real", ALL] },
  { name: "PostgreSQL and Connect double suites", args: ["--grep", "@engine|@real", "--invert", ALL] },
];

async function main(): Promise<number> {
  const extra = process.argv.slice(2);
  if (extra.length) return (await mocha(extra, true)).code;
  const streamed = GROUPS[GROUPS.length - 1];
  const buffered = GROUPS.slice(0, -1);
  if (process.env.TEST_SERIAL === "1") {
    let code = 0;
    for (const g of [streamed, ...buffered]) code = Math.max(code, (await mocha(g.args, true)).code);
    return code;
  }
  const pending = buffered.map((g) => mocha(g.args, false).then((r) => ({ ...r, name: g.name })));
  const rest = await mocha(streamed.args, true);
  let code = rest.code;
  for (const r of await Promise.all(pending)) {
    process.stdout.write(`\n== ${r.name}, in parallel with the above: ${r.seconds.toFixed(0)} s\n${r.output}`);
    code = Math.max(code, r.code);
  }
  return code;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(2);
  },
);
