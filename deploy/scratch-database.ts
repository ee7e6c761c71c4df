/**
 * Throwaway databases for tests and benchmarks: a uniquely named database on
 * a server the caller can administer, and how to drop it again.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";

/** The local server used when DATABASE_URL is unset (trust auth, as on the dev machines and CI). */
export const LOCAL_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres";

/** A created database. */
export interface ScratchDatabase {
  readonly name: string;
  /** A postgres:// URL of the new database. */
  readonly url: string;
  /** Drops the database (once, however often it is called). */
  drop(): Promise<void>;
}

async function withAdmin<T>(adminUrl: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** SQLSTATE object_in_use: sessions of a just-ended pool are still closing. */
const OBJECT_IN_USE = "55006";

async function dropDatabase(client: pg.Client, name: string): Promise<void> {
  // pg's Pool.end() returns before its sessions are gone: retry a plain drop briefly, then force.
  for (let attempt = 0; attempt < 50; attempt++) {
    try {
      await client.query(`drop database if exists ${pg.escapeIdentifier(name)}`);
      return;
    } catch (err) {
      if ((err as { code?: string }).code !== OBJECT_IN_USE) throw err;
      await new Promise((done) => setTimeout(done, 100));
    }
  }
  await client.query(`drop database if exists ${pg.escapeIdentifier(name)} with (force)`);
}

/** Creates `<prefix>_<random>` on the server of `adminUrl`. */
export async function createScratchDatabase(prefix: string, adminUrl: string): Promise<ScratchDatabase> {
  const name = `${prefix}_${randomBytes(6).toString("hex")}`;
  await withAdmin(adminUrl, (c) => c.query(`create database ${pg.escapeIdentifier(name)}`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  let dropped: Promise<void> | undefined;
  return {
    name,
    url: url.toString(),
    drop: () => {
      dropped ??= withAdmin(adminUrl, (c) => dropDatabase(c, name));
      return dropped;
    },
  };
}
