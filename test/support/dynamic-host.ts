/**
 * Runs providers the way Pulumi's dynamic provider host does
 * (@pulumi/pulumi cmd/dynamic-provider/index.ts): the provider object is
 * serialized with Pulumi's closure serializer, the text is evaluated with
 * require-from-string and `.handler()` gives the provider back. Module lookups
 * from that text resolve through a scratch consumer directory whose
 * node_modules links this package, as in a user's program directory, so a
 * serialization mistake (captured client, inlined module, bad exports map)
 * fails the test.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type * as dynamic from "@pulumi/pulumi/dynamic";

const repoRoot = path.resolve(__dirname, "..", "..", "..");
let consumerModules: string | undefined;

/** node_modules of a scratch consumer project in which `pulumi-postgres-cdc` is this checkout. */
export function consumerNodeModules(): string {
  if (consumerModules) return consumerModules;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cdc-consumer-"));
  const nm = path.join(dir, "node_modules");
  fs.mkdirSync(nm);
  fs.symlinkSync(repoRoot, path.join(nm, "pulumi-postgres-cdc"), "dir");
  process.on("exit", () => fs.rmSync(dir, { recursive: true, force: true }));
  consumerModules = nm;
  return nm;
}

/** Serializes a provider object exactly as dynamic.Resource does. */
export async function serializeProvider(provider: dynamic.ResourceProvider): Promise<string> {
  const pulumi = await import("@pulumi/pulumi");
  const { text } = await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: true });
  return text;
}

const cache = new Map<string, dynamic.ResourceProvider>();

/**
 * Evaluates serialized provider text as the host does (cached per text, like
 * the host). `nodeModules` is the program directory's node_modules (default:
 * a scratch consumer that links this checkout).
 */
export function loadSerializedProvider(text: string, nodeModules = consumerNodeModules()): dynamic.ResourceProvider {
  const key = `${nodeModules}\0${text}`;
  let p = cache.get(key);
  if (!p) {
    const requireFromString = require("require-from-string") as (code: string, filename?: string) => { handler: () => dynamic.ResourceProvider };
    // The host evaluates the text with an empty file name from the program's directory, so its requires
    // resolve from that directory's node_modules. A file name inside the program directory gives the same
    // resolution, and keeps Node's resolution cache (keyed by the requiring module's directory) apart
    // between programs in one test process.
    p = requireFromString(text, path.join(path.dirname(nodeModules), "__dynamic_provider__.js")).handler();
    cache.set(key, p);
  }
  return p;
}

/** Every module name the serialized text requires. */
export function requiredModules(text: string): string[] {
  return [...text.matchAll(/require\(\s*[`"']([^`"']+)[`"']\s*\)/g)].map((m) => m[1]);
}

/** serialize + load: the provider as the host would run it. */
export async function hostedProvider(provider: dynamic.ResourceProvider): Promise<{ provider: dynamic.ResourceProvider; text: string }> {
  const text = await serializeProvider(provider);
  return { provider: loadSerializedProvider(text), text };
}

/** A thin lifecycle driver for provider tests: check then create/update, as the engine calls them. */
export class HostedResource<I extends Record<string, unknown>> {
  id?: string;
  outs?: Record<string, unknown>;
  constructor(readonly provider: dynamic.ResourceProvider, readonly text: string) {}

  async check(news: I, olds: Record<string, unknown> = {}): Promise<dynamic.CheckResult> {
    return this.provider.check!(olds, { ...news, __provider: this.text });
  }

  /** check + create; throws when check reports failures. */
  async create(news: I): Promise<Record<string, unknown>> {
    const checked = await this.checked(news, {});
    const r = await this.createRecorded(checked);
    this.id = r.id;
    const outs = { ...r.outs, __provider: this.text };
    this.outs = outs;
    return outs;
  }

  /** check + diff + update (or replace when diff says so: delete first, then create). */
  async up(news: I): Promise<{ action: "none" | "update" | "replace"; outs: Record<string, unknown>; diff: dynamic.DiffResult }> {
    if (!this.id || !this.outs) {
      const outs = await this.create(news);
      return { action: "replace", outs, diff: { changes: true } };
    }
    const checked = await this.checked(news, this.outs);
    const diff = await this.provider.diff!(this.id, this.outs, checked);
    if (!diff.changes) return { action: "none", outs: this.outs, diff };
    if (diff.replaces && diff.replaces.length) {
      await this.provider.delete!(this.id, this.outs);
      const r = await this.createRecorded(checked);
      this.id = r.id;
      const outs = { ...r.outs, __provider: this.text };
      this.outs = outs;
      return { action: "replace", outs, diff };
    }
    const r = await this.provider.update!(this.id, this.outs, checked);
    const outs = { ...r.outs, __provider: this.text };
    this.outs = outs;
    return { action: "update", outs, diff };
  }

  async read(): Promise<dynamic.ReadResult> {
    const r = await this.provider.read!(this.id!, this.outs);
    if (r.id && r.props) this.outs = { ...r.props, __provider: this.text };
    return r;
  }

  async delete(): Promise<void> {
    await this.provider.delete!(this.id!, this.outs);
  }

  /**
   * create; an error carrying `id` (and `properties`) is a partial create, which the host reports as
   * ErrorResourceInitFailed and the engine records in state: the id and outputs are kept, the error rethrown.
   */
  private async createRecorded(checked: Record<string, unknown>): Promise<dynamic.CreateResult> {
    try {
      return await this.provider.create(checked);
    } catch (err) {
      const partial = err as { id?: unknown; properties?: Record<string, unknown> };
      if (typeof partial?.id === "string" && partial.id) {
        this.id = partial.id;
        this.outs = { ...(partial.properties ?? {}), __provider: this.text };
      }
      throw err;
    }
  }

  private async checked(news: I, olds: Record<string, unknown>): Promise<Record<string, unknown>> {
    const c = await this.provider.check!(olds, { ...news, __provider: this.text });
    if (c.failures && c.failures.length) {
      throw new Error(`check failed: ${c.failures.map((f) => f.reason).join("; ")}`);
    }
    return c.inputs as Record<string, unknown>;
  }
}
