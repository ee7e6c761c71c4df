/**
 * Versioned SQL migrations, one folder per owning service (deploy/migrations/<service>/NNNN_<name>.sql).
 * Each file runs once, in its own transaction, under a per-service advisory lock so that several
 * processes migrating at once apply it exactly once; a file whose content changed after it was
 * applied stops the service from starting.
 */

import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import type { Logger } from "pino";
import { inTransaction } from "../services/runtime/in-transaction.js";

/** Why migrate refused to run. */
export type MigrationErrorCode =
  /** An applied file's content no longer matches the checksum recorded when it was applied. */
  | "MIGRATION_CHECKSUM_MISMATCH"
  /** A file name is not NNNN_<name>.sql, or two files share a number. */
  | "MIGRATION_INVALID_FILE"
  /** The service name is not a plain identifier, or it has no migrations folder. */
  | "MIGRATION_UNKNOWN_SERVICE"
  /** A migration's SQL failed; its transaction was rolled back. */
  | "MIGRATION_FAILED";

/** Thrown by migrate; `code` is stable, the message is for operators. */
export class MigrationError extends Error {
  override readonly name = "MigrationError";
  /** What went wrong. */
  readonly code: MigrationErrorCode;
  /** The service whose migrations were running. */
  readonly service: string;
  /** The migration at fault, such as "0001_reminders"; "" when none is. */
  readonly version: string;

  constructor(code: MigrationErrorCode, service: string, version: string, message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.code = code;
    this.service = service;
    this.version = version;
  }
}

/** Options of migrate. */
export interface MigrateOptions {
  /** The folder holding one sub-folder per service; defaults to deploy/migrations. */
  readonly migrationsRoot?: string;
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

/** Applies the service's pending migrations in order and returns the versions it applied. */
export async function migrate(
  pool: pg.Pool,
  service: string,
  logger: Logger,
  options: MigrateOptions = {},
): Promise<{ applied: string[] }> {
  const files = await readMigrations(service, options.migrationsRoot ?? DEFAULT_ROOT);
  const log = logger.child({ component: "migrate", service });
  const schema = pg.escapeIdentifier(service);
  const table = `${schema}.schema_migrations`;

  const recorded = await underMigrationLock(pool, service, async (client) => {
    await client.query(`create schema if not exists ${schema}`);
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
  return { applied };
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
    return result;
  } finally {
    await pool.end();
  }
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
