/**
 * providerStub: one stub object per implementation file, so Pulumi's
 * serialization cache (a WeakMap keyed by the provider object, see
 * @pulumi/pulumi dynamic/index.ts) serializes each resource type once per
 * process instead of once per resource.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { providerStub } from "#dist/providers/stub.js";
import { hostedProvider, requiredModules } from "../support/dynamic-host";

describe("providerStub", () => {
  it("returns the same object for the same file and distinct objects for distinct files", () => {
    assert.equal(providerStub("publication"), providerStub("publication"));
    assert.notEqual(providerStub("publication"), providerStub("replication-slot"));
  });

  it("serializes to text that loads only its own implementation file (the cache of stubs is not captured)", async () => {
    // Every provider of the package, each checked here once (the stub must stay under 2 KB of state).
    const files = fs.readdirSync(path.join(require.resolve("#dist/providers/stub.js"), "..")).filter((f) => f.endsWith(".js") && !["stub.js", "common.js"].includes(f)).map((f) => f.slice(0, -3));
    assert.deepEqual(files.sort(), ["debezium-connector", "publication", "replica-identity", "replication-grant", "replication-slot", "signal-table"]);
    for (const file of files) {
      const { provider, text } = await hostedProvider(providerStub(file));
      console.log(`      serialized ${file} provider: ${Buffer.byteLength(text)} bytes`);
      assert.ok(Buffer.byteLength(text) <= 2048, `${file}: ${Buffer.byteLength(text)} bytes`);
      assert.ok(text.includes(`dist/providers/`) && text.includes(JSON.stringify(file).slice(1, -1)), `${file}: names its file`);
      assert.ok(!/stubs|Map\(/.test(text), `${file}: the stub cache leaked into the serialized text:\n${text}`);
      assert.deepEqual(requiredModules(text).filter((m) => !m.startsWith("pulumi-postgres-cdc/")), []);
      assert.equal(typeof provider.create, "function");
    }
  });
});
