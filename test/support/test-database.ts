/**
 * Throwaway databases for integration tests: each caller gets a fresh, uniquely named database on
 * the server of DATABASE_URL (or the local test server), so parallel runs never share state.
 */
import { pino } from "pino";
import { roleDatabaseUrl } from "../../deploy/database-roles.js";
import { MIGRATED_SERVICES } from "../../deploy/mesh-processes.js";
import { migrateAll } from "../../deploy/migrate.js";
import { createScratchDatabase, LOCAL_ADMIN_URL, type ScratchDatabase } from "../../deploy/scratch-database.js";

/** A database created for one test file, and how to drop it. */
export type TestDatabase = ScratchDatabase;

/** A migrated test database: `url` is the admin login's, `roleUrl` logs in as one of the model's roles. */
export interface MigratedTestDatabase extends TestDatabase {
  /** The URL of this database as `role` (the test server trusts local logins: no password). */
  roleUrl(role: string): string;
}

/** Creates an empty database named selene_test_<random> and returns its URL. */
export function createTestDatabase(): Promise<TestDatabase> {
  return createScratchDatabase("selene_test", process.env.DATABASE_URL || LOCAL_ADMIN_URL);
}

/** Creates a test database and migrates `services` (every schema by default), grants included. */
export async function createMigratedTestDatabase(
  services: readonly string[] = MIGRATED_SERVICES,
): Promise<MigratedTestDatabase> {
  const database = await createTestDatabase();
  try {
    await migrateAll(database.url, services, pino({ level: "silent" }));
  } catch (err) {
    await database.drop();
    throw err;
  }
  return { ...database, roleUrl: (role) => roleDatabaseUrl(database.url, role) };
}
