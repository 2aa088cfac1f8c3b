/**
 * ident(): identifiers quoted with the driver's escaping, and cheap enough to
 * call once per table of a large pipeline (it used to require("pg") on every
 * call, ~0.1 ms each, which cost ~0.3 s on a 1,000-table pipeline).
 */
import { strict as assert } from "node:assert";
import { escapeIdentifier } from "pg";
import { ident, qualified } from "#dist/postgres/connection.js";

describe("ident", () => {
  it("quotes like the driver: double quotes doubled, everything else kept", () => {
    for (const name of ["orders", "Order Items", 'we"ird', "ä-ö", "", 'a""b', "semi;colon"]) {
      assert.equal(ident(name), escapeIdentifier(name));
    }
    assert.equal(ident('we"ird'), '"we""ird"');
    assert.equal(qualified({ schema: "public", table: "Order Items" }), '"public"."Order Items"');
  });

  it("quotes 200,000 names in well under a second (a require per call took seconds)", () => {
    const started = process.hrtime.bigint();
    let n = 0;
    for (let i = 0; i < 200_000; i++) n += ident(`t_${i}`).length;
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    assert.ok(n > 0);
    assert.ok(ms < 1000, `200,000 ident() calls took ${ms.toFixed(0)} ms`);
  });
});
