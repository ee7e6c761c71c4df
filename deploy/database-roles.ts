/**
 * The cluster-wide roles of the role model (deploy/grants-matrix.ts): created when missing and
 * put back to their attributes when they drifted, by the migrating login. Roles are shared by
 * every database of a server, and several databases may be migrated at once (parallel test
 * runs), so each statement tolerates losing a race to an identical one. Passwords are not set
 * here: see setRolePasswords.
 */
import pg from "pg";
import { ROLE_DEFINITIONS, ROLES } from "./grants-matrix.js";
import { MigrationError } from "./migration-error.js";

// Errors of two sessions creating or altering the same role at once: duplicate_object,
// unique_violation, and "tuple concurrently updated" (internal_error).
const RACE_CODES = new Set(["42710", "23505", "XX000"]);
const RACE_ATTEMPTS = 5;

interface RoleRow {
  rolcanlogin: boolean;
  rolsuper: boolean;
  rolcreaterole: boolean;
  rolcreatedb: boolean;
  rolreplication: boolean;
  rolbypassrls: boolean;
}

/** Runs `statement` unless `settled()` says it is no longer needed, retrying lost races. */
async function settle(client: pg.ClientBase, settled: () => Promise<boolean>, statement: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    if (await settled()) return;
    try {
      await client.query(statement);
      return;
    } catch (err) {
      if (!RACE_CODES.has((err as { code?: string }).code ?? "") || attempt >= RACE_ATTEMPTS) throw err;
    }
  }
}

/**
 * Fails with MIGRATION_PRIVILEGE_MISSING, naming the privilege, unless the current login can
 * create roles and schemas: CREATEROLE (or superuser) and CREATE on the database.
 */
export async function checkMigrationPrivileges(client: pg.ClientBase, service: string): Promise<void> {
  const me = await client.query<{ login: string; rolsuper: boolean; rolcreaterole: boolean; can_create: boolean }>(
    `select current_user as login, r.rolsuper, r.rolcreaterole,
            has_database_privilege(current_database(), 'CREATE') as can_create
     from pg_roles r where r.rolname = current_user`,
  );
  const row = me.rows[0]!;
  const missing: string[] = [];
  if (!row.rolsuper && !row.rolcreaterole) missing.push("CREATEROLE (to create and maintain the selene_* roles)");
  if (!row.can_create) missing.push("CREATE on the database (to create the schemas)");
  if (missing.length > 0) {
    throw new MigrationError(
      "MIGRATION_PRIVILEGE_MISSING",
      service,
      "",
      `migrations cannot run as role "${row.login}": it lacks ${missing.join(" and ")}; ` +
        "run migrations with a login that has them (see README, Database roles and break-glass)",
    );
  }
}

/** Creates the model's roles, fixes drifted attributes, and makes the current login able to SET ROLE selene_owner. */
export async function ensureRoles(client: pg.ClientBase, service: string): Promise<void> {
  const roleRow = async (name: string) =>
    (
      await client.query<RoleRow>(
        "select rolcanlogin, rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls from pg_roles where rolname = $1",
        [name],
      )
    ).rows[0];
  for (const role of ROLE_DEFINITIONS) {
    const name = pg.escapeIdentifier(role.name);
    const attributes = `${role.login ? "login" : "nologin"} nosuperuser nocreatedb nocreaterole noreplication nobypassrls`;
    await settle(client, async () => (await roleRow(role.name)) !== undefined, `create role ${name} ${attributes}`);
    const fits = (row: RoleRow | undefined) =>
      row !== undefined &&
      row.rolcanlogin === role.login &&
      !row.rolsuper &&
      !row.rolcreaterole &&
      !row.rolcreatedb &&
      !row.rolreplication &&
      !row.rolbypassrls;
    await settle(client, async () => fits(await roleRow(role.name)), `alter role ${name} ${attributes}`);
  }
  const membership = (role: string, member: string, admin: boolean) => async () =>
    (
      await client.query(
        `select 1 from pg_auth_members m
         where m.roleid = to_regrole($1) and m.member = to_regrole($2) and (m.admin_option or not $3)`,
        [role, member, admin],
      )
    ).rowCount! > 0;
  // break_glass.open (run as the owner) lends selene_break_glass to an operator: it needs ADMIN OPTION.
  await settle(
    client,
    membership(ROLES.breakGlass, ROLES.owner, true),
    `grant ${ROLES.breakGlass} to ${ROLES.owner} with admin option`,
  );
  const me = await client.query<{ login: string; rolsuper: boolean }>(
    "select current_user as login, rolsuper from pg_roles where rolname = current_user",
  );
  const { login, rolsuper } = me.rows[0]!;
  if (!rolsuper) {
    // Since PostgreSQL 16 a CREATEROLE login that creates a role is made its member WITH ADMIN but
    // without SET, so a membership row is not enough: what migrations need is SET ROLE.
    const canSetOwner = async () =>
      (
        await client.query<{ ok: boolean }>(
          `select pg_has_role(current_user, $1,
             case when current_setting('server_version_num')::int >= 160000 then 'SET' else 'MEMBER' end) as ok`,
          [ROLES.owner],
        )
      ).rows[0]!.ok;
    try {
      await settle(client, canSetOwner, `grant ${ROLES.owner} to ${pg.escapeIdentifier(login)}`);
    } catch (err) {
      throw new MigrationError(
        "MIGRATION_PRIVILEGE_MISSING",
        service,
        "",
        `migrations cannot run as role "${login}": it is not a member of ${ROLES.owner} and cannot become one ` +
          `(it needs ADMIN OPTION on ${ROLES.owner}, or to be the role that created it)`,
        err,
      );
    }
  }
}

/** Sets the login roles' passwords (for a cluster that authenticates by password, such as the embedded one). */
export async function setRolePasswords(
  client: pg.ClientBase,
  passwords: Readonly<Record<string, string>>,
): Promise<void> {
  for (const [role, password] of Object.entries(passwords)) {
    // ALTER ROLE takes no bind parameters: the password goes in as an escaped literal.
    await client.query(`alter role ${pg.escapeIdentifier(role)} password ${client.escapeLiteral(password)}`);
  }
}

/** The URL of the same server and database as `url`, logged in as `role` (with `password` when given). */
export function roleDatabaseUrl(url: string, role: string, password?: string): string {
  const parsed = new URL(url);
  parsed.username = encodeURIComponent(role);
  parsed.password = password === undefined ? "" : encodeURIComponent(password);
  return parsed.toString();
}
