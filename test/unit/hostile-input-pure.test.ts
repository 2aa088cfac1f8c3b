/**
 * Property-based tests over hostile names for the pure parts: the pipeline
 * planner (pipelineArgProblems / assertPipelineArgs), the Debezium config
 * generator (table.include.list, topic names) and the connector name schema.
 *
 * Debezium is modelled from its source, not from our code:
 * - table.include.list is split by Strings.RegExSplitter (a backslash escapes
 *   the next character, "," separates, each part is trimmed with Java's
 *   String.trim, then "\," becomes ","), every part is compiled with
 *   Pattern.CASE_INSENSITIVE (US-ASCII folding only, no UNICODE_CASE) and
 *   must match the whole "schema.table" string (PostgresConnectorConfig maps a
 *   TableId to schema + "." + table);
 * - topic names are sanitized per UTF-16 unit: anything outside
 *   [a-zA-Z0-9._-] becomes "_" (TopicNameSanitizer);
 * - connector names are checked by Connect's NonEmptyStringWithoutControlChars
 *   with Character.isISOControl (U+0000-U+001F and U+007F-U+009F).
 *
 * FUZZ_SEED overrides the fixed seed; FUZZ_RUNS scales the number of runs.
 */
import { strict as assert } from "node:assert";
import fc from "fast-check";
import { CdcError } from "#dist/errors.js";
import { assertPipelineArgs, pipelineArgProblems, pipelineNames, type PipelineNames } from "#dist/pipeline/plan.js";
import { debeziumConfig, tableIncludeList, topicFor, topicMap } from "#dist/pipeline/debezium-config.js";
import { identifier, slotName } from "#dist/validation/common.js";
import { connectorName } from "#dist/validation/debezium-connector.js";
import { publicationTableSchema } from "#dist/validation/publication.js";
import { replicationGrantSchema } from "#dist/validation/replication-grant.js";
import { replicaIdentitySchema } from "#dist/validation/replica-identity.js";
import { fuzzRuns, fuzzSeed, hostileName, isPgIdentifier, isSlotName, show, slotCandidate } from "../support/hostile-names";

const SEED = fuzzSeed();
const RUNS = fuzzRuns(400);
const STACK = /\n\s+at\s/;
let cases = 0;
let started = Date.now();

function params(offset: number, numRuns = RUNS): fc.Parameters<unknown> {
  return { seed: SEED + offset, numRuns };
}

/** Counts a generated case (for the summary line). */
function counted<A extends unknown[]>(f: (...args: A) => void): (...args: A) => void {
  return (...args: A) => {
    cases++;
    f(...args);
  };
}

const VALID: PipelineNames = { slotName: "orders_slot", publicationName: "orders_pub", connectorName: "orders", topicPrefix: "shop", signalTable: "public.orders_signal" };

function problemsWith(names: Partial<PipelineNames>, tables: string[] = ["public.orders"]): string[] {
  return pipelineArgProblems({ pipeline: "orders", names: { ...VALID, ...names }, tables, snapshotMode: "initial" });
}

/** Problems about one field: each problem line starts with the field's name. */
function about(problems: string[], field: string): string[] {
  return problems.filter((p) => p.startsWith(`${field} `));
}

/** assertPipelineArgs throws a CdcError naming the field (and no stack trace in its message) exactly when the field is bad. */
function assertVerdict(names: Partial<PipelineNames>, field: string, bad: boolean, value: string): void {
  const args = { pipeline: "orders", names: { ...VALID, ...names }, tables: ["public.orders"], snapshotMode: "initial" };
  if (!bad) {
    assert.doesNotThrow(() => assertPipelineArgs(args), `${field} ${show(value)} should be accepted`);
    return;
  }
  assert.throws(
    () => assertPipelineArgs(args),
    (err: Error) => {
      assert.ok(err instanceof CdcError, `${field} ${show(value)}: not a CdcError`);
      assert.ok(err.message.includes(`  - ${field} `), `${field} ${show(value)}: the message does not name the field:\n${err.message}`);
      assert.ok(!STACK.test(value ? err.message.split(value).join("<value>") : err.message), `${field} ${show(value)}: stack trace in the message`);
      return true;
    },
  );
}

/** Java's Character.isISOControl on a code point. */
function isISOControl(cp: number): boolean {
  return cp <= 0x1f || (cp >= 0x7f && cp <= 0x9f);
}

/** Connect's NonEmptyStringWithoutControlChars plus the library's "not blank" rule. */
function connectorNameOk(s: string): boolean {
  if (s.trim().length === 0) return false;
  for (const ch of s) if (isISOControl(ch.codePointAt(0)!)) return false;
  return true;
}

// ------------------------------------------------------------ a model of Debezium's include-list matching

/** Java's String.trim: strips leading and trailing characters <= U+0020. */
function javaTrim(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && s.charCodeAt(a) <= 0x20) a++;
  while (b > a && s.charCodeAt(b - 1) <= 0x20) b--;
  return s.slice(a, b);
}

/** Strings.RegExSplitter.split. */
function regExSplit(list: string): string[] {
  const raw: string[] = [];
  let start = 0;
  for (let i = 0; i < list.length; i++) {
    const c = list[i];
    if (c === "\\") {
      if (i + 1 >= list.length) throw new Error("Unterminated escape sequence at the end of the string");
      i++;
    } else if (c === ",") {
      raw.push(list.slice(start, i));
      start = i + 1;
    }
  }
  raw.push(list.slice(start));
  return raw.filter((p) => p.length > 0).map((p) => javaTrim(p).split("\\,").join(","));
}

interface Lit {
  cp: number;
  ci: boolean;
}

const META = new Set([..."\\^$.|?*+()[]{}"]);

/**
 * Compiles the subset of Java regex syntax a literal include pattern may use:
 * escaped metacharacters, plain characters, and (?-i:...) groups. Anything else
 * throws, so an escaping mistake fails the test rather than being modelled wrong.
 */
function compileJavaLiteral(pattern: string, caseInsensitive: boolean): Lit[] {
  const cps = [...pattern];
  const out: Lit[] = [];
  let ci = caseInsensitive;
  const stack: boolean[] = [];
  for (let i = 0; i < cps.length; i++) {
    const c = cps[i];
    if (c === "\\") {
      const next = cps[++i];
      if (next === undefined) throw new Error(`dangling backslash in ${show(pattern)}`);
      if (/[A-Za-z0-9]/.test(next)) throw new Error(`\\${next} is a Java regex construct, not a literal, in ${show(pattern)}`);
      out.push({ cp: next.codePointAt(0)!, ci });
    } else if (c === "(" && cps.slice(i, i + 5).join("") === "(?-i:") {
      stack.push(ci);
      ci = false;
      i += 4;
    } else if (c === ")" && stack.length) {
      ci = stack.pop()!;
    } else if (META.has(c)) {
      throw new Error(`unescaped metacharacter ${show(c)} in ${show(pattern)}`);
    } else {
      out.push({ cp: c.codePointAt(0)!, ci });
    }
  }
  if (stack.length) throw new Error(`unclosed group in ${show(pattern)}`);
  return out;
}

function asciiFold(cp: number): number {
  return cp >= 0x41 && cp <= 0x5a ? cp + 0x20 : cp;
}

function fullMatch(lits: Lit[], s: string): boolean {
  const cps = [...s].map((ch) => ch.codePointAt(0)!);
  if (cps.length !== lits.length) return false;
  return lits.every((l, i) => (l.ci ? asciiFold(l.cp) === asciiFold(cps[i]) : l.cp === cps[i]));
}

/** Debezium's include predicate over "schema.table" for a table.include.list value. */
function debeziumIncludes(list: string): { patterns: number; matches: (schema: string, table: string) => boolean } {
  const compiled = regExSplit(list).map((p) => compileJavaLiteral(p, true));
  return { patterns: compiled.length, matches: (schema, table) => compiled.some((l) => fullMatch(l, `${schema}.${table}`)) };
}

/** Debezium's TopicNameSanitizer, per UTF-16 unit. */
function sanitizeTopic(name: string): string {
  let out = "";
  for (let i = 0; i < name.length; i++) {
    const c = name[i];
    out += /[a-zA-Z0-9._-]/.test(c) ? c : "_";
  }
  return out;
}

// ------------------------------------------------------------ generators

interface TableRef {
  schema: string;
  table: string;
}

/** Tables the pipeline accepts: split at the first dot, so the schema never holds a dot; no comma. */
const tableRef: fc.Arbitrary<TableRef> = fc
  .record({
    schema: fc.oneof(fc.constant("public"), hostileName.filter((s) => !s.includes("."))),
    table: hostileName,
  })
  .filter(({ schema, table }) => problemsWith({}, [`${schema}.${table}`]).length === 0);

/** Probes near a table: ASCII case swapped, whitespace added or removed at the ends, a character dropped. */
function neighbours(t: TableRef): TableRef[] {
  const swap = (s: string) => s.replace(/[A-Za-z]/g, (c) => (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase()));
  return [
    { schema: swap(t.schema), table: t.table },
    { schema: t.schema, table: swap(t.table) },
    { schema: t.schema.toUpperCase(), table: t.table.toUpperCase() },
    { schema: t.schema.toLowerCase(), table: t.table.toLowerCase() },
    { schema: ` ${t.schema}`, table: t.table },
    { schema: t.schema, table: `${t.table} ` },
    { schema: `\t${t.schema}`, table: `${t.table}\n` },
    { schema: javaTrim(t.schema), table: javaTrim(t.table) },
    { schema: t.schema, table: t.table.slice(0, -1) },
    { schema: t.schema, table: `${t.table}x` },
    { schema: t.schema.slice(1), table: t.table },
  ].filter((p) => p.schema.length > 0 && p.table.length > 0);
}

const connectorCandidate: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: hostileName },
  { weight: 2, arbitrary: fc.string({ unit: "binary", minLength: 0, maxLength: 8 }) },
  { weight: 1, arbitrary: fc.constantFrom("\u0080", "a\u0085b", "x\u009f", "\u00a0", "\u2028", "\ufeff", " \u3000 ", "orders", "Orders Pipeline") },
);

const prefixCandidate: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: hostileName },
  { weight: 2, arbitrary: fc.stringMatching(/^[a-zA-Z0-9_.-]{1,30}$/) },
  { weight: 1, arbitrary: fc.constantFrom("shop", "shop-1.v2_x", ".", "..", "-", "shop prefix", "shop/x", "shöp") },
);

// ------------------------------------------------------------ properties

describe(`Hostile names in the pure planner and Debezium config (fast-check, seed ${SEED})`, () => {
  before(() => {
    started = Date.now();
  });

  after(() => {
    console.log(`      pure hostile-name properties: FUZZ_SEED=${SEED}, ${RUNS} runs per property, ${cases} cases in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });

  it("slotName: the planner rejects exactly what PostgreSQL and ReplicationSlot reject, naming slotName", () => {
    fc.assert(
      fc.property(
        slotCandidate,
        counted((s) => {
          const bad = !isSlotName(s);
          assert.equal(about(problemsWith({ slotName: s }), "slotName").length, bad ? 1 : 0, `slotName ${show(s)}`);
          assert.equal(slotName.safeParse(s).success, !bad, `ReplicationSlot's schema disagrees on ${show(s)}`);
          assertVerdict({ slotName: s }, "slotName", bad, s);
        }),
      ),
      params(101),
    );
  });

  it("publicationName: the planner rejects exactly what the Publication resource rejects (empty, NUL, over 63 bytes)", () => {
    const publicationNameSchema = identifier("name");
    fc.assert(
      fc.property(
        hostileName,
        counted((s) => {
          const bad = !isPgIdentifier(s);
          assert.equal(about(problemsWith({ publicationName: s }), "publicationName").length, bad ? 1 : 0, `publicationName ${show(s)}`);
          assert.equal(publicationNameSchema.safeParse(s).success, !bad, `Publication's schema disagrees on ${show(s)}`);
          assertVerdict({ publicationName: s }, "publicationName", bad, s);
        }),
      ),
      params(102),
    );
  });

  it("connectorName: rejected exactly when blank or holding an ISO control character (Connect's rule), by both the planner and the schema", () => {
    fc.assert(
      fc.property(
        connectorCandidate,
        counted((s) => {
          const ok = connectorNameOk(s);
          assert.equal(connectorName.safeParse(s).success, ok, `connectorName schema on ${show(s)}`);
          assert.equal(about(problemsWith({ connectorName: s }), "connectorName").length, ok ? 0 : 1, `planner on connectorName ${show(s)}`);
          assertVerdict({ connectorName: s }, "connectorName", !ok, s);
        }),
      ),
      params(103),
    );
  });

  it("connectorName: C1 control characters (U+0080-U+009F) are refused, as Connect's Character.isISOControl does", () => {
    for (const s of ["\u0080", "orders\u0085", "a\u009bb", "\u007f"]) {
      cases++;
      assert.equal(connectorName.safeParse(s).success, false, show(s));
      assert.equal(about(problemsWith({ connectorName: s }), "connectorName").length, 1, show(s));
    }
    for (const s of ["orders", "Orders Pipeline", "é😀", "a\u00a0b", "\u00a0x"]) {
      cases++;
      assert.equal(connectorName.safeParse(s).success, true, show(s));
    }
    cases++;
    assert.equal(about(problemsWith({ connectorName: "   " }), "connectorName").length, 1, "blank");
  });

  it("topicPrefix: rejected exactly when outside Debezium's ^[a-zA-Z0-9_.-]+$, naming topicPrefix", () => {
    fc.assert(
      fc.property(
        prefixCandidate,
        counted((s) => {
          const bad = !/^[a-zA-Z0-9_.-]+$/.test(s);
          assert.equal(about(problemsWith({ topicPrefix: s }), "topicPrefix").length, bad ? 1 : 0, `topicPrefix ${show(s)}`);
          assertVerdict({ topicPrefix: s }, "topicPrefix", bad, s);
        }),
      ),
      params(104),
    );
  });

  it("several bad names are all reported at once, each naming its field", () => {
    fc.assert(
      fc.property(
        fc.record({ slotName: slotCandidate, publicationName: hostileName, connectorName: connectorCandidate, topicPrefix: prefixCandidate }),
        counted((names) => {
          const problems = problemsWith(names);
          const expected = [
            ["slotName", !isSlotName(names.slotName)],
            ["publicationName", !isPgIdentifier(names.publicationName)],
            ["connectorName", !connectorNameOk(names.connectorName)],
            ["topicPrefix", !/^[a-zA-Z0-9_.-]+$/.test(names.topicPrefix)],
          ] as const;
          for (const [field, bad] of expected) assert.equal(about(problems, field).length, bad ? 1 : 0, `${field} in ${JSON.stringify(names)}`);
          assert.equal(problems.length, expected.filter(([, bad]) => bad).length, `extra problems: ${JSON.stringify(problems)}`);
        }),
      ),
      params(105),
    );
  });

  it("default names from any pipeline name are a valid slot name and publication name", () => {
    fc.assert(
      fc.property(
        hostileName,
        counted((pipeline) => {
          const n = pipelineNames({ pipeline });
          assert.ok(isSlotName(n.slotName), `default slot name ${show(n.slotName)} from ${show(pipeline)}`);
          assert.ok(isPgIdentifier(n.publicationName), `default publication name ${show(n.publicationName)} from ${show(pipeline)}`);
          assert.equal(n.connectorName, pipeline);
          assert.equal(n.topicPrefix, pipeline);
        }),
      ),
      params(106),
    );
  });

  it("tables: the planner accepts a table only when Publication, ReplicationGrant and ReplicaIdentity accept it", () => {
    fc.assert(
      fc.property(
        fc.oneof(hostileName, fc.tuple(hostileName, hostileName).map(([s, t]) => `${s}.${t}`)),
        counted((t) => {
          const planner = problemsWith({}, [t]).length === 0;
          const resources = [
            publicationTableSchema.safeParse(t).success,
            !replicationGrantSchema.safeParse({ role: "dbz", tables: [t] }).error?.issues.some((i) => i.path[0] === "tables"),
            !replicaIdentitySchema.safeParse({ tables: [t], identity: "full" }).error?.issues.some((i) => i.path[0] === "tables"),
          ];
          // The resources accept commas (PostgreSQL does); the planner cannot, for Debezium's list.
          const expected = resources.every(Boolean) && !t.includes(",");
          assert.deepEqual(resources, [resources[0], resources[0], resources[0]], `the table schemas disagree on ${show(t)}`);
          assert.equal(planner, expected, `planner ${planner ? "accepts" : "rejects"} ${show(t)}; resources: ${resources}`);
        }),
      ),
      params(107),
    );
  });

  it("table.include.list matches each listed table and no other table, in Debezium's matching (case-insensitive, trimmed)", () => {
    fc.assert(
      fc.property(
        fc.array(tableRef, { minLength: 1, maxLength: 4 }),
        fc.array(tableRef, { maxLength: 3 }),
        counted((tables, others) => {
          const list = tableIncludeList(tables.map((t) => `${t.schema}.${t.table}`));
          const dbz = debeziumIncludes(list);
          assert.equal(dbz.patterns, tables.length, `Debezium splits ${show(list)} into ${dbz.patterns} patterns`);
          const listed = new Set(tables.map((t) => `${t.schema}.${t.table}`));
          for (const t of tables) assert.ok(dbz.matches(t.schema, t.table), `${show(list)} does not match its own table ${show(`${t.schema}.${t.table}`)}`);
          for (const probe of [...others, ...tables.flatMap(neighbours)]) {
            const id = `${probe.schema}.${probe.table}`;
            // Two tables with the same "schema.table" text (a dot inside a name) are one id to Debezium.
            if (listed.has(id)) continue;
            assert.ok(!dbz.matches(probe.schema, probe.table), `${show(list)} also captures ${show(id)}, which is not listed`);
          }
        }),
      ),
      params(108),
    );
  });

  it("table.include.list: regression examples (mixed case, spaces at the ends)", () => {
    const cases_: Array<[string, TableRef, TableRef]> = [
      ["public.Orders", { schema: "public", table: "Orders" }, { schema: "public", table: "orders" }],
      ["public.orders", { schema: "public", table: "orders" }, { schema: "PUBLIC", table: "ORDERS" }],
      [" x.t", { schema: " x", table: "t" }, { schema: "x", table: "t" }],
      ["public.t ", { schema: "public", table: "t " }, { schema: "public", table: "t" }],
    ];
    for (const [name, own, other] of cases_) {
      cases++;
      const dbz = debeziumIncludes(tableIncludeList([name]));
      assert.ok(dbz.matches(own.schema, own.table), `${show(name)} does not match itself`);
      assert.ok(!dbz.matches(other.schema, other.table), `${show(name)} also captures ${show(`${other.schema}.${other.table}`)}`);
    }
    const config = debeziumConfig({
      source: { host: "h", port: 5432, database: "d", user: "u" },
      topicPrefix: "shop",
      slotName: "s",
      publicationName: "p",
      tables: ["public.Orders"],
      snapshotMode: "initial",
    });
    assert.equal(config["snapshot.include.collection.list"], "(?-i:public\\.Orders)");
  });

  it("topic names are Debezium's sanitized <prefix>.<schema>.<table>, legal for Kafka", () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[a-zA-Z0-9_.-]{1,20}$/),
        tableRef,
        counted((prefix, t) => {
          const topic = topicFor(prefix, t);
          assert.equal(topic, sanitizeTopic(`${prefix}.${t.schema}.${t.table}`));
          assert.match(topic, /^[a-zA-Z0-9._-]+$/);
          assert.deepEqual(topicMap(prefix, [`${t.schema}.${t.table}`]), { [`${t.schema}.${t.table}`]: topic });
        }),
      ),
      params(109),
    );
  });
});
