/**
 * A Pulumi project run by the real Pulumi CLI (built by test/support/tools),
 * as a user runs it: the project installed the packed package
 * (test/support/packed.ts), a local file backend, secrets in stack config,
 * `pulumi preview/up/refresh/destroy` as commands. Nothing is downloaded:
 * the environment comes from {@link pulumiEnv}.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { packConsumer, type PackedConsumer } from "./packed";
import { ensurePulumiTools, pulumiEnv, type PulumiTools } from "./tools/pulumi-cli";

const repoRoot = path.resolve(__dirname, "..", "..", "..");

export interface CliResult {
  args: string[];
  status: number | null;
  stdout: string;
  stderr: string;
  seconds: number;
}

export interface RunOptions {
  allowFailure?: boolean;
  onSpawn?: (pid: number) => void;
  echo?: (text: string) => void;
}

export interface CliProject {
  readonly dir: string;
  readonly consumer: PackedConsumer;
  readonly tools: PulumiTools;
  readonly env: Record<string, string>;
  /** Every command run so far with its output (for secret scans). */
  readonly history: CliResult[];
  /** Runs `pulumi <args>` in the project; rejects on a non-zero exit unless `allowFailure`. */
  pulumi(args: string[], opts?: RunOptions): Promise<CliResult>;
  /** Runs `node <args>` in the project, with the CLI on PATH (scripts that use the Automation API). */
  node(args: string[], opts?: RunOptions): Promise<CliResult>;
  /** `pulumi config set` (with --secret when `secret`). */
  config(key: string, value: string, secret?: boolean): Promise<void>;
  close(): void;
}

let toolsOnce: Promise<PulumiTools> | undefined;

/** Ensures the CLI is built (once per process; the first build on a machine takes minutes). */
export function pulumiTools(): Promise<PulumiTools> {
  toolsOnce ??= ensurePulumiTools({ log: (l) => console.log(`      [tools] ${l}`) });
  return toolsOnce;
}

/** What {@link cliProject} puts in the project besides the packed package. */
export interface CliProjectOptions {
  /** Stack name (default `dev`). */
  stack?: string;
  /** Files written over the example's (path relative to the project: text), e.g. a test's own index.ts. */
  files?: Record<string, string>;
  /**
   * Run the program without type-checking it (PULUMI_NODEJS_TRANSPILE_ONLY, and TS_NODE_TRANSPILE_ONLY
   * for scripts): several seconds of CPU less per CLI run. The examples are type-checked by
   * `npm run typecheck`. Default false: the program is type-checked as a user's would be.
   */
  transpileOnly?: boolean;
}

/** The example's program files: its TypeScript sources, Pulumi.yaml and tsconfig.json (not its package.json, README or compose files). */
function programFiles(exampleDir: string): string[] {
  return fs.readdirSync(exampleDir).filter((f) => f.endsWith(".ts") || f === "Pulumi.yaml" || f === "tsconfig.json");
}

/**
 * Makes a project from examples/<example> whose node_modules has the packed
 * package, logged in, stack `dev` selected. The example's own package.json
 * is not copied (it depends on `file:../..`).
 */
export async function cliProject(example: string, opts: CliProjectOptions = {}): Promise<CliProject> {
  const tools = await pulumiTools();
  const consumer = packConsumer();
  const dir = consumer.dir;
  const exampleDir = path.join(repoRoot, "examples", example);
  for (const f of programFiles(exampleDir)) fs.copyFileSync(path.join(exampleDir, f), path.join(dir, f));
  for (const [f, text] of Object.entries(opts.files ?? {})) fs.writeFileSync(path.join(dir, f), text);
  const env = pulumiEnv(tools.binDir, path.join(dir, ".backend"));
  if (opts.transpileOnly) {
    env.PULUMI_NODEJS_TRANSPILE_ONLY = "true";
    env.TS_NODE_TRANSPILE_ONLY = "true";
  }
  const history: CliResult[] = [];
  const run = (file: string, argv: string[], label: string[], opts: RunOptions): Promise<CliResult> => {
    const started = Date.now();
    return new Promise((resolve, reject) => {
      const child = spawn(file, argv, { cwd: dir, env, stdio: ["ignore", "pipe", "pipe"] });
      if (child.pid) opts.onSpawn?.(child.pid);
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d: Buffer) => {
        stdout += d;
        opts.echo?.(d.toString());
      });
      child.stderr.on("data", (d: Buffer) => {
        stderr += d;
        opts.echo?.(d.toString());
      });
      child.on("error", reject);
      child.on("close", (status) => {
        const r: CliResult = { args: label, status, stdout, stderr, seconds: (Date.now() - started) / 1000 };
        history.push(r);
        if (status !== 0 && !opts.allowFailure) reject(new Error(`${label.join(" ")} exited ${status}:\n${stdout}\n${stderr}`));
        else resolve(r);
      });
    });
  };
  const project: CliProject = {
    dir,
    consumer,
    tools,
    env,
    history,
    pulumi(args, opts = {}) {
      return run(tools.pulumi, [...args, "--non-interactive"], args, opts);
    },
    node(args, opts = {}) {
      return run(process.execPath, args, ["node", ...args], opts);
    },
    async config(key, value, secret = false) {
      await project.pulumi(["config", "set", ...(secret ? ["--secret"] : []), key, value]);
    },
    close() {
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  await project.pulumi(["login", env.PULUMI_BACKEND_URL]);
  await project.pulumi(["stack", "init", opts.stack ?? "dev"]);
  return project;
}
