/**
 * Throwaway databases for integration tests: each caller gets a fresh, uniquely named database on
 * the server of DATABASE_URL (or the local test server), so parallel runs never share state.
 */
import { createScratchDatabase, LOCAL_ADMIN_URL, type ScratchDatabase } from "../../deploy/scratch-database.js";

/** A database created for one test file, and how to drop it. */
export type TestDatabase = ScratchDatabase;

/** Creates an empty database named selene_test_<random> and returns its URL. */
export function createTestDatabase(): Promise<TestDatabase> {
  return createScratchDatabase("selene_test", process.env.DATABASE_URL || LOCAL_ADMIN_URL);
}
