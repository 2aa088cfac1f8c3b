/**
 * DebeziumConnector through the serialized provider: bad input, transport
 * failures (unreachable Connect, wrong credentials, TLS), and Connect's
 * transient faults, against the Kafka Connect double with basic and bearer
 * auth and a Debezium connector streaming from real PostgreSQL that every
 * failure must leave as it was.
 */
import { strict as assert } from "node:assert";
import type * as dynamic from "@pulumi/pulumi/dynamic";
import { providerStub } from "#dist/providers/stub.js";
import { makeCertAuthority } from "../support/certs";
import type { ConnectDouble } from "../support/connect-double/server";
import { setupDebeziumDatabase, startDebeziumDouble, type DebeziumDatabase } from "../support/debezium-fixture";
import { HostedResource, hostedProvider } from "../support/dynamic-host";
import { freePort, pgMajors, sharedPostgres, uniqueName } from "../support/postgres";

type Inputs = Record<string, unknown>;

const CONNECT_USER = "connect-admin";
const CONNECT_PASSWORD = "Connect-basic-pw-5150";
const BEARER = "bearer-token-8c1e5d0a9f";
const WRONG_CONNECT_PASSWORD = "Wrong-connect-pw-3344";
const WRONG_BEARER = "wrong-bearer-7b2d";
const NOOP_CLASS = "org.example.connect.NoopSourceConnector";

let hosted: { provider: dynamic.ResourceProvider; text: string };

for (const major of pgMajors()) {
  describe(`DebeziumConnector bad input, transport and faults on PostgreSQL ${major} @pg`, function () {
    this.timeout(60000);
    let dbz: DebeziumDatabase;
    let double: ConnectDouble;
    let steady: HostedResource<Inputs>;
    let steadyName: string;
    let steadySlot: string;
    let steadyInputs: Inputs;
    let steadyConfig: Record<string, string>;
    const messages: string[] = [];
    const auth = { authorization: `Basic ${Buffer.from(`${CONNECT_USER}:${CONNECT_PASSWORD}`).toString("base64")}` };
    const connect = () => ({ url: double.url, username: CONNECT_USER, password: CONNECT_PASSWORD });
    const resource = () => new HostedResource<Inputs>(hosted.provider, hosted.text);
    const get = async <T>(path: string) => (await (await fetch(`${double.url}${path}`, { headers: auth })).json()) as T;
    const rejects = async (p: Promise<unknown>, ...patterns: RegExp[]): Promise<string> => {
      let message = "";
      await assert.rejects(p, (err: Error) => {
        message = err.message;
        return true;
      });
      messages.push(message);
      for (const re of patterns) assert.match(message, re);
      return message;
    };
    /** The steady connector is as it was: same names on the cluster, same config, RUNNING and streaming. */
    const assertSteady = async (names: string[] = [steadyName]) => {
      assert.deepEqual(double.connectorNames().sort(), [...names].sort());
      assert.deepEqual(await get(`/connectors/${steadyName}/config`), steadyConfig);
      const s = await get<{ connector: { state: string }; tasks: Array<{ state: string }> }>(`/connectors/${steadyName}/status`);
      assert.equal(s.connector.state, "RUNNING");
      assert.deepEqual(s.tasks.map((t) => t.state), ["RUNNING"]);
      assert.equal((await dbz.slot(steadySlot))?.application_name, "Debezium Streaming");
    };
    const writes = () => double.requests.filter((r) => r.method !== "GET" && !r.path.includes("/validate")).length;

    before(async () => {
      hosted ??= await hostedProvider(providerStub("debezium-connector"));
      const pg = await sharedPostgres(major);
      dbz = await setupDebeziumDatabase(pg, "dbzerr");
      double = await startDebeziumDouble({ auth: { basic: { username: CONNECT_USER, password: CONNECT_PASSWORD }, bearer: BEARER } });
      steadySlot = await dbz.createSlot();
      steadyName = uniqueName("steady");
      steadyInputs = { connect: connect(), name: steadyName, config: dbz.connectorConfig(steadySlot), streaming: { connection: dbz.connection(), slotName: steadySlot, timeoutSeconds: 20 } };
      steady = resource();
      await steady.create(steadyInputs);
      steadyConfig = await get(`/connectors/${steadyName}/config`);
    });

    after(async () => {
      await double?.close();
      await dbz?.dropSlots();
    });

    it("check rejects bad input with a clear message before any request, leaving the running connector as it was", async () => {
      const requests = double.requests.length;
      const outs = steady.outs;
      const config = steadyInputs.config as Record<string, unknown>;
      const { ["connector.class"]: _class, ...noClass } = config;
      await rejects(steady.up({ ...steadyInputs, config: noClass }), /config: config needs "connector\.class"/);
      await rejects(resource().create({ ...steadyInputs, name: "orders\u0007cdc" }), /name: the connector name must not contain control characters/);
      await rejects(steady.up({ ...steadyInputs, config: { ...config, name: "someone_else" } }), /config\.name is "someone_else" but the connector name is "steady_/, /remove config\.name or make them equal/);
      await rejects(
        steady.up({ ...steadyInputs, connect: { url: "http://connect.example.com:8083", username: CONNECT_USER, password: CONNECT_PASSWORD } }),
        /credentials would be sent in clear text to connect\.example\.com:8083; use an https:\/\/ url/,
      );
      await rejects(
        resource().create({ ...steadyInputs, name: uniqueName("plainbearer"), connect: { url: "http://10.1.2.3:8083", headers: { Authorization: `Bearer ${BEARER}` } } }),
        /clear text to 10\.1\.2\.3:8083; use an https:\/\/ url/,
      );
      await rejects(steady.up({ ...steadyInputs, connect: { ...connect(), tls: { ca: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n" } } }), /tls settings are given but the url is http:\/\/; use https:\/\//);
      assert.equal(double.requests.length, requests, "check made no request");
      assert.equal(steady.outs, outs);
      await assertSteady();
    });

    it("an unknown connector class gets Connect's 500 with what to do, and changes nothing", async () => {
      const before = writes();
      const config = { ...(steadyInputs.config as Record<string, unknown>), "connector.class": "org.example.NoSuchConnector" };
      await rejects(steady.up({ ...steadyInputs, config }), /HTTP 500/, /Failed to find any class that implements Connector and which name matches org\.example\.NoSuchConnector/, /Install the connector plugin/);
      await rejects(resource().create({ ...steadyInputs, name: uniqueName("noclass"), config }), /Failed to find any class/);
      assert.equal(writes(), before, "no write");
      await assertSteady();
    });

    it("an unreachable Connect URL fails fast with a clear message", async () => {
      const port = await freePort();
      const started = Date.now();
      await rejects(
        resource().create({ ...steadyInputs, name: uniqueName("nowhere"), connect: { url: `http://127.0.0.1:${port}`, requestTimeoutMs: 2000 } }),
        new RegExp(`Nothing accepts connections at http://127\\.0\\.0\\.1:${port}`),
      );
      const took = Date.now() - started;
      assert.ok(took < 10000, `took ${took} ms`);
      await assertSteady();
    });

    it("wrong basic-auth credentials or bearer token: 401, without the password or token in the error", async () => {
      const before = writes();
      const wrongBasic = { ...connect(), password: WRONG_CONNECT_PASSWORD };
      const m1 = await rejects(steady.up({ ...steadyInputs, connect: wrongBasic, config: { ...(steadyInputs.config as object), "snapshot.mode": "no_data" } }), /HTTP 401/, /Check the Connect credentials/);
      const m2 = await rejects(resource().create({ ...steadyInputs, name: uniqueName("wrongbearer"), connect: { url: double.url, headers: { Authorization: `Bearer ${WRONG_BEARER}` } } }), /HTTP 401/);
      for (const m of [m1, m2]) assert.ok(!m.includes(WRONG_CONNECT_PASSWORD) && !m.includes(WRONG_BEARER) && !m.includes(CONNECT_PASSWORD), m);
      assert.equal(writes(), before);
      await assertSteady();
      // The right bearer token works (and is never echoed either).
      const name = uniqueName("bearer");
      const r = resource();
      const outs = await r.create({ connect: { url: double.url, headers: { Authorization: `Bearer ${BEARER}` } }, name, config: { "connector.class": NOOP_CLASS, "noop.secret": "noop-secret-value" } });
      assert.equal(outs.connectorState, "RUNNING");
      await r.delete();
      await assertSteady();
    });

    it("three 409s on writes still create exactly one connector; a dropped answer after POST or PUT ends with one connector and no error", async () => {
      const from = double.requests.length;
      double.injectFaults({ kind: "conflict", count: 3 });
      const a = resource();
      const nameA = uniqueName("conflict");
      const outs = await a.create({ connect: connect(), name: nameA, config: { "connector.class": NOOP_CLASS, "tasks.max": 2 } });
      assert.equal(outs.connectorState, "RUNNING");
      assert.equal(double.requests.slice(from).filter((r) => r.fault === "conflict").length, 3);
      assert.equal(double.requests.slice(from).filter((r) => r.method === "POST" && r.path === "/connectors" && r.status === 201).length, 1);
      assert.equal(double.connectorNames().filter((n) => n === nameA).length, 1);

      double.injectFaults({ kind: "drop-after", method: "POST", path: /^\/connectors$/ });
      const b = resource();
      const nameB = uniqueName("dropped");
      const outsB = await b.create({ connect: connect(), name: nameB, config: { "connector.class": NOOP_CLASS } });
      assert.equal(outsB.connectorState, "RUNNING");
      assert.ok(double.requests.some((r) => r.fault === "drop-after"));
      assert.deepEqual(double.connectorNames().sort(), [steadyName, nameA, nameB].sort());

      double.injectFaults({ kind: "drop-after", method: "PUT", path: new RegExp(`^/connectors/${nameB}/config$`) });
      const up = await b.up({ connect: connect(), name: nameB, config: { "connector.class": NOOP_CLASS, "noop.topic": "moved" } });
      assert.equal(up.action, "update");
      assert.equal(double.requests.filter((r) => r.fault === "drop-after").length, 2);
      assert.equal((await get<Record<string, string>>(`/connectors/${nameB}/config`))["noop.topic"], "moved");
      double.clearFaults();
      await a.delete();
      await b.delete();
      await assertSteady();
    });

    it("mutual TLS: works with the right client certificate, fails clearly with a wrong one", async () => {
      const ca = makeCertAuthority("connect-ca");
      const server = ca.issue("localhost", { dns: ["localhost"], ips: ["127.0.0.1"] });
      const client = ca.issue("connect-client");
      const stranger = makeCertAuthority("stranger-ca").issue("connect-client");
      const tlsDouble = await startDebeziumDouble({ tls: { cert: server.certPem, key: server.keyPem, ca: ca.caPem, requestCert: true } });
      try {
        const name = uniqueName("mtls");
        const r = resource();
        const news = { connect: { url: tlsDouble.url, tls: { ca: ca.caPem, cert: client.certPem, key: client.keyPem } }, name, config: { "connector.class": NOOP_CLASS } };
        const outs = await r.create(news);
        assert.equal(outs.connectorState, "RUNNING");
        assert.deepEqual(tlsDouble.connectorNames(), [name]);
        const started = Date.now();
        const msg = await rejects(
          resource().create({ ...news, name: uniqueName("wrongcert"), connect: { url: tlsDouble.url, requestTimeoutMs: 2000, tls: { ca: ca.caPem, cert: stranger.certPem, key: stranger.keyPem } } }),
          /client certificate|tls\.cert/,
        );
        assert.ok(Date.now() - started < 15000, `took ${Date.now() - started} ms`);
        assert.ok(!msg.includes(stranger.keyPem.split("\n")[1]), "no key material in the error");
        assert.deepEqual(tlsDouble.connectorNames(), [name]);
        await r.delete();
        assert.deepEqual(tlsDouble.connectorNames(), []);
      } finally {
        await tlsDouble.close();
      }
    });

    it("no password or token appears in any error message of this file", () => {
      if (process.env.SHOW_ERRORS) for (const m of messages) console.log(`---\n${m}`);
      const secrets = [dbz.password, CONNECT_PASSWORD, BEARER, WRONG_CONNECT_PASSWORD, WRONG_BEARER, Buffer.from(`${CONNECT_USER}:${CONNECT_PASSWORD}`).toString("base64")];
      assert.ok(messages.length >= 12, `collected ${messages.length} error messages`);
      for (const m of messages) for (const s of secrets) assert.ok(!m.includes(s), `a secret leaked into: ${m}`);
    });
  });
}
