import type * as dynamic from "@pulumi/pulumi/dynamic";
import type { z } from "zod";
import { CdcError } from "../errors";
import { containsUnknown } from "../validation/common";

/** Property names Pulumi adds to every dynamic resource's inputs and outputs. */
export const PROVIDER_KEY = "__provider";

/** Removes `__provider` from a property bag. */
export function withoutProvider<T extends Record<string, unknown>>(props: T): Omit<T, "__provider"> {
  const { [PROVIDER_KEY]: _ignored, ...rest } = props;
  return rest;
}

/**
 * Plain JSON for Pulumi's Struct encoding: drops `undefined` (which would make
 * the host fail with "Unexpected struct type"), turns bigint into number and
 * Date into an ISO string.
 */
export function plainJson<T>(value: T): T {
  return JSON.parse(
    JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? Number(v) : v)),
  ) as T;
}

/**
 * A `check` that validates with zod. Values still unknown (preview) are passed
 * through unchanged; validation then runs at `pulumi up` when they are known.
 */
export function checkWith<S extends z.ZodType>(
  schema: S,
  news: Record<string, unknown>,
  resource: string,
): dynamic.CheckResult {
  const inputs = withoutProvider(news);
  if (containsUnknown(inputs)) return { inputs: news };
  const parsed = schema.safeParse(inputs);
  if (parsed.success) {
    return { inputs: { ...(plainJson(parsed.data) as Record<string, unknown>), [PROVIDER_KEY]: news[PROVIDER_KEY] } };
  }
  return {
    failures: parsed.error.issues.map((i) => ({
      property: i.path.length ? String(i.path[0]) : "",
      reason: `${resource}: ${i.path.length ? i.path.join(".") + ": " : ""}${i.message}`,
    })),
  };
}

/** Parses inputs that `check` already accepted; throws a CdcError listing every problem otherwise. */
export function parseOrThrow<S extends z.ZodType>(schema: S, props: Record<string, unknown>, resource: string): z.output<S> {
  const parsed = schema.safeParse(withoutProvider(props));
  if (parsed.success) return parsed.data;
  const lines = parsed.error.issues.map((i) => `  - ${i.path.join(".") || "(inputs)"}: ${i.message}`);
  throw new CdcError(`${resource}: invalid inputs:\n${lines.join("\n")}`);
}

/** "Publication pub_orders" style label for messages. */
export function label(kind: string, name: string | undefined): string {
  return name ? `${kind} "${name}"` : kind;
}

/** Compares two JSON values structurally (key order ignored). */
export function sameJson(a: unknown, b: unknown): boolean {
  return stableStringify(a) === stableStringify(b);
}

export function stableStringify(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableStringify).join(",")}]`;
  if (v && typeof v === "object") {
    const entries = Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${stableStringify(x)}`).join(",")}}`;
  }
  return JSON.stringify(v ?? null);
}
