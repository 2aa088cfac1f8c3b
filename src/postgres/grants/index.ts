/**
 * Grants for the role Debezium logs in as: REPLICATION (or membership in
 * rds_replication on RDS/Aurora), SELECT on tables, USAGE on their schemas,
 * default privileges for future tables, CREATE on the database.
 *
 * Exactness: before granting, one catalog query records what the role already
 * holds directly (its own ACL entries, its REPLICATION attribute, its direct
 * memberships). This module grants only what is missing, and remembers what it
 * added (`granted`) apart from what the role already had (`kept`). Revoking
 * removes `granted` only, so a privilege the role had before stays.
 *
 * Every change runs in one transaction with a constant number of statements
 * (one GRANT for all tables, one for all schemas, ...), preceded by one
 * catalog query that finds every missing object and every missing right at
 * once, so a failing plan changes nothing. The transaction is retried when
 * PostgreSQL reports a catalog race ("tuple concurrently updated"), which
 * happens when Pulumi grants on one schema from several resources at once.
 *
 * Knows nothing of Pulumi.
 */
export * from "./model";
export { readCatalog, type Catalog } from "./catalog";
export { planGrants, type GrantPlan } from "./plan";
export { grantStatements, heldPrivileges } from "./statements";
export { applyGrants, grantStats, readGrants } from "./apply";
