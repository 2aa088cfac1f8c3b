/**
 * providerStub: one stub object per implementation file, so Pulumi's
 * serialization cache (a WeakMap keyed by the provider object, see
 * @pulumi/pulumi dynamic/index.ts) serializes each resource type once per
 * process instead of once per resource.
 */
import { strict as assert } from "node:assert";
import { providerStub } from "#dist/providers/stub.js";
import { hostedProvider, requiredModules } from "../support/dynamic-host";

describe("providerStub", () => {
  it("returns the same object for the same file and distinct objects for distinct files", () => {
    assert.equal(providerStub("publication"), providerStub("publication"));
    assert.notEqual(providerStub("publication"), providerStub("replication-slot"));
  });

  it("serializes to text that loads only its own implementation file (the cache of stubs is not captured)", async () => {
    for (const file of ["publication", "replication-slot", "replication-grant", "replica-identity", "debezium-connector"]) {
      const { provider, text } = await hostedProvider(providerStub(file));
      assert.ok(Buffer.byteLength(text) <= 2048, `${file}: ${Buffer.byteLength(text)} bytes`);
      assert.ok(text.includes(`dist/providers/`) && text.includes(JSON.stringify(file).slice(1, -1)), `${file}: names its file`);
      assert.ok(!/stubs|Map\(/.test(text), `${file}: the stub cache leaked into the serialized text:\n${text}`);
      assert.deepEqual(requiredModules(text).filter((m) => !m.startsWith("pulumi-postgres-cdc/")), []);
      assert.equal(typeof provider.create, "function");
    }
  });
});
