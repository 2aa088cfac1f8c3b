import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import fc from "fast-check";
import {
  collectionListTokens,
  configDifferences,
  DEBEZIUM_POSTGRES_CLASS,
  DEBEZIUM_POSTGRES_PROPERTIES,
  debeziumConfigDifferences,
  describeDifferences,
  isMaskedValue,
  mergeLiveConfig,
  splitCollectionList,
  stringifyConfig,
  type ConfigDifference,
} from "#dist/connect/config-compare.js";
import { isSecretKey } from "#dist/connect/errors.js";

describe("connector config comparison", () => {
  it("compares as Connect stores config: strings, ignoring name and __internal keys", () => {
    const wanted = stringifyConfig({ "tasks.max": 1, "database.port": 5432, "slot.drop.on.stop": false, "topic.prefix": "shop" });
    const live = { ...wanted, name: "shop-cdc", "__internal.version": "7" };
    assert.deepEqual(configDifferences(live, wanted), []);
  });

  it("ignores masked secrets but sees real changes, additions and removals", () => {
    const wanted = { "database.password": "s3cret", "snapshot.mode": "initial", "heartbeat.interval.ms": "1000" };
    const live = { "database.password": "****", "snapshot.mode": "no_data", "signal.data.collection": "public.signals" };
    assert.deepEqual(configDifferences(live, wanted), [
      { key: "heartbeat.interval.ms", kind: "added" },
      { key: "signal.data.collection", kind: "removed" },
      { key: "snapshot.mode", kind: "changed" },
    ]);
  });

  it("keeps known secrets when the live config masks them", () => {
    const merged = mergeLiveConfig({ "database.password": "[hidden]", "topic.prefix": "x", name: "n" }, { "database.password": "pw" });
    assert.deepEqual(merged, { "database.password": "pw", "topic.prefix": "x" });
  });

  it("recognises masks and secret keys; a config-provider reference is not a mask", () => {
    for (const m of ["[hidden]", "****", "••••••"]) assert.ok(isMaskedValue(m), m);
    for (const v of ["hunter2", "${file:/secrets:pw}", "${env:PG_PASSWORD}", "${vault:secret/pg:password}"]) assert.ok(!isMaskedValue(v), v);
    for (const k of ["database.password", "sasl.jaas.config", "ssl.key", "connection.password", "api.secret"]) assert.ok(isSecretKey(k), k);
    assert.ok(!isSecretKey("topic.prefix"));
  });

  it("config-provider references are values: unchanged is no difference, another reference is a change", () => {
    const wanted = { "database.password": "${file:/etc/connect/pg.properties:password}", "custom.token": "${env:TOKEN_A}" };
    assert.deepEqual(configDifferences({ ...wanted, name: "n" }, wanted), [], "a reference Connect returns as written");
    assert.deepEqual(configDifferences(wanted, { ...wanted, "custom.token": "${env:TOKEN_B}" }), [{ key: "custom.token", kind: "changed" }]);
    assert.deepEqual(configDifferences(wanted, { ...wanted, "database.password": "${file:/etc/connect/other.properties:password}" }), [{ key: "database.password", kind: "changed" }]);
    assert.deepEqual(configDifferences(wanted, { ...wanted, "custom.token": "plain" }), [{ key: "custom.token", kind: "changed" }], "a reference replaced by a plain value");
    // A refresh keeps the reference Connect returned, not the value the program had.
    assert.deepEqual(mergeLiveConfig({ "custom.token": "${env:TOKEN_B}" }, { "custom.token": "${env:TOKEN_A}" }), { "custom.token": "${env:TOKEN_B}" });
  });

  it("two different config-provider references always differ (property)", () => {
    const part = fc.stringMatching(/^[A-Za-z0-9_./:-]{1,20}$/);
    const reference = fc.tuple(fc.constantFrom("file", "env", "vault", "directory"), part).map(([p, rest]) => `\${${p}:${rest}}`);
    fc.assert(
      fc.property(reference, reference, (a, b) => {
        const d = configDifferences({ "x.ref": a }, { "x.ref": b });
        assert.deepEqual(d, a === b ? [] : [{ key: "x.ref", kind: "changed" }]);
      }),
      { numRuns: 300 },
    );
  });

  it("a config never differs from itself, whatever Connect adds (property)", () => {
    const cfg = fc.dictionary(fc.string({ minLength: 1, maxLength: 12 }).filter((k) => k !== "name" && !k.startsWith("__internal.")), fc.oneof(fc.string(), fc.integer(), fc.boolean()));
    fc.assert(
      fc.property(cfg, fc.string(), (c, n) => {
        const wanted = stringifyConfig(c);
        assert.deepEqual(configDifferences({ ...wanted, name: n, "__internal.x": "1" }, wanted), []);
      }),
      { numRuns: 200 },
    );
  });
});

/** A Debezium config as the pipeline writes it, for the tables given. */
function generated(tables: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    "connector.class": DEBEZIUM_POSTGRES_CLASS,
    "tasks.max": "1",
    "database.hostname": "db.internal",
    "database.port": "5432",
    "database.user": "cdc",
    "database.password": "s3cret-Pw",
    "database.dbname": "shop",
    "topic.prefix": "shop",
    "plugin.name": "pgoutput",
    "slot.name": "shop_slot",
    "publication.name": "shop_pub",
    "publication.autocreate.mode": "disabled",
    "slot.drop.on.stop": "false",
    "snapshot.mode": "initial",
    "table.include.list": tables,
    ...extra,
  };
}

const keysOf = (d: ConfigDifference[]) => d.map((x) => x.key);

describe("connector config equivalence for Debezium", () => {
  it("the same tables in another include-list spelling are equivalent: order, whitespace, escaping, ASCII case, duplicates, empty entries", () => {
    const mine = generated("public.orders,public.customers");
    for (const theirs of ["public\\.customers,public\\.orders", "public.customers, public.orders", " PUBLIC.Orders ,public\\.customers,,public.orders,"]) {
      assert.deepEqual(debeziumConfigDifferences(generated(theirs), mine), [], theirs);
      assert.deepEqual(debeziumConfigDifferences(mine, generated(theirs)), [], theirs);
    }
    assert.deepEqual(configDifferences(generated("public\\.customers,public\\.orders"), mine), [{ key: "table.include.list", kind: "changed" }], "strings still differ");
  });

  it("include lists that select other tables differ: another table, a case-sensitive entry, a wildcard that is not a name", () => {
    const mine = generated("public.orders,public.customers");
    for (const theirs of [
      "public.orders",
      "public.orders,public.customers,public.items",
      "public.orders,public.customer",
      "public.orders,(?-i:public\\.customers)", // case-sensitive: no longer matches PUBLIC.CUSTOMERS
      "public.orders,public.customers.*",
      "public.orders,public..customers",
      "public.orders,public\\dcustomers",
      "public\\.orders\\,public\\.customers", // one entry with a literal comma
    ]) {
      assert.deepEqual(debeziumConfigDifferences(generated(theirs), mine), [{ key: "table.include.list", kind: "changed" }], theirs);
    }
    // A wildcard dot where a name has none: in a schema list "a.b" also matches "aXb".
    assert.deepEqual(keysOf(debeziumConfigDifferences(generated("x", { "schema.include.list": "my.schema" }), generated("x", { "schema.include.list": "my\\.schema" }))), ["schema.include.list"]);
    assert.deepEqual(debeziumConfigDifferences(generated("x", { "schema.include.list": "Public, inventory" }), generated("x", { "schema.include.list": "inventory,public" })), []);
  });

  it("Debezium's defaults written out or left out are equivalent; a left-out key whose default is not the value written differs", () => {
    const mine = generated("public.orders");
    const handMade = { ...mine };
    for (const k of ["tasks.max", "database.port", "slot.drop.on.stop", "snapshot.mode"]) delete handMade[k];
    handMade["tombstones.on.delete"] = "true";
    handMade["heartbeat.interval.ms"] = "0";
    handMade["decimal.handling.mode"] = "precise";
    assert.deepEqual(debeziumConfigDifferences(handMade, mine), []);
    assert.deepEqual(debeziumConfigDifferences(mine, handMade), []);

    // Not defaults: plugin.name defaults to decoderbufs, publication.autocreate.mode to all_tables, slot.name to debezium.
    const omitted = { ...mine };
    for (const k of ["plugin.name", "publication.autocreate.mode", "slot.name", "publication.name"]) delete omitted[k];
    assert.deepEqual(debeziumConfigDifferences(omitted, mine), [
      { key: "plugin.name", kind: "added" },
      { key: "publication.autocreate.mode", kind: "added" },
      { key: "publication.name", kind: "added" },
      { key: "slot.name", kind: "added" },
    ]);
    assert.deepEqual(debeziumConfigDifferences({ ...mine, "publication.autocreate.mode": "all_tables" }, omitted), [
      { key: "plugin.name", kind: "removed" },
      { key: "publication.name", kind: "removed" },
      { key: "slot.name", kind: "removed" },
    ], "all_tables written out is the default");
    // A key without a default is never equivalent to leaving it out.
    assert.deepEqual(debeziumConfigDifferences({ ...mine, "heartbeat.action.query": "SELECT 1" }, mine), [{ key: "heartbeat.action.query", kind: "removed" }]);
  });

  it("numbers, booleans and Debezium modes spelled otherwise are equivalent; other values are compared as written", () => {
    const mine = generated("public.orders", { "heartbeat.interval.ms": "1000" });
    const theirs = { ...mine, "tasks.max": " 1", "database.port": "+5432", "slot.drop.on.stop": "FALSE", "snapshot.mode": "Initial ", "plugin.name": "PGOUTPUT", "heartbeat.interval.ms": "01000" };
    assert.deepEqual(debeziumConfigDifferences(theirs, mine), []);
    assert.deepEqual(keysOf(debeziumConfigDifferences({ ...mine, "database.port": "5433" }, mine)), ["database.port"]);
    assert.deepEqual(keysOf(debeziumConfigDifferences({ ...mine, "slot.drop.on.stop": "yes" }, mine)), ["slot.drop.on.stop"], "not a boolean Connect accepts");
    assert.deepEqual(keysOf(debeziumConfigDifferences({ ...mine, "slot.name": "SHOP_SLOT" }, mine)), ["slot.name"], "slot names are not case-folded");
    assert.deepEqual(keysOf(debeziumConfigDifferences({ ...mine, "database.hostname": " db.internal" }, mine)), ["database.hostname"]);
    assert.deepEqual(keysOf(debeziumConfigDifferences({ ...mine, "custom.key": "a" }, { ...mine, "custom.key": "A" })), ["custom.key"]);
  });

  it("masks, server keys and other connectors: a masked live secret is not compared, name/__internal.* ignored, a non-Debezium connector compared as written", () => {
    const mine = generated("public.orders");
    assert.deepEqual(debeziumConfigDifferences({ ...mine, "database.password": "****", name: "x", "__internal.v": "2" }, mine), []);
    const sink = { "connector.class": "org.example.Sink", "tasks.max": "1", "snapshot.mode": "initial" };
    assert.deepEqual(debeziumConfigDifferences({ "connector.class": "org.example.Sink" }, sink), [
      { key: "snapshot.mode", kind: "added" },
      { key: "tasks.max", kind: "added" },
    ]);
  });

  it("reports Debezium property names and never a value", () => {
    const secret = "n3w-Secret-771";
    const d = debeziumConfigDifferences(generated("public.orders"), generated("public.items", { "database.password": secret, "snapshot.mode": "no_data" }));
    const text = describeDifferences(d);
    assert.equal(text, "database.password (changed), snapshot.mode (changed), table.include.list (changed)");
    assert.ok(!text.includes(secret) && !text.includes("public.items"));
  });

  it("Debezium's list splitting: unescaped commas, trimmed entries, empty ones dropped, \\, kept as a comma", () => {
    assert.deepEqual(splitCollectionList(" a , b,,c\\,d ,"), ["a", "b", "c,d"]);
    assert.deepEqual([...collectionListTokens("public.Orders, (?-i:public\\.Items), public.o.*", 1)], ["ci:public.orders", "cs:public.Items", "re:public.o.*"]);
  });

  it("every default in the table is the one Debezium 3.6.1 (and Connect 4.3 for tasks.max) reports for that key, with a matching type", () => {
    const dir = path.resolve(__dirname, "../../../test/support/connect-double");
    type Definition = { name: string; type: string; default_value: string | null };
    const read = (f: string) => JSON.parse(fs.readFileSync(path.join(dir, f), "utf8")) as Definition[];
    const defs = new Map([...read("connect-4.3-source-definitions.json"), ...read("debezium-3.6-definitions.json")].map((d) => [d.name, d]));
    const types: Record<string, string[]> = { int: ["INT", "LONG"], boolean: ["BOOLEAN"], enum: ["STRING"], string: ["STRING", "CLASS", "LIST"], tables: ["LIST"], schemas: ["LIST"] };
    for (const [key, p] of Object.entries(DEBEZIUM_POSTGRES_PROPERTIES)) {
      const d = defs.get(key);
      assert.ok(d, `${key} is not a key of Debezium 3.6.1 or Connect 4.3`);
      assert.ok(types[p.kind].includes(d.type), `${key}: kind ${p.kind}, but Debezium's type is ${d.type}`);
      const measured = d.default_value === null ? undefined : p.kind === "enum" ? d.default_value.toLowerCase() : d.default_value;
      assert.equal(p.default, measured, `${key}: default`);
    }
  });

  // Generators for the properties below: ASCII table names and the ways to spell a list of them.
  const ident = fc.stringMatching(/^[a-z_][a-z0-9_]{0,6}$/);
  const table = fc.tuple(ident, ident).map(([s, t]) => `${s}.${t}`);
  const tableSet = fc.uniqueArray(table, { minLength: 1, maxLength: 5 });
  /** One spelling of an include list selecting exactly `tables`. */
  const spelling = (tables: string[]) =>
    fc
      .tuple(
        fc.shuffledSubarray(tables, { minLength: tables.length, maxLength: tables.length }),
        fc.array(fc.tuple(fc.boolean(), fc.boolean(), fc.constantFrom("", " ", "  ", "\t"), fc.nat(3)), { minLength: tables.length, maxLength: tables.length }),
        fc.boolean(),
        fc.boolean(),
      )
      .map(([order, how, duplicate, emptyEntry]) => {
        const entries = order.map((t, i) => {
          const [escape, upper, pad, caseSeed] = how[i];
          let e = escape ? t.replace(".", "\\.") : t;
          if (upper) e = [...e].map((c, j) => ((j + caseSeed) % 2 ? c.toUpperCase() : c)).join("");
          return `${pad}${e}${pad}`;
        });
        if (duplicate) entries.push(entries[0]);
        if (emptyEntry) entries.splice(1, 0, "");
        return entries.join(",");
      });
  /** A respelling of a config: defaults dropped or written out, numbers and booleans spelled otherwise. */
  const respelled = (c: Record<string, string>) =>
    fc.tuple(fc.boolean(), fc.boolean(), fc.boolean(), fc.constantFrom(" ", "", "+")).map(([dropDefaults, addDefaults, upper, pad]) => {
      const out: Record<string, string> = {};
      for (const [k, v] of Object.entries(c)) {
        const p = DEBEZIUM_POSTGRES_PROPERTIES[k];
        if (dropDefaults && p?.default !== undefined && v === p.default) continue;
        if (p?.kind === "int") out[k] = `${pad === "+" && v.startsWith("-") ? " " : pad}${v}`;
        else if ((p?.kind === "boolean" || p?.kind === "enum") && upper) out[k] = v.toUpperCase();
        else out[k] = v;
      }
      if (addDefaults) for (const [k, p] of Object.entries(DEBEZIUM_POSTGRES_PROPERTIES)) if (p.default !== undefined && !(k in c)) out[k] = p.default;
      return out;
    });

  it("a config is equivalent to itself with its include list reordered and respelled and its defaults dropped or written out (property)", () => {
    fc.assert(
      fc.property(tableSet.chain((ts) => fc.tuple(spelling(ts), spelling(ts))).chain(([a, b]) => fc.tuple(respelled(generated(a)), respelled(generated(b)))), ([x, y]) => {
        assert.deepEqual(debeziumConfigDifferences(x, y), []);
        assert.deepEqual(debeziumConfigDifferences(y, x), []);
      }),
      { numRuns: 300 },
    );
  });

  it("equivalence is symmetric: swapping the configs swaps added and removed (property)", () => {
    const known = Object.keys(DEBEZIUM_POSTGRES_PROPERTIES);
    const value = fc.oneof(fc.constantFrom("1", " 1", "0", "true", "TRUE", "false", "initial", "INITIAL", "pgoutput", "5432", "public.a,public.b", "public\\.b, public.a"), fc.string({ maxLength: 8 }));
    const config = fc.dictionary(fc.oneof(fc.constantFrom(...known), fc.constantFrom("custom.a", "custom.b", "name")), value.filter((v) => !isMaskedValue(v)), { maxKeys: 12 }).map((c) => ({ ...c, "connector.class": DEBEZIUM_POSTGRES_CLASS }));
    const swap = (d: ConfigDifference[]) => d.map((x) => ({ key: x.key, kind: x.kind === "added" ? "removed" : x.kind === "removed" ? "added" : x.kind }));
    fc.assert(
      fc.property(config, config, (a, b) => {
        assert.deepEqual(debeziumConfigDifferences(b, a), swap(debeziumConfigDifferences(a, b)));
      }),
      { numRuns: 500 },
    );
  });

  it("a real change is never hidden: other tables, another number, boolean or mode, a non-default value left out (property)", () => {
    const otherTables = tableSet.chain((a) => tableSet.filter((b) => new Set(a).size !== new Set(b).size || a.some((t) => !b.includes(t))).map((b) => [a, b] as const));
    fc.assert(
      fc.property(otherTables.chain(([a, b]) => fc.tuple(spelling(a), spelling(b))), ([a, b]) => {
        assert.deepEqual(keysOf(debeziumConfigDifferences(generated(a), generated(b))), ["table.include.list"]);
      }),
      { numRuns: 300 },
    );
    const scalarKeys = Object.entries(DEBEZIUM_POSTGRES_PROPERTIES).filter(([, p]) => p.kind !== "tables" && p.kind !== "schemas");
    const valuesOf = { int: fc.integer({ min: -5, max: 70000 }).map(String), boolean: fc.constantFrom("true", "false"), word: fc.stringMatching(/^[a-z_]{1,10}$/) };
    const meaning = fc.constantFrom(...scalarKeys).chain(([key, p]) => {
      const values = p.kind === "int" ? valuesOf.int : p.kind === "boolean" ? valuesOf.boolean : valuesOf.word;
      return fc.tuple(fc.constant(key), values, values).filter(([, x, y]) => x !== y);
    });
    fc.assert(
      fc.property(meaning, fc.boolean(), ([key, x, y], leaveOut) => {
        const base = generated("public.orders");
        const a = { ...base, [key]: x };
        const b = { ...base, [key]: y };
        // Left out, the default applies: a difference unless the other value is the default.
        if (leaveOut) delete b[key];
        const effectiveB = leaveOut ? DEBEZIUM_POSTGRES_PROPERTIES[key].default : y;
        const expected = effectiveB === x ? [] : [key];
        assert.deepEqual(keysOf(debeziumConfigDifferences(a, b)), expected, `${key}: ${x} vs ${leaveOut ? "(left out)" : y}`);
      }),
      { numRuns: 500 },
    );
  });

  it("equal tokens mean the same tables: lists with equal tokens match the same names, by Debezium's rules (property, regex oracle)", () => {
    // Entries from a small regex alphabet, optionally case-sensitive, and a second list made from the first by
    // edits that may or may not keep its meaning; names with at least one dot (schema.table).
    const alphabet = ["a", "b", "A", "B", "_", ".", "\\.", "*", "\\_"];
    const entry = fc.tuple(fc.array(fc.constantFrom(...alphabet), { minLength: 1, maxLength: 5 }), fc.boolean());
    const edit = fc.constantFrom("keep", "case", "escape", "replace", "pad");
    const pair = fc
      .array(entry, { minLength: 1, maxLength: 3 })
      .chain((entries) => fc.tuple(fc.constant(entries), fc.array(fc.array(fc.tuple(edit, fc.constantFrom(...alphabet)), { minLength: 5, maxLength: 5 }), { minLength: entries.length, maxLength: entries.length }), fc.boolean()))
      .map(([entries, edits, reverse]) => {
        const spell = (parts: string[], cs: boolean) => (cs ? `(?-i:${parts.join("")})` : parts.join(""));
        const a = entries.map(([parts, cs]) => spell(parts, cs));
        const b = entries.map(([parts, cs], i) => {
          const edited = parts.map((p, j) => {
            const [op, other] = edits[i][j];
            if (op === "case") return p === p.toUpperCase() ? p.toLowerCase() : p.toUpperCase();
            if (op === "escape") return p === "." ? "\\." : p === "\\." ? "." : p;
            if (op === "replace") return other;
            if (op === "pad" && j === 0) return ` ${p}`;
            return p;
          });
          return spell(edited, cs);
        });
        return [a.join(","), (reverse ? b.reverse() : b).join(" , ")] as const;
      });
    const names = fc.array(fc.tuple(fc.stringMatching(/^[abAB_.]{0,3}$/), fc.stringMatching(/^[abAB_.]{0,3}$/)).map(([s, t]) => `${s}.${t}`), { minLength: 30, maxLength: 60 });
    /** The entries of a list as JavaScript regexes, matching as Debezium does: whole name, ASCII case-insensitive unless (?-i:...). */
    const compile = (l: string): RegExp[] | undefined => {
      try {
        return splitCollectionList(l).map((e) => {
          const m = /^\(\?-i:([\s\S]*)\)$/.exec(e);
          return new RegExp(`^(?:${m ? m[1] : e})$`, m ? "" : "i");
        });
      } catch {
        return undefined; // not a valid regex (Java rejects these too)
      }
    };
    const tokens = (l: string) => JSON.stringify([...collectionListTokens(l, 1)].sort());
    let equalButSpelledOtherwise = 0;
    fc.assert(
      fc.property(pair, names, ([a, b], ns) => {
        const ra = compile(a);
        const rb = compile(b);
        if (!ra || !rb || tokens(a) !== tokens(b)) return;
        if (a !== b) equalButSpelledOtherwise++;
        for (const n of ns) assert.equal(ra.some((r) => r.test(n)), rb.some((r) => r.test(n)), `${a} vs ${b} on ${n}`);
      }),
      { numRuns: 3000 },
    );
    assert.ok(equalButSpelledOtherwise > 300, `only ${equalButSpelledOtherwise} respelled lists with equal tokens were tried`);
  });
});
