import type * as dynamic from "@pulumi/pulumi/dynamic";

/** One stub per implementation file, so Pulumi's serialization cache (keyed by the provider object) serializes each once per process. */
const stubs = new Map<string, dynamic.ResourceProvider>();

/**
 * The provider object that Pulumi serializes into state for a resource type.
 *
 * It captures nothing but the implementation's file name: every method
 * requires the installed library by package path when it runs, so state holds
 * a stub of about a kilobyte and `delete`/`refresh` run the installed version
 * of the library. See docs/dynamic-providers.md.
 *
 * The same object is returned for the same file: `dynamic.Resource` caches the
 * serialized text per provider object, and serializing (closure inspection)
 * costs several milliseconds per resource otherwise.
 *
 * @param file the module under dist/providers that exports `provider`
 */
export function providerStub(file: string): dynamic.ResourceProvider {
  const known = stubs.get(file);
  if (known) return known;
  const load = () => require(`pulumi-postgres-cdc/dist/providers/${file}.js`).provider;
  const stub: dynamic.ResourceProvider = {
    check: (olds, news) => load().check(olds, news),
    diff: (id, olds, news) => load().diff(id, olds, news),
    create: (inputs) => load().create(inputs),
    read: (id, props) => load().read(id, props),
    update: (id, olds, news) => load().update(id, olds, news),
    delete: (id, props) => load().delete(id, props),
  };
  stubs.set(file, stub);
  return stub;
}
