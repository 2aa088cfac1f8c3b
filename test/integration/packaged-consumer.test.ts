/**
 * The library as a user gets it: `npm pack`, unpacked into a scratch project,
 * a program using the packed classes run through the engine harness against
 * real PostgreSQL. The serialized providers must only require the package by
 * path (no inlined library code), and refresh/destroy must work from state.
 */
import { strict as assert } from "node:assert";
import { Engine } from "../support/engine";
import { requiredModules } from "../support/dynamic-host";
import { packConsumer, type PackedConsumer } from "../support/packed";
import { pgMajors, sharedPostgres, uniqueName } from "../support/postgres";

describe("packaged consumer @pg", function () {
  this.timeout(120000);
  let consumer: PackedConsumer;

  before(() => {
    consumer = packConsumer();
  });

  it("ships dist, typings and the README, and no tests or sources", () => {
    assert.ok(consumer.files.includes("dist/index.js"));
    assert.ok(consumer.files.includes("dist/index.d.ts"));
    assert.ok(consumer.files.includes("dist/providers/publication.js"));
    assert.ok(consumer.files.includes("README.md"));
    assert.ok(!consumer.files.some((f) => f.startsWith("test/") || f.startsWith("build/") || f.startsWith("src/")), "no tests or sources in the package");
  });

  it("runs a program from the packed package: providers require the package by path, up/refresh/destroy work", async () => {
    const major = pgMajors()[pgMajors().length - 1];
    const pg = await sharedPostgres(major);
    const db = await pg.createDatabase("packed");
    await pg.query("CREATE TABLE orders (id int primary key, total numeric)", [], db);
    const lib = consumer.require<typeof import("pulumi-postgres-cdc")>("pulumi-postgres-cdc");
    const slotName = uniqueName("packed_slot");
    const engine = new Engine({ nodeModules: consumer.nodeModules });
    const program = () => {
      const pub = new lib.Publication("packed-pub", { connection: pg.connection(db), tables: ["orders"] });
      new lib.ReplicationSlot("packed-slot", { connection: pg.connection(db), name: slotName }, { dependsOn: [pub] });
    };
    await engine.up(program);
    const slots = await pg.query("SELECT slot_name FROM pg_replication_slots WHERE slot_name = $1", [slotName]);
    assert.equal(slots.length, 1);

    for (const r of engine.snapshot().resources) {
      const text = (r.inputs.__provider as string | { value: string });
      const src = typeof text === "string" ? text : text.value;
      const mods = requiredModules(src);
      assert.ok(mods.length > 0, `${r.name}: the provider requires the implementation`);
      for (const m of mods) assert.match(m, /^pulumi-postgres-cdc\/dist\/providers\/(\$\{file\}|[a-z-]+)\.js$/, `${r.name} requires ${m}`);
      assert.ok(src.length < 2048, `${r.name}: serialized provider is ${src.length} bytes`);
    }

    const refreshed = await engine.refresh();
    assert.deepEqual(refreshed.map((s) => s.op), ["refresh", "refresh"]);
    await engine.destroy();
    assert.equal((await pg.query("SELECT 1 FROM pg_replication_slots WHERE slot_name = $1", [slotName])).length, 0);
    assert.equal((await pg.query("SELECT 1 FROM pg_publication WHERE pubname = 'packed_pub'", [], db)).length, 0);
  });
});
