/**
 * The init container of every schema owner's pod (image `migrations`): logs in as the service's own
 * role and waits until its schema has recorded every migration this image ships. Before the Job has
 * run the login fails (the role has no password yet); during an upgrade it waits for the new files.
 */
import pg from "pg";
import { createLogger } from "../services/runtime/logger.js";
import { retryUntil } from "./database-retry.js";
import { migrationVersions } from "./migrate.js";
import { readMigrationWaitConfig } from "./migration-job-config.js";

const config = readMigrationWaitConfig(process.env);
const logger = createLogger("wait-for-migrations", config.logLevel);

async function migrated(expected: readonly string[]): Promise<boolean> {
  const client = new pg.Client({ connectionString: config.databaseUrl, connectionTimeoutMillis: 3000 });
  await client.connect();
  try {
    const rows = await client.query<{ version: string }>(
      `select version from ${pg.escapeIdentifier(config.schema)}.schema_migrations`,
    );
    const recorded = new Set(rows.rows.map((row) => row.version));
    return expected.every((version) => recorded.has(version));
  } finally {
    await client.end();
  }
}

async function main(): Promise<void> {
  const expected = await migrationVersions(config.schema);
  await retryUntil("schema migrated", () => migrated(expected), { deadlineMs: config.waitSeconds * 1000, logger });
  logger.info({ schema: config.schema, versions: expected.length }, "migrations in place");
}

main().then(
  () => logger.flush(() => process.exit(0)),
  (err: unknown) => {
    logger.error({ err }, "wait for migrations failed");
    logger.flush(() => process.exit(1));
  },
);
