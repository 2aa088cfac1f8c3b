/**
 * The checks a PostgreSQL source needs before a CDC pipeline is created,
 * reported all at once: logical decoding, free slots and WAL senders, the
 * role's REPLICATION (or its managed-service equivalent), SELECT on every
 * table and USAGE on its schema, missing tables, tables whose updates and
 * deletes would fail once published (no primary key, replica identity
 * DEFAULT or NOTHING), and server versions too old for the features asked for.
 *
 * The managed service behind the server (RDS, Aurora, Cloud SQL, Azure, Neon,
 * Aiven) is recognised from what it exposes (roles, settings, functions,
 * extensions) and the fixes name that provider's way of changing things.
 * WAL senders and open transactions are counted from what every role can
 * see; when pg_stat_activity hides other roles' sessions from the connecting
 * role, a warning says so.
 *
 * One catalog query whatever the number of tables. Knows nothing of Pulumi.
 */
import type { PostgresConnection } from "../validation/common";
import { parseTableName } from "../validation/table-name";
import { ident, withSession, type Session } from "./connection";

/** One finding: which check, on which object, what is wrong, and what to run or change. */
export interface PreflightFinding {
  /** Machine-readable check name, e.g. "wal_level", "replication", "select", "primary_key". */
  check: string;
  /** The object concerned, e.g. "public.orders" or a role name. */
  object?: string;
  message: string;
  fix: string;
}

/**
 * Where the server runs, as recognised from its markers (see {@link detectFlavour}):
 * Amazon RDS, Amazon Aurora, Google Cloud SQL, Azure Database for PostgreSQL,
 * Neon, Aiven, or none of them.
 */
export type PostgresFlavour = "rds" | "aurora" | "cloudsql" | "azure" | "neon" | "aiven" | "self-managed";

export interface PreflightReport {
  /** True when there are no problems (warnings do not count). */
  ok: boolean;
  /** e.g. "17.2" */
  serverVersion: string;
  major: number;
  /**
   * The managed service the server was recognised as, or "self-managed". Always set by
   * {@link preflight}; optional so that reports built by hand (e.g. in tests) stay valid.
   */
  flavour?: PostgresFlavour;
  /** What the flavour was recognised from, e.g. ["role rds_replication", 'setting rds.logical_replication = "off"']; empty when self-managed. Always set by {@link preflight}. */
  flavourMarkers?: string[];
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

/** What the server exposes of the managed services it might be (facts for {@link detectFlavour}). */
export interface FlavourMarkers {
  /** Those of the providers' roles (rds_replication, cloudsqlsuperuser, ...) that exist. */
  roles: string[];
  /** Those of the providers' settings (rds.logical_replication, neon.timeline_id, ...) that are set, by name; null when none is. */
  settings: Record<string, string> | null;
  /** A function aurora_version() exists. */
  auroraVersion: boolean;
  /**
   * aiven_extras: "installed" (in pg_extension), "schema" (a schema aiven_extras, which its
   * CREATE EXTENSION creates, exists in this database), "available" (pg_available_extensions), or null.
   */
  aivenExtras: "installed" | "schema" | "available" | null;
}

/** A session as pg_stat_activity shows it to the connecting role. */
export interface SessionFacts {
  pid: number;
  user: string | null;
  application: string | null;
  /** host(client_addr); null for a Unix-socket client (only meaningful on rows the role may see). */
  address: string | null;
}

/** Everything the checks look at, as one catalog query returns it. */
export interface PreflightFacts {
  version: string;
  database: string;
  walLevel: string;
  maxSlots: number;
  usedSlots: number;
  maxSenders: number;
  /** From pg_stat_replication, which lists every WAL sender to every role. */
  usedSenders: number;
  maxSlotWalKeepSize: string | null;
  /** The checked role; managed: the providers' roles it is a member of. */
  role: { name: string; exists: boolean; login: boolean; connect: boolean; super: boolean; replication: boolean; managed: string[] | null };
  /** The connecting role, whose view of pg_stat_activity the session checks rely on. */
  viewer: { name: string; super: boolean; readAllStats: boolean };
  markers: FlavourMarkers;
  /** The oldest open transaction among the client sessions the connecting role may see. */
  longestXact: (SessionFacts & { seconds: number }) | null;
  /** pg_stat_activity rows whose details are hidden from the connecting role. */
  hiddenProcesses: number;
  /** Hidden sessions holding a transaction ID (pg_locks, which every role sees); null when none. */
  hiddenWriters: Array<{ pid: number; user: string | null }> | null;
  tables: TableFacts[];
}

/** RDS and Aurora roles whose members may stream without the REPLICATION attribute (Debezium's own list). */
const RDS_REPLICATION_ROLES = ["rds_replication", "rds_superuser", "rdsadmin", "rdsrepladmin"];

/** The roles and settings each managed service has and a self-managed server normally lacks (Aurora: these plus aurora_version(); Aiven: aiven_extras). */
const SIGNS: ReadonlyArray<{ flavour: PostgresFlavour; roles: string[]; settings: string[] }> = [
  { flavour: "rds", roles: ["rds_replication", "rds_superuser"], settings: ["rds.logical_replication"] },
  { flavour: "cloudsql", roles: ["cloudsqlsuperuser"], settings: ["cloudsql.logical_decoding"] },
  { flavour: "azure", roles: ["azure_pg_admin"], settings: ["azure.replication_support"] },
  { flavour: "neon", roles: ["neon_superuser"], settings: ["neon.timeline_id", "neon.tenant_id"] },
];
const MARKER_ROLES = SIGNS.flatMap((x) => x.roles);
const MARKER_SETTINGS = SIGNS.flatMap((x) => x.settings);
/** Memberships worth knowing of the checked role: the RDS ones grant streaming, neon_superuser changes the Neon fix. */
const MEMBERSHIP_ROLES = [...RDS_REPLICATION_ROLES, "neon_superuser"];

/** Each provider's name and what it calls one PostgreSQL server ("on this Amazon RDS instance"). */
const PROVIDER: Record<PostgresFlavour, { name: string; unit: string }> = {
  rds: { name: "Amazon RDS", unit: "instance" },
  aurora: { name: "Amazon Aurora", unit: "cluster" },
  cloudsql: { name: "Cloud SQL", unit: "instance" },
  azure: { name: "Azure Database for PostgreSQL", unit: "server" },
  neon: { name: "Neon", unit: "project" },
  aiven: { name: "Aiven", unit: "service" },
  "self-managed": { name: "self-managed PostgreSQL", unit: "server" },
};
const place = (flavour: PostgresFlavour): string => `${PROVIDER[flavour].name} ${PROVIDER[flavour].unit}`;

/** Said instead of an address pg_stat_activity hides (it shows NULL, as for a Unix socket). */
const HIDDEN_ADDRESS = "address hidden (needs pg_read_all_stats)";

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
  'usedSenders', (SELECT count(*) FROM pg_stat_replication),
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
  'viewer', json_build_object(
    'name', current_user,
    'super', coalesce((SELECT rolsuper FROM pg_roles WHERE rolname = current_user), false),
    'readAllStats', pg_has_role('pg_read_all_stats', 'USAGE')),
  'markers', json_build_object(
    'roles', (SELECT coalesce(json_agg(rolname::text ORDER BY rolname), '[]'::json) FROM pg_roles WHERE rolname = ANY($6::text[])),
    'settings', (SELECT json_object_agg(u.n, u.v) FROM (SELECT n, current_setting(n, true) AS v FROM unnest($7::text[]) AS x(n)) u
                 WHERE u.v IS NOT NULL),
    'auroraVersion', EXISTS (SELECT 1 FROM pg_proc WHERE proname = 'aurora_version'),
    'aivenExtras', CASE WHEN EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'aiven_extras') THEN 'installed'
                        WHEN EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'aiven_extras') THEN 'schema'
                        WHEN EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'aiven_extras') THEN 'available' END),
  'longestXact', (SELECT json_build_object('seconds', extract(epoch FROM now() - xact_start)::int, 'pid', pid, 'user', usename::text,
                                           'application', nullif(application_name, ''), 'address', host(client_addr))
                  FROM pg_stat_activity
                  WHERE xact_start IS NOT NULL AND pid <> pg_backend_pid() AND backend_type = 'client backend'
                  ORDER BY xact_start LIMIT 1),
  'hiddenProcesses', (SELECT count(*) FROM pg_stat_activity WHERE backend_type IS NULL),
  'hiddenWriters', (SELECT json_agg(json_build_object('pid', a.pid, 'user', a.usename::text) ORDER BY a.pid) FROM pg_stat_activity a
                    WHERE a.backend_type IS NULL
                      AND EXISTS (SELECT 1 FROM pg_locks l WHERE l.pid = a.pid AND l.locktype = 'transactionid' AND l.granted)),
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
    MEMBERSHIP_ROLES,
    MARKER_ROLES,
    MARKER_SETTINGS,
  ]);
  return evaluate(row.facts, s.major, opts);
}

/** Turns the facts into findings (pure). */
export function evaluate(f: PreflightFacts, major: number, opts: PreflightOptions): PreflightReport {
  const problems: PreflightFinding[] = [];
  const warnings: PreflightFinding[] = [];
  const role = f.role.name;
  const r = ident(role);
  const { flavour, markers } = detectFlavour(f.markers);

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
  if (f.walLevel !== "logical") problems.push(walLevelFinding(f, flavour));
  if (f.maxSlots - f.usedSlots < 1) {
    problems.push({
      check: "replication_slots",
      message: `no free replication slot: max_replication_slots is ${f.maxSlots} and ${f.usedSlots} ${f.usedSlots === 1 ? "is" : "are"} in use`,
      fix: `drop unused slots (SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE NOT active ...) or raise max_replication_slots (${raiseSetting(flavour, "max_replication_slots", Math.max(f.maxSlots + 4, 10))})`,
    });
  }
  if (f.maxSenders - f.usedSenders < 1) {
    problems.push({
      check: "wal_senders",
      message: `no free WAL sender: max_wal_senders is ${f.maxSenders} and ${f.usedSenders} ${f.usedSenders === 1 ? "is" : "are"} in use (pg_stat_replication lists them)`,
      fix: `end WAL senders that are no longer needed, or raise max_wal_senders (${raiseSetting(flavour, "max_wal_senders", Math.max(f.maxSenders + 4, 10))})`,
    });
  }
  if (f.maxSlotWalKeepSize === "-1") {
    warnings.push({
      check: "max_slot_wal_keep_size",
      message: "max_slot_wal_keep_size is -1: a stopped or lagging connector makes its slot keep WAL without limit until the disk fills",
      fix: "set max_slot_wal_keep_size (e.g. ALTER SYSTEM SET max_slot_wal_keep_size = '50GB'; SELECT pg_reload_conf();) and watch slot lag",
    });
  }
  const x = f.longestXact;
  if (x !== null && x.seconds > 300) {
    warnings.push({
      check: "long_transaction",
      object: `PID ${x.pid}`,
      message: `a transaction has been open for ${x.seconds} s (${describeSession(x)}); creating a replication slot waits until it ends`,
      fix: `look at it with SELECT usename, xact_start, state, query FROM pg_stat_activity WHERE pid = ${x.pid}; then have it commit or roll back, or end it with SELECT pg_terminate_backend(${x.pid});`,
    });
  }
  if (!f.viewer.super && !f.viewer.readAllStats) warnings.push(partialViewFinding(f));
  if (flavour === "aiven" && opts.tables === undefined && !f.viewer.super) {
    warnings.push({
      check: "publication",
      object: f.database,
      message: `on this Aiven service role "${f.viewer.name}" is not a superuser, so it cannot create a FOR ALL TABLES publication (what a pipeline without a table list creates)`,
      fix:
        "list the tables (a publication FOR TABLE needs only ownership of them), or create the publication with the aiven_extras extension: " +
        "CREATE EXTENSION IF NOT EXISTS aiven_extras CASCADE; SELECT * FROM aiven_extras.pg_create_publication_for_all_tables('<publication>', 'INSERT,UPDATE,DELETE');",
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
    const rdsLike = flavour === "rds" || flavour === "aurora";
    const viaRds = rdsLike && managed.some((m) => RDS_REPLICATION_ROLES.includes(m));
    if (!f.role.super && !f.role.replication && !viaRds) {
      problems.push({
        check: "replication",
        object: role,
        message:
          `role "${role}" has no REPLICATION attribute${rdsLike ? " and is not a member of rds_replication" : ""}` +
          `${flavour === "self-managed" ? "" : ` on this ${place(flavour)}`}, so it cannot start a WAL sender or use replication slots`,
        fix: replicationFix(flavour, r, major, managed.includes("neon_superuser")),
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

  return { ok: problems.length === 0, serverVersion: f.version, major, flavour, flavourMarkers: markers, role, problems, warnings };
}

/**
 * Which managed service the markers point to, and the markers that decided it.
 * Aurora: a function aurora_version() (Aurora also has the RDS roles). RDS:
 * role rds_replication or rds_superuser, or setting rds.logical_replication.
 * Cloud SQL: role cloudsqlsuperuser or flag cloudsql.logical_decoding. Azure:
 * role azure_pg_admin or setting azure.replication_support. Neon: settings
 * neon.timeline_id / neon.tenant_id or role neon_superuser. Aiven: the
 * aiven_extras extension installed or available, or its schema. Otherwise
 * "self-managed". Pure.
 */
export function detectFlavour(m: FlavourMarkers): { flavour: PostgresFlavour; markers: string[] } {
  const seen = (sign: (typeof SIGNS)[number]): string[] => [
    ...sign.roles.filter((name) => m.roles.includes(name)).map((name) => `role ${name}`),
    ...sign.settings.flatMap((name) => (m.settings?.[name] === undefined ? [] : [`setting ${name} = "${m.settings[name]}"`])),
  ];
  if (m.auroraVersion) return { flavour: "aurora", markers: ["function aurora_version()", ...seen(SIGNS[0])] };
  for (const sign of SIGNS) {
    const found = seen(sign);
    if (found.length) return { flavour: sign.flavour, markers: found };
  }
  if (m.aivenExtras !== null) {
    const how = { installed: "extension aiven_extras (installed)", schema: "schema aiven_extras", available: "extension aiven_extras (available)" };
    return { flavour: "aiven", markers: [how[m.aivenExtras]] };
  }
  return { flavour: "self-managed", markers: [] };
}

/** wal_level is not logical: what the provider calls the switch, and how to flip it. */
function walLevelFinding(f: PreflightFacts, flavour: PostgresFlavour): PreflightFinding {
  const setting = (name: string): string => (f.markers.settings?.[name] === undefined ? "" : ` (${name} is "${f.markers.settings[name]}")`);
  const on = flavour === "self-managed" ? "" : ` on this ${place(flavour)}`;
  const finding = (detail: string, fix: string): PreflightFinding => ({
    check: "wal_level",
    message: `wal_level is "${f.walLevel}"${on}${detail}; logical decoding needs "logical"`,
    fix,
  });
  const singleServer = f.markers.settings?.["azure.replication_support"] !== undefined;
  switch (flavour) {
    case "rds":
      return finding(setting("rds.logical_replication"), "set rds.logical_replication = 1 in the instance's DB parameter group and reboot the instance (wal_level follows it)");
    case "aurora":
      return finding(
        setting("rds.logical_replication"),
        "set rds.logical_replication = 1 in the DB cluster parameter group and reboot the writer instance (wal_level follows it)",
      );
    case "cloudsql":
      return finding(
        setting("cloudsql.logical_decoding"),
        "gcloud sql instances patch <instance> --database-flags=cloudsql.logical_decoding=on (the instance restarts; --database-flags replaces every flag set before, so list those too)",
      );
    case "azure":
      return singleServer
        ? finding(
            setting("azure.replication_support"),
            "set the server parameter azure.replication_support = logical (Azure portal > Server parameters, or az postgres server configuration set --name azure.replication_support --value logical ...) and restart the server",
          )
        : finding(
            "",
            "set the server parameter wal_level = logical (Azure portal > Server parameters, or az postgres flexible-server parameter set --name wal_level --value logical ...) and restart the server",
          );
    case "neon":
      return finding(
        "",
        'enable logical replication for the project in the Neon console (project Settings > Logical Replication > "Enable"); it cannot be turned off again, and the project\'s computes restart',
      );
    case "aiven":
      return finding("", "Aiven runs PostgreSQL with wal_level = logical, so this service is not in its usual state: check its configuration (avn service get <service> --json) and ask Aiven support");
    case "self-managed":
      return finding("", "ALTER SYSTEM SET wal_level = logical; then restart PostgreSQL");
  }
}

/** How the role gets what streaming needs, the provider's way. */
function replicationFix(flavour: PostgresFlavour, r: string, major: number, neonMember: boolean): string {
  switch (flavour) {
    case "rds":
    case "aurora":
      return `GRANT rds_replication TO ${r}; (as the master user)`;
    case "cloudsql":
      return `ALTER USER ${r} WITH REPLICATION; (as a member of cloudsqlsuperuser, e.g. the postgres user; Cloud SQL has no superuser)`;
    case "azure":
      return `ALTER ROLE ${r} WITH REPLICATION; (as the server admin, a member of azure_pg_admin)`;
    case "neon":
      return neonMember
        ? "the role is a member of neon_superuser, which gets REPLICATION once logical replication is enabled for the project: enable it in the Neon console (project Settings > Logical Replication)"
        : "on Neon only roles created in the Neon console, CLI or API (members of neon_superuser, such as the project owner) have REPLICATION, and roles created with SQL cannot get it: connect Debezium as such a role";
    case "aiven":
      return major >= 16
        ? `connect Debezium as avnadmin, which has REPLICATION, or give it as avnadmin: ALTER ROLE ${r} REPLICATION;`
        : "connect Debezium as avnadmin, which has REPLICATION (before PostgreSQL 16 only a superuser can give REPLICATION, and an Aiven service has none)";
    case "self-managed":
      return `ALTER ROLE ${r} REPLICATION; (as a superuser), or use a ReplicationGrant`;
  }
}

/** How to raise a server setting that needs a restart, the provider's way. */
function raiseSetting(flavour: PostgresFlavour, name: string, value: number): string {
  switch (flavour) {
    case "rds":
      return `set ${name} = ${value} in the instance's DB parameter group and reboot the instance`;
    case "aurora":
      return `set ${name} = ${value} in the DB cluster parameter group and reboot the writer instance`;
    case "cloudsql":
      return `gcloud sql instances patch <instance> --database-flags=${name}=${value}, listing the flags set before too; the instance restarts`;
    case "azure":
      return `set the server parameter ${name} = ${value} (Azure portal > Server parameters) and restart the server`;
    case "neon":
      return `Neon manages ${name}: ask Neon support`;
    case "aiven":
      return `avn service update <service> -c pg.${name}=${value}`;
    case "self-managed":
      return `ALTER SYSTEM SET ${name} = ${value}; then restart`;
  }
}

/** "PID 123, user app, application "psql", client 10.0.0.5" for a session the connecting role may see. */
function describeSession(x: SessionFacts): string {
  const parts = [`PID ${x.pid}`];
  if (x.user !== null) parts.push(`user ${x.user}`);
  if (x.application !== null) parts.push(`application "${x.application}"`);
  // A visible client backend without an address came over a Unix socket; hidden rows never get here.
  parts.push(x.address === null ? "client local socket" : `client ${x.address}`);
  return parts.join(", ");
}

/** The connecting role sees other roles' sessions without their details: say what the checks could not see. */
function partialViewFinding(f: PreflightFacts): PreflightFinding {
  const viewer = f.viewer.name;
  const writers = f.hiddenWriters ?? [];
  const n = f.hiddenProcesses;
  const listed = writers
    .slice(0, 5)
    .map((w) => `PID ${w.pid} (${w.user === null ? "" : `user ${w.user}, `}${HIDDEN_ADDRESS})`)
    .join(", ");
  const more = writers.length > 5 ? ` and ${writers.length - 5} more` : "";
  const held =
    writers.length === 0
      ? ""
      : `; ${writers.length} of them ${writers.length === 1 ? "holds" : "hold"} a transaction ID, and creating a replication slot waits until ${writers.length === 1 ? "it ends" : "they end"}: ${listed}${more}`;
  return {
    check: "stats_visibility",
    object: viewer,
    message:
      `role "${viewer}", which runs this preflight, is neither a superuser nor a member of pg_read_all_stats, so pg_stat_activity hides ` +
      `the backend type, transaction start and client address of ${n} server process${n === 1 ? "" : "es"} of other roles: ` +
      `the long-transaction check saw only the sessions of roles whose privileges "${viewer}" has${held} ` +
      "(WAL senders were counted from pg_stat_replication, which lists every one)",
    fix: `GRANT pg_read_all_stats TO ${ident(viewer)}; (as a superuser or the provider's admin role) and run the preflight again, or run it as a role that has it`,
  };
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
  const where = report.flavour === undefined || report.flavour === "self-managed" ? "" : ` on ${PROVIDER[report.flavour].name}`;
  const lines: string[] = [`Preflight of ${target} (PostgreSQL ${report.serverVersion}${where}) for role "${report.role}"`];
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
