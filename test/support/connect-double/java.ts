/**
 * Java and Jackson behaviour the Connect double imitates so that its messages
 * match the recorded ones byte for byte:
 * - java.util.HashMap iteration order (Connect prints configs with
 *   Map.toString(), e.g. "Connector config {...} contains no connector type",
 *   and GET /tasks returns task configs as a HashMap);
 * - Jackson's parse and type-mismatch messages for malformed bodies.
 */

/** java.lang.String.hashCode */
export function javaStringHash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(31, h) + s.charCodeAt(i)) | 0;
  return h;
}

function tableSizeFor(n: number): number {
  let size = 1;
  while (size < n) size *= 2;
  return Math.max(size, 1);
}

/**
 * Keys in the order a java.util.HashMap copied from a map of these entries
 * (insertion order) iterates them: `new HashMap<>(map)` sizes its table to
 * tableSizeFor(size / 0.75 + 1); keys go to bucket (h ^ h>>>16) & (n-1) and
 * keep insertion order within a bucket.
 */
export function javaHashMapOrder(keys: readonly string[]): string[] {
  const cap = tableSizeFor(Math.floor(keys.length / 0.75 + 1));
  const buckets = new Map<number, string[]>();
  for (const k of keys) {
    const h = javaStringHash(k);
    const idx = (h ^ (h >>> 16)) & (cap - 1);
    const b = buckets.get(idx);
    if (b) b.push(k);
    else buckets.set(idx, [k]);
  }
  return [...buckets.keys()].sort((a, b) => a - b).flatMap((i) => buckets.get(i) ?? []);
}

/** A map reordered as a java.util.HashMap would iterate it. */
export function asJavaHashMap(map: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of javaHashMapOrder(Object.keys(map))) out[k] = map[k];
  return out;
}

/** Map.toString() of a java.util.HashMap with these entries: "{k=v, k2=v2}". */
export function javaMapToString(map: Readonly<Record<string, string>>): string {
  return "{" + javaHashMapOrder(Object.keys(map)).map((k) => `${k}=${map[k]}`).join(", ") + "}";
}

const SOURCE = "[Source: REDACTED (`StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION` disabled)";

function location(text: string, index: number, offset: number): string {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < index && i < text.length; i++) {
    if (text[i] === "\n") {
      line++;
      lineStart = i + 1;
    }
  }
  return `\n at ${SOURCE}; line: ${line}, column: ${index - lineStart + offset}]`;
}

function describeChar(c: string): string {
  return `'${c}' (code ${c.charCodeAt(0)})`;
}

/** A JSON syntax error located the way Jackson reports it. */
class JsonSyntax extends Error {}

/** Positions of values in a JSON text, by path ("config", "config/x"), for type-mismatch messages. */
export type ValuePositions = Map<string, number>;

/**
 * Parses JSON like Jackson in Connect: on a syntax error it returns Jackson's
 * message ("Unexpected end-of-input within/between Object entries\n at
 * [Source: REDACTED ...; line: 1, column: 20]"). Also returns the start index
 * of every value at depth 1 and 2, for type-mismatch messages.
 */
export function parseJsonLikeJackson(
  text: string,
  opts: { exactColumns?: boolean } = {},
): { ok: true; value: unknown; positions: ValuePositions } | { ok: false; message: string } {
  const positions: ValuePositions = new Map();
  let i = 0;
  const ws = () => {
    while (i < text.length && /\s/.test(text[i])) i++;
  };
  // The Jackson of Connect 3.7 reports an unexpected character one column past it; the one of Connect 4.x
  // (measured on 4.3: "{not json" -> column 2) reports its own column.
  const fail = (msg: string, at: number, offset: number): never => {
    throw new JsonSyntax(msg + location(text, at, opts.exactColumns && offset === 2 ? 1 : offset));
  };
  const eof = (ctx: "Object" | "Array" | null): never =>
    ctx ? fail(`Unexpected end-of-input within/between ${ctx} entries`, text.length, 1) : fail("No content to map due to end-of-input", text.length, 1);
  const parseString = (ctx: "Object" | "Array" | null): void => {
    i++; // opening quote
    while (i < text.length) {
      const c = text[i];
      if (c === "\\") i += 2;
      else if (c === '"') {
        i++;
        return;
      } else i++;
    }
    if (ctx) fail(`Unexpected end-of-input: was expecting closing quote for a string value`, text.length, 1);
    eof(ctx);
  };
  const value = (path: string[], ctx: "Object" | "Array" | null): void => {
    ws();
    if (i >= text.length) eof(ctx);
    if (path.length > 0 && path.length <= 2) positions.set(path.join("/"), i);
    const c = text[i];
    if (c === "{") {
      i++;
      ws();
      if (text[i] === "}") {
        i++;
        return;
      }
      for (;;) {
        ws();
        if (i >= text.length) eof("Object");
        if (text[i] !== '"') fail(`Unexpected character (${describeChar(text[i])}): was expecting double-quote to start field name`, i, 2);
        const keyStart = i;
        parseString("Object");
        const key = JSON.parse(text.slice(keyStart, i)) as string;
        ws();
        if (i >= text.length) eof("Object");
        if (text[i] !== ":") fail(`Unexpected character (${describeChar(text[i])}): was expecting a colon to separate field name and value`, i, 2);
        i++;
        value([...path, key], "Object");
        ws();
        if (i >= text.length) eof("Object");
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "}") {
          i++;
          return;
        }
        fail(`Unexpected character (${describeChar(text[i])}): was expecting comma to separate Object entries`, i, 2);
      }
    }
    if (c === "[") {
      i++;
      ws();
      if (text[i] === "]") {
        i++;
        return;
      }
      for (let n = 0; ; n++) {
        value([...path, String(n)], "Array");
        ws();
        if (i >= text.length) eof("Array");
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "]") {
          i++;
          return;
        }
        fail(`Unexpected character (${describeChar(text[i])}): was expecting comma to separate Array entries`, i, 2);
      }
    }
    if (c === '"') return parseString(ctx);
    const m = /^(-?\d+(\.\d+)?([eE][+-]?\d+)?|true|false|null)/.exec(text.slice(i));
    if (m) {
      i += m[0].length;
      return;
    }
    const word = /^[A-Za-z_]\w*/.exec(text.slice(i));
    if (word) fail(`Unrecognized token '${word[0]}': was expecting (JSON String, Number, Array, Object or token 'null', 'true' or 'false')`, i + word[0].length, 1);
    fail(`Unexpected character (${describeChar(c)}): expected a valid value (JSON String, Number, Array, Object or token 'null', 'true' or 'false')`, i, 2);
  };
  try {
    value([], null);
    ws();
    if (i < text.length) fail(`Unexpected character (${describeChar(text[i])}): expected end of input`, i, 2);
  } catch (e) {
    if (e instanceof JsonSyntax) return { ok: false, message: e.message };
    throw e;
  }
  return { ok: true, value: JSON.parse(text), positions };
}

/** Jackson's message for a non-string where a String was expected. */
export function jacksonStringMismatch(text: string, at: number | undefined, value: unknown, chain: string): string {
  const kind = Array.isArray(value) ? ["Array", "START_ARRAY"] : ["Object", "START_OBJECT"];
  return `Cannot deserialize value of type \`java.lang.String\` from ${kind[0]} value (token \`JsonToken.${kind[1]}\`)${location(text, at ?? 0, 1)} (through reference chain: ${chain})`;
}

/** Jackson's message for a body that is not a JSON object where a Map was expected. */
export function jacksonMapMismatch(text: string, value: unknown, mapType: string): string {
  const kind = Array.isArray(value)
    ? "Array value (token `JsonToken.START_ARRAY`)"
    : typeof value === "string"
      ? `String value ('${value}')`
      : typeof value === "number"
        ? `Integer value (${value})`
        : typeof value === "boolean"
          ? `Boolean value (${value})`
          : "Object value";
  const at = text.search(/\S/);
  return `Cannot deserialize value of type \`${mapType}\` from ${kind}${location(text, at < 0 ? 0 : at, 1)}`;
}
