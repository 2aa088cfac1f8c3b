/**
 * The checks a PostgreSQL source needs before a CDC pipeline is created,
 * reported all at once: logical decoding, free slots and WAL senders, the
 * role's REPLICATION (or its managed-service equivalent), SELECT on every
 * table and USAGE on its schema, missing tables, tables whose updates and
 * deletes would fail once published (no primary key, replica identity
 * DEFAULT or NOTHING), and server versions too old for the features asked for.
 *
 * One catalog query whatever the number of tables. Knows nothing of Pulumi.
 */
import type { PostgresConnection } from "../validation/common";
import { ident, parseTableName, withSession, type Session } from "./connection";

/** One finding: which check, on which object, what is wrong, and what to run or change. */
export interface PreflightFinding {
  /** Machine-readable check name, e.g. "wal_level", "replication", "select", "primary_key". */
  check: string;
  /** The object concerned, e.g. "public.orders" or a role name. */
  object?: string;
  message: string;
  fix: string;
}

export interface PreflightReport {
  /** True when there are no problems (warnings do not count). */
  ok: boolean;
  /** e.g. "17.2" */
  serverVersion: string;
  major: number;
  /** The role the checks were made for. */
  role: string;
  problems: PreflightFinding[];
  warnings: PreflightFinding[];
}

export interface PreflightOptions {
  /** Tables the pipeline captures ("schema.table" or "table" = public.table). Omitted: every user table. */
  tables?: string[];
  /** The role Debezium logs in as. Default: the connecting user. */
  role?: string;
  /** Two-phase decoding (slot option, PostgreSQL 14+). */
  wantTwoPhase?: boolean;
  /** Failover slots (PostgreSQL 17+). */
  wantFailover?: boolean;
  /** Row filters and column lists in publications (PostgreSQL 15+). */
  wantRowFilters?: boolean;
}

interface TableFacts {
  schema: string;
  table: string;
  exists: boolean;
  schemaExists: boolean;
  kind: string | null;
  hasPk: boolean;
  replident: string | null;
  select: boolean;
  usage: boolean;
}

export interface PreflightFacts {
  version: string;
  database: string;
  walLevel: string;
  maxSlots: number;
  usedSlots: number;
  maxSenders: number;
  usedSenders: number;
  maxSlotWalKeepSize: string | null;
  role: { name: string; exists: boolean; login: boolean; connect: boolean; super: boolean; replication: boolean; managed: string[] | null };
  rdsExists: boolean;
  longestXactSeconds: number | null;
  tables: TableFacts[];
}

/** Managed-service roles whose members may stream (Debezium's own list for RDS, plus the equivalents elsewhere). */
const REPLICATION_ROLES = ["rds_replication", "rds_superuser", "rdsadmin", "rdsrepladmin"];

const FACTS_SQL = `
WITH r AS (SELECT * FROM pg_roles WHERE rolname = coalesce($1::text, current_user)),
wanted AS (
  SELECT w.s, w.t, w.ord FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS w(s, t, ord) WHERE NOT $4::boolean
  UNION ALL
  SELECT n.nspname, c.relname, row_number() OVER (ORDER BY n.nspname, c.relname)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE $4::boolean AND c.relkind IN ('r', 'p') AND NOT c.relispartition
    AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
)
SELECT json_build_object(
  'version', current_setting('server_version'),
  'database', current_database(),
  'walLevel', current_setting('wal_level'),
  'maxSlots', current_setting('max_replication_slots')::int,
  'usedSlots', (SELECT count(*) FROM pg_replication_slots),
  'maxSenders', current_setting('max_wal_senders')::int,
  'usedSenders', (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'walsender'),
  'maxSlotWalKeepSize', current_setting('max_slot_wal_keep_size', true),
  'role', json_build_object(
    'name', coalesce($1::text, current_user),
    'exists', EXISTS (SELECT 1 FROM r),
    'login', coalesce((SELECT rolcanlogin FROM r), false),
    'connect', coalesce(has_database_privilege((SELECT oid FROM r), current_database(), 'CONNECT'), false),
    'super', coalesce((SELECT rolsuper FROM r), false),
    'replication', coalesce((SELECT rolreplication FROM r), false),
    'managed', (SELECT array_agg(g.rolname::text) FROM pg_roles g, r
                WHERE g.rolname = ANY($5::text[]) AND pg_has_role(r.oid, g.oid, 'MEMBER'))),
  'rdsExists', EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rds_replication'),
  'longestXactSeconds', (SELECT extract(epoch FROM max(now() - xact_start))::int FROM pg_stat_activity
                         WHERE xact_start IS NOT NULL AND pid <> pg_backend_pid() AND backend_type = 'client backend'),
  'tables', (SELECT coalesce(json_agg(json_build_object(
      'schema', w.s, 'table', w.t,
      'exists', c.oid IS NOT NULL,
      'schemaExists', n.oid IS NOT NULL,
      'kind', c.relkind,
      'hasPk', EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'p'),
      'replident', c.relreplident,
      'select', coalesce(has_table_privilege((SELECT oid FROM r), c.oid, 'SELECT'), false),
      'usage', coalesce(has_schema_privilege((SELECT oid FROM r), n.oid, 'USAGE'), false)
    ) ORDER BY w.ord), '[]'::json)
    FROM wanted w
    LEFT JOIN pg_namespace n ON n.nspname = w.s
    LEFT JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = w.t)
) AS facts`;

/** Runs every check and returns one report; throws only when the server cannot be reached. */
export async function preflight(connection: PostgresConnection, opts: PreflightOptions = {}): Promise<PreflightReport> {
  return withSession(connection, "preflight", (s) => preflightSession(s, opts));
}

/** The same checks over an open session (one query). */
export async function preflightSession(s: Session, opts: PreflightOptions = {}): Promise<PreflightReport> {
  const refs = opts.tables?.map(parseTableName);
  const [row] = await s.query<{ facts: PreflightFacts }>(FACTS_SQL, [
    opts.role ?? null,
    refs?.map((r) => r.schema) ?? [],
    refs?.map((r) => r.table) ?? [],
    refs === undefined,
    REPLICATION_ROLES,
  ]);
  return evaluate(row.facts, s.major, opts);
}

/** Turns the facts into findings (pure). */
export function evaluate(f: PreflightFacts, major: number, opts: PreflightOptions): PreflightReport {
  const problems: PreflightFinding[] = [];
  const warnings: PreflightFinding[] = [];
  const role = f.role.name;
  const r = ident(role);

  // Server version and features.
  if (major < 13) {
    warnings.push({
      check: "version",
      message: `PostgreSQL ${f.version} is older than 13, the oldest version this library is tested with`,
      fix: "upgrade to PostgreSQL 13 or later",
    });
  }
  const gates: Array<[boolean | undefined, number, string]> = [
    [opts.wantTwoPhase, 14, "two-phase decoding (twoPhase)"],
    [opts.wantRowFilters, 15, "row filters and column lists in publications"],
    [opts.wantFailover, 17, "failover slots (failover)"],
  ];
  for (const [wanted, min, feature] of gates) {
    if (wanted && major < min) {
      problems.push({
        check: "version",
        message: `${feature} needs PostgreSQL ${min} or later, but the server runs ${f.version}`,
        fix: `upgrade the server to PostgreSQL ${min}+, or do not use ${feature}`,
      });
    }
  }

  // Server settings.
  if (f.walLevel !== "logical") {
    problems.push({
      check: "wal_level",
      message: `wal_level is "${f.walLevel}"; logical decoding needs "logical"`,
      fix: f.rdsExists
        ? "on RDS/Aurora set rds.logical_replication = 1 in the (cluster) parameter group and reboot"
        : "ALTER SYSTEM SET wal_level = logical; then restart PostgreSQL (Cloud SQL: flag cloudsql.logical_decoding=on; Azure: server parameter wal_level=logical)",
    });
  }
  if (f.maxSlots - f.usedSlots < 1) {
    problems.push({
      check: "replication_slots",
      message: `no free replication slot: max_replication_slots is ${f.maxSlots} and ${f.usedSlots} ${f.usedSlots === 1 ? "is" : "are"} in use`,
      fix: `drop unused slots (SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE NOT active ...) or raise max_replication_slots (ALTER SYSTEM SET max_replication_slots = ${Math.max(f.maxSlots + 4, 10)}; then restart)`,
    });
  }
  if (f.maxSenders - f.usedSenders < 1) {
    problems.push({
      check: "wal_senders",
      message: `no free WAL sender: max_wal_senders is ${f.maxSenders} and ${f.usedSenders} ${f.usedSenders === 1 ? "is" : "are"} in use`,
      fix: `raise max_wal_senders (ALTER SYSTEM SET max_wal_senders = ${Math.max(f.maxSenders + 4, 10)}; then restart)`,
    });
  }
  if (f.maxSlotWalKeepSize === "-1") {
    warnings.push({
      check: "max_slot_wal_keep_size",
      message: "max_slot_wal_keep_size is -1: a stopped or lagging connector makes its slot keep WAL without limit until the disk fills",
      fix: "set max_slot_wal_keep_size (e.g. ALTER SYSTEM SET max_slot_wal_keep_size = '50GB'; SELECT pg_reload_conf();) and watch slot lag",
    });
  }
  if (f.longestXactSeconds !== null && f.longestXactSeconds > 300) {
    warnings.push({
      check: "long_transaction",
      message: `a transaction has been open for ${f.longestXactSeconds} s; creating a replication slot waits until it ends`,
      fix: "find it with SELECT pid, xact_start, query FROM pg_stat_activity ORDER BY xact_start; and end it",
    });
  }

  // The role.
  if (!f.role.exists) {
    problems.push({
      check: "role",
      object: role,
      message: `role "${role}" does not exist`,
      fix: `CREATE ROLE ${r} LOGIN REPLICATION PASSWORD '...';`,
    });
  } else {
    if (!f.role.login) {
      problems.push({ check: "login", object: role, message: `role "${role}" cannot log in`, fix: `ALTER ROLE ${r} LOGIN;` });
    }
    if (!f.role.connect) {
      problems.push({
        check: "connect",
        object: role,
        message: `role "${role}" may not connect to database ${f.database}`,
        fix: `GRANT CONNECT ON DATABASE ${ident(f.database)} TO ${r};`,
      });
    }
    const managed = f.role.managed ?? [];
    if (!f.role.super && !f.role.replication && managed.length === 0) {
      problems.push({
        check: "replication",
        object: role,
        message: `role "${role}" has no REPLICATION attribute${f.rdsExists ? " and is not a member of rds_replication" : ""}, so it cannot start a WAL sender or use replication slots`,
        fix: f.rdsExists ? `GRANT rds_replication TO ${r}; (as the master user)` : `ALTER ROLE ${r} REPLICATION; (as a superuser), or use a ReplicationGrant`,
      });
    }
    if (f.role.super) {
      warnings.push({
        check: "superuser",
        object: role,
        message: `role "${role}" is a superuser; Debezium needs only REPLICATION and SELECT`,
        fix: "use a dedicated least-privilege role (see ReplicationGrant)",
      });
    }
  }

  // Tables.
  const missing = f.tables.filter((t) => !t.exists);
  for (const t of missing) {
    problems.push({
      check: "table_missing",
      object: `${t.schema}.${t.table}`,
      message: t.schemaExists ? `table ${t.schema}.${t.table} does not exist` : `schema "${t.schema}" of table ${t.schema}.${t.table} does not exist`,
      fix: "create it, or fix the name (names are raw: \"public.Order Items\" is the table Order Items)",
    });
  }
  const noUsage = new Set<string>();
  for (const t of f.tables.filter((x) => x.exists)) {
    const name = `${t.schema}.${t.table}`;
    const q = `${ident(t.schema)}.${ident(t.table)}`;
    if (t.kind !== "r" && t.kind !== "p") {
      problems.push({
        check: "table_kind",
        object: name,
        message: `${name} is a ${kindName(t.kind)}, not a table; only tables can be published`,
        fix: "capture the underlying tables instead",
      });
      continue;
    }
    if (f.role.exists && !t.usage && !noUsage.has(t.schema)) {
      noUsage.add(t.schema);
      problems.push({
        check: "usage",
        object: t.schema,
        message: `role "${role}" has no USAGE on schema ${t.schema}`,
        fix: `GRANT USAGE ON SCHEMA ${ident(t.schema)} TO ${r};`,
      });
    }
    if (f.role.exists && !t.select) {
      problems.push({
        check: "select",
        object: name,
        message: `role "${role}" has no SELECT on ${name}; the snapshot cannot read it`,
        fix: `GRANT SELECT ON ${q} TO ${r};`,
      });
    }
    if (!t.hasPk && (t.replident === "d" || t.replident === "n")) {
      problems.push({
        check: "replica_identity",
        object: name,
        message:
          `${name} has no primary key and REPLICA IDENTITY ${t.replident === "d" ? "DEFAULT" : "NOTHING"}: ` +
          "once it is in a publication that publishes updates and deletes, UPDATE and DELETE on it fail",
        fix: `ALTER TABLE ${q} ADD PRIMARY KEY (...); or ALTER TABLE ${q} REPLICA IDENTITY FULL;`,
      });
    }
  }

  return { ok: problems.length === 0, serverVersion: f.version, major, role, problems, warnings };
}

function kindName(kind: string | null): string {
  switch (kind) {
    case "v":
      return "view";
    case "m":
      return "materialized view";
    case "f":
      return "foreign table";
    case "S":
      return "sequence";
    case "i":
    case "I":
      return "index";
    default:
      return `relation of kind '${kind}'`;
  }
}

/** The report as text for people: one line per finding with its fix. */
export function formatReport(report: PreflightReport, target: string): string {
  const lines: string[] = [`Preflight of ${target} (PostgreSQL ${report.serverVersion}) for role "${report.role}"`];
  const section = (title: string, mark: string, items: PreflightFinding[]) => {
    if (!items.length) return;
    lines.push("", `${title} (${items.length}):`);
    for (const p of items) {
      lines.push(`  ${mark} [${p.check}]${p.object ? ` ${p.object}:` : ""} ${p.message}`);
      lines.push(`      fix: ${p.fix}`);
    }
  };
  section("Problems", "x", report.problems);
  section("Warnings", "!", report.warnings);
  lines.push(
    "",
    report.ok
      ? `OK: ready for CDC${report.warnings.length ? ` (${report.warnings.length} warning${report.warnings.length === 1 ? "" : "s"})` : ""}.`
      : `NOT READY: ${report.problems.length} problem${report.problems.length === 1 ? "" : "s"}${report.warnings.length ? `, ${report.warnings.length} warning${report.warnings.length === 1 ? "" : "s"}` : ""}.`,
  );
  return lines.join("\n");
}
