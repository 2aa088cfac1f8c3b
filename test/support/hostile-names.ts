/**
 * fast-check generators of hostile identifiers, and the settings every fuzz
 * suite shares (seed and run count from the environment).
 *
 * The names mix: quotes (' and "), semicolons, backslashes, SQL comments
 * (-- and /* *\/), multi-byte UTF-8, combining characters, emoji (with ZWJ
 * sequences), right-to-left text and the RTL override, empty and
 * whitespace-only strings, control characters and NUL, dots and commas,
 * mixed case, SQL reserved words, and names whose UTF-8 length sits exactly
 * at the 63/64-byte boundary with a multi-byte character crossing it.
 */
import fc from "fast-check";

/** Fixed default seed, so a run is reproducible; FUZZ_SEED overrides it. */
export const DEFAULT_FUZZ_SEED = 20260512;

/** The seed of this run: FUZZ_SEED, or the fixed default. */
export function fuzzSeed(): number {
  const env = process.env.FUZZ_SEED;
  if (env === undefined || env.trim() === "") return DEFAULT_FUZZ_SEED;
  const n = Number(env);
  if (!Number.isInteger(n)) throw new Error(`FUZZ_SEED must be an integer, not ${JSON.stringify(env)}`);
  return n;
}

/**
 * Runs per property: `FUZZ_RUNS` scales every suite (1 = the defaults below;
 * 2 = twice as many; 0.5 = half, at least 1 run per property).
 */
export function fuzzRuns(base: number): number {
  const env = process.env.FUZZ_RUNS;
  const factor = env === undefined || env.trim() === "" ? 1 : Number(env);
  if (!Number.isFinite(factor) || factor <= 0) throw new Error(`FUZZ_RUNS must be a positive number, not ${JSON.stringify(env)}`);
  return Math.max(1, Math.round(base * factor));
}

/** UTF-8 length, as PostgreSQL counts identifier bytes. */
export function utf8Bytes(s: string): number {
  return Buffer.byteLength(s, "utf8");
}

/** Pieces hostile names are made of. */
export const FRAGMENTS: readonly string[] = [
  "'",
  '"',
  ";",
  "\\",
  "--",
  "/*",
  "*/",
  " ",
  ".",
  ",",
  "\u0000",
  "\t",
  "\n",
  "\r",
  "\u007f",
  "\u0085", // NEL, a C1 control character
  "\u009b", // CSI, a C1 control character
  "\u00a0", // no-break space
  "\u200b", // zero-width space
  "\ufeff", // byte order mark
  "\u202e", // right-to-left override
  "\u200f", // right-to-left mark
  "שלום",
  "مرحبا",
  "é", // 2 bytes, precomposed
  "e\u0301", // e + combining acute accent
  "ß",
  "İ",
  "Ω",
  "中文",
  "😀", // 4 bytes, a surrogate pair in UTF-16
  "👩‍👩‍👧", // ZWJ sequence
  "🏳️‍🌈",
  "select",
  "table",
  "user",
  "order",
  "group",
  '"group"',
  "SELECT",
  "Table",
  "MiXeD",
  "drop table keep_me",
  "pg_", // reserved prefix of schema and role names
  "none",
  "$1",
  "%s",
  "${x}",
  "(",
  ")",
  "[",
  "]",
  "{",
  "}",
  "*",
  "?",
  "+",
  "|",
  "^",
  "$",
  "-",
  "a",
  "z",
  "Q",
  "_",
  "0",
  "9",
];

/** SQL reserved words and other words that need quoting, alone. */
export const RESERVED: readonly string[] = ["select", "table", "user", "order", "group", '"group"', "SELECT", "Order", "from", "where", "null", "public", "all"];

/** Names around the 63-byte limit: a filler and a final (multi-byte) character crossing it. */
export const boundaryName: fc.Arbitrary<string> = fc
  .tuple(
    fc.constantFrom("", "'", '"', "; --", "/*", "Ab", "é"),
    fc.constantFrom("a", "é", "中", "😀", "e\u0301", "👩‍👩‍👧"),
    fc.constantFrom(62, 63, 64, 65),
  )
  .map(([prefix, last, total]) => {
    const fill = total - utf8Bytes(prefix) - utf8Bytes(last);
    return prefix + "x".repeat(Math.max(0, fill)) + last;
  });

/** Fixed special cases. */
export const SPECIALS: readonly string[] = [
  "",
  " ",
  "   ",
  "\t",
  " \n ",
  "a".repeat(63),
  "a".repeat(64),
  "a".repeat(61) + "é", // 63 bytes
  "a".repeat(62) + "é", // 64 bytes: é crosses the limit
  "a".repeat(60) + "中", // 63
  "a".repeat(61) + "中", // 64
  "a".repeat(59) + "😀", // 63
  "a".repeat(60) + "😀", // 64
  "é".repeat(31) + "a", // 63
  "é".repeat(32), // 64
  "a".repeat(60) + "e\u0301", // 63 with a combining mark last
  "a".repeat(61) + "e\u0301", // 64
  "a\u0000b",
  "\u0000",
  "a.b",
  ".a",
  "a.",
  ".",
  "x; drop table keep_me; --",
  "x'); drop table keep_me; --",
  'x"; drop table keep_me; --',
  "/* comment */x",
  "back\\slash",
  "\\",
  "Mixed Case",
  "\u202eevil",
];

/** A hostile name: fragments glued together, fixed specials, boundary lengths, reserved words, or random unicode. */
export const hostileName: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.array(fc.constantFrom(...FRAGMENTS), { minLength: 1, maxLength: 8 }).map((xs) => xs.join("")) },
  { weight: 2, arbitrary: fc.constantFrom(...SPECIALS) },
  { weight: 2, arbitrary: boundaryName },
  { weight: 1, arbitrary: fc.constantFrom(...RESERVED) },
  { weight: 1, arbitrary: fc.string({ unit: "grapheme", minLength: 0, maxLength: 12 }) },
  { weight: 1, arbitrary: fc.string({ unit: "binary", minLength: 0, maxLength: 12 }) },
);

/** A name that is valid for PostgreSQL as a quoted identifier, hostile otherwise (no NUL, 1..63 bytes). */
export const pgValidHostileName: fc.Arbitrary<string> = hostileName.filter(isPgIdentifier);

/** Whether PostgreSQL can hold this exact name (quoted): non-empty, no NUL, at most 63 bytes. */
export function isPgIdentifier(s: string): boolean {
  return s.length > 0 && !s.includes("\u0000") && utf8Bytes(s) <= 63;
}

/** Replication slot names as PostgreSQL and the library accept them. */
export function isSlotName(s: string): boolean {
  return /^[a-z0-9_]{1,63}$/.test(s);
}

/** Candidate slot names: hostile ones, and valid-looking ones of every length around the limit. */
export const slotCandidate: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: hostileName },
  { weight: 3, arbitrary: fc.stringMatching(/^[a-z0-9_]{1,20}$/) },
  { weight: 1, arbitrary: fc.stringMatching(/^[a-z0-9_]{62,65}$/) },
  { weight: 1, arbitrary: fc.constantFrom("select", "table", "user", "order", "group", "_", "0", "Select", "slot-1", "slot.1", "slot 1") },
);

/**
 * The text of a name for a message: JSON-quoted, with C1 controls, invisible
 * and direction-changing characters (which JSON.stringify leaves as they are)
 * shown as \uXXXX escapes.
 */
export function show(s: string): string {
  return JSON.stringify(s).replace(/[\u007f-\u00a0\u00ad\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
