/**
 * Secrets audit (hardening issue, secrets part).
 *
 * 1. A whole CdcPipeline scenario through the engine harness with distinctive
 *    credentials everywhere: the PostgreSQL admin password and client TLS key
 *    (verify-ca, password AND client certificate required by pg_hba.conf), the
 *    Debezium role's password, the Connect basic-auth password, a bearer token,
 *    an extra header token and the Connect client TLS key (mutual TLS); plus
 *    standalone resources given a connection string, and the CLI. Steps: up, change (tables, Connect auth rotated to bearer), refresh,
 *    preview and up with a wrong PostgreSQL password, a wrong Connect password,
 *    a refused Connect client certificate, a wrong Debezium password, a FAILED
 *    task (refresh, failing up, password rotation that heals it), a preflight
 *    failure, destroy. Every log line
 *    (console.* and process.stdout/stderr writes), every error message and stack,
 *    the Connect double's worker log and the harness state after every step are
 *    scanned OUTSIDE secret values for every credential (raw, URL-encoded,
 *    base64, the basic-auth token, each line of the key's PEM body).
 * 2. Secret wrapping where mocks do not apply it: additionalSecretOutputs of
 *    every dynamic resource (captured by a legacy `transformations` entry and a
 *    stack transformation), credentials arriving at the mock only inside secret
 *    wrappers, the component's own inputs free of credentials, and `__provider`
 *    a plain (not secret) text that captures nothing.
 *
 * Runs on the highest PostgreSQL major of the run only: secrets handling does
 * not depend on the server version.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as https from "node:https";
import * as os from "node:os";
import * as path from "node:path";
import * as util from "node:util";
import * as pulumi from "@pulumi/pulumi";
import type { CdcPipelineArgs } from "pulumi-postgres-cdc";
import { CdcPipeline, DebeziumConnector, debeziumConfig, pipelineStatus, Publication, ReplicaIdentity, ReplicationGrant, ReplicationSlot } from "pulumi-postgres-cdc";
import { withSession } from "#dist/postgres/connection.js";
import { resolveConnection } from "#dist/validation/connection.js";
import { main as cli } from "#dist/cli/main.js";
import { makeCertAuthority, type CertAuthority } from "../support/certs";
import { debeziumPostgresPlugin } from "../support/connect-double/debezium-postgres";
import { startConnectDouble, type ConnectDouble } from "../support/connect-double/server";
import { Engine, nonSecretText } from "../support/engine";
import { pgMajors, startPostgres, uniqueName, type PgServer } from "../support/postgres";

const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const SECRET_VAL = "1b47061264138c4ac30d75fd1eb44270";

// Distinctive credentials, with characters that URL encoding changes.
const ADMIN_USER = "cdcadmin";
const ADMIN_PW = "Adm1n:pw/S3cret@9%Q+z";
const DBZ_PW = "Dbz#role=pw&7 s?X";
const DBZ_PW2 = "Dbz-rotated/pw+8842";
const CONNECT_USER = "connect-audit";
const CONNECT_PW = "Conn3ct:basic/pw%41+Y";
const BEARER = "brr_tok.5Fq9/Zx+W2==";
const HEADER_TOKEN = "hdr-tok_Q7w!e9r$T1y";
const CS_USER = "csadmin";
const CS_PW = "Cs/conn#str:pw@55%Zq";
const WRONG_ADMIN_PW = "Wr0ng-admin/pw+1199";
const WRONG_DBZ_PW = "Wr0ng-dbz#pw 2288";
const WRONG_CONNECT_PW = "Wr0ng-connect:pw/3377";

type Props = Record<string, unknown>;

interface Place {
  where: string;
  text: string;
}

interface Needle {
  secret: string;
  form: string;
  text: string;
}

const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");

/** Every form a secret may take in text: raw, URL-encoded, base64, JSON-escaped. */
function formsOf(secret: string, value: string): Needle[] {
  const forms: Array<[string, string]> = [
    ["raw", value],
    ["url-encoded", encodeURIComponent(value)],
    ["base64", b64(value)],
    ["json-escaped", JSON.stringify(value).slice(1, -1)],
  ];
  const seen = new Set<string>();
  return forms.filter(([, t]) => !seen.has(t) && !!seen.add(t)).map(([form, text]) => ({ secret, form, text }));
}

/** The needles of a PEM private key: the whole PEM in its forms, and each body line (raw and URL-encoded). */
function keyNeedles(secret: string, pem: string): Needle[] {
  const lines = pem.split("\n").filter((l) => l.length >= 40 && !l.startsWith("-----"));
  assert.ok(lines.length >= 10, "the key has a PEM body");
  return [
    ...formsOf(secret, pem),
    ...lines.flatMap((l, i) => [
      { secret, form: `body line ${i + 1}`, text: l },
      ...(encodeURIComponent(l) !== l ? [{ secret, form: `body line ${i + 1} url-encoded`, text: encodeURIComponent(l) }] : []),
    ]),
  ];
}

function count(haystack: string, needle: string): number {
  let n = 0;
  for (let i = haystack.indexOf(needle); i !== -1; i = haystack.indexOf(needle, i + needle.length)) n++;
  return n;
}

/** Records log output (console.* and process.stdout/stderr writes), passing it through. */
class LogCapture {
  private undo: Array<() => void> = [];
  constructor(private readonly sink: (where: string, text: string) => void) {}

  start(): void {
    for (const m of ["log", "error", "warn", "info", "debug", "trace"] as const) {
      const orig = console[m];
      console[m] = (...args: unknown[]) => {
        this.sink(`console.${m}`, util.format(...args));
        orig.apply(console, args);
      };
      this.undo.push(() => (console[m] = orig));
    }
    for (const [name, stream] of [
      ["process.stdout", process.stdout],
      ["process.stderr", process.stderr],
    ] as const) {
      const orig = stream.write;
      const patched = (chunk: unknown, ...rest: unknown[]): boolean => {
        this.sink(name, typeof chunk === "string" ? chunk : Buffer.from(chunk as Uint8Array).toString("utf8"));
        return (orig as (...a: unknown[]) => boolean).apply(stream, [chunk, ...rest]);
      };
      stream.write = patched as typeof stream.write;
      this.undo.push(() => (stream.write = orig));
    }
  }

  stop(): void {
    while (this.undo.length) this.undo.pop()!();
  }
}

function isSecretWrapper(v: unknown): v is { value: unknown } {
  return !!v && typeof v === "object" && (v as Props)[SECRET_SIG] === SECRET_VAL;
}

function unwrap(v: unknown): unknown {
  if (isSecretWrapper(v)) return unwrap(v.value);
  if (Array.isArray(v)) return v.map(unwrap);
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unwrap(x)]));
  return v;
}

async function eventually<T>(fn: () => Promise<T | undefined | false> | T | undefined | false, what: string, timeoutMs = 30000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v as T;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const majors = pgMajors();
const major = majors[majors.length - 1];

describe(`Secrets audit on PostgreSQL ${major} @pg`, function () {
  this.timeout(300000);

  describe("a whole pipeline scenario with distinctive secrets everywhere", () => {
    let ca: CertAuthority;
    let adminCert: { certPem: string; keyPem: string };
    let connectCert: { certPem: string; keyPem: string };
    let strangerCert: { certPem: string; keyPem: string };
    let pg: PgServer;
    let double: ConnectDouble;
    let db: string;
    let role: string;
    let name: string;
    let engine: Engine;
    let csEngine: Engine;
    const places: Place[] = [];
    const capture = new LogCapture((where, text) => places.push({ where, text }));
    /** Full state texts (secrets included), to prove the scan would see a secret that lost its wrapper. */
    const fullStates: string[] = [];
    /** Keys of partial-create `properties` (handed to the engine, which re-marks secrets) that carry a secret. */
    const partialProperties: Array<{ key: string; value: unknown }> = [];
    let errorsSeen = 0;

    const add = (where: string, text: string) => places.push({ where, text });
    /** Records the state after a step; `__provider` must be plain text (never a secret: it captures none). */
    const recordStateOf = (e: Engine, label: string) => {
      const snap = e.snapshot();
      add(label, nonSecretText(snap));
      fullStates.push(JSON.stringify(snap));
      for (const r of snap.resources.filter((x) => x.dynamic)) {
        for (const [k, bag] of [
          ["inputs", r.inputs],
          ["outputs", r.outputs],
        ] as const) {
          assert.equal(typeof bag.__provider, "string", `${r.key} ${k}.__provider is plain text, not a secret`);
        }
      }
    };
    const recordState = (step: string) => recordStateOf(engine, `engine state after ${step}`);

    /** Records an error's message, stack, string fields, nested errors and cause, everywhere they could surface. */
    const recordError = (where: string, err: unknown, seen = new Set<unknown>()): void => {
      if (err === null || err === undefined || seen.has(err)) return;
      if (typeof err !== "object") {
        add(where, String(err));
        return;
      }
      seen.add(err);
      errorsSeen++;
      if (err instanceof Error) {
        add(`${where}.message`, err.message);
        add(`${where}.stack`, err.stack ?? "");
        // As a logger would print it (nested errors and partial-create properties are visited apart).
        const { properties: _properties, errors: _errors, ...own } = err as unknown as Props;
        add(`${where} (inspected)`, util.inspect({ name: err.name, message: err.message, stack: err.stack, ...own }, { depth: 8 }));
      }
      for (const [k, v] of Object.entries(err as Props)) {
        if (k === "properties" && v && typeof v === "object") {
          // A partial create (ErrorResourceInitFailed): these outputs go to the engine, which marks secret every key
          // whose input was secret (docs/dynamic-providers.md, "Secrets"); they are checked key by key below.
          for (const [pk, pv] of Object.entries(v as Props)) partialProperties.push({ key: pk, value: pv });
          continue;
        }
        if (v instanceof Error) recordError(`${where}.${k}`, v, seen);
        else if (Array.isArray(v) && v.some((x) => x instanceof Error)) v.forEach((x, i) => recordError(`${where}.${k}[${i}]`, x, seen));
        else if (typeof v === "string") add(`${where}.${k}`, v);
        else if (v !== undefined) add(`${where}.${k}`, JSON.stringify(v) ?? String(v));
      }
      const cause = (err as { cause?: unknown }).cause;
      if (cause !== undefined) recordError(`${where}.cause`, cause, seen);
    };

    /** Runs a step expected to fail; records the error and returns its message. */
    const failing = async (step: string, p: Promise<unknown>, ...patterns: RegExp[]): Promise<string> => {
      let caught: unknown;
      try {
        await p;
      } catch (err) {
        caught = err;
      }
      assert.ok(caught, `${step}: expected a failure`);
      recordError(`error of ${step}`, caught);
      const message = (caught as Error).message;
      for (const re of patterns) assert.match(message, re, `${step}: ${message}`);
      return message;
    };

    const source = (over: Partial<{ password: string }> = {}) => ({
      host: "127.0.0.1",
      port: pg.port,
      database: db,
      user: ADMIN_USER,
      password: ADMIN_PW,
      sslMode: "verify-ca" as const,
      sslRootCert: ca.caPem,
      sslCert: adminCert.certPem,
      sslKey: adminCert.keyPem,
      ...over,
    });
    const tls = () => ({ ca: ca.caPem, cert: connectCert.certPem, key: connectCert.keyPem });
    const basicConnect = (password = CONNECT_PW) => ({ url: double.url, username: CONNECT_USER, password, headers: { "X-Audit-Token": HEADER_TOKEN }, tls: tls() });
    const bearerConnect = () => ({ url: double.url, headers: { Authorization: `Bearer ${BEARER}`, "X-Audit-Token": HEADER_TOKEN }, tls: tls() });
    const args = (extra: Partial<CdcPipelineArgs> = {}): CdcPipelineArgs => ({
      source: source(),
      connectorSource: { user: role, password: DBZ_PW, sslMode: "require" },
      connect: basicConnect(),
      tables: ["public.customers", "public.orders"],
      replicaIdentityFull: true,
      readyTimeoutSeconds: 30,
      ...extra,
    });
    const program = (extra: Partial<CdcPipelineArgs> = {}) => () => {
      const p = new CdcPipeline(name, args(extra));
      return { connectorState: p.connectorState, tasks: p.tasks, slotName: p.slotName, topics: p.topics, lagBytes: p.lagBytes };
    };
    const up = async (step: string, extra: Partial<CdcPipelineArgs> = {}) => {
      try {
        const r = await engine.up(program(extra));
        add(`stack outputs after ${step}`, nonSecretText(r.outputs));
        return r;
      } finally {
        recordState(step);
      }
    };
    const upFails = async (step: string, extra: Partial<CdcPipelineArgs>, ...patterns: RegExp[]) => {
      try {
        return await failing(step, engine.up(program(extra)), ...patterns);
      } finally {
        recordState(step);
      }
    };
    /** A REST call to the double (mutual TLS, bearer token), from the test itself. */
    const rest = (method: string, urlPath: string, body?: unknown) =>
      new Promise<{ status: number; body?: Props }>((resolve, reject) => {
        const headers: Record<string, string> = { authorization: `Bearer ${BEARER}`, accept: "application/json" };
        if (body !== undefined) headers["content-type"] = "application/json";
        const req = https.request(
          `${double.url}${urlPath}`,
          { method, ca: ca.caPem, cert: connectCert.certPem, key: connectCert.keyPem, headers },
          (res) => {
            let text = "";
            res.on("data", (d) => (text += String(d)));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text ? (JSON.parse(text) as Props) : undefined }));
          },
        );
        req.on("error", reject);
        req.end(body === undefined ? undefined : JSON.stringify(body));
      });
    const taskStates = async () => {
      const s = await rest("GET", `/connectors/${name}/status`);
      return ((s.body?.tasks as Array<{ state: string }> | undefined) ?? []).map((t) => t.state);
    };
    const events = (table: string) => double.topics.get(`${name}.public.${table}`) ?? [];
    /** pipelineStatus() with a Connect URL carrying user:password; its whole result is recorded for the scan. */
    const status = async (label: string, connectorName = name) => {
      const credUrl = double.url.replace("https://", `https://${CONNECT_USER}:${encodeURIComponent(CONNECT_PW)}@`);
      const st = await pipelineStatus({ source: source(), connect: { url: credUrl, tls: tls() }, connectorName, slotName: `${name}_slot` });
      add(`pipelineStatus ${label}`, JSON.stringify(st));
      return st;
    };

    before(async () => {
      ca = makeCertAuthority("audit-ca");
      const serverCert = ca.issue("localhost", { dns: ["localhost"], ips: ["127.0.0.1"] });
      adminCert = ca.issue(ADMIN_USER);
      connectCert = ca.issue("connect-client");
      strangerCert = makeCertAuthority("stranger-ca").issue("connect-client");
      pg = await startPostgres({
        major,
        ssl: { caPem: ca.caPem, serverCertPem: serverCert.certPem, serverKeyPem: serverCert.keyPem },
        // The admin needs its password AND its client certificate, over TLS.
        hba: [`hostssl all ${ADMIN_USER} 127.0.0.1/32 scram-sha-256 clientcert=verify-full`, `host all ${ADMIN_USER} 127.0.0.1/32 reject`],
      });
      await pg.query(`CREATE ROLE ${ADMIN_USER} SUPERUSER LOGIN PASSWORD '${ADMIN_PW}'`);
      await pg.query(`CREATE ROLE ${CS_USER} SUPERUSER LOGIN PASSWORD '${CS_PW}'`);
      role = uniqueName("dbz");
      await pg.query(`CREATE ROLE ${role} LOGIN PASSWORD '${DBZ_PW}'`);
      db = await pg.createDatabase("audit");
      await pg.query("CREATE TABLE customers (id int primary key, name text)", [], db);
      await pg.query("CREATE TABLE orders (id int primary key, customer_id int, total numeric)", [], db);
      await pg.query("CREATE TABLE invoices (id int primary key, amount numeric)", [], db);
      await pg.query("INSERT INTO customers VALUES (1, 'Ada'), (2, 'Grace')", [], db);
      double = await startConnectDouble({
        plugins: [debeziumPostgresPlugin({ statusUpdateIntervalMs: 200, retriableRestartWaitMs: 500, slotRetryDelayMs: 300 })],
        timing: { tasksDelayMs: 50 },
        auth: { basic: { username: CONNECT_USER, password: CONNECT_PW }, bearer: BEARER },
        tls: { cert: serverCert.certPem, key: serverCert.keyPem, ca: ca.caPem, requestCert: true },
      });
      name = uniqueName("audit");
      engine = new Engine();
      csEngine = new Engine();
      capture.start();
    });

    after(async () => {
      capture.stop();
      await double?.close();
      await pg?.destroy();
    });

    it("the admin connection really needs both the password and the client key", async () => {
      const tryConnect = (over: Props) =>
        withSession(resolveConnection({ connection: { ...source(), ...over } as never }, "audit"), "audit", async (s) => {
          const [row] = await s.query<{ ssl: boolean; dn: string | null }>("SELECT ssl, client_dn AS dn FROM pg_stat_ssl WHERE pid = pg_backend_pid()");
          return row;
        });
      const ok = await tryConnect({});
      assert.equal(ok.ssl, true);
      assert.match(String(ok.dn), new RegExp(`CN ?= ?${ADMIN_USER}`));
      await failing("connect without the client certificate", tryConnect({ sslCert: undefined, sslKey: undefined }));
      await failing("connect with a wrong password", tryConnect({ password: WRONG_ADMIN_PW }), /password authentication failed|cannot connect/);
    });

    it("up: builds the pipeline with every credential in use (basic auth, header token and client key to Connect; TLS key + password to PostgreSQL)", async () => {
      assert.match(double.url, /^https:/);
      const r = await up("up");
      assert.equal(r.outputs.connectorState, "RUNNING");
      await eventually(() => events("customers").filter((e) => (e.value as { op?: string })?.op === "r").length === 2 || undefined, "snapshot events");
      const raw = fullStates[fullStates.length - 1];
      for (const s of [ADMIN_PW, CONNECT_PW, HEADER_TOKEN, JSON.stringify(adminCert.keyPem).slice(1, -1), JSON.stringify(connectCert.keyPem).slice(1, -1)]) assert.ok(raw.includes(s), "the state holds the credential (inside a secret)");
      assert.ok(raw.includes(JSON.stringify(DBZ_PW).slice(1, -1)), "the connector config holds the Debezium password (inside a secret)");
    });

    it("change: a table is added and Connect auth is rotated to a bearer token; both update in place", async () => {
      const r = await up("change", { tables: ["public.customers", "public.orders", "public.invoices"], connect: bearerConnect() });
      const ops = Object.fromEntries(r.steps.map((s) => [s.key.split("::")[1], s.op]));
      assert.equal(ops[`${name}-publication`], "update");
      assert.equal(ops[`${name}-connector`], "update");
      await pg.query("INSERT INTO invoices VALUES (7, 12.5)", [], db);
      await eventually(() => events("invoices").find((e) => (e.value as { op?: string })?.op === "c"), "event from the added table");
      assert.ok(fullStates[fullStates.length - 1].includes(BEARER));
    });

    it("refresh reads every resource with the stored (secret) credentials", async () => {
      const steps = await engine.refresh();
      recordState("refresh");
      assert.equal(steps.filter((s) => s.op === "refresh").length, 6, "grant, replica identity, signal table, publication, slot, connector");
    });

    const changed = () => ({ tables: ["public.customers", "public.orders", "public.invoices"], connect: bearerConnect() });

    it("a wrong PostgreSQL admin password: preview warns, up fails before changing anything, naming no password", async () => {
      const before = places.length;
      await engine.up(program({ ...changed(), source: source({ password: WRONG_ADMIN_PW }) }), { preview: true });
      recordState("preview with a wrong admin password");
      assert.ok(places.slice(before).some((p) => /checks skipped in preview/.test(p.text)), "the preview warns");
      await upFails("up with a wrong admin password", { ...changed(), source: source({ password: WRONG_ADMIN_PW }) }, /password authentication failed/);
    });

    it("a wrong Connect password fails with 401 and changes nothing", async () => {
      await upFails("up with a wrong Connect password", { ...changed(), connect: basicConnect(WRONG_CONNECT_PW) }, /401|credentials|auth/i);
      assert.deepEqual(await taskStates(), ["RUNNING"]);
    });

    it("a Connect client certificate from another CA is refused and changes nothing", async () => {
      const connect = { ...bearerConnect(), requestTimeoutMs: 2000, tls: { ca: ca.caPem, cert: strangerCert.certPem, key: strangerCert.keyPem } };
      await upFails("up with a refused client certificate", { ...changed(), connect }, /certificate|TLS|tls/);
      assert.deepEqual(await taskStates(), ["RUNNING"]);
    });

    it("a wrong Debezium role password is rejected by Connect's validation and changes nothing", async () => {
      await upFails("up with a wrong Debezium password", { ...changed(), connectorSource: { user: role, password: WRONG_DBZ_PW, sslMode: "require" } }, /password authentication failed/);
      assert.deepEqual(await taskStates(), ["RUNNING"]);
    });

    it("a FAILED task (Debezium's password changed out of band): refresh shows the trace, up fails with it, rotating the password heals it", async () => {
      await pg.query(`ALTER ROLE ${role} PASSWORD '${DBZ_PW2}'`);
      assert.equal((await rest("POST", `/connectors/${name}/restart?includeTasks=true`)).status, 202);
      await eventually(async () => ((await taskStates())[0] === "FAILED") || undefined, "FAILED task");
      await engine.refresh();
      recordState("refresh with a FAILED task");
      const tasks = engine.outputsOf(`${name}-connector`)!.tasks as Array<{ state: string; trace?: string }>;
      assert.equal(tasks[0].state, "FAILED");
      assert.match(tasks[0].trace ?? "", /password authentication failed/);
      const degraded = await status("with a FAILED task");
      assert.equal(degraded.status, "Degraded");
      assert.match(degraded.problems.join("\n"), /task 0 FAILED/);
      const missing = await status("of a missing connector", "no_such_connector");
      assert.equal(missing.status, "Missing");
      assert.match(missing.problems.join("\n"), /does not exist on https:\/\/127\.0\.0\.1:\d+ /);
      await upFails("up with a FAILED task", changed(), /FAILED/);
      const r = await up("password rotation", { ...changed(), connectorSource: { user: role, password: DBZ_PW2, sslMode: "require" } });
      assert.equal(r.outputs.connectorState, "RUNNING");
      assert.deepEqual(await taskStates(), ["RUNNING"]);
      await eventually(async () => (await status("after the rotation")).status === "Running" || undefined, "status Running");
    });

    it("a preflight failure lists the problems and changes nothing", async () => {
      await upFails(
        "up with a preflight failure",
        { ...changed(), tables: ["public.customers", "public.missing_table"], connectorSource: { user: role, password: DBZ_PW2, sslMode: "require" } },
        /preflight/,
        /missing_table/,
      );
    });

    it("a Connect URL carrying user:password never shows in messages (connector already there with another config; deleted out of band)", async () => {
      // Regression: the provider used to print connect.url as given, credentials included.
      const credUrl = double.url.replace("https://", `https://${CONNECT_USER}:${encodeURIComponent(CONNECT_PW)}@`);
      const connectorName = uniqueName("urlcred");
      const config = (snapshotMode: string) =>
        debeziumConfig({
          source: { host: "127.0.0.1", port: pg.port, database: db, user: role, password: DBZ_PW2, sslMode: "require" },
          topicPrefix: connectorName,
          slotName: `${connectorName}_slot`,
          publicationName: `${connectorName}_pub`,
          tables: ["public.customers"],
          snapshotMode: snapshotMode as never,
        });
      const created = await rest("POST", "/connectors", { name: connectorName, config: config("initial"), initial_state: "STOPPED" });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const standalone = new Engine();
      const prog = (snapshotMode: string) => () => {
        new DebeziumConnector(connectorName, { connect: { url: credUrl, tls: tls() }, name: connectorName, config: config(snapshotMode), state: "stopped", validate: false });
      };
      const leaks = (m: string) => [CONNECT_PW, encodeURIComponent(CONNECT_PW)].filter((x) => m.includes(x));
      try {
        const exists = await failing("create over a connector with another config", standalone.up(prog("no_data")), /already exists on https:\/\/127\.0\.0\.1:\d+ with a different config/);
        assert.deepEqual(leaks(exists), [], "no Connect password in the message");
        await standalone.up(prog("initial")); // adopts the identical connector
        recordStateOf(standalone, "standalone connector state after adoption");
        assert.equal((await rest("DELETE", `/connectors/${connectorName}`)).status, 204);
        const gone = await failing("update of a connector deleted out of band", standalone.up(prog("no_data")), /no longer exists on https:\/\/127\.0\.0\.1:\d+ /);
        assert.deepEqual(leaks(gone), [], "no Connect password in the message");
      } finally {
        recordStateOf(standalone, "standalone connector state");
        await standalone.destroy();
      }
    });

    it("standalone resources given a connection string: up, refresh, a bad database, destroy", async () => {
      const cs = (database: string) => `postgres://${CS_USER}:${encodeURIComponent(CS_PW)}@127.0.0.1:${pg.port}/${database}?sslmode=require`;
      const prog = (database: string) => () => {
        new ReplicationGrant(`${name}-cs-grant`, { connectionString: cs(database), role, tables: ["public.orders"], replication: false });
        new ReplicaIdentity(`${name}-cs-ri`, { connectionString: cs(database), tables: ["public.invoices"] });
        const pub = new Publication(`${name}-cs-pub`, { connectionString: cs(database), name: `${name}_cs_pub`, tables: ["public.orders"] });
        new ReplicationSlot(`${name}-cs-slot`, { connectionString: cs(database), name: `${name}_cs_slot` }, { dependsOn: [pub] });
      };
      const state = (step: string) => recordStateOf(csEngine, `standalone state after ${step}`);
      await csEngine.up(prog(db));
      state("up");
      assert.ok(fullStates[fullStates.length - 1].includes(encodeURIComponent(CS_PW)));
      await csEngine.refresh();
      state("refresh");
      await failing("standalone up against a missing database", csEngine.up(prog("no_such_db")), /no_such_db/);
      state("failed up");
      await csEngine.destroy();
      state("destroy");
    });

    it("CLI preflight: password in the URL or in PGPASSWORD/DATABASE_URL, client key from a file; a wrong password fails", async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "audit-cli-"));
      try {
        for (const [f, pem] of [
          ["ca.pem", ca.caPem],
          ["client.pem", adminCert.certPem],
          ["client.key", adminCert.keyPem],
        ] as const)
          fs.writeFileSync(path.join(dir, f), pem, { mode: 0o600 });
        const tlsFlags = ["--ssl-root-cert", path.join(dir, "ca.pem"), "--ssl-cert", path.join(dir, "client.pem"), "--ssl-key", path.join(dir, "client.key")];
        const url = (pw?: string) => `postgres://${ADMIN_USER}${pw ? ":" + encodeURIComponent(pw) : ""}@127.0.0.1:${pg.port}/${db}?sslmode=verify-ca`;
        const run = async (label: string, argv: string[], env: Record<string, string | undefined> = {}) => {
          const out: string[] = [];
          const code = await cli(argv, { out: (t) => out.push(t), err: (t) => out.push(t), env });
          add(`CLI output of ${label}`, out.join("\n"));
          return { code, text: out.join("\n") };
        };
        const inUrl = await run("preflight, password in the URL", ["preflight", url(ADMIN_PW), "--tables", "customers,orders", ...tlsFlags]);
        assert.match(inUrl.text, /Preflight of cdcadmin@127\.0\.0\.1/, inUrl.text);
        const json = await run("preflight --json, PGPASSWORD", ["preflight", url(), "--json", ...tlsFlags], { PGPASSWORD: ADMIN_PW });
        assert.ok(JSON.parse(json.text).serverVersion, json.text);
        const viaEnv = await run("preflight, DATABASE_URL", ["preflight", ...tlsFlags], { DATABASE_URL: url(ADMIN_PW) });
        assert.match(viaEnv.text, /Preflight of/, viaEnv.text);
        const wrong = await run("preflight, wrong password in the URL", ["preflight", url(WRONG_ADMIN_PW), ...tlsFlags]);
        assert.equal(wrong.code, 1);
        assert.match(wrong.text, /password authentication failed/);
        const wrongEnv = await run("preflight, wrong password in DATABASE_URL", ["preflight", ...tlsFlags], { DATABASE_URL: url(WRONG_ADMIN_PW) });
        assert.equal(wrongEnv.code, 1);
        const noKey = await run("preflight without the client key", ["preflight", url(ADMIN_PW), "--ssl-root-cert", path.join(dir, "ca.pem")]);
        assert.equal(noKey.code, 1);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    it("destroy removes everything", async () => {
      await engine.destroy();
      recordState("destroy");
      assert.equal(engine.snapshot().resources.length, 0);
      assert.ok(!double.connectorNames().includes(name));
    });

    it("finds no secret outside secret values in any log line, error, worker log line or state", () => {
      capture.stop();
      for (const [i, line] of double.workerLog.entries()) add(`worker log line ${i + 1}`, line);
      const needles: Needle[] = [
        ...formsOf("admin password", ADMIN_PW),
        ...formsOf("wrong admin password", WRONG_ADMIN_PW),
        ...formsOf("Debezium password", DBZ_PW),
        ...formsOf("rotated Debezium password", DBZ_PW2),
        ...formsOf("wrong Debezium password", WRONG_DBZ_PW),
        ...formsOf("Connect password", CONNECT_PW),
        ...formsOf("wrong Connect password", WRONG_CONNECT_PW),
        { secret: "Connect password", form: "basic-auth token", text: b64(`${CONNECT_USER}:${CONNECT_PW}`) },
        { secret: "wrong Connect password", form: "basic-auth token", text: b64(`${CONNECT_USER}:${WRONG_CONNECT_PW}`) },
        ...formsOf("bearer token", BEARER),
        ...formsOf("header token", HEADER_TOKEN),
        ...formsOf("connection-string password", CS_PW),
        ...keyNeedles("admin TLS key", adminCert.keyPem),
        ...keyNeedles("Connect client TLS key", connectCert.keyPem),
        ...keyNeedles("refused Connect client TLS key", strangerCert.keyPem),
      ];
      const hits: string[] = [];
      let occurrences = 0;
      let chars = 0;
      for (const p of places) {
        chars += p.text.length;
        for (const n of needles) {
          const c = count(p.text, n.text);
          if (!c) continue;
          occurrences += c;
          const at = p.text.indexOf(n.text);
          const context = (p.text.slice(Math.max(0, at - 80), at) + "<<" + n.secret + ">>" + p.text.slice(at + n.text.length, at + n.text.length + 80)).replace(/\s+/g, " ");
          hits.push(`${n.secret} (${n.form}) x${c} in ${p.where}: ...${context}...`);
        }
      }
      // Partial-create properties: a secret may only sit under a key whose input was secret (the engine re-marks those).
      const secretKeys = new Set(["connection", "connectionString", "config", "connect", "streaming"]);
      for (const { key, value } of partialProperties) {
        const text = JSON.stringify(value) ?? "";
        for (const n of needles) if (!secretKeys.has(key) && text.includes(n.text)) hits.push(`${n.secret} (${n.form}) in partial-create property ${key}`);
      }
      // The scan is not blind: the full states hold every credential the resources use, inside secret wrappers.
      const full = fullStates.join("\n");
      const held: Array<[string, string]> = [
        ["admin password", ADMIN_PW],
        ["Debezium password", DBZ_PW],
        ["rotated Debezium password", DBZ_PW2],
        ["Connect password", CONNECT_PW],
        ["bearer token", BEARER],
        ["header token", HEADER_TOKEN],
        ["connection-string password", encodeURIComponent(CS_PW)],
        ["admin TLS key", JSON.stringify(adminCert.keyPem).slice(1, -1)],
        ["Connect client TLS key", JSON.stringify(connectCert.keyPem).slice(1, -1)],
      ];
      for (const [what, text] of held) assert.ok(full.includes(text), `the full state holds the ${what}`);
      const byKind = places.reduce<Record<string, number>>((acc, p) => {
        const kind = p.where.replace(/ (after|of) .*$/, "").replace(/ line \d+$/, "").replace(/\[\d+\]/g, "[]");
        acc[kind] = (acc[kind] ?? 0) + 1;
        return acc;
      }, {});
      console.log(
        `      secrets audit: ${places.length} places scanned (${chars} characters; ${errorsSeen} errors, ${double.workerLog.length} worker log lines, ${fullStates.length} states), ` +
          `${needles.length} needles, ${occurrences} occurrences found${hits.length ? ":\n        " + hits.join("\n        ") : ""}`,
      );
      console.log(`      places by kind: ${JSON.stringify(byKind)}`);
      assert.ok(places.length > 100, "a meaningful number of places was scanned");
      assert.ok(errorsSeen >= 7, "every failure case produced an error to scan");
      assert.deepEqual(hits, [], "no secret outside secret values");
      assert.equal(occurrences, 0);
    });
  });

  describe("secret wrapping under runtime mocks (which ignore additionalSecretOutputs)", () => {
    interface Registered {
      type: string;
      name: string;
      custom: boolean;
      inputs: Props;
    }
    const registered: Registered[] = [];
    const viaComponent = new Map<string, string[] | undefined>();
    const viaStack = new Map<string, string[] | undefined>();
    const KEY = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDmockKeyMaterial42\n-----END PRIVATE KEY-----\n";
    const CONNECT_KEY = "-----BEGIN PRIVATE KEY-----\nMIIEvAIBADANBgkqhkiG9w0BAQEFAASCBKYwggSiAgEAAoIBAQConnectKeyMaterial77\n-----END PRIVATE KEY-----\n";
    const secrets = [ADMIN_PW, DBZ_PW, CONNECT_PW, BEARER, HEADER_TOKEN, CS_PW, "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDmockKeyMaterial42", "ConnectKeyMaterial77"];
    const secretIn = (text: string) => secrets.filter((s) => text.includes(s) || text.includes(encodeURIComponent(s)) || text.includes(JSON.stringify(s).slice(1, -1)));
    const expected: Record<string, string[]> = {
      ReplicationGrant: ["connection", "connectionString"],
      ReplicaIdentity: ["connection", "connectionString"],
      Publication: ["connection", "connectionString"],
      ReplicationSlot: ["connection", "connectionString"],
      SignalTable: ["connection", "connectionString"],
      DebeziumConnector: ["config", "connect", "snapshots", "streaming"],
    };
    const dynamicOnes = () => registered.filter((r) => r.type.startsWith("pulumi-nodejs:dynamic/postgres-cdc:"));
    const className = (r: Registered) => r.type.split(":").pop()!;

    before(async () => {
      const capture =
        (into: Map<string, string[] | undefined>): pulumi.ResourceTransformation =>
        (a) => {
          into.set(`${a.type}::${a.name}`, (a.opts as pulumi.CustomResourceOptions).additionalSecretOutputs);
          return undefined;
        };
      await pulumi.runtime.setMocks(
        {
          newResource: (a) => {
            registered.push({ type: a.type, name: a.name, custom: !!a.custom, inputs: a.inputs });
            const state: Props = { ...a.inputs };
            if (a.type.endsWith(":ReplicationSlot")) Object.assign(state, { retainedWalBytes: 0, active: false });
            if (a.type.endsWith(":DebeziumConnector")) Object.assign(state, { connectorState: "RUNNING", tasks: [], type: "source" });
            return { id: a.custom ? `${a.name}-id` : undefined, state };
          },
          call: () => ({}),
        },
        "project",
        "stack",
        false,
      );
      const { waitForRPCs } = require("@pulumi/pulumi/runtime/settings") as { waitForRPCs: () => Promise<void> };
      await pulumi.runtime.runInPulumiStack(async () => {
        pulumi.runtime.registerStackTransformation(capture(viaStack));
        const connection = { host: "db", database: "inventory", user: "admin", password: ADMIN_PW, sslMode: "verify-ca" as const, sslRootCert: "ca", sslCert: "cert", sslKey: KEY };
        const p = new CdcPipeline(
          "mocked",
          {
            source: connection,
            connectorSource: { host: "postgres", user: "dbz", password: DBZ_PW },
            connect: { url: "https://connect:8083", username: "u", password: CONNECT_PW, headers: { Authorization: `Bearer ${BEARER}`, "X-Token": HEADER_TOKEN }, tls: { key: CONNECT_KEY, cert: "c" } },
            tables: ["public.orders"],
            replicaIdentityFull: true,
            preflight: false,
          },
          { transformations: [capture(viaComponent)] },
        );
        const cs = `postgres://admin:${encodeURIComponent(CS_PW)}@db:5432/inventory`;
        // A pipeline whose source is a connection string, and whose Connect URL carries user:password.
        new CdcPipeline(
          "mocked-cs",
          { source: cs, connect: { url: `https://u:${encodeURIComponent(CONNECT_PW)}@connect:8083` }, tables: ["public.orders"], preflight: false },
          { transformations: [capture(viaComponent)] },
        );
        new Publication("pub-cs", { connectionString: cs, tables: ["public.orders"] }, { transformations: [capture(viaComponent)] });
        new ReplicationSlot("slot-cs", { connectionString: cs }, { transformations: [capture(viaComponent)] });
        new ReplicationGrant("grant-cs", { connectionString: cs, role: "dbz" }, { transformations: [capture(viaComponent)] });
        new ReplicaIdentity("ri-cs", { connectionString: cs, tables: ["public.orders"] }, { transformations: [capture(viaComponent)] });
        new DebeziumConnector(
          "connector-direct",
          { connect: { url: "https://connect:8083", headers: { Authorization: `Bearer ${BEARER}` }, tls: { key: CONNECT_KEY } }, config: { "connector.class": "x", "database.password": DBZ_PW } },
          { transformations: [capture(viaComponent)] },
        );
        return { state: p.connectorState };
      });
      await waitForRPCs();
      await eventually(() => dynamicOnes().length >= 14 || undefined, "every registration", 10000);
    });

    it("gives every dynamic resource the right additionalSecretOutputs (seen by a component transformation and a stack transformation)", () => {
      const dyn = dynamicOnes();
      assert.deepEqual([...new Set(dyn.map(className))].sort(), Object.keys(expected).sort());
      assert.equal(dyn.length, 16, "the two pipelines' six children each, plus four resources on their own");
      for (const r of dyn) {
        const key = `${r.type}::${r.name}`;
        for (const [via, map] of [
          ["component transformation", viaComponent],
          ["stack transformation", viaStack],
        ] as const) {
          assert.ok(map.has(key), `${via} saw ${key}`);
          assert.deepEqual([...(map.get(key) ?? [])].sort(), expected[className(r)], `${via}: ${key}`);
        }
      }
    });

    it("sends every credential-carrying input as a secret wrapper, and no credential outside one", () => {
      let checked = 0;
      for (const r of dynamicOnes()) {
        for (const [k, v] of Object.entries(r.inputs)) {
          if (k === "__provider") continue;
          const found = secretIn(JSON.stringify(unwrap(v)) ?? "");
          if (!found.length) continue;
          checked++;
          assert.ok(isSecretWrapper(v), `${r.name}.${k} carries a credential and is a secret wrapper`);
          assert.ok(expected[className(r)].includes(k), `${r.name}.${k} is in additionalSecretOutputs`);
        }
        assert.deepEqual(secretIn(nonSecretText(r.inputs)), [], `${r.name}: no credential outside secret wrappers`);
      }
      // Each of the 16 resources carries its connection (or connect/config/streaming) as a secret.
      assert.ok(checked >= 18, `credential-carrying inputs checked: ${checked}`);
      const direct = registered.find((r) => r.name === "connector-direct")!;
      assert.ok(isSecretWrapper(direct.inputs.connect) && isSecretWrapper(direct.inputs.config));
      const pipelineConnector = registered.find((r) => r.name === "mocked-connector")!;
      assert.ok(isSecretWrapper(pipelineConnector.inputs.streaming));
    });

    it("registers the CdcPipeline component (custom: false) with no credential in its inputs", () => {
      const components = registered.filter((r) => r.type === "postgres-cdc:index:CdcPipeline");
      assert.deepEqual(components.map((c) => c.name).sort(), ["mocked", "mocked-cs"], "both components were registered");
      for (const component of components) {
        assert.equal(component.custom, false);
        assert.deepEqual(secretIn(JSON.stringify(unwrap(component.inputs))), [], `${component.name}: no credential among the component inputs`);
        assert.ok(!JSON.stringify(component.inputs).includes(SECRET_SIG), `${component.name}: no secret at all among the component inputs`);
        assert.deepEqual(Object.keys(component.inputs).sort(), ["tables"], `${component.name}: only non-sensitive inputs`);
      }
    });

    it("serializes __provider as plain (not secret) text that captures no credential", () => {
      let sizes = 0;
      for (const r of dynamicOnes()) {
        const text = r.inputs.__provider;
        assert.equal(typeof text, "string", `${r.name}.__provider is plain text, not a secret wrapper`);
        assert.ok(!isSecretWrapper(text));
        assert.deepEqual(secretIn(text as string), [], `${r.name}.__provider captures no credential`);
        assert.match(text as string, /pulumi-postgres-cdc\/dist\/providers\//);
        sizes = Math.max(sizes, (text as string).length);
      }
      console.log(`      largest serialized __provider: ${sizes} characters`);
    });
  });
});
