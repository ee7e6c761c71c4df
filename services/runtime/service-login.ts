/**
 * The database login a service may run with: its own role, never one the database's protections do
 * not apply to. Row-level security skips superusers, roles with BYPASSRLS and a table's owner, and
 * the owner role holds every right on every object; a service connected as any of them would
 * quietly lose those protections, so it refuses to start instead.
 */
import type pg from "pg";
import { ConfigError } from "./service-config.js";

/** The role that owns every schema and object; only migrations use it. */
export const OWNER_ROLE = "selene_owner";

/** Throws a ConfigError naming the problem when `pool` logs in as a superuser, a BYPASSRLS role or a member of the owner role. */
export async function assertServiceLogin(pool: pg.Pool): Promise<void> {
  const result = await pool.query<{ login: string; rolsuper: boolean; rolbypassrls: boolean; owner: boolean | null }>(
    `select current_user as login, r.rolsuper, r.rolbypassrls,
            pg_has_role(current_user, to_regrole($1), 'member') as owner
     from pg_roles r where r.rolname = current_user`,
    [OWNER_ROLE],
  );
  const row = result.rows[0]!;
  const problems = [
    ...(row.rolsuper ? ["a superuser"] : []),
    ...(row.rolbypassrls ? ["allowed to bypass row-level security"] : []),
    ...(row.owner === true ? [`a member of ${OWNER_ROLE}`] : []),
  ];
  if (problems.length > 0) {
    throw new ConfigError(
      `DATABASE_URL logs in as "${row.login}", ${problems.join(" and ")}: a service connects as its own role ` +
        "(README, Database roles and break-glass)",
    );
  }
}
