/**
 * Kafka Connect versions: the Apache Kafka [major, minor] of a worker's
 * version string (Apache or Confluent Platform numbering). Pure.
 */

/** Parses a Connect version ("3.7.1", Confluent "7.6.0-ccs") into the Apache Kafka [major, minor]. */
export function kafkaVersion(version: string): [number, number] {
  const m = /^(\d+)\.(\d+)/.exec(version);
  if (!m) return [0, 0];
  let major = Number(m[1]);
  const minor = Number(m[2]);
  // Confluent Platform numbers: 7.x ships Kafka 3.x, 8.x ships Kafka 4.x.
  if (/-(ccs|ce)\b/.test(version) || major >= 5) {
    if (major === 7) major = 3;
    else if (major === 8) major = 4;
    else if (major >= 5 && major < 7) major = 2;
  }
  return [major, minor];
}

/** True when [major, minor] is at least the given version. */
export function versionAtLeast(have: readonly [number, number], major: number, minor: number): boolean {
  return have[0] > major || (have[0] === major && have[1] >= minor);
}
