/**
 * The "no lost change" proof for a table added to a running pipeline: a
 * writer inserts continuously into a captured table and into the table being
 * added while the real Pulumi CLI runs `pulumi up` with the longer table list.
 * Every row written after the up began must arrive on its topic (duplicates
 * allowed: Debezium is at-least-once), and every row that was in the added
 * table before must arrive through the incremental snapshot. Then the table
 * is removed again: its changes stop, and the captured table is not read
 * again. One run is one add and one remove; runs can follow one another in
 * the same project (each uses its own id range).
 */
import type { ConnectTarget } from "./connect-target";
import type { PgServer } from "./postgres";
import { cliProject, type CliProject } from "./real-engine";

/** The program: one CdcPipeline whose table list comes from stack config. */
export const WRITER_PROGRAM = `
import * as pulumi from "@pulumi/pulumi";
import { CdcPipeline } from "pulumi-postgres-cdc";

const config = new pulumi.Config();
const pipeline = new CdcPipeline("writer", {
  source: {
    host: "127.0.0.1",
    port: config.requireNumber("pgPort"),
    database: config.require("pgDatabase"),
    user: "postgres",
    password: config.requireSecret("pgPassword"),
    sslMode: "disable",
  },
  connect: { url: config.require("connectUrl") },
  tables: config.require("tables").split(","),
  topicPrefix: config.require("topicPrefix"),
  onTablesAdded: (config.get("onTablesAdded") ?? "snapshot") as "snapshot" | "stream-only",
  readyTimeoutSeconds: 120,
});
export const connectorName = pipeline.connectorName;
export const connectorState = pipeline.connectorState;
`;

export interface WriterRun {
  run: number;
  /** Rows in the added table before the up began (must arrive by snapshot). */
  existing: number;
  /** Rows written into each table while the up ran. */
  writtenCaptured: number;
  writtenAdded: number;
  lostCaptured: number[];
  lostAdded: number[];
  /** Events beyond one per row, both tables (at-least-once). */
  duplicated: number;
  total: number;
  upSeconds: number;
  /** After the table was removed: a row written to it that still arrived (must be false). */
  removedStillCaptured: boolean;
  /** Snapshot (op "r") events of the captured table during the run (must be 0: it is not read again). */
  capturedResnapshotted: number;
}

export interface WriterScenario {
  readonly project: CliProject;
  run(n: number): Promise<WriterRun>;
  close(): Promise<void>;
}

const RANGE = 1_000_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Sets up the database and the project (tables `captured` and `added`, the first up with `captured` only). */
export async function writerScenario(pg: PgServer, target: ConnectTarget, opts: { existing?: number; log?: (l: string) => void } = {}): Promise<WriterScenario> {
  const log = opts.log ?? (() => undefined);
  const db = await pg.createDatabase("writer");
  await pg.query("CREATE TABLE captured (id bigint PRIMARY KEY, v text NOT NULL); CREATE TABLE added (id bigint PRIMARY KEY, v text NOT NULL)", undefined, db);
  const project = await cliProject("local", { files: { "index.ts": WRITER_PROGRAM }, transpileOnly: true });
  const prefix = `w${Date.now().toString(36)}`;
  await project.config("pgPort", String(pg.port));
  await project.config("pgDatabase", db);
  await project.config("pgPassword", pg.superPassword, true);
  await project.config("connectUrl", target.url);
  await project.config("topicPrefix", prefix);
  await project.config("tables", "public.captured");
  const up = () => project.pulumi(["up", "--yes", "--skip-plugin-pre-install"]);
  await up();
  const topic = (t: string) => `${prefix}.public.${t}`;
  const idsOf = async (t: string, lo: number, hi: number, op?: string) =>
    (await target.changeEvents(topic(t)))
      .filter((e) => (op ? e.op === op : e.op === "c" || e.op === "r") && typeof e.after?.id === "number" && (e.after.id as number) >= lo && (e.after.id as number) < hi)
      .map((e) => e.after!.id as number);

  return {
    project,
    async run(n) {
      const lo = n * RANGE;
      const hi = lo + RANGE;
      const existing = opts.existing ?? 300;
      await pg.query(`INSERT INTO added SELECT g, 'before' FROM generate_series(${lo}, ${lo + existing - 1}) g`, undefined, db);
      const capturedR0 = (await idsOf("captured", 0, Number.MAX_SAFE_INTEGER, "r")).length;

      // The writer: one row into each table every few milliseconds, until told to stop.
      let stop = false;
      let nextCaptured = lo;
      let nextAdded = lo + existing;
      const writer = (async () => {
        while (!stop) {
          await pg.query(`INSERT INTO captured VALUES (${nextCaptured}, 'during'); INSERT INTO added VALUES (${nextAdded}, 'during')`, undefined, db);
          nextCaptured++;
          nextAdded++;
          await sleep(3);
        }
      })();
      await sleep(300);
      await project.config("tables", "public.captured,public.added");
      const started = Date.now();
      await up();
      const upSeconds = (Date.now() - started) / 1000;
      await sleep(1500);
      stop = true;
      await writer;

      const wantCaptured = range(lo, nextCaptured);
      const wantAdded = range(lo, nextAdded);
      const deadline = Date.now() + 120_000;
      let gotCaptured: number[] = [];
      let gotAdded: number[] = [];
      for (;;) {
        gotCaptured = await idsOf("captured", lo, hi);
        gotAdded = await idsOf("added", lo, hi);
        const missing = missingFrom(wantCaptured, gotCaptured).length + missingFrom(wantAdded, gotAdded).length;
        if (missing === 0 || Date.now() > deadline) break;
        await sleep(500);
      }
      const lostCaptured = missingFrom(wantCaptured, gotCaptured);
      const lostAdded = missingFrom(wantAdded, gotAdded);
      const total = gotCaptured.length + gotAdded.length;
      const duplicated = total - new Set(gotCaptured).size - new Set(gotAdded).size;
      const capturedResnapshotted = (await idsOf("captured", 0, Number.MAX_SAFE_INTEGER, "r")).length - capturedR0;

      // Remove the table again: no error, its changes stop, the captured table is not read again.
      await project.config("tables", "public.captured");
      await up();
      const marker = hi - 1;
      await pg.query(`INSERT INTO added VALUES (${marker}, 'after removal'); INSERT INTO captured VALUES (${marker}, 'after removal')`, undefined, db);
      for (let i = 0; i < 120 && !(await idsOf("captured", marker, marker + 1)).length; i++) await sleep(250);
      const removedStillCaptured = (await idsOf("added", marker, marker + 1)).length > 0;
      const result: WriterRun = {
        run: n,
        existing,
        writtenCaptured: wantCaptured.length,
        writtenAdded: wantAdded.length - existing,
        lostCaptured,
        lostAdded,
        duplicated,
        total,
        upSeconds,
        removedStillCaptured,
        capturedResnapshotted,
      };
      log(
        `run ${n}: lost ${lostCaptured.length + lostAdded.length} / duplicated ${duplicated} / total ${total} (existing ${existing}, written ${result.writtenCaptured} + ${result.writtenAdded} during an up of ${upSeconds.toFixed(1)} s; removed table still captured: ${removedStillCaptured}; captured table re-read: ${capturedResnapshotted})`,
      );
      return result;
    },
    async close() {
      await project.pulumi(["destroy", "--yes", "--skip-plugin-pre-install"], { allowFailure: true });
      project.close();
    },
  };
}

function range(lo: number, hi: number): number[] {
  return Array.from({ length: hi - lo }, (_, i) => lo + i);
}

function missingFrom(want: number[], got: number[]): number[] {
  const seen = new Set(got);
  return want.filter((x) => !seen.has(x));
}
