import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import * as path from "node:path";
import { closeIdleSessions, postgresStats, withSession } from "#dist/postgres/connection.js";
import { postgresConnectionSchema, type PostgresConnection } from "#dist/validation/common.js";
import { pgMajors, sharedPostgres, type PgServer } from "../support/postgres";

const backendPid = (c: PostgresConnection) => withSession(c, "test", async (s) => Number((await s.query<{ pid: number }>("SELECT pg_backend_pid() AS pid"))[0].pid));

const majors = pgMajors();
const major = majors[majors.length - 1];

describe(`session reuse across operations on PostgreSQL ${major} @pg`, function () {
  this.timeout(60000);
  let pg: PgServer;
  let conn: PostgresConnection;
  const saved = process.env.PULUMI_POSTGRES_CDC_SESSION_IDLE_MS;

  before(async () => {
    pg = await sharedPostgres(major);
    conn = postgresConnectionSchema.parse(pg.connection(await pg.createDatabase("reuse")));
  });
  afterEach(async () => {
    if (saved === undefined) delete process.env.PULUMI_POSTGRES_CDC_SESSION_IDLE_MS;
    else process.env.PULUMI_POSTGRES_CDC_SESSION_IDLE_MS = saved;
    await closeIdleSessions();
  });

  it("operations one after another share one connection and read the server version once", async () => {
    const c0 = postgresStats.connections;
    const s0 = postgresStats.statements;
    const first = await backendPid(conn);
    const second = await backendPid(conn);
    const third = await withSession(conn, "test", async (s) => {
      assert.equal(s.major, major, "the version known from the first session");
      return Number((await s.query<{ pid: number }>("SELECT pg_backend_pid() AS pid"))[0].pid);
    });
    assert.equal(second, first);
    assert.equal(third, first);
    assert.equal(postgresStats.connections - c0, 1);
    assert.equal(postgresStats.statements - s0, 3, "one statement per operation (the version query belongs to opening the connection)");
  });

  it("other settings (another user or database) get their own connection", async () => {
    const a = await backendPid(conn);
    const b = await backendPid({ ...conn, database: "postgres" });
    assert.notEqual(a, b);
    assert.equal(await backendPid(conn), a);
  });

  it("a session the server ended while it waited is replaced without an error", async () => {
    const first = await backendPid(conn);
    await pg.query("SELECT pg_terminate_backend($1)", [first]);
    const second = await backendPid(conn);
    assert.notEqual(second, first);
    // Terminated with the error event not yet seen: the first statement fails before reaching the server and runs again.
    await pg.query("SELECT pg_terminate_backend($1)", [second]);
    const third = await withSession(conn, "test", async (s) => Number((await s.query<{ pid: number }>("SELECT pg_backend_pid() AS pid"))[0].pid));
    assert.ok(third !== second && third !== first);
  });

  it("a session left in a transaction or by a failed operation is closed, not reused", async () => {
    const inTx = await withSession(conn, "test", async (s) => {
      await s.query("BEGIN");
      return Number((await s.query<{ pid: number }>("SELECT pg_backend_pid() AS pid"))[0].pid);
    });
    const next = await backendPid(conn);
    assert.notEqual(next, inTx, "the session inside a transaction was not handed out again");
    await assert.rejects(
      withSession(conn, "test", async (s) => {
        await s.query("SELECT 1/0");
      }),
      /test: PostgreSQL said: division by zero \(SQLSTATE 22012\)/,
    );
    const after = await backendPid(conn);
    assert.notEqual(after, next, "the session of the failed operation was closed");
    const open = await pg.query<{ n: string }>("SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = 'pulumi-postgres-cdc' AND pid IN ($1, $2)", [inTx, next]);
    assert.equal(Number(open[0].n), 0, "both closed on the server");
  });

  it("PULUMI_POSTGRES_CDC_SESSION_IDLE_MS=0 closes each session when its operation ends; an idle session closes after the idle time", async () => {
    process.env.PULUMI_POSTGRES_CDC_SESSION_IDLE_MS = "0";
    const a = await backendPid(conn);
    assert.notEqual(await backendPid(conn), a);
    process.env.PULUMI_POSTGRES_CDC_SESSION_IDLE_MS = "200";
    const b = await backendPid(conn);
    await new Promise((r) => setTimeout(r, 600));
    const left = await pg.query<{ n: string }>("SELECT count(*) AS n FROM pg_stat_activity WHERE pid = $1", [b]);
    assert.equal(Number(left[0].n), 0, "closed after 200 ms idle");
  });

  it("an idle session does not keep the process alive", async () => {
    const module = path.resolve(__dirname, "../../../dist/postgres/connection.js");
    const script = `const { withSession } = require(${JSON.stringify(module)});
      withSession(${JSON.stringify(conn)}, "child", (s) => s.query("SELECT 1")).then(() => console.log("done"));`;
    const child = spawn(process.execPath, ["-e", script], { env: { ...process.env, PULUMI_POSTGRES_CDC_SESSION_IDLE_MS: "60000" }, stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (d) => (out += String(d)));
    const started = Date.now();
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => child.kill("SIGKILL"), 20000);
      child.on("exit", (c) => (clearTimeout(timer), resolve(c)));
    });
    assert.equal(out.trim(), "done");
    assert.equal(code, 0, "exited by itself");
    assert.ok(Date.now() - started < 20000, "well before the 60 s idle time");
  });
});
