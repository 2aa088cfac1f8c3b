import { strict as assert } from "node:assert";
import fc from "fast-check";
import {
  debeziumConfig,
  javaRegexLiteral,
  tableIncludeList,
  tableListProblems,
  topicFor,
  topicMap,
  topicPrefixProblem,
} from "#dist/pipeline/debezium-config.js";

const source = { host: "db.internal", port: 5432, database: "shop", user: "dbz", password: "pw-123456" };

// Java's regex and JavaScript's agree on the constructs javaRegexLiteral escapes; Java's
// case-sensitive group (?-i:...), which tableIncludeList emits, is unwrapped here.
function matchesAnchored(regex: string, s: string): boolean {
  const inner = /^\(\?-i:([\s\S]*)\)$/.exec(regex);
  return new RegExp(`^(?:${inner ? inner[1] : regex})$`, "u").test(s);
}

describe("Debezium config generation", () => {
  it("uses the managed slot and publication and never lets Debezium create or drop them", () => {
    const c = debeziumConfig({ source, topicPrefix: "shop", slotName: "s1", publicationName: "p1", tables: ["public.orders"], snapshotMode: "initial" });
    assert.equal(c["plugin.name"], "pgoutput");
    assert.equal(c["slot.name"], "s1");
    assert.equal(c["publication.name"], "p1");
    assert.equal(c["publication.autocreate.mode"], "disabled");
    assert.equal(c["slot.drop.on.stop"], "false");
    assert.equal(c["database.port"], "5432");
    assert.equal(c["table.include.list"], undefined, "the publication decides what streams");
    assert.equal(c["snapshot.include.collection.list"], "(?-i:public\\.orders)");
    assert.equal(c["signal.data.collection"], undefined, "no signal table given");
    for (const v of Object.values(c)) assert.equal(typeof v, "string");
  });

  it("omits the include list for all tables, adds heartbeats, and lets overrides win", () => {
    const c = debeziumConfig({
      source,
      topicPrefix: "shop",
      slotName: "s",
      publicationName: "p",
      tables: [],
      snapshotMode: "no_data",
      heartbeat: { intervalMs: 10000 },
      overrides: { "snapshot.mode": "never", "tombstones.on.delete": "false" },
    });
    assert.equal(c["table.include.list"], undefined);
    assert.equal(c["snapshot.include.collection.list"], undefined);
    assert.equal(c["heartbeat.interval.ms"], "10000");
    assert.match(c["heartbeat.action.query"], /pg_logical_emit_message/);
    assert.equal(c["snapshot.mode"], "never");
    assert.equal(c["tombstones.on.delete"], "false");
  });

  it("names topics <prefix>.<schema>.<table> with Kafka-illegal characters replaced", () => {
    assert.equal(topicFor("shop", { schema: "public", table: "orders" }), "shop.public.orders");
    assert.equal(topicFor("shop", { schema: "Sales", table: "Order Items" }), "shop.Sales.Order_Items");
    assert.deepEqual(topicMap("shop", ["orders", "inv.stock"]), { "public.orders": "shop.public.orders", "inv.stock": "shop.inv.stock" });
  });

  it("include-list regexes match exactly their table and nothing else (property)", () => {
    const name = fc.string({ minLength: 1, maxLength: 20 }).filter((s) => !s.includes(",") && !s.includes("."));
    fc.assert(
      fc.property(name, name, name, (schema, table, other) => {
        const re = tableIncludeList([`${schema}.${table}`]);
        assert.ok(matchesAnchored(re, `${schema}.${table}`));
        if (other !== table) assert.ok(!matchesAnchored(re, `${schema}.${other}`));
        assert.ok(!matchesAnchored(re, `${schema}x${table}`) || `${schema}x${table}` === `${schema}.${table}`);
      }),
      { numRuns: 300 },
    );
  });

  it("escapes every regex metacharacter", () => {
    const weird = "a.b*c+d?e(f)g[h]i{j}k|l^m$n\\o";
    assert.ok(matchesAnchored(javaRegexLiteral(weird), weird));
    assert.ok(!matchesAnchored(javaRegexLiteral("a.b"), "axb"));
  });

  it("reports tables Debezium cannot express and bad topic prefixes", () => {
    assert.equal(tableListProblems(["public.a,b", "public.ok"]).length, 1);
    assert.equal(topicPrefixProblem("shop-1.v2_x"), undefined);
    assert.match(topicPrefixProblem("shop prefix") ?? "", /may only contain/);
  });
});
