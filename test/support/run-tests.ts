/**
 * `npm test`: the whole suite as two mocha processes side by side, since most
 * of the time of each is spent waiting on other processes (PostgreSQL, Kafka
 * Connect, Debezium, the Pulumi CLI) rather than on the CPU:
 *   - the suites run by the real Pulumi CLI (tagged @engine), and
 *   - everything else.
 * The second streams its output; the first's is printed when it ends. The
 * exit code is non-zero if either failed. `TEST_SERIAL=1` runs them one after
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

async function main(): Promise<number> {
  const extra = process.argv.slice(2);
  if (extra.length) return (await mocha(extra, true)).code;
  const engineArgs = ["--grep", "@engine", ALL];
  const restArgs = ["--grep", "@engine", "--invert", ALL];
  if (process.env.TEST_SERIAL === "1") {
    const rest = await mocha(restArgs, true);
    const engine = await mocha(engineArgs, true);
    return Math.max(rest.code, engine.code);
  }
  const enginePromise = mocha(engineArgs, false);
  const rest = await mocha(restArgs, true);
  const engine = await enginePromise;
  process.stdout.write(`\n== the suites run by the real Pulumi CLI (@engine), in parallel with the above: ${engine.seconds.toFixed(0)} s\n${engine.output}`);
  return Math.max(rest.code, engine.code);
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(2);
  },
);
