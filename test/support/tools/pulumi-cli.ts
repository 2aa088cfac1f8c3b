/**
 * The real Pulumi CLI for tests, built from source through the Go module
 * proxy (no get.pulumi.com, no release downloads) and cached per machine.
 *
 * - `pulumi` is upstream's `github.com/pulumi/pulumi/pkg/v3/cmd/pulumi` at
 *   {@link PULUMI_VERSION}, built from the wrapper module tools/pulumi/
 *   (which pins pkg/v3 and sdk/v3 and restates pkg's `replace` directives).
 * - `pulumi-language-nodejs` is a stand-in from tools/pulumi/cmd/: upstream's
 *   language host is a separate Go module that the module proxy does not
 *   serve (see that file's header). It speaks the same gRPC protocol and runs
 *   the program with the program's own `@pulumi/pulumi/cmd/run`.
 * - `pulumi-resource-pulumi-nodejs` (the dynamic-provider plugin) is a shell
 *   launcher, as upstream's is: it runs the `@pulumi/pulumi/cmd/dynamic-provider`
 *   that Node.js resolves from the plugin's working directory (the program's).
 *
 * Binaries go to `${PULUMI_CDC_CACHE:-~/.cache/pulumi-postgres-cdc}/pulumi/v<version>/bin/`;
 * Go's own module and build caches stay where `go env` puts them. A build
 * happens once per machine (and again only when tools/pulumi/ changes). A
 * compatible `pulumi` already on PATH (same major, version >= PULUMI_VERSION)
 * together with its `pulumi-language-nodejs` is used instead.
 */
import { spawn, spawnSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/** The Pulumi release the CLI is built from; also the newest @pulumi/pulumi the tests are meant to run against. */
export const PULUMI_VERSION = "3.276.0";

/** The version the stand-in language host reports (semver build metadata marks it as ours). */
export const LANGUAGE_HOST_VERSION = `v${PULUMI_VERSION}+pulumi-postgres-cdc`;

const VERSION_PACKAGE = "github.com/pulumi/pulumi/sdk/v3/go/common/version.Version";
const CLI_PACKAGE = "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi";
const LANGUAGE_HOST_PACKAGE = "./cmd/pulumi-language-nodejs";

export interface PulumiTools {
  /** Absolute path of the `pulumi` executable. */
  pulumi: string;
  /** Absolute path of `pulumi-language-nodejs`. */
  languageHost: string;
  /** Absolute path of `pulumi-resource-pulumi-nodejs` (the dynamic-provider launcher). */
  dynamicLauncher: string;
  /** Directory holding all three; put it first on PATH (see {@link pulumiEnv}). */
  binDir: string;
  /** `pulumi version` output, e.g. `v3.276.0`. */
  version: string;
  /** `pulumi-language-nodejs -version` output. */
  languageHostVersion: string;
  /** Where the tools came from: built (now or earlier) into the cache, or a compatible install found on PATH. */
  source: "cache" | "path";
  /** True when this call compiled something. */
  built: boolean;
  /** Wall time of this call. */
  seconds: number;
}

export interface EnsureOptions {
  /** Progress lines (what is being built, how long it took). Default: none. */
  log?: (line: string) => void;
  /** Ignore a compatible `pulumi` on PATH and use (or build) the cached one. */
  ignorePath?: boolean;
}

/** The repository root: the nearest ancestor of this file with the project's package.json. */
export function repoRoot(): string {
  let dir = __dirname;
  for (;;) {
    const pkg = path.join(dir, "package.json");
    if (fs.existsSync(pkg)) {
      const parsed: unknown = JSON.parse(fs.readFileSync(pkg, "utf8"));
      if (typeof parsed === "object" && parsed !== null && (parsed as { name?: unknown }).name === "pulumi-postgres-cdc") return dir;
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`pulumi-cli: no pulumi-postgres-cdc package.json above ${__dirname}`);
    dir = parent;
  }
}

/** `${PULUMI_CDC_CACHE:-~/.cache/pulumi-postgres-cdc}` */
export function cacheRoot(): string {
  const configured = process.env.PULUMI_CDC_CACHE;
  return configured !== undefined && configured !== "" ? path.resolve(configured) : path.join(os.homedir(), ".cache", "pulumi-postgres-cdc");
}

/** The directory the built tools live in. */
export function cachedBinDir(): string {
  return path.join(cacheRoot(), "pulumi", `v${PULUMI_VERSION}`, "bin");
}

/** The dynamic-provider launcher: runs the program's own @pulumi/pulumi dynamic-provider host. */
export const DYNAMIC_LAUNCHER_SCRIPT = `#!/bin/sh
# pulumi-resource-pulumi-nodejs, written by pulumi-postgres-cdc's test tools.
# Like upstream's launcher (node_modules/@pulumi/pulumi/pulumi-resource-pulumi-nodejs):
# run the dynamic-provider host of the @pulumi/pulumi that Node.js resolves
# from the current directory, which the engine sets to the program's.
script=$(node -e "process.stdout.write(require.resolve('@pulumi/pulumi/cmd/dynamic-provider'))") || exit 1
exec node "$script" "$@"
`;

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** First executable called `name` on PATH, or undefined. */
export function which(name: string, pathValue: string = process.env.PATH ?? ""): string | undefined {
  for (const dir of pathValue.split(path.delimiter)) {
    if (dir === "") continue;
    const candidate = path.join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/** Runs `file args` and returns its trimmed stdout, or undefined if it failed. */
function outputOf(file: string, args: string[]): string | undefined {
  const res = spawnSync(file, args, { encoding: "utf8", timeout: 60_000, env: { ...process.env, PULUMI_SKIP_UPDATE_CHECK: "true" } });
  if (res.status !== 0 || typeof res.stdout !== "string") return undefined;
  return res.stdout.trim();
}

/** Parses `v3.276.0` / `3.276.0-alpha.x` into numbers; undefined if it is not a version. */
export function parseVersion(text: string): [number, number, number] | undefined {
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(text.trim());
  return m === null ? undefined : [Number(m[1]), Number(m[2]), Number(m[3])];
}

/** Same major as {@link PULUMI_VERSION} and not older. */
export function isCompatibleVersion(text: string): boolean {
  const have = parseVersion(text);
  const want = parseVersion(PULUMI_VERSION);
  if (have === undefined || want === undefined || have[0] !== want[0]) return false;
  if (have[1] !== want[1]) return have[1] > want[1];
  return have[2] >= want[2];
}

function writeIfChanged(file: string, text: string, mode: number): void {
  const current = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : undefined;
  if (current !== text) {
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, text, { mode });
    fs.renameSync(tmp, file);
  }
  fs.chmodSync(file, mode);
}

/** Hash of the files a binary is built from, so an edit under tools/pulumi/ rebuilds it. */
function inputsHash(moduleDir: string, extra: string[]): string {
  const files = ["go.mod", "go.sum", ...extra].sort();
  const h = crypto.createHash("sha256");
  for (const rel of files) {
    h.update(rel).update("\0").update(fs.readFileSync(path.join(moduleDir, rel))).update("\0");
  }
  return h.digest("hex");
}

function goFilesUnder(moduleDir: string, rel: string): string[] {
  const out: string[] = [];
  const walk = (r: string): void => {
    for (const e of fs.readdirSync(path.join(moduleDir, r), { withFileTypes: true })) {
      const child = path.join(r, e.name);
      if (e.isDirectory()) walk(child);
      else if (e.name.endsWith(".go")) out.push(child);
    }
  };
  walk(rel);
  return out;
}

/** The `go` to build with: GO env var, PATH, then Go's default install location. */
export function findGo(): string {
  const fromEnv = process.env.GO;
  if (fromEnv !== undefined && fromEnv !== "" && isExecutable(fromEnv)) return fromEnv;
  const onPath = which("go");
  if (onPath !== undefined) return onPath;
  if (isExecutable("/usr/local/go/bin/go")) return "/usr/local/go/bin/go";
  throw new Error("pulumi-cli: no `go` found (set GO, or put go on PATH); it is needed once to build the Pulumi CLI");
}

function runGo(go: string, args: string[], cwd: string, log: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(go, args, { cwd, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env } });
    let output = "";
    const collect = (chunk: Buffer): void => {
      output += chunk.toString("utf8");
      if (output.length > 200_000) output = output.slice(-100_000);
    };
    child.stdout.on("data", collect);
    child.stderr.on("data", collect);
    const started = Date.now();
    const ticker = setInterval(() => log(`  ... still running go ${args[0]} (${Math.round((Date.now() - started) / 1000)} s)`), 30_000);
    child.on("error", (err) => {
      clearInterval(ticker);
      reject(new Error(`pulumi-cli: could not run ${go}: ${err.message}`));
    });
    child.on("close", (code, signal) => {
      clearInterval(ticker);
      if (code === 0) resolve();
      else reject(new Error(`pulumi-cli: \`go ${args.join(" ")}\` in ${cwd} failed (${signal ?? `exit ${code}`}):\n${output.trim()}`));
    });
  });
}

interface Stamp {
  cli?: string;
  languageHost?: string;
}

function readStamp(file: string): Stamp {
  try {
    const parsed: unknown = JSON.parse(fs.readFileSync(file, "utf8"));
    if (typeof parsed !== "object" || parsed === null) return {};
    const rec = parsed as Record<string, unknown>;
    return {
      cli: typeof rec.cli === "string" ? rec.cli : undefined,
      languageHost: typeof rec.languageHost === "string" ? rec.languageHost : undefined,
    };
  } catch {
    return {};
  }
}

/** Builds `pkg` inside the wrapper module to `out` (via a temporary file, so a concurrent reader never sees half a binary). */
async function goBuild(go: string, moduleDir: string, pkg: string, out: string, version: string, log: (line: string) => void): Promise<number> {
  const tmp = `${out}.${process.pid}.tmp`;
  const started = Date.now();
  log(`building ${path.basename(out)} (${pkg} at ${version}) with ${go} in ${moduleDir}`);
  await runGo(go, ["build", "-trimpath", "-ldflags", `-s -w -X ${VERSION_PACKAGE}=${version}`, "-o", tmp, pkg], moduleDir, log);
  fs.renameSync(tmp, out);
  const seconds = (Date.now() - started) / 1000;
  log(`built ${out} in ${seconds.toFixed(1)} s (${(fs.statSync(out).size / 1048576).toFixed(1)} MiB)`);
  return seconds;
}

/** A compatible CLI on PATH (with its language host), linked into a directory that also holds a dynamic launcher. */
function fromPath(log: (line: string) => void): Omit<PulumiTools, "built" | "seconds"> | undefined {
  // One directory for PATH: links to the installed binaries, plus their
  // dynamic-provider launcher if there is one, else ours.
  const binDir = path.join(cacheRoot(), "pulumi", "path", "bin");
  const ours = new Set([cachedBinDir(), binDir]);
  const pathValue = (process.env.PATH ?? "")
    .split(path.delimiter)
    .filter((d) => d !== "" && !ours.has(path.resolve(d)))
    .join(path.delimiter);
  const found = which("pulumi", pathValue);
  if (found === undefined) return undefined;
  const pulumi = fs.realpathSync(found);
  const version = outputOf(pulumi, ["version"]);
  if (version === undefined || !isCompatibleVersion(version)) {
    log(`not using ${found} (version ${version ?? "unknown"}): need v${PULUMI_VERSION.split(".")[0]}.x >= v${PULUMI_VERSION}`);
    return undefined;
  }
  const realDir = path.dirname(pulumi);
  const beside = (name: string): string | undefined =>
    [path.join(realDir, name), which(name, pathValue)].find((p): p is string => p !== undefined && isExecutable(p));
  const languageHost = beside("pulumi-language-nodejs");
  if (languageHost === undefined) {
    log(`not using ${found} (${version}): no pulumi-language-nodejs next to it or on PATH`);
    return undefined;
  }
  fs.mkdirSync(binDir, { recursive: true });
  const link = (target: string, name: string): string => {
    const at = path.join(binDir, name);
    const real = fs.realpathSync(target);
    if (isSymlink(at) && fs.readlinkSync(at) === real) return at;
    fs.rmSync(at, { force: true });
    try {
      fs.symlinkSync(real, at);
    } catch (err) {
      // A concurrent caller may have made the same link.
      if (!(isSymlink(at) && fs.readlinkSync(at) === real)) throw err;
    }
    return at;
  };
  const launcherName = "pulumi-resource-pulumi-nodejs";
  const theirLauncher = beside(launcherName);
  let dynamicLauncher: string;
  if (theirLauncher !== undefined) {
    dynamicLauncher = link(theirLauncher, launcherName);
  } else {
    dynamicLauncher = path.join(binDir, launcherName);
    if (isSymlink(dynamicLauncher)) fs.rmSync(dynamicLauncher);
    writeIfChanged(dynamicLauncher, DYNAMIC_LAUNCHER_SCRIPT, 0o755);
  }
  return {
    pulumi: link(pulumi, "pulumi"),
    languageHost: link(languageHost, "pulumi-language-nodejs"),
    dynamicLauncher,
    binDir,
    version,
    languageHostVersion: outputOf(languageHost, ["-version"]) ?? "unknown",
    source: "path",
  };
}

function isSymlink(file: string): boolean {
  try {
    return fs.lstatSync(file).isSymbolicLink();
  } catch {
    return false;
  }
}

/**
 * Makes sure `pulumi`, `pulumi-language-nodejs` and `pulumi-resource-pulumi-nodejs`
 * exist and work, building them the first time (minutes: module download and
 * compile), and returns where they are. A warm call takes well under a second.
 */
export async function ensurePulumiTools(opts: EnsureOptions = {}): Promise<PulumiTools> {
  const log = opts.log ?? ((): void => undefined);
  const started = Date.now();
  const done = (t: Omit<PulumiTools, "built" | "seconds">, built: boolean): PulumiTools => ({ ...t, built, seconds: (Date.now() - started) / 1000 });

  if (opts.ignorePath !== true && process.env.PULUMI_CDC_IGNORE_PATH_PULUMI !== "true") {
    const found = fromPath(log);
    if (found !== undefined) {
      log(`using ${found.version} from PATH (${fs.realpathSync(found.pulumi)})`);
      return done(found, false);
    }
  }

  const moduleDir = path.join(repoRoot(), "tools", "pulumi");
  const binDir = cachedBinDir();
  fs.mkdirSync(binDir, { recursive: true });
  const pulumi = path.join(binDir, "pulumi");
  const languageHost = path.join(binDir, "pulumi-language-nodejs");
  const dynamicLauncher = path.join(binDir, "pulumi-resource-pulumi-nodejs");
  const stampFile = path.join(binDir, ".inputs.json");

  const want: Required<Stamp> = {
    cli: inputsHash(moduleDir, ["tools.go"]),
    languageHost: inputsHash(moduleDir, goFilesUnder(moduleDir, "cmd")),
  };
  const stamp = readStamp(stampFile);
  let built = false;

  const cliOk = (): string | undefined => {
    if (!isExecutable(pulumi) || stamp.cli !== want.cli) return undefined;
    const v = outputOf(pulumi, ["version"]);
    return v === `v${PULUMI_VERSION}` ? v : undefined;
  };
  const hostOk = (): string | undefined => {
    if (!isExecutable(languageHost) || stamp.languageHost !== want.languageHost) return undefined;
    const v = outputOf(languageHost, ["-version"]);
    return v === LANGUAGE_HOST_VERSION ? v : undefined;
  };

  let version = cliOk();
  let languageHostVersion = hostOk();
  if (version === undefined || languageHostVersion === undefined) {
    const go = findGo();
    const goVersion = outputOf(go, ["version"]) ?? "unknown go";
    log(`building the Pulumi CLI v${PULUMI_VERSION} into ${binDir} with ${goVersion}; the first build downloads modules and compiles for several minutes`);
    if (version === undefined) {
      await goBuild(go, moduleDir, CLI_PACKAGE, pulumi, `v${PULUMI_VERSION}`, log);
      stamp.cli = want.cli;
      version = outputOf(pulumi, ["version"]);
      if (version !== `v${PULUMI_VERSION}`) throw new Error(`pulumi-cli: built ${pulumi} but \`pulumi version\` printed ${version ?? "nothing"}`);
    }
    if (languageHostVersion === undefined) {
      await goBuild(go, moduleDir, LANGUAGE_HOST_PACKAGE, languageHost, LANGUAGE_HOST_VERSION, log);
      stamp.languageHost = want.languageHost;
      languageHostVersion = outputOf(languageHost, ["-version"]);
      if (languageHostVersion !== LANGUAGE_HOST_VERSION) {
        throw new Error(`pulumi-cli: built ${languageHost} but \`-version\` printed ${languageHostVersion ?? "nothing"}`);
      }
    }
    writeIfChanged(stampFile, `${JSON.stringify(stamp, null, 2)}\n`, 0o644);
    built = true;
  }
  writeIfChanged(dynamicLauncher, DYNAMIC_LAUNCHER_SCRIPT, 0o755);
  if (built) log(`Pulumi tools ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return done({ pulumi, languageHost, dynamicLauncher, binDir, version, languageHostVersion, source: "cache" }, built);
}

export interface PulumiEnvOptions {
  /** PULUMI_HOME (plugins, credentials, workspace settings). Default: `<backendDir>/pulumi-home`. */
  home?: string;
  /** PULUMI_CONFIG_PASSPHRASE for the stack's secrets. Default: a fixed test passphrase. */
  passphrase?: string;
  /** Environment to start from. Default: process.env. */
  base?: NodeJS.ProcessEnv;
}

/**
 * Environment for a hermetic run of the real CLI: our binaries first on
 * PATH, a private PULUMI_HOME (so nothing reads or writes ~/.pulumi, and no
 * plugin gets downloaded into it), a file:// backend in `backendDir`, a
 * passphrase secrets provider, no update check, and no network-reaching
 * extras. Plugin downloads are disabled
 * (PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION): a program whose
 * node_modules holds @pulumi/kafka or @pulumi/postgresql needs
 * `--skip-plugin-pre-install` on up/preview/destroy/refresh unless
 * pulumi-resource-kafka / pulumi-resource-postgresql are on PATH, and a
 * program that actually registers their resources needs those plugins.
 */
export function pulumiEnv(binDir: string, backendDir: string, opts: PulumiEnvOptions = {}): Record<string, string> {
  const base = opts.base ?? process.env;
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(base)) {
    if (v === undefined) continue;
    // Nothing from an outer Pulumi session (tokens, backends, stacks, config) leaks in.
    if (k.startsWith("PULUMI_") && !k.startsWith("PULUMI_CDC_")) continue;
    env[k] = v;
  }
  const home = opts.home ?? path.join(backendDir, "pulumi-home");
  fs.mkdirSync(home, { recursive: true });
  fs.mkdirSync(backendDir, { recursive: true });
  return {
    ...env,
    PATH: [binDir, base.PATH ?? ""].filter((p) => p !== "").join(path.delimiter),
    PULUMI_HOME: home,
    PULUMI_BACKEND_URL: `file://${path.resolve(backendDir)}`,
    PULUMI_CONFIG_PASSPHRASE: opts.passphrase ?? "pulumi-postgres-cdc-test",
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DIY_BACKEND_NO_LEGACY_WARNING: "true",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    PULUMI_DISABLE_REGISTRY_RESOLVE: "true",
    PULUMI_SUPPRESS_NEO_LINK: "true",
    PULUMI_SKIP_CONFIRMATIONS: "true",
    PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK: "true",
    NO_COLOR: "1",
  };
}
