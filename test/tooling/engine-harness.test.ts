import { strict as assert } from "node:assert";
import * as pulumi from "@pulumi/pulumi";
import { Engine, nonSecretText } from "../support/engine";

interface Store {
  objects: Map<string, Record<string, unknown>>;
  calls: string[];
}

function store(): Store {
  const g = globalThis as unknown as { __engineTestStore?: Store };
  g.__engineTestStore ??= { objects: new Map(), calls: [] };
  return g.__engineTestStore;
}

// A provider that keeps its objects in memory; it captures nothing, so it serializes like ours.
const memoryProvider: pulumi.dynamic.ResourceProvider = {
  async check(_olds, news) {
    if (news.label === "bad") return { failures: [{ property: "label", reason: "label must not be bad" }] };
    return { inputs: news };
  },
  async diff(_id, olds, news) {
    const replaces = olds.label !== news.label ? ["label"] : [];
    return { changes: olds.label !== news.label || olds.size !== news.size, replaces, deleteBeforeReplace: true };
  },
  async create(inputs) {
    const s = (globalThis as unknown as { __engineTestStore: Store }).__engineTestStore;
    const id = `${inputs.label}`;
    if (s.objects.has(id)) throw new Error(`duplicate ${id}`);
    s.objects.set(id, { label: inputs.label, size: inputs.size, password: inputs.password });
    s.calls.push(`create ${id}`);
    return { id, outs: { label: inputs.label, size: inputs.size, password: inputs.password } };
  },
  async read(id, props) {
    const s = (globalThis as unknown as { __engineTestStore: Store }).__engineTestStore;
    const o = s.objects.get(id);
    return o ? { id, props: { ...props, ...o } } : {};
  },
  async update(id, _olds, news) {
    const s = (globalThis as unknown as { __engineTestStore: Store }).__engineTestStore;
    s.objects.set(id, { label: news.label, size: news.size, password: news.password });
    s.calls.push(`update ${id}`);
    return { outs: { label: news.label, size: news.size, password: news.password } };
  },
  async delete(id) {
    const s = (globalThis as unknown as { __engineTestStore: Store }).__engineTestStore;
    s.objects.delete(id);
    s.calls.push(`delete ${id}`);
  },
};

class Thing extends pulumi.dynamic.Resource {
  declare readonly label: pulumi.Output<string>;
  declare readonly size: pulumi.Output<number>;
  constructor(name: string, args: { label: string; size: number; password?: pulumi.Input<string> }, opts?: pulumi.CustomResourceOptions) {
    super(memoryProvider, name, { ...args, password: args.password ? pulumi.secret(args.password) : undefined }, opts, "engine-test", "Thing");
  }
}

describe("engine harness (test support)", () => {
  beforeEach(() => {
    store().objects.clear();
    store().calls.length = 0;
  });

  it("creates, keeps, updates, replaces delete-first, deletes removed resources, refreshes and destroys in reverse order", async () => {
    const engine = new Engine();
    await engine.up(() => {
      const a = new Thing("a", { label: "a1", size: 1 });
      new Thing("b", { label: "b1", size: 1 }, { dependsOn: [a] });
    });
    assert.deepEqual(store().calls, ["create a1", "create b1"]);

    const same = await engine.up(() => {
      const a = new Thing("a", { label: "a1", size: 1 });
      new Thing("b", { label: "b1", size: 1 }, { dependsOn: [a] });
    });
    assert.deepEqual(same.steps.map((s) => s.op), ["same", "same"]);

    store().calls.length = 0;
    await engine.up(() => {
      const a = new Thing("a", { label: "a1", size: 2 });
      new Thing("b", { label: "b2", size: 1 }, { dependsOn: [a] });
    });
    assert.deepEqual(store().calls, ["update a1", "delete b1", "create b2"]);
    assert.deepEqual(engine.resource("b")?.dependsOn, ["a"]);

    store().calls.length = 0;
    await engine.up(() => {
      new Thing("a", { label: "a1", size: 2 });
    });
    assert.deepEqual(store().calls, ["delete b2"]);

    store().objects.delete("a1");
    const refreshed = await engine.refresh();
    assert.deepEqual(refreshed.map((s) => s.op), ["refresh-delete"]);
    assert.equal(engine.snapshot().resources.length, 0);

    await engine.up(() => {
      const a = new Thing("a", { label: "a3", size: 1 });
      new Thing("b", { label: "b3", size: 1 }, { dependsOn: [a] });
    });
    store().calls.length = 0;
    await engine.destroy();
    assert.deepEqual(store().calls, ["delete b3", "delete a3"]);
  });

  it("stops on check failures without creating anything, and preview creates nothing", async () => {
    const engine = new Engine();
    await assert.rejects(engine.up(() => new Thing("x", { label: "bad", size: 1 })), /label must not be bad/);
    assert.equal(store().objects.size, 0);
    await engine.up(() => new Thing("y", { label: "y1", size: 1 }), { preview: true });
    assert.equal(store().objects.size, 0);
    assert.equal(engine.snapshot().resources.length, 0);
  });

  it("hands providers decrypted inputs and marks same-named outputs secret again", async () => {
    const engine = new Engine();
    await engine.up(() => new Thing("s", { label: "s1", size: 1, password: "hunter2-secret" }));
    assert.equal(store().objects.get("s1")?.password, "hunter2-secret");
    const text = nonSecretText(engine.snapshot());
    assert.ok(!text.includes("hunter2-secret"), "password appears outside secret wrappers in state");
    assert.equal(engine.outputsOf("s")?.password, "hunter2-secret");
  });
});
