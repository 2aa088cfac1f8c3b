import { strict as assert } from "node:assert";
import { withSession } from "#dist/postgres/connection.js";
import { resolveConnection } from "#dist/validation/connection.js";
import type { PostgresConnectionInput } from "#dist/validation/common.js";
import { makeCertAuthority, type CertAuthority } from "../support/certs";
import { freePort, pgMajors, sharedPostgres, startPostgres, type PgServer } from "../support/postgres";

const PASSWORD = "tls-user-pw-7f3q";
const ODD_PASSWORD = "p@ss:w/rd%20#?&=é";

/** Connects like a provider does (validation, then withSession) and reports whether TLS is in use. */
async function sslInUse(fields: PostgresConnectionInput | { connectionString: string; connection?: Partial<PostgresConnectionInput> }): Promise<boolean> {
  const props = "connectionString" in fields ? (fields as { connectionString: string; connection?: PostgresConnectionInput }) : { connection: fields };
  const conn = resolveConnection(props, "test");
  return withSession(conn, "test", async (s) => {
    const [row] = await s.query<{ ssl: boolean }>("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()");
    return row.ssl;
  });
}

async function failure(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return (err as Error).message;
  }
  assert.fail("expected the connection to fail");
}

function assertNoSecrets(message: string, ...secrets: string[]): void {
  assert.doesNotMatch(message, /PRIVATE KEY/);
  for (const s of secrets) assert.ok(!message.includes(s), `message leaks a secret: ${message}`);
}

// TLS behaviour lives in the client: run it against the oldest and newest major of the run.
const majors = pgMajors();
const tlsMajors = [...new Set([majors[0], majors[majors.length - 1]])];

for (const major of tlsMajors) {
  describe(`PostgreSQL connections and TLS on PostgreSQL ${major} @pg`, function () {
    this.timeout(120000);
    let ca: CertAuthority;
    let otherCa: CertAuthority;
    let tlsServer: PgServer; // certificate for localhost and 127.0.0.1
    let wrongNameServer: PgServer; // certificate for db.other.example only
    let plain: PgServer; // no TLS
    let client: { certPem: string; keyPem: string };
    let base: (over?: Partial<PostgresConnectionInput>) => PostgresConnectionInput;

    before(async () => {
      ca = makeCertAuthority();
      otherCa = makeCertAuthority("other-ca");
      const cert = ca.issue("localhost", { dns: ["localhost"], ips: ["127.0.0.1"] });
      const wrong = ca.issue("db.other.example", { dns: ["db.other.example"] });
      client = ca.issue("certuser");
      const hba = [
        "hostssl all certuser 127.0.0.1/32 cert",
        "hostnossl all certuser 127.0.0.1/32 reject",
        "hostnossl all tlsonly 127.0.0.1/32 reject",
      ];
      [tlsServer, wrongNameServer, plain] = await Promise.all([
        startPostgres({ major, ssl: { caPem: ca.caPem, serverCertPem: cert.certPem, serverKeyPem: cert.keyPem }, hba }),
        startPostgres({ major, ssl: { caPem: ca.caPem, serverCertPem: wrong.certPem, serverKeyPem: wrong.keyPem } }),
        sharedPostgres(major),
      ]);
      await tlsServer.query(`CREATE ROLE tlsonly LOGIN PASSWORD '${PASSWORD}'; CREATE ROLE certuser LOGIN;`);
      await tlsServer.query(`CREATE ROLE oddpw LOGIN PASSWORD '${ODD_PASSWORD.replace(/'/g, "''")}'`);
      base = (over = {}) => ({ host: "127.0.0.1", port: tlsServer.port, database: "postgres", user: "tlsonly", password: PASSWORD, ...over });
    });

    after(async () => {
      await Promise.all([tlsServer?.destroy(), wrongNameServer?.destroy()]);
    });

    it("disable: refused where pg_hba.conf requires TLS, with a message that says to use TLS", async () => {
      const msg = await failure(sslInUse(base({ sslMode: "disable" })));
      assert.match(msg, /test: cannot connect to PostgreSQL at tlsonly@127\.0\.0\.1:\d+\/postgres \(sslMode disable\)/);
      assert.match(msg, /pg_hba\.conf rejects connection .* (no encryption|SSL off)/);
      assert.match(msg, /Next: .*sslMode "require"/);
      assertNoSecrets(msg, PASSWORD);
      // ... and works without TLS where allowed.
      assert.equal(await sslInUse(base({ sslMode: "disable", user: "postgres", password: tlsServer.superPassword })), false);
    });

    it("prefer (the default): uses TLS when the server offers it, falls back on a server without TLS", async () => {
      assert.equal(await sslInUse(base({ sslMode: undefined })), true);
      assert.equal(await sslInUse(base({ sslMode: "prefer" })), true);
      assert.equal(await sslInUse({ ...plain.connection(), sslMode: "prefer" }), false);
    });

    it("require: encrypts without verifying; fails on a server without TLS, saying so", async () => {
      assert.equal(await sslInUse(base({ sslMode: "require" })), true);
      assert.equal(await sslInUse({ ...base({ sslMode: "require" }), port: wrongNameServer.port, user: "postgres", password: wrongNameServer.superPassword }), true);
      const msg = await failure(sslInUse({ ...plain.connection(), sslMode: "require" }));
      assert.match(msg, /does not support SSL/);
      assert.match(msg, /Next: the server has TLS turned off/);
      assertNoSecrets(msg, plain.superPassword);
    });

    it("require with sslRootCert verifies the CA, as libpq does", async () => {
      assert.equal(await sslInUse(base({ sslMode: "require", sslRootCert: ca.caPem })), true);
      const msg = await failure(sslInUse(base({ sslMode: "require", sslRootCert: otherCa.caPem })));
      assert.match(msg, /Next: check sslRootCert/);
    });

    it("verify-ca: the right CA connects (whatever the host name); a wrong CA fails clearly", async () => {
      assert.equal(await sslInUse(base({ sslMode: "verify-ca", sslRootCert: ca.caPem })), true);
      assert.equal(
        await sslInUse({ ...base({ sslMode: "verify-ca", sslRootCert: ca.caPem }), port: wrongNameServer.port, user: "postgres", password: wrongNameServer.superPassword }),
        true,
      );
      const msg = await failure(sslInUse(base({ sslMode: "verify-ca", sslRootCert: otherCa.caPem })));
      assert.match(msg, /\(sslMode verify-ca\): .*(self[- ]signed|unable to verify|certificate)/i);
      assert.match(msg, /Next: check sslRootCert \(the CA that signed the server certificate\)/);
      assertNoSecrets(msg, PASSWORD);
    });

    it("verify-full: localhost and 127.0.0.1 match the certificate; a certificate for another name fails clearly", async () => {
      assert.equal(await sslInUse(base({ sslMode: "verify-full", sslRootCert: ca.caPem, host: "localhost" })), true);
      assert.equal(await sslInUse(base({ sslMode: "verify-full", sslRootCert: ca.caPem, host: "127.0.0.1" })), true);
      const wrong = { host: "localhost", port: wrongNameServer.port, database: "postgres", user: "postgres", password: wrongNameServer.superPassword };
      const msg = await failure(sslInUse({ ...wrong, sslMode: "verify-full", sslRootCert: ca.caPem }));
      assert.match(msg, /\(sslMode verify-full\): .*(Hostname|altnames|does not match)/i);
      assert.match(msg, /the host name matches the certificate/);
      assertNoSecrets(msg, wrongNameServer.superPassword);
      const byIp = await failure(sslInUse({ ...wrong, host: "127.0.0.1", sslMode: "verify-full", sslRootCert: ca.caPem }));
      assert.match(byIp, /(IP|altnames|does not match)/i);
    });

    it("client certificate: the cert user connects with sslCert/sslKey and is rejected without them", async () => {
      const certUser = { host: "localhost", port: tlsServer.port, database: "postgres", user: "certuser" };
      assert.equal(await sslInUse({ ...certUser, sslMode: "verify-full", sslRootCert: ca.caPem, sslCert: client.certPem, sslKey: client.keyPem }), true);
      assert.equal(await sslInUse({ ...certUser, sslMode: "require", sslCert: client.certPem, sslKey: client.keyPem }), true);
      const noCert = await failure(sslInUse({ ...certUser, sslMode: "require" }));
      assert.match(noCert, /certificate/i);
      assert.match(noCert, /Next: give sslCert and sslKey/);
      // A certificate issued by another CA: rejected, and the key never appears in the message.
      const stranger = otherCa.issue("certuser");
      // Repeated: pg's end() after this failed handshake used to hang now and then.
      for (let i = 0; i < 5; i++) {
        const t0 = Date.now();
        const wrongCert = await failure(sslInUse({ ...certUser, sslMode: "require", sslCert: stranger.certPem, sslKey: stranger.keyPem }));
        assert.ok(Date.now() - t0 < 5000, `took ${Date.now() - t0} ms`);
        assert.match(wrongCert, /alert unknown ca/);
        assert.match(wrongCert, /Next: the server rejected the client certificate/);
        assertNoSecrets(wrongCert, stranger.keyPem, stranger.keyPem.split("\n")[1]);
      }
      const noTls = await failure(sslInUse({ ...certUser, sslMode: "disable" }));
      assert.match(noTls, /rejects connection .* (no encryption|SSL off)/);
    });

    it("connection strings: percent-encoded passwords, sslmode, and discrete fields that override", async () => {
      const enc = encodeURIComponent(ODD_PASSWORD);
      const url = `postgres://oddpw:${enc}@127.0.0.1:${tlsServer.port}/postgres?sslmode=require`;
      assert.equal(await sslInUse({ connectionString: url }), true);
      assert.equal(await sslInUse({ connectionString: url.replace("sslmode=require", "sslmode=disable") }), false);
      // Discrete fields override the string's: here the password and the TLS mode.
      const wrongPw = `postgres://oddpw:nope@127.0.0.1:${tlsServer.port}/postgres?sslmode=disable`;
      assert.equal(await sslInUse({ connectionString: wrongPw, connection: { password: ODD_PASSWORD, sslMode: "verify-full", sslRootCert: ca.caPem, host: "localhost" } as PostgresConnectionInput }), true);
    });

    it("wrong password: says to check user and password, and never shows the password", async () => {
      const secret = "wrong-pw-Zx81";
      const msg = await failure(sslInUse(base({ password: secret })));
      assert.match(msg, /password authentication failed for user "tlsonly"/);
      assert.match(msg, /SQLSTATE 28P01/);
      assert.match(msg, /Next: check the user name and password/);
      assertNoSecrets(msg, secret, encodeURIComponent(secret));
      const viaUrl = await failure(sslInUse({ connectionString: `postgres://oddpw:${encodeURIComponent(secret + "/x")}@127.0.0.1:${tlsServer.port}/postgres` }));
      assertNoSecrets(viaUrl, secret + "/x", encodeURIComponent(secret + "/x"));
    });

    it("wrong database and refused port: the message says what to do", async () => {
      const db = await failure(sslInUse(base({ database: "no_such_db" })));
      assert.match(db, /database "no_such_db" does not exist/);
      assert.match(db, /Next: create database "no_such_db" or fix the database name/);
      const port = await freePort();
      const refused = await failure(sslInUse(base({ port })));
      assert.match(refused, /ECONNREFUSED/);
      assert.match(refused, /Next: check that PostgreSQL is running and listening on that host and port/);
      assertNoSecrets(refused, PASSWORD);
    });
  });
}

describe("PostgreSQL connection validation (before any connection)", () => {
  const ok = { host: "db.example", database: "app", user: "u", password: "pw-secret-xyz" };
  const err = (props: Parameters<typeof resolveConnection>[0]) => {
    try {
      resolveConnection(props, 'Publication "p"');
    } catch (e) {
      return (e as Error).message;
    }
    return assert.fail("expected a validation error");
  };

  it("rejects ports out of range and non-numeric ports", () => {
    assert.match(err({ connection: { ...ok, port: 0 } }), /Publication "p": invalid connection:\n {2}- connection\.port: port must be between 1 and 65535/);
    assert.match(err({ connection: { ...ok, port: 70000 } }), /port must be between 1 and 65535/);
    assert.match(err({ connection: { ...ok, port: 5432.5 } }), /port must be a whole number/);
    assert.match(err({ connectionString: "postgres://u:pw@db.example:99999/app" }), /not a valid URL|port/);
  });

  it("rejects verify-ca / verify-full without a CA, and sslCert without sslKey (and the reverse)", () => {
    assert.match(err({ connection: { ...ok, sslMode: "verify-ca" } }), /connection\.sslRootCert: sslMode verify-ca and verify-full need sslRootCert/);
    assert.match(err({ connection: { ...ok, sslMode: "verify-full" } }), /need sslRootCert/);
    assert.match(err({ connectionString: "postgres://u@db.example/app?sslmode=verify-full" }), /need sslRootCert/);
    assert.match(err({ connection: { ...ok, sslCert: "-----BEGIN CERTIFICATE-----" } }), /sslCert and sslKey go together/);
    const keyOnly = err({ connection: { ...ok, sslKey: "-----BEGIN PRIVATE KEY-----\nMIIsecretkeybytes\n-----END PRIVATE KEY-----" } });
    assert.match(keyOnly, /sslCert and sslKey go together/);
    assertNoSecrets(keyOnly, "MIIsecretkeybytes", "pw-secret-xyz");
    assert.match(err({ connection: { ...ok, sslMode: "sometimes" as "require" } }), /sslMode must be one of disable, prefer, require, verify-ca, verify-full/);
  });

  it("rejects bad connection strings without echoing them", () => {
    const a = err({ connectionString: "mysql://u:pw-secret-xyz@h/db" });
    assert.match(a, /must start with postgres:\/\/ or postgresql:\/\//);
    assertNoSecrets(a, "pw-secret-xyz");
    const b = err({ connectionString: "not a url pw-secret-xyz" });
    assert.match(b, /not a valid URL; expected postgres:\/\/user:password@host:5432\/database/);
    assertNoSecrets(b, "pw-secret-xyz");
    assert.match(err({}), /give either connection .* or connectionString/);
  });

  it("parses percent-encoded user, password and database, IPv6 hosts, default port and sslmode", () => {
    const c = resolveConnection({ connectionString: "postgresql://us%40er:p%40ss%3Aw%2Frd%25@[::1]/my%20db?sslmode=require" }, "x");
    assert.deepEqual(
      { host: c.host, port: c.port, database: c.database, user: c.user, password: c.password, sslMode: c.sslMode },
      { host: "::1", port: 5432, database: "my db", user: "us@er", password: "p@ss:w/rd%", sslMode: "require" },
    );
    const d = resolveConnection({ connectionString: "postgres://u:pw@h:6543/db", connection: { port: 7000, user: "v" } as PostgresConnectionInput }, "x");
    assert.deepEqual([d.host, d.port, d.user, d.password, d.sslMode], ["h", 7000, "v", "pw", "prefer"]);
  });
});
