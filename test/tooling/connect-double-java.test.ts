import { strict as assert } from "node:assert";
import { javaHashMapOrder, javaMapToString, javaStringHash, parseJsonLikeJackson } from "../support/connect-double/java";

describe("Connect double: Java and Jackson imitation", () => {
  it("computes java.lang.String.hashCode", () => {
    assert.equal(javaStringHash(""), 0);
    assert.equal(javaStringHash("a"), 97);
    assert.equal(javaStringHash("hello"), 99162322);
    assert.equal(javaStringHash("database.password"), javaStringHash("database.password"));
  });

  it("prints a config in java.util.HashMap order, as in the recorded 'contains no connector type' message", () => {
    const config = {
      "tasks.max": "1",
      "database.hostname": "127.0.0.1",
      "database.port": "55432",
      "database.user": "dbz",
      "database.password": "dbz",
      "database.dbname": "inventory",
      "topic.prefix": "shop",
      "plugin.name": "pgoutput",
      "slot.name": "dbz_slot",
      "publication.name": "dbz_pub",
      "publication.autocreate.mode": "disabled",
      name: "no-class",
    };
    assert.equal(
      javaMapToString(config),
      "{publication.autocreate.mode=disabled, database.user=dbz, database.dbname=inventory, slot.name=dbz_slot, tasks.max=1, publication.name=dbz_pub, database.port=55432, plugin.name=pgoutput, topic.prefix=shop, database.hostname=127.0.0.1, database.password=dbz, name=no-class}",
    );
    assert.deepEqual(javaHashMapOrder([]), []);
  });

  it("reports malformed JSON with Jackson's recorded messages", () => {
    const a = parseJsonLikeJackson('{"name": "broken", ');
    assert.equal(a.ok, false);
    assert.equal(!a.ok && a.message, "Unexpected end-of-input within/between Object entries\n at [Source: REDACTED (`StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION` disabled); line: 1, column: 20]");
    const b = parseJsonLikeJackson("{not json");
    assert.equal(!b.ok && b.message, "Unexpected character ('n' (code 110)): was expecting double-quote to start field name\n at [Source: REDACTED (`StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION` disabled); line: 1, column: 3]");
    const c = parseJsonLikeJackson('{"a": {"b": [1, 2]}, "c": "d"}');
    assert.ok(c.ok);
    if (c.ok) {
      assert.deepEqual(c.value, { a: { b: [1, 2] }, c: "d" });
      assert.equal(c.positions.get("a"), 6);
      assert.equal(c.positions.get("a/b"), 12);
    }
  });
});
