import { strict as assert } from "node:assert";
import { provider } from "#dist/providers/signal-table.js";
import type { SignalTableOutputs } from "#dist/providers/signal-table.js";

const conn = (over: Record<string, unknown> = {}) => ({ host: "10.0.0.1", port: 5432, database: "shop", user: "admin", password: "pw", sslMode: "require", ...over });
const olds: SignalTableOutputs = {
  connection: conn(),
  table: "public.shop_signal",
  role: "dbz",
  database: "shop",
  created: true,
  granted: [],
};

describe("SignalTable diff", () => {
  it("updates in place when the same database is reached at another host or port (a failover), replaces for another database or table", async () => {
    const same = await provider.diff("shop/public.shop_signal", olds, { connection: conn(), table: "public.shop_signal", role: "dbz" });
    assert.equal(same.changes, false);
    const moved = await provider.diff("shop/public.shop_signal", olds, { connection: conn({ host: "10.0.0.2", port: 5433 }), table: "public.shop_signal", role: "dbz" });
    assert.deepEqual([moved.changes, moved.replaces], [true, []]);
    const otherDb = await provider.diff("shop/public.shop_signal", olds, { connection: conn({ database: "other" }), table: "public.shop_signal", role: "dbz" });
    assert.deepEqual(otherDb.replaces, ["connection"]);
    const otherTable = await provider.diff("shop/public.shop_signal", olds, { connection: conn(), table: "public.other_signal", role: "dbz" });
    assert.deepEqual(otherTable.replaces, ["table"]);
    assert.equal(otherTable.deleteBeforeReplace, true);
  });
});
