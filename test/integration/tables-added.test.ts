/**
 * Adding a table to a running pipeline under a continuous writer, with the
 * real Pulumi CLI: nothing written after the up began is lost, the added
 * table's existing rows arrive by incremental snapshot, and removing the
 * table stops its capture without reading the other table again.
 * WRITER_RUNS (default 1) runs it several times in a row; the stress script
 * (`npm run stress:tables -- <runs>`) prints the figures of many runs.
 * Tagged @writer: it is about data, not about the SDK, so CI's second
 * Node.js leg leaves it out.
 */
import { strict as assert } from "node:assert";
import { connectTargets, startConnectTarget, type ConnectTarget } from "../support/connect-target";
import { sharedPostgres, type PgServer } from "../support/postgres";
import { writerScenario, type WriterScenario } from "../support/writer-scenario";

const engineEnabled = process.env.REAL_ENGINE !== "off";

for (const kind of connectTargets()) {
  (engineEnabled ? describe : describe.skip)(`a table added to a running pipeline under writes, real Pulumi CLI, ${kind === "real" ? "real Kafka Connect + Debezium" : "the Connect double"}, PostgreSQL 17 @pg @engine @writer${kind === "real" ? " @real" : ""}`, function () {
    this.timeout(900000);
    let pg: PgServer;
    let target: ConnectTarget;
    let scenario: WriterScenario | undefined;

    before(async () => {
      pg = await sharedPostgres(17);
      target = await startConnectTarget(kind);
      scenario = await writerScenario(pg, target, { log: (l) => console.log(`      ${l}`) });
    });
    after(async () => {
      await scenario?.close();
      await target?.close();
    });

    const runs = Number(process.env.WRITER_RUNS ?? 1);
    it(`loses no row in ${runs} run(s): every row written during the up arrives, the existing rows by snapshot; removal stops capture and re-reads nothing`, async () => {
      for (let n = 1; n <= runs; n++) {
        const r = await scenario!.run(n);
        assert.deepEqual(r.lostCaptured, [], `run ${n}: rows of the captured table lost`);
        assert.deepEqual(r.lostAdded, [], `run ${n}: rows of the added table lost (existing ${r.existing}, written ${r.writtenAdded})`);
        assert.ok(r.writtenAdded > 0 && r.writtenCaptured > 0, "the writer wrote during the up");
        assert.equal(r.removedStillCaptured, false, `run ${n}: the removed table is still captured`);
        assert.equal(r.capturedResnapshotted, 0, `run ${n}: the captured table was read again`);
      }
    });
  });
}
