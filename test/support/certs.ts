/**
 * Test certificates made with openssl: a CA, a server certificate for
 * localhost/127.0.0.1, client certificates for named users, and an unrelated
 * CA for wrong-CA tests. Everything is PEM text; files live in a temporary
 * directory removed at exit.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export interface CertAuthority {
  caPem: string;
  caKeyPem: string;
  /** Issues a certificate; for a client certificate use the PostgreSQL role name as common name. */
  issue(commonName: string, opts?: { dns?: string[]; ips?: string[] }): { certPem: string; keyPem: string };
}

const dirs: string[] = [];
process.on("exit", () => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

function openssl(args: string[], cwd: string): void {
  execFileSync("openssl", args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
}

export function makeCertAuthority(name = "cdc-test-ca"): CertAuthority {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cdc-certs-"));
  dirs.push(dir);
  openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", `/CN=${name}`], dir);
  const caPem = fs.readFileSync(path.join(dir, "ca.crt"), "utf8");
  const caKeyPem = fs.readFileSync(path.join(dir, "ca.key"), "utf8");
  let serial = 0;
  return {
    caPem,
    caKeyPem,
    issue(commonName, opts = {}) {
      const id = `c${++serial}`;
      openssl(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", `${id}.key`, "-out", `${id}.csr`, "-subj", `/CN=${commonName}`], dir);
      const san = [...(opts.dns ?? []).map((d) => `DNS:${d}`), ...(opts.ips ?? []).map((i) => `IP:${i}`)];
      const ext = path.join(dir, `${id}.ext`);
      fs.writeFileSync(ext, san.length ? `subjectAltName=${san.join(",")}\n` : "basicConstraints=CA:FALSE\n");
      openssl(["x509", "-req", "-in", `${id}.csr`, "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", `${id}.crt`, "-days", "2", "-extfile", ext], dir);
      return {
        certPem: fs.readFileSync(path.join(dir, `${id}.crt`), "utf8"),
        keyPem: fs.readFileSync(path.join(dir, `${id}.key`), "utf8"),
      };
    },
  };
}
