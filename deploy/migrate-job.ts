/**
 * The migrations Job (image `migrations`): waits for PostgreSQL, migrates every schema as the
 * migrating login, applies the grants matrix, then sets each service's login password from that
 * service's Secret, last, so that a service can log in only once its schema is migrated.
 * Exit 0 when done, 1 on any failure (the Job retries).
 */
import pg from "pg";
import { createLogger } from "../services/runtime/logger.js";
import { retryUntil } from "./database-retry.js";
import { MIGRATED_SERVICES } from "./mesh-processes.js";
import { migrateAll } from "./migrate.js";
import { readMigrationJobConfig } from "./migration-job-config.js";

const config = readMigrationJobConfig(process.env);
const logger = createLogger("migrations", config.logLevel);

async function main(): Promise<void> {
  await retryUntil(
    "database reachable",
    async () => {
      const client = new pg.Client({ connectionString: config.databaseUrl, connectionTimeoutMillis: 3000 });
      await client.connect();
      await client.end();
      return true;
    },
    { deadlineMs: config.waitSeconds * 1000, logger },
  );
  const applied = await migrateAll(config.databaseUrl, MIGRATED_SERVICES, logger, {
    rolePasswords: config.rolePasswords,
  });
  logger.info({ applied, roles: Object.keys(config.rolePasswords) }, "migrated");
}

main().then(
  () => logger.flush(() => process.exit(0)),
  (err: unknown) => {
    logger.error({ err }, "migrations failed");
    logger.flush(() => process.exit(1));
  },
);
