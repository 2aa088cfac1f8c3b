/**
 * Comparing connector configs the way Kafka Connect stores them: every value
 * a string, `name` injected by Connect, `__internal.*` keys added by some
 * servers, and secret values masked by hosted Connect APIs. Pure functions.
 */

/** Config values as Connect stores them (strings). */
export function stringifyConfig(config: Readonly<Record<string, string | number | boolean | null | undefined>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(config)) if (v !== undefined && v !== null) out[k] = String(v);
  return out;
}

/**
 * Values servers show instead of a secret: "[hidden]" (validate), "****" and "••••" (hosted Connect APIs).
 *
 * A config-provider reference (`${file:/path:key}`, `${env:VAR}`, `${vault:...}`) is not a mask: Connect
 * stores and returns it as written and resolves it only when it starts the connector and its tasks, so a
 * reference read back is compared like any value and a reference changed to another is a change.
 */
export function isMaskedValue(v: string): boolean {
  return v === "[hidden]" || /^\*{3,}$/.test(v) || /^•{3,}$/.test(v);
}

/** Keys that are not part of the user's configuration. */
export function isServerKey(key: string): boolean {
  return key === "name" || key.startsWith("__internal.");
}

export interface ConfigDifference {
  key: string;
  /** "added" in wanted, "removed" from wanted, or "changed" */
  kind: "added" | "removed" | "changed";
}

/**
 * What differs between the config a connector has (`live`, as Connect returns
 * it) and the config wanted. Server keys are ignored, and so is a masked live
 * value (it cannot be compared). Secret values are never included in the result.
 */
export function configDifferences(live: Readonly<Record<string, string>>, wanted: Readonly<Record<string, string>>): ConfigDifference[] {
  const out: ConfigDifference[] = [];
  const keys = new Set([...Object.keys(live), ...Object.keys(wanted)]);
  for (const key of [...keys].sort()) {
    if (isServerKey(key)) continue;
    const a = live[key];
    const b = wanted[key];
    if (a === undefined) out.push({ key, kind: "added" });
    else if (b === undefined) out.push({ key, kind: "removed" });
    else if (a !== b && !isMaskedValue(a)) out.push({ key, kind: "changed" });
  }
  return out;
}

/** Human-readable list of differences, e.g. "snapshot.mode (changed), heartbeat.interval.ms (added)". */
export function describeDifferences(diffs: ConfigDifference[]): string {
  return diffs.map((d) => `${d.key} (${d.kind})`).join(", ");
}

/**
 * The config to keep in state after reading a live one: live values, except
 * that masked secrets keep the value we know, so a refresh never shows a
 * masked password as drift.
 */
export function mergeLiveConfig(live: Readonly<Record<string, string>>, known: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(live)) {
    if (isServerKey(k)) continue;
    out[k] = isMaskedValue(v) && known[k] !== undefined ? known[k] : v;
  }
  return out;
}
