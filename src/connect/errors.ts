/**
 * ConnectError and secret scrubbing for everything the Connect client reports.
 *
 * Kafka Connect echoes configuration back in places (the 400 "contains no
 * connector type" message prints the whole config map, database.password
 * included; GET /config returns passwords in plain text), so every text that
 * leaves the client goes through a {@link Scrubber} first.
 */
import { CdcError, redact } from "../errors";

/** Config keys whose values are secrets: passwords, keys, tokens, JAAS configs, credentials. */
const SECRET_KEY = /pass(word|wd|phrase)?($|[._-])|secret|token|credential|jaas|private[._-]?key|api[._-]?key|access[._-]?key|(^|[._-])key[._-]?password|(^|[._-])(user[._-]?info|auth[._-]?string)$|sasl[._-]|(^|[._-])key$/i;

/** Keys that look secret by the pattern but hold class names or plain settings. */
const NOT_SECRET_KEY = /(^|\.)(key\.converter|key\.serializer|key\.deserializer)$|converter$|\.class$|\.mechanism$|\.protocol$|sasl\.kerberos\.service\.name$/i;

/** True when a config key's value must never be shown (password, secret, token, key, sasl.jaas.config ...). */
export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key) && !NOT_SECRET_KEY.test(key);
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/**
 * Removes secrets from text. It replaces every known secret value (and its
 * URL-encoded form) and, structurally, the value after any secret-looking key
 * in `key=value` (Java map toString) and `"key":"value"` (JSON) forms, so even
 * a 1-2 character password echoed by Connect is not shown.
 */
export class Scrubber {
  private readonly values = new Set<string>();
  private readonly keys = new Set<string>();

  constructor(secrets: ReadonlyArray<string | undefined | null> = []) {
    this.add(...secrets);
  }

  /** Adds secret values. */
  add(...secrets: ReadonlyArray<string | undefined | null>): this {
    for (const s of secrets) if (s) this.values.add(s);
    return this;
  }

  /** Adds the values of every secret-looking key of a config, and remembers those keys. */
  addConfig(config: Readonly<Record<string, unknown>> | undefined): this {
    if (!config) return this;
    for (const [k, v] of Object.entries(config)) {
      if (!isSecretKey(k)) continue;
      this.keys.add(k);
      if (v !== undefined && v !== null && v !== "") this.values.add(String(v));
    }
    return this;
  }

  /** A copy with extra secrets (per request). */
  with(config?: Readonly<Record<string, unknown>>, extra: ReadonlyArray<string | undefined | null> = []): Scrubber {
    const s = new Scrubber([...this.values, ...extra]);
    for (const k of this.keys) s.keys.add(k);
    return s.addConfig(config);
  }

  /** The scrubbed text. */
  scrub(text: string): string {
    let out = text;
    // Structural: `secret.key=value` up to the next ", " or "}" (Java map toString) ...
    out = out.replace(/([A-Za-z0-9_.\-]+)=([^,}\n]*)/g, (m, k: string, _v: string) => (this.isSecret(k) ? `${k}=[redacted]` : m));
    // ... and `"secret.key":"value"` / `"secret.key": "value"` (JSON).
    out = out.replace(/"([A-Za-z0-9_.\-]+)"(\s*:\s*)"((?:[^"\\]|\\.)*)"/g, (m, k: string, sep: string) => (this.isSecret(k) ? `"${k}"${sep}"[redacted]"` : m));
    // Values, longest first so that a secret containing another is removed whole.
    const values = [...this.values].sort((a, b) => b.length - a.length);
    out = redact(out, values);
    // redact() ignores values shorter than 3 characters; remove those only as whole tokens.
    for (const v of values) {
      if (v.length >= 3) continue;
      out = out.replace(new RegExp(`(?<=[=:"'\\s(]|^)${escapeRe(v)}(?=[,}"'\\s)]|$)`, "g"), "[redacted]");
    }
    return out;
  }

  private isSecret(key: string): boolean {
    return this.keys.has(key) || isSecretKey(key);
  }
}

/** What kind of failure a {@link ConnectError} is. */
export type ConnectErrorKind =
  /** Connect answered with an error status. */
  | "http"
  /** No answer: connection refused or reset, DNS, TLS. */
  | "network"
  /** No answer within requestTimeoutMs. */
  | "timeout"
  /** A connector or task FAILED, or a wait for a state timed out. */
  | "state"
  /** The server is too old for the operation. */
  | "unsupported";

/** Fields of a {@link ConnectError}; every text must already be scrubbed. */
export interface ConnectErrorFields {
  kind: ConnectErrorKind;
  /** Full message (what happened, on which connector, what to do next). */
  message: string;
  /** HTTP status, when Connect answered. */
  status?: number;
  /** Connect's error_code from the body. */
  errorCode?: number;
  /** Connect's own message from the body (scrubbed). */
  connectMessage?: string;
  /** Connector the request was about. */
  connector?: string;
  /** "METHOD /path" of the request, relative to the configured URL. */
  endpoint?: string;
  /** Node or undici error code for network failures (ECONNREFUSED, UND_ERR_SOCKET ...). */
  networkCode?: string;
  /** Per-property errors of a 400 "Connector configuration is invalid" answer. */
  configErrors?: string[];
  /** True when a write may have been applied although no answer came back. */
  outcomeUnknown?: boolean;
}

/**
 * An error from the Kafka Connect REST API or from waiting on a connector.
 * Carries Connect's error_code and message, the HTTP status, the connector
 * and the endpoint, and never a secret (password, header value, secret-looking
 * config value).
 */
export class ConnectError extends CdcError {
  readonly kind: ConnectErrorKind;
  readonly status?: number;
  readonly errorCode?: number;
  readonly connectMessage?: string;
  readonly connector?: string;
  readonly endpoint?: string;
  readonly networkCode?: string;
  readonly configErrors?: string[];
  readonly outcomeUnknown: boolean;

  constructor(f: ConnectErrorFields) {
    super(f.message, { code: f.errorCode !== undefined ? String(f.errorCode) : f.networkCode });
    this.name = "ConnectError";
    this.kind = f.kind;
    this.status = f.status;
    this.errorCode = f.errorCode;
    this.connectMessage = f.connectMessage;
    this.connector = f.connector;
    this.endpoint = f.endpoint;
    this.networkCode = f.networkCode;
    this.configErrors = f.configErrors;
    this.outcomeUnknown = f.outcomeUnknown ?? false;
  }

  /** True for Connect's 404 about a missing connector (not a wrong URL, which reads "HTTP 404 Not Found"). */
  get isNotFound(): boolean {
    return this.status === 404 && !isUnknownPath(this.connectMessage);
  }
}

/** Connect's answer for a path it does not serve (wrong URL or path prefix, or an older Connect). */
export function isUnknownPath(message: string | undefined | null): boolean {
  return !message || /^HTTP 404 Not Found$/.test(message);
}

const INVALID_CONFIG = /^Connector configuration is invalid and contains the following (\d+) error\(s\):\n([\s\S]*?)\nYou can also find the above list of errors at the endpoint/;

/** The error lines of a 400 "Connector configuration is invalid and contains the following N error(s)" message. */
export function parseInvalidConfigMessage(message: string): string[] | undefined {
  const m = INVALID_CONFIG.exec(message);
  if (!m) return undefined;
  return m[2].split("\n").filter((l) => l.length > 0);
}

/** What to do next for an HTTP error, by status and Connect message. */
export function hintFor(status: number, message: string, method: string): string {
  if (status === 401) return "Check the Connect credentials (username/password or the Authorization header).";
  if (status === 403) return "The credentials were accepted but lack permission for this operation; check the Connect ACLs or API key scope.";
  if (status === 404 && isUnknownPath(message)) return "Connect does not serve this path: check the url (and its path prefix) and the Connect version.";
  if (status === 405) return "Connect does not support this method on this path: check the Connect version.";
  if (status === 406 || status === 415) return "Connect refused the content type; this is a client bug, please report it.";
  if (status === 409 && /already exists/.test(message))
    return "A connector of this name already exists: update it with PUT /connectors/{name}/config, delete it, or choose another name.";
  if (status === 409) return "Connect is rebalancing or another change is in progress; retry later.";
  if (status === 400 && INVALID_CONFIG.test(message)) return "Fix the listed properties (PUT /connector-plugins/{class}/config/validate shows them per property).";
  if (status === 400 && /contains no connector type/.test(message)) return "Set connector.class in the connector config.";
  if (status === 400 && /STOPPED state/.test(message)) return "Stop the connector first (PUT /connectors/{name}/stop).";
  if (status === 500 && /Failed to find any class that implements Connector/.test(message))
    return "Install the connector plugin on every Connect worker or fix connector.class (GET /connector-plugins lists what is installed).";
  if (status === 500 && /rebalance is expected|Request timed out/.test(message)) return "Connect is busy or rebalancing; retry later.";
  if (status >= 500) return `Connect failed to handle ${method}; check the Connect worker log.`;
  return "Check the request against the Connect REST API documentation.";
}

/** What to do next for a network failure, by error code. */
export function networkHint(code: string | undefined, url: string): string {
  switch (code) {
    case "ECONNREFUSED":
      return `Nothing accepts connections at ${url}: check the url and that the Connect worker is running.`;
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return `The host of ${url} does not resolve: check the url.`;
    case "ETIMEDOUT":
    case "UND_ERR_CONNECT_TIMEOUT":
      return `Connecting to ${url} timed out: check the url, firewalls and proxies.`;
    case "ECONNRESET":
    case "UND_ERR_SOCKET":
    case "EPIPE":
      return "The connection was closed without an answer: Connect may be restarting, or a TLS client certificate was refused (check tls.cert/tls.key).";
    case "DEPTH_ZERO_SELF_SIGNED_CERT":
    case "SELF_SIGNED_CERT_IN_CHAIN":
    case "UNABLE_TO_VERIFY_LEAF_SIGNATURE":
    case "UNABLE_TO_GET_ISSUER_CERT_LOCALLY":
    case "CERT_UNTRUSTED":
      return "The Connect server certificate is not trusted: set tls.ca to the CA that signed it.";
    case "ERR_TLS_CERT_ALTNAME_INVALID":
      return "The Connect server certificate does not name this host: use the host name the certificate was issued for.";
    case "CERT_HAS_EXPIRED":
      return "The Connect server certificate has expired.";
    case "EPROTO":
    case "ERR_SSL_WRONG_VERSION_NUMBER":
      return "TLS failed: check whether the url should be http:// or https://.";
    default:
      if (code && /^ERR_SSL_|ALERT/.test(code)) return "The TLS handshake failed: check tls.cert, tls.key and tls.ca (a client certificate may have been refused).";
      return `Check the url ${url} and the network path to Connect.`;
  }
}
