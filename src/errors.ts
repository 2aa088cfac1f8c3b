/**
 * Errors raised by pulumi-postgres-cdc. Every message says what went wrong, on
 * which object, and what to do next; secrets are scrubbed before a message is
 * built (see {@link redact}).
 */
export class CdcError extends Error {
  /** Machine-readable cause, e.g. PostgreSQL's SQLSTATE or Connect's error_code. */
  readonly code?: string;
  constructor(message: string, options?: { code?: string; cause?: unknown }) {
    super(message);
    this.name = "CdcError";
    this.code = options?.code;
    // Keep the cause out of the message chain so a secret in it cannot leak.
  }
}

/** Replaces every occurrence of each secret (and its URL-encoded form) with "[redacted]". */
export function redact(text: string, secrets: ReadonlyArray<string | undefined | null>): string {
  let out = text;
  for (const s of secrets) {
    if (!s || s.length < 3) continue;
    for (const form of new Set([s, encodeURIComponent(s)])) {
      out = out.split(form).join("[redacted]");
    }
  }
  return out;
}

/** The message of an unknown thrown value, without its stack. */
export function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
