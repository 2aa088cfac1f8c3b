import { strict as assert } from "node:assert";
import { pipelineProblems } from "#dist/pipeline/gate.js";
import type { PreflightReport } from "#dist/postgres/preflight.js";

const finding = (check: string, object?: string) => ({ check, object, message: `${check} problem`, fix: "fix it" });

const report: PreflightReport = {
  ok: false,
  serverVersion: "17.2",
  major: 17,
  role: "dbz",
  problems: [
    finding("wal_level"),
    finding("replication", "dbz"),
    finding("select", "public.orders"),
    finding("usage", "public.orders"),
    finding("replica_identity", "public.nopk"),
    finding("replica_identity", "public.other"),
    finding("replication_slots"),
    finding("role", "dbz"),
    finding("table_missing", "public.gone"),
  ],
  warnings: [],
};

describe("pipeline gate: which preflight problems the pipeline fixes itself", () => {
  it("keeps every problem when the pipeline fixes nothing", () => {
    assert.equal(pipelineProblems(report, { manageGrants: false, identityTables: [], ownSlotExists: false }).length, report.problems.length);
  });

  it("drops what its grants, replica identities, existing slot and own login role take care of", () => {
    const left = pipelineProblems(report, { manageGrants: true, identityTables: ["public.nopk"], ownSlotExists: true, roleCreatedByPipeline: true });
    assert.deepEqual(
      left.map((p) => `${p.check}${p.object ? ` ${p.object}` : ""}`),
      ["wal_level", "replica_identity public.other", "table_missing public.gone"],
    );
  });
});
