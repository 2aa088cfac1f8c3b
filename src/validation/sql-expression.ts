/**
 * Checks on SQL expressions the user writes themselves (a publication's row
 * filter). The text is SQL and is sent as written, wrapped in parentheses; these
 * checks make sure that wrapping keeps it one expression: parentheses balance
 * outside quotes, and there is no statement separator or comment that could end
 * the expression early or hide the closing parenthesis.
 */

/** Why `text` cannot be used as one parenthesized SQL expression, or undefined when it can. */
export function expressionProblem(text: string): string | undefined {
  if (text.trim() === "") return "is empty";
  if (text.includes("\u0000")) return "contains a NUL character";
  let depth = 0;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i];
    const next = text[i + 1];
    if (c === "'") {
      // E'...' strings treat backslash as an escape; plain strings only double the quote.
      const escapes = i > 0 && /[eE]/.test(text[i - 1]) && (i < 2 || !/[A-Za-z0-9_$]/.test(text[i - 2]));
      const end = skipQuoted(text, i, "'", escapes);
      if (end < 0) return "has an unterminated string literal";
      i = end;
      continue;
    }
    if (c === '"') {
      const end = skipQuoted(text, i, '"', false);
      if (end < 0) return "has an unterminated quoted identifier";
      i = end;
      continue;
    }
    if (c === "$") {
      const m = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(text.slice(i));
      const prev = i > 0 ? text[i - 1] : "";
      if (m && !/[A-Za-z0-9_$]/.test(prev)) {
        const close = text.indexOf(m[0], i + m[0].length);
        if (close < 0) return "has an unterminated dollar-quoted string";
        i = close + m[0].length;
        continue;
      }
    }
    if (c === "-" && next === "-") return "contains a comment (--); remove it";
    if (c === "/" && next === "*") return "contains a comment (/* */); remove it";
    if (c === ";") return "contains ';'; it must be a single expression, not statements";
    if (c === "(") depth++;
    if (c === ")") {
      depth--;
      if (depth < 0) return "has a ')' without a matching '('";
    }
    i++;
  }
  if (depth !== 0) return "has a '(' without a matching ')'";
  return undefined;
}

/** Index just past the closing quote of the quoted section starting at `start`, or -1 when it never closes. */
function skipQuoted(text: string, start: number, quote: string, backslashEscapes: boolean): number {
  let i = start + 1;
  while (i < text.length) {
    const c = text[i];
    if (backslashEscapes && c === "\\") {
      i += 2;
      continue;
    }
    if (c === quote) {
      if (text[i + 1] === quote) {
        i += 2;
        continue;
      }
      return i + 1;
    }
    i++;
  }
  return -1;
}
