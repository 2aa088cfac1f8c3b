/**
 * Applying a plan in one transaction (retried on catalog races) and verifying
 * it; reading what the role holds for refresh.
 */
import { CdcError } from "../../errors";
import type { PostgresConnection } from "../../validation/common";
import { retryCatalogRace, withSession, type Session } from "../connection";
import { type Grant, type GrantRequest, type GrantRecord, type GrantState, describeGrant } from "./model";
import { type Catalog, readCatalog } from "./catalog";
import { planGrants } from "./plan";
import { grantStatements, heldPrivileges } from "./statements";

/** Statement counters of the last apply, for tests and the benchmark. */
export const grantStats = { lastStatements: 0, raceRetries: 0 };

/**
 * Brings the role to the request: grants what is missing, revokes what this
 * resource added before and is no longer wanted. `req` null revokes
 * everything this resource added (delete). Fails before changing anything
 * when an object is missing or a right is lacking, listing every problem.
 * Returns undefined when the role does not exist and `req` is null.
 */
export async function applyGrants(
  conn: PostgresConnection,
  what: string,
  role: string,
  req: GrantRequest | null,
  prev: GrantRecord,
): Promise<GrantState | undefined> {
  let attempt = 0;
  return retryCatalogRace(
    () =>
      withSession(conn, what, async (s) => {
        if (attempt++ > 0) grantStats.raceRetries++;
        await s.query("BEGIN");
        try {
          const result = await applyInTransaction(s, what, role, req, prev);
          await s.query("COMMIT");
          return result;
        } catch (err) {
          await s.query("ROLLBACK").catch(() => undefined);
          throw err;
        }
      }),
    10,
  );
}

async function applyInTransaction(
  s: Session,
  what: string,
  role: string,
  req: GrantRequest | null,
  prev: GrantRecord,
): Promise<GrantState | undefined> {
  const cat = await readCatalog(s, role, req, prev, prev.grantor);
  if (!req && !cat.role) return undefined; // the role is gone, and its privileges with it
  const plan = planGrants(role, req, prev, cat, s.major);
  if (plan.problems.length) {
    throw new CdcError(
      `${what}: nothing was changed, because:\n${plan.problems.map((p) => `  - ${p}`).join("\n")}`,
      { code: "GRANT_PLAN" },
    );
  }
  const stmts = [...grantStatements(role, plan.toRevoke, true), ...grantStatements(role, plan.toGrant, false)];
  // One round trip for all of them (inside the transaction: the first error rolls every one back).
  if (stmts.length) await s.query(stmts.join(";\n"));
  grantStats.lastStatements = stmts.length;
  if (!req) return undefined;
  const after = await readCatalog(s, role, req, plan.record, plan.record.grantor);
  const direct = directIndex(after);
  const notInPlace = plan.toGrant.filter((g) => !isDirect(g, after, direct));
  if (notInPlace.length) {
    throw new CdcError(
      `${what}: PostgreSQL accepted the GRANT statements but these privileges are not in place (the connecting user lacks the grant option): ${notInPlace
        .map(describeGrant)
        .join(", ")}. Nothing was changed. Connect as the owner of these objects or a superuser.`,
    );
  }
  return {
    ...plan.record,
    role: req.role,
    database: after.database.name,
    replicationVia: plan.replicationVia,
    privileges: heldPrivileges(req, after),
  };
}

/** "schema\0table" -> directly granted, from the catalog's table rows (the first row of a name wins), built once per check. */
function directIndex(cat: Catalog): Map<string, boolean> {
  const out = new Map<string, boolean>();
  for (const x of [...cat.tables, ...cat.schemaTables]) {
    const key = `${x.schema}\u0000${x.table}`;
    if (!out.has(key)) out.set(key, !!x.direct);
  }
  return out;
}

function isDirect(g: Grant, cat: Catalog, tables: Map<string, boolean>): boolean {
  switch (g.privilege) {
    case "REPLICATION":
      return !!cat.role && (cat.role.replication || cat.role.super);
    case "MEMBER":
      return !!cat.rds?.direct;
    case "CREATE":
      return cat.database.direct;
    case "USAGE":
      return !!cat.schemas.find((x) => x.schema === g.schema)?.direct;
    case "DEFAULT SELECT":
      return !!cat.schemas.find((x) => x.schema === g.schema)?.defaultDirect;
    case "SELECT":
      return !!tables.get(`${g.schema}\u0000${g.table}`);
  }
}

/**
 * Re-reads what of the request the role holds now (drift shows as privileges
 * missing from the list). Undefined when the role no longer exists.
 */
export async function readGrants(
  conn: PostgresConnection,
  what: string,
  req: GrantRequest,
  prev: GrantRecord,
): Promise<GrantState | undefined> {
  return withSession(conn, what, async (s) => {
    const cat = await readCatalog(s, req.role, req, prev, prev.grantor);
    if (!cat.role) return undefined;
    const replicationVia = prev.granted.some((g) => g.privilege === "MEMBER") || prev.kept.some((g) => g.privilege === "MEMBER")
      ? "rds_replication"
      : cat.rds && req.replication && !(cat.role.super || cat.role.replication)
        ? "rds_replication"
        : "attribute";
    return {
      granted: prev.granted,
      kept: prev.kept,
      grantor: prev.grantor ?? cat.me.name,
      role: req.role,
      database: cat.database.name,
      replicationVia,
      privileges: heldPrivileges(req, cat),
    };
  });
}
