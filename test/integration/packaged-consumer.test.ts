/**
 * The library as a user gets it: `npm pack`, unpacked into a scratch project,
 * examples/local, unchanged, run from it through the engine harness against
 * real PostgreSQL and the Connect double. The serialized providers must only require the package by
 * path (no inlined library code), and refresh/destroy must work from state.
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { requiredModules } from "../support/dynamic-host";
import { packConsumer, type PackedConsumer } from "../support/packed";
import { pgMajors } from "../support/postgres";
import { startLocalExample } from "../support/run-example";

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

  it("runs examples/local from the packed package: providers require the package by path, up/refresh/destroy work", async () => {
    const major = pgMajors()[pgMajors().length - 1];
    const ex = await startLocalExample({ major, programDir: consumer.dir, nodeModules: consumer.nodeModules });
    try {
      const outputs = await ex.up();
      assert.equal(outputs.connectorState, "RUNNING");
      assert.equal(outputs.slotName, "inventory_slot");
      const resources = ex.engine.snapshot().resources.filter((r) => r.dynamic);
      assert.deepEqual(resources.map((r) => r.name).sort(), ["inventory-connector", "inventory-grant", "inventory-publication", "inventory-replica-identity", "inventory-signal-table", "inventory-slot"]);
      for (const r of resources) {
        const text = r.inputs.__provider as string | { value: string };
        const src = typeof text === "string" ? text : text.value;
        const mods = requiredModules(src);
        assert.ok(mods.length > 0, `${r.name}: the provider requires the implementation`);
        for (const m of mods) assert.match(m, /^pulumi-postgres-cdc\/dist\/providers\/\$\{file\}\.js$/, `${r.name} requires ${m}`);
        assert.ok(src.length < 2048, `${r.name}: serialized provider is ${src.length} bytes`);
      }
      // The library the providers ran is the packed copy, not this checkout.
      const loaded = Object.keys(require.cache).filter((f) => f.startsWith(consumer.packageDir));
      assert.ok(loaded.some((f) => f.endsWith("/dist/providers/debezium-connector.js")), "providers were loaded from the packed package");

      const refreshed = await ex.engine.refresh();
      assert.ok(refreshed.every((s) => s.op === "refresh"), JSON.stringify(refreshed));
      await ex.engine.destroy();
      assert.equal((await ex.pg.query("SELECT 1 FROM pg_replication_slots")).length, 0);
      assert.equal((await ex.sql("SELECT 1 FROM pg_publication")).length, 0);
      assert.deepEqual(await ex.connect.connectorNames(), []);
    } finally {
      await ex.close();
    }
  });

  // Pulumi's TypeScript template (strict, no skipLibCheck), plus esModuleInterop: zod 4.6's own
  // declarations (locales/index.d.cts) default-import CommonJS modules, which plain tsc rejects
  // without it in any program that sees zod's types; ours still expose them (see the README's limits).
  it("type-checks as users compile: a program from Pulumi's TypeScript template (strict, no skipLibCheck) with only the package's dependencies compiles with plain tsc", () => {
    const user = packConsumer({ userDeps: true });
    assert.ok(!fs.existsSync(path.join(user.nodeModules, "@types", "mocha")), "devDependencies are not installed");
    fs.writeFileSync(
      path.join(user.dir, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: { strict: true, esModuleInterop: true, outDir: "bin", target: "es2020", module: "commonjs", moduleResolution: "node", sourceMap: true, experimentalDecorators: true, pretty: false, noFallthroughCasesInSwitch: true, noImplicitReturns: true, forceConsistentCasingInFileNames: true },
        files: ["index.ts"],
      }),
    );
    fs.copyFileSync(path.join(__dirname, "..", "..", "..", "examples", "local", "index.ts"), path.join(user.dir, "index.ts"));
    const tsc = spawnSync(process.execPath, [path.join(user.nodeModules, "typescript", "bin", "tsc"), "-p", user.dir, "--noEmit"], { encoding: "utf8" });
    assert.equal(tsc.status, 0, `tsc failed:\n${tsc.stdout}${tsc.stderr}`);
  });
});
