/**
 * `npm run tools`: makes sure the Pulumi CLI, the Node.js language host and
 * the dynamic-provider launcher are built and cached (see pulumi-cli.ts),
 * then prints one line each:
 *
 *   PULUMI=/path/pulumi v3.276.0
 *   PULUMI_LANGUAGE_NODEJS=/path/pulumi-language-nodejs v3.276.0+pulumi-postgres-cdc
 *   PULUMI_RESOURCE_PULUMI_NODEJS=/path/pulumi-resource-pulumi-nodejs
 *   PATH_PREFIX=/path
 *
 * Progress goes to stderr, so `eval "$(npm run -s tools)"`-style use works.
 *
 * `--smoke` also runs a real `pulumi up` / `destroy` of a one-resource
 * dynamic-provider program on a file:// backend in a temporary directory.
 * `--ignore-path` builds/uses the cached CLI even if a compatible one is on PATH.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ensurePulumiTools, pulumiEnv, repoRoot, type PulumiTools } from "./pulumi-cli";

function log(line: string): void {
  process.stderr.write(`[tools] ${line}\n`);
}

const SMOKE_PROGRAM = `"use strict";
const pulumi = require("@pulumi/pulumi");

const provider = {
  async create(inputs) {
    return { id: "greeting-" + inputs.name, outs: { name: inputs.name, greeting: "hello " + inputs.name, pid: process.pid } };
  },
  async delete() {},
};

class Greeting extends pulumi.dynamic.Resource {
  constructor(name, args, opts) {
    super(provider, name, { greeting: undefined, pid: undefined, ...args }, opts);
  }
}

const g = new Greeting("smoke", { name: "cdc" });
exports.greeting = g.greeting;
exports.providerPid = g.pid;
exports.id = g.id;
`;

interface StepResult {
  command: string;
  status: number | null;
  seconds: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI steps of a real deployment and throws on the first failure. */
export function smoke(tools: PulumiTools, opts: { keep?: boolean } = {}): StepResult[] {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "pulumi-cdc-smoke-"));
  const program = path.join(work, "program");
  const backend = path.join(work, "backend");
  fs.mkdirSync(program, { recursive: true });
  fs.writeFileSync(
    path.join(program, "Pulumi.yaml"),
    "name: cdc-smoke\ndescription: pulumi-postgres-cdc tools smoke test\nruntime:\n  name: nodejs\n  options:\n    typescript: false\n",
  );
  fs.writeFileSync(path.join(program, "package.json"), `${JSON.stringify({ name: "cdc-smoke", private: true, main: "index.js" }, null, 2)}\n`);
  fs.writeFileSync(path.join(program, "index.js"), SMOKE_PROGRAM);
  // The repository's node_modules supplies @pulumi/pulumi (and, being a
  // symlink, resolves to the same real files the library's tests use).
  fs.symlinkSync(path.join(repoRoot(), "node_modules"), path.join(program, "node_modules"), "dir");

  const env = pulumiEnv(tools.binDir, backend);
  const results: StepResult[] = [];
  const run = (args: string[]): StepResult => {
    const started = Date.now();
    const res = spawnSync(tools.pulumi, args, { cwd: program, env, encoding: "utf8", timeout: 300_000 });
    const r: StepResult = {
      command: `pulumi ${args.join(" ")}`,
      status: res.status,
      seconds: (Date.now() - started) / 1000,
      stdout: res.stdout ?? "",
      stderr: res.stderr ?? (res.error?.message ?? ""),
    };
    results.push(r);
    log(`${r.command}: exit ${r.status} in ${r.seconds.toFixed(1)} s`);
    if (r.status !== 0) throw new Error(`smoke: \`${r.command}\` failed (exit ${r.status})\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}\n(work dir kept: ${work})`);
    return r;
  };

  log(`smoke test in ${work}`);
  run(["login", `file://${backend}`]);
  run(["stack", "init", "dev", "--non-interactive"]);
  // @pulumi/kafka and @pulumi/postgresql are in node_modules, so the engine
  // would try to install their plugins first; this program uses neither.
  run(["up", "--yes", "--non-interactive", "--skip-plugin-pre-install"]);
  const out = run(["stack", "output", "--json"]);
  const outputs: unknown = JSON.parse(out.stdout);
  const rec = typeof outputs === "object" && outputs !== null ? (outputs as Record<string, unknown>) : {};
  if (rec.greeting !== "hello cdc" || rec.id !== "greeting-cdc" || typeof rec.providerPid !== "number") {
    throw new Error(`smoke: unexpected stack outputs ${out.stdout} (work dir kept: ${work})`);
  }
  log(`outputs: ${JSON.stringify(rec)}`);
  run(["destroy", "--yes", "--non-interactive", "--skip-plugin-pre-install"]);
  run(["stack", "rm", "dev", "--yes", "--non-interactive"]);
  const pluginsDir = path.join(env.PULUMI_HOME, "plugins");
  const downloaded = fs.existsSync(pluginsDir) ? fs.readdirSync(pluginsDir) : [];
  if (downloaded.length > 0) throw new Error(`smoke: plugins were installed into ${pluginsDir}: ${downloaded.join(", ")}`);
  if (opts.keep !== true) fs.rmSync(work, { recursive: true, force: true });
  log("smoke test passed");
  return results;
}

async function main(argv: string[]): Promise<void> {
  const tools = await ensurePulumiTools({ log, ignorePath: argv.includes("--ignore-path") });
  log(`${tools.built ? "built" : "up to date"} (${tools.source}) in ${tools.seconds.toFixed(2)} s`);
  process.stdout.write(
    [
      `PULUMI=${tools.pulumi} ${tools.version}`,
      `PULUMI_LANGUAGE_NODEJS=${tools.languageHost} ${tools.languageHostVersion}`,
      `PULUMI_RESOURCE_PULUMI_NODEJS=${tools.dynamicLauncher}`,
      `PATH_PREFIX=${tools.binDir}`,
      "",
    ].join("\n"),
  );
  if (argv.includes("--smoke")) smoke(tools, { keep: argv.includes("--keep") });
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`[tools] ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
