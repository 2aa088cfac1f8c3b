/**
 * An engine harness for end-to-end runs of Pulumi programs without the Pulumi
 * CLI: the program runs under `pulumi.runtime.setMocks`, and every dynamic
 * resource is executed for real from its serialized `__provider` text, the way
 * Pulumi's dynamic provider host does (require-from-string, `.handler()`),
 * with a state store kept between runs.
 *
 * Engine behaviours mirrored (pkg/resource/deploy in pulumi/pulumi, and
 * docs/dynamic-providers.md):
 * - check(olds = previous inputs, news) before anything; failures stop the resource.
 * - no previous state: create (not during preview: the Node host never sets
 *   supportsPreview, so preview runs check and diff only).
 * - previous state: diff(id, old OUTPUTS, checked inputs); no changes = same;
 *   `replaces` = replace, delete-before-replace when the diff or the
 *   `deleteBeforeReplace` option asks, create-before-delete otherwise; else update.
 * - secrets: the host does not accept secrets, so inputs reach the provider
 *   decrypted; output keys whose same-named input was secret, and keys in
 *   `additionalSecretOutputs`, are marked secret again.
 * - resources in the old state that the program no longer declares are deleted
 *   after the program ran, in reverse creation order (dependents first); not
 *   when the update had errors.
 * - refresh: read(id, outputs) on each dynamic resource; an empty id removes it.
 * - destroy: delete every resource in reverse creation order.
 * - `protect` and `retainOnDelete` are honoured on delete.
 * Not mirrored: parallelism between independent resources (steps run in
 * registration order), `ignoreChanges`, aliases, custom timeouts (which do not
 * reach dynamic providers anyway). Non-dynamic custom resources (e.g.
 * @pulumi/kafka Topic) are recorded with their inputs as outputs, like a mock.
 */
import * as fs from "node:fs";
import * as pulumi from "@pulumi/pulumi";
import type * as dynamic from "@pulumi/pulumi/dynamic";
import { loadSerializedProvider } from "./dynamic-host";

const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const SECRET_VAL = "1b47061264138c4ac30d75fd1eb44270";

type Props = Record<string, unknown>;

export interface ResourceState {
  /** type::name, unique in a program */
  key: string;
  type: string;
  name: string;
  custom: boolean;
  dynamic: boolean;
  id: string;
  /** Inputs as registered (secret values kept in Pulumi's secret wrapper). */
  inputs: Props;
  /** Outputs as returned by the provider (secret values wrapped). */
  outputs: Props;
  parent?: string;
  dependsOn: string[];
  deleteBeforeReplace?: boolean;
  protect?: boolean;
  retainOnDelete?: boolean;
}

export interface EngineState {
  resources: ResourceState[];
}

export type StepOp = "create" | "update" | "replace" | "same" | "delete" | "refresh" | "refresh-delete";
export interface Step {
  op: StepOp;
  key: string;
}

export interface UpOptions {
  preview?: boolean;
  /** Stop the run (as if the process were killed) right after this many create/update/replace/delete steps. */
  interruptAfterSteps?: number;
  /**
   * With interruptAfterSteps: the process dies after the provider finished the last step but before the
   * engine wrote its result to the state (the object exists on the server, the state does not know it).
   * Default false: the last step is recorded, then the run stops.
   */
  interruptBeforeRecording?: boolean;
}

export interface UpResult {
  outputs: Props;
  steps: Step[];
}

export class EngineInterrupted extends Error {}

interface Captured {
  parent?: string;
  dependsOn: string[];
  deleteBeforeReplace?: boolean;
  additionalSecretOutputs?: string[];
  protect?: boolean;
  retainOnDelete?: boolean;
}

export class Engine {
  private state: EngineState = { resources: [] };
  /** Every provider operation in order, for tests of ordering. */
  readonly log: Step[] = [];

  constructor(
    private readonly opts: {
      stateFile?: string;
      project?: string;
      stack?: string;
      /** node_modules of the program's directory, where provider text resolves modules. */
      nodeModules?: string;
      /** Stack configuration, keys without the project prefix (as `pulumi config set` takes them). */
      config?: Record<string, string>;
      /** Which config keys are secrets (`pulumi config set --secret`). */
      secretConfigKeys?: string[];
    } = {},
  ) {
    if (opts.stateFile && fs.existsSync(opts.stateFile)) {
      this.state = JSON.parse(fs.readFileSync(opts.stateFile, "utf8")) as EngineState;
    }
  }

  /** The current state (deep copy). */
  snapshot(): EngineState {
    return JSON.parse(JSON.stringify(this.state)) as EngineState;
  }

  /** The state entry of a resource by name (and optionally type). */
  resource(name: string, type?: string): ResourceState | undefined {
    return this.state.resources.find((r) => r.name === name && (!type || r.type === type));
  }

  /** Outputs of a resource with secrets unwrapped. */
  outputsOf(name: string, type?: string): Props | undefined {
    const r = this.resource(name, type);
    return r ? (unwrapSecrets(r.outputs) as Props) : undefined;
  }

  /** Runs the program: `pulumi up` (or `pulumi preview` with preview: true). */
  async up(program: () => unknown, options: UpOptions = {}): Promise<UpResult> {
    const steps: Step[] = [];
    const errors: Error[] = [];
    const registered = new Set<string>();
    const captured = new Map<string, Captured>();
    const old = new Map(this.state.resources.map((r) => [r.key, r]));
    const next = new Map<string, ResourceState>();
    const order: string[] = [];
    let mutations = 0;
    const preview = !!options.preview;

    const countMutation = () => {
      mutations++;
      if (options.interruptAfterSteps !== undefined && mutations >= options.interruptAfterSteps) {
        throw new EngineInterrupted(`interrupted after ${mutations} steps`);
      }
    };
    // interruptBeforeRecording: called after the provider's step and before finish() records it.
    const loseStep = () => {
      if (options.interruptBeforeRecording && options.interruptAfterSteps !== undefined && mutations + 1 >= options.interruptAfterSteps) {
        mutations++;
        throw new EngineInterrupted(`interrupted after ${mutations} steps, before the last one was recorded`);
      }
    };
    const record = (op: StepOp, key: string) => {
      steps.push({ op, key });
      this.log.push({ op, key });
    };
    let interrupted: EngineInterrupted | undefined;
    // A failed program leaves registrations that never happen; the language host exits then, and so do we.
    let inFlight = 0;
    let signalFailure: () => void = () => undefined;
    const failed = new Promise<void>((resolve) => (signalFailure = resolve));

    const mocks: pulumi.runtime.Mocks = {
      call: (args) => {
        throw new Error(`engine harness: invoke ${args.token} is not supported`);
      },
      newResource: async (args) => {
        inFlight++;
        try {
          return await register(args);
        } finally {
          inFlight--;
        }
      },
    };
    const register = async (args: pulumi.runtime.MockResourceArgs): Promise<pulumi.runtime.MockResourceResult> => {
      const key = `${args.type}::${args.name}`;
      if (interrupted) throw interrupted;
      if (!args.custom) {
        registered.add(key);
        return { id: undefined, state: {} };
      }
      registered.add(key);
      const cap = captured.get(key) ?? { dependsOn: [] };
      const prior = old.get(key);
      const isDynamic = args.type.startsWith("pulumi-nodejs:dynamic");
      const base: Omit<ResourceState, "id" | "inputs" | "outputs"> = {
        key,
        type: args.type,
        name: args.name,
        custom: true,
        dynamic: isDynamic,
        parent: cap.parent,
        dependsOn: cap.dependsOn,
        deleteBeforeReplace: cap.deleteBeforeReplace,
        protect: cap.protect,
        retainOnDelete: cap.retainOnDelete,
      };
      try {
        if (!isDynamic) {
          const id = prior?.id ?? `${args.name}-id`;
          const entry: ResourceState = { ...base, id, inputs: args.inputs, outputs: args.inputs };
          if (!preview) {
            if (!prior) record("create", key);
            else if (JSON.stringify(prior.inputs) !== JSON.stringify(args.inputs)) record("update", key);
            else record("same", key);
            next.set(key, entry);
            order.push(key);
          }
          return { id, state: args.inputs };
        }
        const text = providerText(args.inputs.__provider);
        const provider = loadSerializedProvider(text, this.opts.nodeModules);
        const secretKeys = new Set([...secretTopKeys(args.inputs), ...(cap.additionalSecretOutputs ?? [])]);
        const news = unwrapSecrets(args.inputs) as Props;
        const olds = prior ? (unwrapSecrets(prior.inputs) as Props) : {};
        const checked = await runCheck(provider, key, olds, news);
        const finish = (id: string, outs: Props, op: StepOp) => {
          const outputs = markSecrets({ ...outs, __provider: text }, secretKeys);
          const entry: ResourceState = { ...base, id, inputs: markSecrets(checked, secretKeys), outputs };
          next.set(key, entry);
          order.push(key);
          record(op, key);
          return { id, state: outputs };
        };
        if (!prior) {
          if (preview) return { id: undefined, state: {} };
          const r = await provider.create(checked);
          if (!r.id) throw new Error(`${key}: provider did not return an ID from Create`);
          loseStep();
          const res = finish(r.id, r.outs ?? {}, "create");
          countMutation();
          return res;
        }
        const priorOuts = unwrapSecrets(prior.outputs) as Props;
        const diff: dynamic.DiffResult = provider.diff ? await provider.diff(prior.id, priorOuts, checked) : { changes: true };
        if (preview) {
          record(diff.changes ? (diff.replaces?.length ? "replace" : "update") : "same", key);
          return { id: prior.id, state: prior.outputs };
        }
        if (diff.changes === false) {
          const entry: ResourceState = { ...base, id: prior.id, inputs: markSecrets(checked, secretKeys), outputs: prior.outputs };
          next.set(key, entry);
          order.push(key);
          record("same", key);
          return { id: prior.id, state: prior.outputs };
        }
        if (diff.replaces && diff.replaces.length) {
          if (prior.protect) throw new Error(`${key}: resource is protected; cannot replace it`);
          const dbr = cap.deleteBeforeReplace ?? diff.deleteBeforeReplace ?? false;
          if (dbr) {
            await deleteWith(provider, prior);
            this.log.push({ op: "delete", key });
          }
          const r = await provider.create(checked);
          if (!dbr) {
            await deleteWith(provider, prior);
            this.log.push({ op: "delete", key });
          }
          loseStep();
          const res = finish(r.id, r.outs ?? {}, "replace");
          countMutation();
          return res;
        }
        const r = provider.update ? await provider.update(prior.id, priorOuts, checked) : {};
        loseStep();
        const res = finish(prior.id, r.outs ?? {}, "update");
        countMutation();
        return res;
      } catch (err) {
        if (err instanceof EngineInterrupted) interrupted = err;
        else errors.push(err as Error);
        signalFailure();
        throw err;
      }
    };

    const project = this.opts.project ?? "project";
    await pulumi.runtime.setMocks(mocks, project, this.opts.stack ?? "stack", preview);
    if (this.opts.config) {
      const prefixed = Object.fromEntries(Object.entries(this.opts.config).map(([k, v]) => [k.includes(":") ? k : `${project}:${k}`, v]));
      const secret = (this.opts.secretConfigKeys ?? []).map((k) => (k.includes(":") ? k : `${project}:${k}`));
      pulumi.runtime.setAllConfig(prefixed, secret);
    }
    let outputs: Props = {};
    const { waitForRPCs } = require("@pulumi/pulumi/runtime/settings") as { waitForRPCs: () => Promise<void> };
    const programErrors: unknown[] = [];
    const onRejection = (reason: unknown) => {
      programErrors.push(reason);
      signalFailure();
    };
    const settledOrFailed = async () => {
      await Promise.race([waitForRPCs(), failed]);
      // After a failure, let the steps already running finish, as the engine does.
      while (inFlight > 0) await new Promise((r) => setTimeout(r, 20));
    };
    process.on("unhandledRejection", onRejection);
    try {
      const run = pulumi.runtime.runInPulumiStack(async () => {
        pulumi.runtime.registerStackTransformation((a) => {
          const opts = a.opts as pulumi.CustomResourceOptions;
          captured.set(`${a.type}::${a.name}`, {
            parent: a.opts.parent ? ((a.opts.parent as unknown as { __name?: string }).__name ?? undefined) : undefined,
            dependsOn: dependsOnNames(a.opts.dependsOn),
            deleteBeforeReplace: opts.deleteBeforeReplace,
            additionalSecretOutputs: opts.additionalSecretOutputs,
            protect: opts.protect,
            retainOnDelete: opts.retainOnDelete,
          });
          return undefined;
        });
        return (await program()) as Props | undefined;
      });
      run.catch(() => undefined);
      // The stack's outputs never resolve when a registration failed: stop at the first failure, as the language host does.
      const out = await Promise.race([run, failed.then(() => undefined)]);
      outputs = (out ?? {}) as Props;
      await settledOrFailed();
      if (!programErrors.length && !errors.length && !interrupted) outputs = await resolveAll(outputs);
    } catch (err) {
      if (err instanceof EngineInterrupted) interrupted = err;
      else if (!errors.includes(err as Error)) errors.push(err as Error);
    } finally {
      await settledOrFailed().catch(() => undefined);
      await new Promise((r) => setImmediate(r));
      process.off("unhandledRejection", onRejection);
    }
    if (programErrors.length || errors.length || interrupted) {
      // A real deployment's process would have exited here; drop the registrations that can never finish.
      const { getStore } = require("@pulumi/pulumi/runtime/state") as { getStore: () => { leakCandidates?: Set<unknown> } };
      getStore().leakCandidates?.clear();
    }
    for (const e of programErrors) {
      if (e instanceof EngineInterrupted) interrupted = e;
      else if (!errors.some((x) => x === e || x.message === (e as Error)?.message)) errors.push(e as Error);
    }

    if (!preview) {
      // Re-registered resources keep their place; new ones follow in registration order.
      const merged = this.state.resources.map((r) => next.get(r.key) ?? r);
      for (const k of order) if (!old.has(k) && !merged.some((r) => r.key === k)) merged.push(next.get(k)!);
      this.state.resources = merged;
      // Deletions of resources the program no longer declares, dependents first.
      if (!errors.length && !interrupted) {
        const gone = [...this.state.resources].reverse().filter((r) => !registered.has(r.key));
        for (const r of gone) {
          try {
            await this.deleteOne(r);
            record("delete", r.key);
            this.state.resources = this.state.resources.filter((x) => x.key !== r.key);
          } catch (err) {
            errors.push(err as Error);
            break;
          }
        }
      }
      this.save();
    }
    if (interrupted) throw interrupted;
    if (errors.length) {
      const e = new Error(errors.map((x) => x?.message ?? String(x)).join("\n"));
      (e as Error & { errors: Error[] }).errors = errors;
      throw e;
    }
    return { outputs, steps };
  }

  /** `pulumi refresh`: read every dynamic resource; gone ones leave the state. */
  async refresh(): Promise<Step[]> {
    const steps: Step[] = [];
    for (const r of [...this.state.resources]) {
      if (!r.dynamic) continue;
      const text = providerText(r.outputs.__provider ?? r.inputs.__provider);
      const provider = loadSerializedProvider(text, this.opts.nodeModules);
      if (!provider.read) continue;
      const res = await provider.read(r.id, unwrapSecrets(r.outputs) as Props);
      if (!res.id) {
        this.state.resources = this.state.resources.filter((x) => x.key !== r.key);
        steps.push({ op: "refresh-delete", key: r.key });
      } else {
        const secretKeys = new Set(secretTopKeys(r.outputs));
        r.outputs = markSecrets({ ...(res.props ?? {}), __provider: text }, secretKeys);
        if (res.inputs) r.inputs = markSecrets({ ...res.inputs, __provider: text }, new Set(secretTopKeys(r.inputs)));
        steps.push({ op: "refresh", key: r.key });
      }
      this.log.push(steps[steps.length - 1]);
    }
    this.save();
    return steps;
  }

  /** `pulumi destroy`: delete everything, dependents first. */
  async destroy(): Promise<Step[]> {
    const steps: Step[] = [];
    for (const r of [...this.state.resources].reverse()) {
      if (r.protect) throw new Error(`${r.key}: resource is protected; unprotect it before destroy`);
      await this.deleteOne(r);
      this.state.resources = this.state.resources.filter((x) => x.key !== r.key);
      steps.push({ op: "delete", key: r.key });
      this.log.push({ op: "delete", key: r.key });
      this.save();
    }
    return steps;
  }

  private async deleteOne(r: ResourceState): Promise<void> {
    if (r.protect) throw new Error(`${r.key}: resource is protected; cannot delete it`);
    if (!r.dynamic || r.retainOnDelete) return;
    const provider = loadSerializedProvider(providerText(r.outputs.__provider ?? r.inputs.__provider), this.opts.nodeModules);
    await deleteWith(provider, r);
  }

  private save(): void {
    if (this.opts.stateFile) fs.writeFileSync(this.opts.stateFile, JSON.stringify(this.state, null, 1));
  }
}

async function runCheck(provider: dynamic.ResourceProvider, key: string, olds: Props, news: Props): Promise<Props> {
  if (!provider.check) return news;
  const c = await provider.check(olds, news);
  if (c.failures && c.failures.length) {
    throw new Error(`${key}: ${c.failures.map((f) => f.reason).join("; ")}`);
  }
  return (c.inputs ?? news) as Props;
}

async function deleteWith(provider: dynamic.ResourceProvider, r: ResourceState): Promise<void> {
  if (provider.delete) await provider.delete(r.id, unwrapSecrets(r.outputs) as Props);
}

function providerText(v: unknown): string {
  if (typeof v === "string") return v;
  if (v && typeof v === "object" && typeof (v as Props).value === "string") return (v as Props).value as string;
  throw new Error("engine harness: resource has no serialized __provider text");
}

function isSecretWrapper(v: unknown): v is { value: unknown } {
  return !!v && typeof v === "object" && (v as Props)[SECRET_SIG] === SECRET_VAL;
}

/** Deep copy with Pulumi's secret wrappers replaced by their values (what the host hands a dynamic provider). */
export function unwrapSecrets(v: unknown): unknown {
  if (isSecretWrapper(v)) return unwrapSecrets(v.value);
  if (Array.isArray(v)) return v.map(unwrapSecrets);
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unwrapSecrets(x)]));
  return v;
}

function containsSecret(v: unknown): boolean {
  if (isSecretWrapper(v)) return true;
  if (Array.isArray(v)) return v.some(containsSecret);
  if (v && typeof v === "object") return Object.values(v).some(containsSecret);
  return false;
}

function secretTopKeys(props: Props): string[] {
  return Object.entries(props).filter(([, v]) => containsSecret(v)).map(([k]) => k);
}

function markSecrets(props: Props, keys: Set<string>): Props {
  return Object.fromEntries(
    Object.entries(props).map(([k, v]) => [k, keys.has(k) && !isSecretWrapper(v) ? { [SECRET_SIG]: SECRET_VAL, value: v } : v]),
  );
}

/** Values of the state outside secret wrappers, as text (for secret-leak scans). */
export function nonSecretText(v: unknown): string {
  const strip = (x: unknown): unknown => {
    if (isSecretWrapper(x)) return "[secret]";
    if (Array.isArray(x)) return x.map(strip);
    if (x && typeof x === "object") return Object.fromEntries(Object.entries(x).map(([k, y]) => [k, strip(y)]));
    return x;
  };
  return JSON.stringify(strip(v));
}

function dependsOnNames(d: unknown): string[] {
  const list = Array.isArray(d) ? d : d ? [d] : [];
  return list
    .map((r) => (r && typeof r === "object" ? (r as { __name?: string }).__name : undefined))
    .filter((n): n is string => typeof n === "string");
}

async function resolveAll(v: unknown): Promise<Props> {
  const out = await new Promise<unknown>((resolve) => {
    (pulumi.output(v) as pulumi.Output<unknown>).apply((x: unknown) => resolve(x));
  });
  return (out ?? {}) as Props;
}
