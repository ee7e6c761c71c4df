/**
 * Versioned SQL migrations, one folder per owning service (deploy/migrations/<service>/NNNN_<name>.sql).
 * Each file runs once, in its own transaction, under a per-service advisory lock so that several
 * processes migrating at once apply it exactly once; a file whose content changed after it was
 * applied stops the service from starting.
 *
 * The login of the URL creates the roles (deploy/database-roles.ts) and the schema, then every
 * migration runs as selene_owner (SET LOCAL ROLE), so that the owner role owns every object; last,
 * the schema's grants are made equal to the grants matrix. The break_glass schema (the ledger
 * guard that other schemas' ledgers use) is migrated before any other.
 */

import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import type { Logger } from "pino";
import { inTransaction } from "../services/runtime/in-transaction.js";
import { applyGrants } from "./apply-grants.js";
import { checkMigrationPrivileges, ensureRoles, setRolePasswords } from "./database-roles.js";
import { ROLES } from "./grants-matrix.js";
import { MigrationError } from "./migration-error.js";

/** Options of migrate. */
export interface MigrateOptions {
  /** The folder holding one sub-folder per service; defaults to deploy/migrations. */
  readonly migrationsRoot?: string;
  /** migrateAll sets these passwords on the login roles (a server that authenticates by password). */
  readonly rolePasswords?: Readonly<Record<string, string>>;
}

/** One migration file. */
interface MigrationFile {
  readonly version: string;
  readonly sql: string;
  readonly checksum: string;
}

// From source this module sits beside migrations/; compiled, it runs from dist/deploy/ and the
// SQL files (which tsc does not copy) stay in deploy/migrations/ at the project root.
const HERE = dirname(fileURLToPath(import.meta.url));
const DEFAULT_ROOT = [join(HERE, "migrations"), join(HERE, "..", "..", "deploy", "migrations")].find((dir) =>
  existsSync(dir),
);
const SERVICE_NAME = /^[a-z][a-z0-9_]{0,30}$/;
const FILE_NAME = /^(\d{4})_([a-z0-9_]+)\.sql$/;

/** The schema whose guard function every protected ledger's triggers call: migrated first. */
export const LEDGER_GUARD_SCHEMA = "break_glass";

// Roles are checked and created once per pool.
const preparedPools = new WeakMap<pg.Pool, Promise<void>>();

function prepare(pool: pg.Pool, service: string): Promise<void> {
  let prepared = preparedPools.get(pool);
  if (prepared === undefined) {
    prepared = (async () => {
      const client = await pool.connect();
      try {
        await checkMigrationPrivileges(client, service);
        await ensureRoles(client, service);
      } finally {
        client.release();
      }
    })();
    preparedPools.set(pool, prepared);
    prepared.catch(() => preparedPools.delete(pool));
  }
  return prepared;
}

/** Applies the service's pending migrations in order, then its grants; returns the versions it applied. */
export async function migrate(
  pool: pg.Pool,
  service: string,
  logger: Logger,
  options: MigrateOptions = {},
): Promise<{ applied: string[] }> {
  const root = options.migrationsRoot ?? DEFAULT_ROOT;
  const files = await readMigrations(service, root);
  await prepare(pool, service);
  if (service !== LEDGER_GUARD_SCHEMA) {
    await migrateSchema(pool, LEDGER_GUARD_SCHEMA, await readMigrations(LEDGER_GUARD_SCHEMA, root), logger);
  }
  return migrateSchema(pool, service, files, logger);
}

async function migrateSchema(
  pool: pg.Pool,
  service: string,
  files: readonly MigrationFile[],
  logger: Logger,
): Promise<{ applied: string[] }> {
  const log = logger.child({ component: "migrate", service });
  const schema = pg.escapeIdentifier(service);
  const table = `${schema}.schema_migrations`;

  const recorded = await underMigrationLock(pool, service, async (client) => {
    await client.query(`create schema if not exists ${schema} authorization ${ROLES.owner}`);
    await adoptObjects(client, service, log);
    await client.query(`set local role ${ROLES.owner}`);
    await client.query(
      `create table if not exists ${table} (version text primary key, checksum text not null, ` +
        "applied_at timestamptz not null default now())",
    );
    const rows = await client.query<{ version: string; checksum: string }>(`select version, checksum from ${table}`);
    return new Map(rows.rows.map((row) => [row.version, row.checksum]));
  });
  for (const file of files) {
    const checksum = recorded.get(file.version);
    if (checksum !== undefined && checksum !== file.checksum) throw checksumMismatch(service, file, checksum);
  }
  const known = new Set(files.map((file) => file.version));
  const unknown = [...recorded.keys()].filter((version) => !known.has(version)).sort();
  // A database ahead of this code (a rollback during a rolling deploy) is allowed, but said.
  if (unknown.length > 0) log.warn({ versions: unknown }, "database has migrations this code does not know");

  const applied: string[] = [];
  for (const file of files) {
    if (recorded.has(file.version)) continue;
    const started = Date.now();
    const ran = await underMigrationLock(pool, service, async (client) => {
      // Another process may have applied it while we waited for the lock.
      const done = await client.query<{ checksum: string }>(`select checksum from ${table} where version = $1`, [
        file.version,
      ]);
      const checksum = done.rows[0]?.checksum;
      if (checksum !== undefined) {
        if (checksum !== file.checksum) throw checksumMismatch(service, file, checksum);
        return false;
      }
      try {
        await client.query(`set local role ${ROLES.owner}`);
        await client.query(file.sql);
      } catch (err) {
        throw new MigrationError("MIGRATION_FAILED", service, file.version, `${service}/${file.version} failed`, err);
      }
      await client.query(`insert into ${table} (version, checksum) values ($1, $2)`, [file.version, file.checksum]);
      return true;
    });
    if (ran) {
      applied.push(file.version);
      log.info({ version: file.version, duration_ms: Date.now() - started }, "migration applied");
    }
  }
  await underMigrationLock(pool, service, async (client) => {
    await client.query(`set local role ${ROLES.owner}`);
    await applyGrants(client, service, log);
  });
  return { applied };
}

/**
 * Hands the schema and every object in it to the owner role: a database migrated before the role
 * model existed has them owned by the migrating login. Tables carry their indexes and identity
 * sequences along.
 */
async function adoptObjects(client: pg.ClientBase, service: string, log: Logger): Promise<void> {
  const rows = await client.query<{ sql: string }>(
    `select format('alter schema %I owner to ${ROLES.owner}', n.nspname) as sql
     from pg_namespace n where n.nspname = $1 and n.nspowner <> to_regrole('${ROLES.owner}')
     union all
     select format('alter table %s owner to ${ROLES.owner}', c.oid::regclass)
     from pg_class c
     where c.relnamespace = to_regnamespace($1) and c.relkind in ('r', 'p', 'v', 'm', 'f')
       and c.relowner <> to_regrole('${ROLES.owner}')
     union all
     select format('alter function %s owner to ${ROLES.owner}', p.oid::regprocedure)
     from pg_proc p where p.pronamespace = to_regnamespace($1) and p.proowner <> to_regrole('${ROLES.owner}')`,
    [service],
  );
  for (const row of rows.rows) await client.query(row.sql);
  // Sequences a table did not carry along (not owned by a column).
  const sequences = await client.query<{ sql: string }>(
    `select format('alter sequence %s owner to ${ROLES.owner}', c.oid::regclass) as sql
     from pg_class c
     where c.relnamespace = to_regnamespace($1) and c.relkind = 'S' and c.relowner <> to_regrole('${ROLES.owner}')`,
    [service],
  );
  for (const row of sequences.rows) await client.query(row.sql);
  const adopted = rows.rows.length + sequences.rows.length;
  if (adopted > 0) log.info({ objects: adopted }, "objects handed to the owner role");
}

/** Migrates each service in turn over one short-lived pool and returns what each applied. */
export async function migrateAll(
  url: string,
  services: readonly string[],
  logger: Logger,
  options: MigrateOptions = {},
): Promise<Record<string, string[]>> {
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  try {
    const result: Record<string, string[]> = {};
    for (const service of services) result[service] = (await migrate(pool, service, logger, options)).applied;
    // Break-glass sessions that ran out unclosed get their expiry recorded (and audited) at each deploy.
    await inTransaction(pool, async (client) => {
      await client.query(`set local role ${ROLES.owner}`);
      await client.query("select break_glass.sweep() where to_regclass('audit.events') is not null");
    });
    if (options.rolePasswords !== undefined) {
      const client = await pool.connect();
      try {
        await setRolePasswords(client, options.rolePasswords);
      } finally {
        client.release();
      }
    }
    return result;
  } finally {
    await pool.end();
  }
}

/** The versions of `service`'s migration files (NNNN), in order: what a migrated schema has recorded. */
export async function migrationVersions(service: string, migrationsRoot = DEFAULT_ROOT): Promise<string[]> {
  return (await readMigrations(service, migrationsRoot)).map((file) => file.version);
}

async function readMigrations(service: string, root: string | undefined): Promise<MigrationFile[]> {
  if (!SERVICE_NAME.test(service) || root === undefined) {
    throw new MigrationError("MIGRATION_UNKNOWN_SERVICE", service, "", `no migrations for service "${service}"`);
  }
  const dir = join(root, service);
  let names: string[];
  try {
    names = (await readdir(dir)).filter((name) => name.endsWith(".sql")).sort();
  } catch (err) {
    throw new MigrationError("MIGRATION_UNKNOWN_SERVICE", service, "", `no migrations folder ${dir}`, err);
  }
  const numbers = new Set<string>();
  const files: MigrationFile[] = [];
  for (const name of names) {
    const match = FILE_NAME.exec(name);
    if (match === null || numbers.has(match[1]!)) {
      throw new MigrationError(
        "MIGRATION_INVALID_FILE",
        service,
        name,
        `${dir}/${name}: expected a unique NNNN_name.sql`,
      );
    }
    numbers.add(match[1]!);
    // Line endings are normalised so a checkout with CRLF does not look like an edited file.
    const sql = (await readFile(join(dir, name), "utf8")).replace(/\r\n/g, "\n");
    files.push({
      version: name.slice(0, -".sql".length),
      sql,
      checksum: createHash("sha256").update(sql).digest("hex"),
    });
  }
  return files;
}

/** Runs `work` in a transaction holding the service's migration lock (released at commit or rollback). */
function underMigrationLock<T>(
  pool: pg.Pool,
  service: string,
  work: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  return inTransaction(pool, async (client) => {
    await client.query("select pg_advisory_xact_lock(hashtextextended($1, 0))", [`selene.migrate.${service}`]);
    return work(client);
  });
}

function checksumMismatch(service: string, file: MigrationFile, recorded: string): MigrationError {
  return new MigrationError(
    "MIGRATION_CHECKSUM_MISMATCH",
    service,
    file.version,
    `${service}/${file.version}.sql changed after it was applied (recorded sha256 ${recorded}, file ${file.checksum}); ` +
      "add a new migration instead of editing an applied one",
  );
}
