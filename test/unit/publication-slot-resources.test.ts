import { strict as assert } from "node:assert";
import * as pulumi from "@pulumi/pulumi";
import { Publication } from "#dist/resources/publication.js";
import { ReplicationSlot } from "#dist/resources/replication-slot.js";

const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const connection = { host: "db", database: "app", user: "cdc", password: "plain-password-1" };

const unwrap = <T>(o: pulumi.Output<T>) => new Promise<T>((resolve) => o.apply(resolve));

describe("Publication and ReplicationSlot resource classes", () => {
  const created: Array<{ type: string; name: string; inputs: Record<string, unknown> }> = [];

  before(async () => {
    await pulumi.runtime.setMocks(
      {
        newResource: (args) => {
          created.push({ type: args.type, name: args.name, inputs: args.inputs });
          const plain = JSON.parse(JSON.stringify(args.inputs, (_k, v) => (v && typeof v === "object" && SECRET_SIG in v ? v.value : v)));
          return { id: `${args.name}-id`, state: { ...plain, database: "app", tables: ["public.orders"], active: false, activePid: null } };
        },
        call: () => ({}),
      },
      "project",
      "stack",
      false,
    );
  });

  it("Publication: type token, default name, secret connection, options, outputs", async () => {
    let seen: pulumi.ResourceTransformationArgs | undefined;
    const p = new Publication("Orders-Pub", { connection, tables: ["orders"] }, {
      transformations: [(a) => {
        seen = a;
        return undefined;
      }],
    });
    assert.equal(await unwrap(p.name), "orders_pub");
    assert.deepEqual(await unwrap(p.tables), ["public.orders"]);
    assert.equal(await unwrap(p.database), "app");
    const rec = created.find((c) => c.name === "Orders-Pub")!;
    assert.equal(rec.type, "pulumi-nodejs:dynamic/postgres-cdc:Publication");
    assert.equal((rec.inputs.connection as Record<string, unknown>)[SECRET_SIG] !== undefined, true, "connection is a secret");
    assert.equal(typeof rec.inputs.__provider, "string");
    assert.ok((rec.inputs.__provider as string).length < 2048);
    assert.ok(seen);
    assert.deepEqual((seen!.opts as pulumi.CustomResourceOptions).additionalSecretOutputs, ["connection", "connectionString"]);
    assert.equal((seen!.opts as pulumi.CustomResourceOptions).deleteBeforeReplace, true);
    for (const k of ["name", "database", "tables", "tableDefinitions", "schemas", "allTables", "operations", "publishViaPartitionRoot", "publishedTables"]) {
      assert.ok(pulumi.Output.isInstance((p as unknown as Record<string, unknown>)[k]), `output ${k}`);
    }
  });

  it("ReplicationSlot: type token, default name, secret connection string, deleteBeforeReplace unless the user says otherwise", async () => {
    let seen: pulumi.ResourceTransformationArgs | undefined;
    const s = new ReplicationSlot("orders-slot", { connectionString: "postgres://cdc:pw-xyz@db/app" }, {
      deleteBeforeReplace: false,
      transformations: [(a) => {
        seen = a;
        return undefined;
      }],
    });
    assert.equal(await unwrap(s.name), "orders_slot");
    assert.equal(await unwrap(s.active), false);
    const rec = created.find((c) => c.name === "orders-slot")!;
    assert.equal(rec.type, "pulumi-nodejs:dynamic/postgres-cdc:ReplicationSlot");
    assert.ok((rec.inputs.connectionString as Record<string, unknown>)[SECRET_SIG] !== undefined, "connectionString is a secret");
    assert.equal((seen!.opts as pulumi.CustomResourceOptions).deleteBeforeReplace, false);
    const d = new ReplicationSlot("d", { connection, name: "explicit_name" }, {
      transformations: [(a) => {
        seen = a;
        return undefined;
      }],
    });
    assert.equal(await unwrap(d.name), "explicit_name");
    assert.equal((seen!.opts as pulumi.CustomResourceOptions).deleteBeforeReplace, true);
    for (const k of ["name", "database", "plugin", "twoPhase", "failover", "active", "activePid", "restartLsn", "confirmedFlushLsn", "walStatus", "retainedWalBytes", "onDeleteWhileActive", "deleteTimeoutSeconds"]) {
      assert.ok(pulumi.Output.isInstance((d as unknown as Record<string, unknown>)[k]), `output ${k}`);
    }
  });
});
