import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import { makeCertAuthority } from "../support/certs";
import { pgMajors, sharedPostgres, startPostgres } from "../support/postgres";

for (const major of pgMajors()) {
  describe(`test bed on PostgreSQL ${major} @pg`, () => {
    it("runs the requested major with logical decoding on", async () => {
      const pg = await sharedPostgres(major);
      const [row] = await pg.query<{ v: string; wal: string }>("SELECT current_setting('server_version_num') AS v, current_setting('wal_level') AS wal");
      assert.equal(Math.floor(Number(row.v) / 10000), major);
      assert.equal(row.wal, "logical");
    });

    it("creates isolated databases", async () => {
      const pg = await sharedPostgres(major);
      const db = await pg.createDatabase();
      await pg.query("CREATE TABLE t (id int primary key)", [], db);
      const rows = await pg.query("SELECT count(*)::int AS n FROM t", [], db);
      assert.deepEqual(rows, [{ n: 0 }]);
    });
  });
}

describe("test bed TLS server @pg", () => {
  it("serves TLS with a client-certificate rule and removes its directory on destroy", async function () {
    this.timeout(60000);
    const major = pgMajors()[pgMajors().length - 1];
    const ca = makeCertAuthority();
    const server = ca.issue("localhost", { dns: ["localhost"], ips: ["127.0.0.1"] });
    const pg = await startPostgres({
      major,
      ssl: { caPem: ca.caPem, serverCertPem: server.certPem, serverKeyPem: server.keyPem },
      hba: ["hostssl all certuser 127.0.0.1/32 cert"],
    });
    try {
      const rows = await pg.query<{ ssl: string }>("SHOW ssl");
      assert.equal(rows[0].ssl, "on");
    } finally {
      await pg.destroy();
    }
    assert.equal(fs.existsSync(pg.dataDir), false);
  });
});
