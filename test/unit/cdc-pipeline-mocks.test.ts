/**
 * CdcPipeline wiring under Pulumi's runtime mocks: children and their order,
 * generated connector config, secrets, options. Providers are not executed
 * here (see the end-to-end suite for that); `preflight: false` keeps the
 * program-side gate from reaching out.
 */
import { strict as assert } from "node:assert";
import * as pulumi from "@pulumi/pulumi";

interface Registered {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
}

const SECRET_SIG = "4dabf18193072939515e22adb298388d";

function unwrap(v: unknown): unknown {
  if (v && typeof v === "object" && (v as Record<string, unknown>)[SECRET_SIG]) return unwrap((v as { value: unknown }).value);
  if (Array.isArray(v)) return v.map(unwrap);
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unwrap(x)]));
  return v;
}

function promiseOf<T>(o: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => o.apply((v) => resolve(v)));
}

describe("CdcPipeline wiring (mocks)", () => {
  const registered: Registered[] = [];
  const options: Array<{ name: string; dependsOn: string[]; parent?: string; deleteBeforeReplace?: boolean; additionalSecretOutputs?: string[]; ignoreChanges?: string[]; retainOnDelete?: boolean }> = [];
  let lib: typeof import("pulumi-postgres-cdc");

  before(async () => {
    await pulumi.runtime.setMocks(
      {
        newResource: (args) => {
          registered.push({ type: args.type, name: args.name, inputs: args.inputs });
          const state: Record<string, unknown> = { ...args.inputs };
          if (args.type.endsWith(":ReplicationSlot")) Object.assign(state, { retainedWalBytes: 0, active: false });
          if (args.type.endsWith(":DebeziumConnector")) Object.assign(state, { connectorState: "RUNNING", tasks: [{ id: 0, state: "RUNNING", workerId: "w:8083" }] });
          return { id: `${args.name}-id`, state };
        },
        call: () => ({}),
      },
      "project",
      "stack",
      false,
    );
    lib = await import("pulumi-postgres-cdc");
  });

  function build(extra: Partial<import("pulumi-postgres-cdc").CdcPipelineArgs> = {}, opts: pulumi.ComponentResourceOptions = {}) {
    registered.length = 0;
    options.length = 0;
    const capture: pulumi.ResourceTransformation = (a) => {
      const dep = a.opts.dependsOn;
      const list = Array.isArray(dep) ? dep : dep ? [dep] : [];
      options.push({
        name: a.name,
        dependsOn: list.map((r) => (r as unknown as { __name: string }).__name).filter(Boolean),
        parent: (a.opts.parent as unknown as { __name?: string } | undefined)?.__name,
        deleteBeforeReplace: (a.opts as pulumi.CustomResourceOptions).deleteBeforeReplace,
        additionalSecretOutputs: (a.opts as pulumi.CustomResourceOptions).additionalSecretOutputs,
        ignoreChanges: a.opts.ignoreChanges,
        retainOnDelete: a.opts.retainOnDelete,
      });
      return undefined;
    };
    return new lib.CdcPipeline(
      "shop",
      {
        source: { host: "db", database: "inventory", user: "admin", password: "admin-pw-7731" },
        connectorSource: { host: "postgres", user: "dbz", password: "dbz-pw-9924" },
        connect: { url: "http://localhost:8083" },
        tables: ["public.orders", "customers"],
        preflight: false,
        ...extra,
      },
      { transformations: [capture], ...opts },
    );
  }

  async function settled(p: import("pulumi-postgres-cdc").CdcPipeline) {
    await promiseOf(pulumi.all([p.connectorName, p.slotName, p.publicationName, p.topics, p.connectorState]));
    await new Promise((r) => setTimeout(r, 50));
  }

  it("creates grant, publication, slot and connector as children, chained in that order", async () => {
    const p = build();
    await settled(p);
    const types = registered.map((r) => r.type);
    assert.ok(types.includes("postgres-cdc:index:CdcPipeline"));
    for (const t of ["ReplicationGrant", "SignalTable", "Publication", "ReplicationSlot", "DebeziumConnector"]) {
      assert.ok(types.includes(`pulumi-nodejs:dynamic/postgres-cdc:${t}`), `${t} registered`);
    }
    const dep = (n: string) => options.find((o) => o.name === n)?.dependsOn ?? [];
    assert.deepEqual(dep("shop-signal-table"), ["shop-grant"]);
    assert.deepEqual(dep("shop-publication"), ["shop-grant", "shop-signal-table"]);
    assert.deepEqual(dep("shop-slot"), ["shop-publication"]);
    assert.deepEqual(dep("shop-connector"), ["shop-slot"]);
    for (const o of options.filter((x) => x.name !== "shop")) assert.equal(o.parent, "shop");
    assert.equal(options.find((o) => o.name === "shop-connector")?.deleteBeforeReplace, true);
    assert.equal(options.find((o) => o.name === "shop-slot")?.deleteBeforeReplace, true);
  });

  it("generates the Debezium config from the managed slot and publication", async () => {
    const p = build();
    await settled(p);
    const conn = registered.find((r) => r.type.endsWith(":DebeziumConnector"))!;
    const config = unwrap(conn.inputs.config) as Record<string, string>;
    assert.equal(config["slot.name"], "shop_slot");
    assert.equal(config["publication.name"], "shop_pub");
    assert.equal(config["publication.autocreate.mode"], "disabled");
    assert.equal(config["slot.drop.on.stop"], "false");
    assert.equal(config["plugin.name"], "pgoutput");
    // The publication alone decides what streams; the initial snapshot reads the listed tables only.
    assert.equal(config["table.include.list"], undefined);
    assert.equal(config["snapshot.include.collection.list"], "(?-i:public\\.orders),(?-i:public\\.customers)");
    assert.equal(config["signal.data.collection"], "public.shop_signal");
    assert.equal(config["signal.enabled.channels"], "source");
    assert.equal(config["database.hostname"], "postgres");
    assert.equal(config["database.user"], "dbz");
    assert.equal(config["topic.prefix"], "shop");
    assert.equal(conn.inputs.resetOffsetsOnDelete, true);
    const pub = registered.find((r) => r.type.endsWith(":Publication"))!;
    assert.deepEqual(pub.inputs.tables, ["public.orders", "public.customers", "public.shop_signal"]);
    const signal = registered.find((r) => r.type.endsWith(":SignalTable"))!;
    assert.equal(signal.inputs.table, "public.shop_signal");
    assert.equal(signal.inputs.role, "dbz");
    const snapshots = unwrap(conn.inputs.snapshots) as { signalTable: string; tables: string[]; onTablesAdded: string };
    assert.equal(snapshots.signalTable, "public.shop_signal");
    assert.deepEqual(snapshots.tables, ["public.orders", "public.customers"]);
    assert.equal(snapshots.onTablesAdded, "snapshot");
    const grant = registered.find((r) => r.type.endsWith(":ReplicationGrant"))!;
    assert.equal(grant.inputs.role, "dbz");
    assert.deepEqual(await promiseOf(p.topics), { "public.orders": "shop.public.orders", "public.customers": "shop.public.customers" });
  });

  it("keeps every password secret and out of the component's inputs", async () => {
    const p = build();
    await settled(p);
    const component = registered.find((r) => r.type === "postgres-cdc:index:CdcPipeline")!;
    assert.ok(!JSON.stringify(component.inputs).includes("admin-pw-7731"));
    assert.ok(!JSON.stringify(component.inputs).includes("dbz-pw-9924"));
    for (const r of registered.filter((x) => x.type.startsWith("pulumi-nodejs:dynamic"))) {
      for (const [k, v] of Object.entries(r.inputs)) {
        if (k === "__provider") continue;
        const plain = JSON.stringify(v);
        if (plain.includes("admin-pw-7731") || plain.includes("dbz-pw-9924")) {
          assert.ok(plain.includes(SECRET_SIG), `${r.name}.${k} carries a password outside a secret`);
        }
      }
    }
    const connOpts = options.find((o) => o.name === "shop-connector")!;
    assert.ok(connOpts.additionalSecretOutputs?.includes("config"));
  });

  it("adds replica identity and heartbeat when asked", async () => {
    const p = build({ replicaIdentityFull: true, heartbeat: { intervalMs: 5000 } });
    await settled(p);
    const ri = registered.find((r) => r.type.endsWith(":ReplicaIdentity"));
    assert.ok(ri, "ReplicaIdentity registered");
    assert.deepEqual(ri!.inputs.tables, ["public.orders", "public.customers"]);
    const dep = (n: string) => options.find((o) => o.name === n)?.dependsOn ?? [];
    assert.deepEqual(dep("shop-replica-identity"), ["shop-grant"]);
    assert.deepEqual(dep("shop-signal-table"), ["shop-replica-identity"]);
    assert.deepEqual(dep("shop-publication"), ["shop-replica-identity", "shop-signal-table"]);
    const config = unwrap(registered.find((r) => r.type.endsWith(":DebeziumConnector"))!.inputs.config) as Record<string, string>;
    assert.equal(config["heartbeat.interval.ms"], "5000");
  });

  it("pre-creates one Kafka topic per table with the kafka provider", async () => {
    const kafka = await import("@pulumi/kafka");
    const provider = new kafka.Provider("kafka", { bootstrapServers: ["localhost:9092"] });
    const p = build({ topics: { partitions: 3, replicationFactor: 1, config: { "cleanup.policy": "compact" } } }, { providers: { kafka: provider } });
    await settled(p);
    await new Promise((r) => setTimeout(r, 100));
    const topics = registered.filter((r) => r.type === "kafka:index/topic:Topic");
    assert.deepEqual(topics.map((t) => t.inputs.name).sort(), ["shop.public.customers", "shop.public.orders", "shop.public.shop_signal"]);
    assert.equal(topics[0].inputs.partitions, 3);
    for (const t of topics) assert.equal(options.find((o) => o.name === t.name)?.retainOnDelete, true, `${t.name}: a removed table keeps its topic`);
  });

  it("creates the login role with @pulumi/postgresql before the grants, and the connector logs in as it", async () => {
    const postgresql = await import("@pulumi/postgresql");
    const provider = new postgresql.Provider("pg", { host: "db" });
    const p = build({ connectorSource: { host: "postgres" }, loginRole: { name: "cdc_login", password: "login-pw-5512" } }, { providers: { postgresql: provider } });
    await settled(p);
    const role = registered.find((r) => r.type === "postgresql:index/role:Role");
    assert.ok(role, "Role registered");
    assert.equal(unwrap(role!.inputs.name), "cdc_login");
    assert.equal(role!.inputs.login, true);
    assert.ok(JSON.stringify(role!.inputs.password).includes(SECRET_SIG), "the role's password is a secret");
    const roleOpts = options.find((o) => o.name === "shop-role")!;
    assert.deepEqual(roleOpts.ignoreChanges, ["roles", "replication"]);
    assert.deepEqual(options.find((o) => o.name === "shop-grant")?.dependsOn, ["shop-role"]);
    const grant = registered.find((r) => r.type.endsWith(":ReplicationGrant"))!;
    assert.equal(grant.inputs.role, "cdc_login");
    const config = unwrap(registered.find((r) => r.type.endsWith(":DebeziumConnector"))!.inputs.config) as Record<string, string>;
    assert.equal(config["database.user"], "cdc_login");
    assert.equal(config["database.password"], "login-pw-5512");
    assert.equal(config["database.hostname"], "postgres");
  });

  it("rejects bad arguments with every problem at once", async () => {
    assert.throws(
      () => build({ slotName: "Bad-Slot", topicPrefix: "has space", snapshotMode: "sometimes" as never }),
      (e: Error) => /slotName/.test(e.message) && /topicPrefix/.test(e.message) && /snapshotMode/.test(e.message) && /CdcPipeline "shop"/.test(e.message),
    );
  });
});
