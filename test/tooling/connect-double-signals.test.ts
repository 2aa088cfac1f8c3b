/**
 * The Connect double's Debezium signals and incremental snapshots
 * (test/support/connect-double/debezium-signals.ts): what the differential
 * test cannot pin down on the real stack because it depends on timing
 * (a change inside a window, pause/resume, a task stopped in the middle),
 * plus the byte-exact Java serialisation of the offset keys. The behaviour
 * itself is compared with real Debezium 3.6.1 by the flow-signal-* scenarios
 * of connect-differential.test.ts.
 */
import { strict as assert } from "node:assert";
import { javaRegex } from "../support/connect-double/debezium-config";
import { debeziumPostgresPlugin } from "../support/connect-double/debezium-postgres";
import { javaDeserializeKey, javaInstant, javaSerializeKey, parseTableId } from "../support/connect-double/debezium-signals";
import type { TaskContext, TaskRuntime } from "../support/connect-double/plugin";
import { pgMajors, sharedPostgres, uniqueName, type PgServer } from "../support/postgres";

describe("Connect double: Debezium signal helpers", () => {
  it("serialises key arrays byte for byte as Java's ObjectOutputStream (values measured in real 3.6.1 offsets)", () => {
    // incremental_snapshot_primary_key [248] and incremental_snapshot_maximum_key [2501] from GET /connectors/e/offsets on the real stack.
    const head = "aced0005757200135b4c6a6176612e6c616e672e4f626a6563743b90ce589f1073296c020000787000000001737200116a6176612e6c616e672e496e746567657212e2a0a4f781873802000149000576616c7565787200106a6176612e6c616e672e4e756d62657286ac951d0b94e08b0200007870";
    assert.equal(javaSerializeKey([{ type: "Integer", value: 248 }]), `${head}000000f8`);
    assert.equal(javaSerializeKey([{ type: "Integer", value: 2501 }]), `${head}000009c5`);
    assert.equal(javaSerializeKey(null), "aced000570");
    // Checked against java.io.ObjectOutputStream (JDK 17): the second Integer refers back to the class descriptor.
    assert.equal(
      javaSerializeKey([{ type: "Integer", value: 1 }, { type: "String", value: "x" }, { type: "Long", value: 3n }, null, { type: "Integer", value: -7 }]),
      "aced0005757200135b4c6a6176612e6c616e672e4f626a6563743b90ce589f1073296c020000787000000005737200116a6176612e6c616e672e496e746567657212e2a0a4f781873802000149000576616c7565787200106a6176612e6c616e672e4e756d62657286ac951d0b94e08b020000787000000001740001787372000e6a6176612e6c616e672e4c6f6e673b8be490cc8f23df0200014a000576616c75657871007e00030000000000000003707371007e0002fffffff9",
    );
    for (const v of [
      [{ type: "Integer" as const, value: 2147483647 }],
      [{ type: "Long" as const, value: 9007199254740993n }],
      [{ type: "String" as const, value: "zoë" }],
      [{ type: "UUID" as const, value: "123e4567-e89b-12d3-a456-426614174000" }],
      [{ type: "Boolean" as const, value: true }, { type: "Integer" as const, value: 2 }],
    ]) {
      assert.deepEqual(
        javaDeserializeKey(javaSerializeKey(v)),
        v.map((x) => (typeof x.value === "bigint" ? (x.value > BigInt(Number.MAX_SAFE_INTEGER) ? x.value.toString() : Number(x.value)) : x.value)),
      );
    }
    assert.equal(javaDeserializeKey("aced000570"), null);
  });

  it("reads Java regexes with inline flag groups and table ids with quotes", () => {
    assert.ok(javaRegex("(?-i:public\\.Orders)", true).test("public.Orders"));
    assert.ok(!javaRegex("(?-i:public\\.Orders)", true).test("public.orders"));
    assert.ok(javaRegex("public\\.orders", true).test("PUBLIC.Orders"));
    assert.ok(!javaRegex("public\\.orders", false).test("public.Orders"));
    assert.ok(javaRegex("(?-i:public\\.a)|(?-i:public\\.b)", false).test("public.b"));
    assert.ok(javaRegex("(?i)public\\.A", false).test("public.a"));
    assert.deepEqual(parseTableId('public."a.b"'), ["public", "a.b"]);
    assert.deepEqual(parseTableId("public\\.b"), ["public\\", "b"]);
    assert.equal(javaInstant(Date.UTC(2026, 0, 2, 3, 4, 5, 600), 0), "2026-01-02T03:04:05.600Z");
    assert.equal(javaInstant(Date.UTC(2026, 0, 2, 3, 4, 5, 600), 7000), "2026-01-02T03:04:05.600007Z");
    assert.equal(javaInstant(Date.UTC(2026, 0, 2, 3, 4, 5, 0), 7), "2026-01-02T03:04:05.000000007Z");
  });
});

/** A TaskContext with an offset store that outlives tasks, as Connect's does. */
class Context implements TaskContext {
  readonly records: Array<{ topic: string; key: unknown; value: unknown }> = [];
  readonly logs: string[] = [];
  readonly states: string[] = [];
  readonly connector = "dbz-signals";
  readonly taskId = 0;
  constructor(
    readonly config: Readonly<Record<string, string>>,
    readonly store = new Map<string, Record<string, unknown>>(),
  ) {}
  report(state: "RUNNING" | "FAILED", trace?: string): void {
    this.states.push(state);
    if (trace) this.logs.push(trace);
  }
  produce(topic: string, key: unknown, value: unknown): void {
    this.records.push({ topic, key, value });
  }
  commitOffset(partition: Record<string, unknown>, offset: Record<string, unknown>): void {
    this.store.set(JSON.stringify(partition), offset);
  }
  readOffset(partition: Record<string, unknown>): Record<string, unknown> | undefined {
    return this.store.get(JSON.stringify(partition));
  }
  log(line: string): void {
    this.logs.push(line);
  }
  offset(): Record<string, unknown> | undefined {
    return [...this.store.values()][0];
  }
  ops(topic: string): Array<{ op: string; id: unknown }> {
    return this.records
      .filter((r) => r.topic === topic && r.value !== null)
      .map((r) => {
        const v = r.value as { op: string; after: Record<string, unknown> | null; before: Record<string, unknown> | null };
        return { op: v.op, id: (v.after ?? v.before)?.id };
      });
  }
}

async function until<T>(what: string, fn: () => T | undefined | false, timeoutMs = 15000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined && v !== false) return v as T;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

for (const major of pgMajors()) {
  describe(`Connect double: Debezium incremental snapshots on PostgreSQL ${major} @pg`, function () {
    this.timeout(60000);
    let pg: PgServer;
    let db: string;
    const tasks: TaskRuntime[] = [];
    const role = uniqueName("sigrole");

    before(async () => {
      pg = await sharedPostgres(major);
      await pg.query(`CREATE ROLE ${role} LOGIN REPLICATION PASSWORD 'sig-pw'`);
    });
    beforeEach(async () => {
      db = await pg.createDatabase("sigdb");
      await pg.query(
        `CREATE TABLE b (id int PRIMARY KEY, v text); INSERT INTO b SELECT g, 'b' || g FROM generate_series(1, 30) g;
         CREATE TABLE dbz_signal (id varchar(64) PRIMARY KEY, type varchar(32) NOT NULL, data text);
         CREATE PUBLICATION p FOR TABLE b, dbz_signal;
         GRANT SELECT ON ALL TABLES IN SCHEMA public TO ${role}; GRANT INSERT, DELETE ON dbz_signal TO ${role};`,
        [],
        db,
      );
    });
    afterEach(async () => {
      for (const t of tasks.splice(0)) await t.stop();
      await pg.query("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = $1 AND NOT active", [db]);
    });
    after(async () => {
      await pg.query(`DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
    });

    const config = (extra: Record<string, string> = {}): Record<string, string> => ({
      "database.hostname": "127.0.0.1",
      "database.port": String(pg.port),
      "database.user": role,
      "database.password": "sig-pw",
      "database.dbname": db,
      "database.sslmode": "disable",
      "topic.prefix": "s",
      "plugin.name": "pgoutput",
      "slot.name": uniqueName("sigslot"),
      "publication.name": "p",
      "publication.autocreate.mode": "disabled",
      "snapshot.mode": "no_data",
      "signal.data.collection": "public.dbz_signal",
      "incremental.snapshot.chunk.size": "10",
      ...extra,
    });
    const start = (ctx: Context, windowDelayMs = 0) => {
      const t = debeziumPostgresPlugin({ version: "3.6.1.Final", statusUpdateIntervalMs: 200, retriableRestartWaitMs: 300, incrementalWindowDelayMs: windowDelayMs }).startTask(ctx);
      tasks.push(t);
      return t;
    };
    const streaming = (ctx: Context) => until("streaming", () => ctx.logs.some((l) => /Processing messages; streaming/.test(l)));
    const signal = (id: string, type: string, data: string) => pg.query("INSERT INTO dbz_signal VALUES ($1, $2, $3)", [id, type, data], db);

    it("a change streamed between the window's watermarks takes its row out of the window (deduplication)", async () => {
      // The first window-open row updates row 3 in the same transaction: the update is streamed inside the window.
      await pg.query(
        `CREATE FUNCTION touch_b() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS $$
         BEGIN IF NEW.type = 'snapshot-window-open' AND NOT EXISTS (SELECT 1 FROM b WHERE v = 'touched') THEN UPDATE b SET v = 'touched' WHERE id = 3; END IF; RETURN NEW; END $$;
         CREATE TRIGGER touch AFTER INSERT ON dbz_signal FOR EACH ROW EXECUTE FUNCTION touch_b();`,
        [],
        db,
      );
      const ctx = new Context(config());
      start(ctx);
      await streaming(ctx);
      await signal("sig-1", "execute-snapshot", '{"data-collections": ["public.b"]}');
      await until("the snapshot of b", () => ctx.logs.some((l) => /Skipping read chunk because snapshot is not running/.test(l)));
      const b = ctx.ops("s.public.b");
      assert.deepEqual(b.filter((e) => e.op === "u").map((e) => e.id), [3]);
      const read = b.filter((e) => e.op === "r").map((e) => e.id);
      assert.deepEqual(read, Array.from({ length: 30 }, (_, i) => i + 1).filter((id) => id !== 3));
      assert.ok(ctx.logs.some((l) => /Removed '\{"id":3\}' from window/.test(l)));
    });

    it("pause-snapshot holds the next chunk, resume-snapshot reads it", async () => {
      const ctx = new Context(config());
      start(ctx, 800);
      await streaming(ctx);
      await signal("sig-1", "execute-snapshot", '{"data-collections": ["public.b"]}');
      await until("the first chunk", () => ctx.ops("s.public.b").length >= 10);
      await signal("sig-2", "pause-snapshot", "{}");
      await until("the pause", () => ctx.logs.some((l) => /Incremental snapshot was paused/.test(l)));
      const held = ctx.ops("s.public.b").length;
      await new Promise((r) => setTimeout(r, 1200));
      assert.equal(ctx.ops("s.public.b").length, held, "no chunk while paused");
      assert.ok(held < 30);
      assert.ok("incremental_snapshot_collections" in (ctx.offset() ?? {}), "the offsets still name the snapshot");
      await signal("sig-3", "resume-snapshot", "{}");
      await until("the rest of b", () => ctx.ops("s.public.b").length === 30);
      await until("the end", () => !("incremental_snapshot_collections" in (ctx.offset() ?? {})));
    });

    it("a task stopped in the middle resumes the snapshot from the offsets (keys after the committed one, nothing twice)", async () => {
      const store = new Map<string, Record<string, unknown>>();
      const cfg = config();
      const first = new Context(cfg, store);
      const t = start(first, 400);
      await streaming(first);
      await signal("sig-1", "execute-snapshot", '{"data-collections": ["public.b"]}');
      await until("two chunks", () => first.ops("s.public.b").length >= 20);
      await t.stop();
      const o = first.offset()!;
      assert.equal(o.incremental_snapshot_correlation_id, "sig-1");
      assert.deepEqual(javaDeserializeKey(String(o.incremental_snapshot_maximum_key)), [30]);
      const sent = first.ops("s.public.b").map((e) => e.id);
      assert.deepEqual(javaDeserializeKey(String(o.incremental_snapshot_primary_key)), [sent[sent.length - 1]]);
      const second = new Context(cfg, store);
      start(second);
      await until("the rest of b", () => new Set([...sent, ...second.ops("s.public.b").map((e) => e.id)]).size === 30);
      assert.ok(second.logs.some((l) => /Incremental snapshot in progress, need to read new chunk on start/.test(l)));
      const again = second.ops("s.public.b").map((e) => e.id);
      assert.deepEqual([...sent, ...again], Array.from({ length: 30 }, (_, i) => i + 1));
      await until("the end", () => !("incremental_snapshot_collections" in (second.offset() ?? {})));
    });

    it("additional-conditions and surrogate-key narrow and order the chunks; the offsets name them", async () => {
      const ctx = new Context(config());
      start(ctx, 300);
      await streaming(ctx);
      await signal("sig-1", "execute-snapshot", '{"data-collections": ["public.b"], "additional-conditions": [{"data-collection": "PUBLIC.B", "filter": "id > 20"}], "surrogate-key": "id"}');
      const o = await until("the offsets while it runs", () => {
        const x = ctx.offset();
        return x && "incremental_snapshot_collections" in x ? x : undefined;
      });
      assert.equal(
        o.incremental_snapshot_collections,
        '[{"incremental_snapshot_collections_id":"public.b","incremental_snapshot_collections_additional_condition":"(id > 20)","incremental_snapshot_collections_surrogate_key":"id"}]',
      );
      await until("the end", () => ctx.logs.some((l) => /Skipping read chunk because snapshot is not running/.test(l)));
      assert.deepEqual(
        ctx.ops("s.public.b").map((e) => e.id),
        Array.from({ length: 10 }, (_, i) => i + 21),
      );
    });
  });
}
