/**
 * Throwaway databases for integration tests: each caller gets a fresh, uniquely named database on
 * the server of DATABASE_URL (or the local test server), so parallel runs never share state.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";

/** The server used when DATABASE_URL is unset. */
export const LOCAL_TEST_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/test";

/** A database created for one test file, and how to drop it. */
export interface TestDatabase {
  /** A postgres:// URL of the new database. */
  readonly url: string;
  /** Drops the database once its connections have closed (forcing them after a few seconds). */
  drop(): Promise<void>;
}

/** Creates an empty database named selene_test_<random> and returns its URL. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const adminUrl = process.env.DATABASE_URL || LOCAL_TEST_DATABASE_URL;
  const name = `selene_test_${randomBytes(6).toString("hex")}`;
  await runAdmin(adminUrl, `create database ${pg.escapeIdentifier(name)}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  let dropped: Promise<void> | undefined;
  return {
    url: url.toString(),
    drop: () => {
      dropped ??= dropDatabase(adminUrl, name);
      return dropped;
    },
  };
}

// pg's Pool.end() resolves once it has asked its clients to end, not once their sessions are gone.
// Forcing the drop at that moment terminates a session mid-goodbye, and its client then throws an
// uncaught "terminating connection due to administrator command"; so wait for the sessions first.
const DROP_ATTEMPTS = 50;
const DROP_RETRY_MS = 100;

async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        await client.query(`drop database if exists ${pg.escapeIdentifier(name)}`);
        return;
      } catch (err) {
        // 55006 object_in_use: sessions are still closing.
        if ((err as { code?: string }).code !== "55006") throw err;
        if (attempt === DROP_ATTEMPTS) break;
        await new Promise((done) => setTimeout(done, DROP_RETRY_MS));
      }
    }
    await client.query(`drop database if exists ${pg.escapeIdentifier(name)} with (force)`);
  } finally {
    await client.end();
  }
}

async function runAdmin(adminUrl: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
