/**
 * The package as a user installs it: `npm pack` this checkout, unpack the
 * tarball into a scratch project's node_modules/pulumi-postgres-cdc, and link
 * the package's dependencies from this checkout's node_modules (they are the
 * same versions, and the registry is not needed). Programs run from that
 * project resolve `pulumi-postgres-cdc` to the packed files only, so a file
 * missing from the package, a bad `exports` map or a provider that captured
 * local code fails there.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const repoRoot = path.resolve(__dirname, "..", "..", "..");

export interface PackedConsumer {
  /** The scratch project's directory. */
  dir: string;
  /** Its node_modules. */
  nodeModules: string;
  /** The unpacked package. */
  packageDir: string;
  /** Files the tarball contains (relative to the package root). */
  files: string[];
  /** Requires a module as the scratch project would. */
  require<T = unknown>(id: string): T;
}

/**
 * `userDeps`: link only what a user's project has besides the package: the
 * package's own dependencies (and what they pull in), @pulumi/pulumi, and
 * TypeScript with @types/node from Pulumi's TypeScript template; none of this
 * checkout's other devDependencies. Default: link everything.
 */
export function packConsumer(opts: { userDeps?: boolean } = {}): PackedConsumer {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cdc-packed-"));
  process.on("exit", () => fs.rmSync(dir, { recursive: true, force: true }));
  const out = execFileSync("npm", ["pack", "--silent", "--pack-destination", dir], { cwd: repoRoot, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
  const tarball = path.join(dir, out.trim().split("\n").pop()!.trim());
  const nodeModules = path.join(dir, "node_modules");
  const packageDir = path.join(nodeModules, "pulumi-postgres-cdc");
  fs.mkdirSync(packageDir, { recursive: true });
  execFileSync("tar", ["-xzf", tarball, "-C", packageDir, "--strip-components=1"]);
  const files = execFileSync("tar", ["-tzf", tarball], { encoding: "utf8" })
    .split("\n")
    .filter(Boolean)
    .map((f) => f.replace(/^package\//, ""));
  const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, "package.json"), "utf8")) as { devDependencies: Record<string, string> };
  const kept = new Set(["@pulumi/pulumi", "typescript", "@types/node"]);
  const devOnly = (name: string) => opts.userDeps === true && name in pkg.devDependencies && !kept.has(name);
  for (const entry of fs.readdirSync(path.join(repoRoot, "node_modules"))) {
    if (entry === "pulumi-postgres-cdc" || entry.startsWith(".")) continue;
    if (entry.startsWith("@") && opts.userDeps) {
      // A scope directory: link its packages one by one, leaving out devDependencies.
      fs.mkdirSync(path.join(nodeModules, entry), { recursive: true });
      for (const sub of fs.readdirSync(path.join(repoRoot, "node_modules", entry))) {
        if (!devOnly(`${entry}/${sub}`)) fs.symlinkSync(path.join(repoRoot, "node_modules", entry, sub), path.join(nodeModules, entry, sub));
      }
      continue;
    }
    if (devOnly(entry)) continue;
    fs.symlinkSync(path.join(repoRoot, "node_modules", entry), path.join(nodeModules, entry));
  }
  fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "cdc-consumer", private: true }));
  const { createRequire } = require("node:module") as typeof import("node:module");
  const req = createRequire(path.join(dir, "index.js"));
  return { dir, nodeModules, packageDir, files, require: <T>(id: string) => req(id) as T };
}
