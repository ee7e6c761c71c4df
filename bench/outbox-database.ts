/**
 * A throwaway database for the outbox benchmark: `selene_bench_<random>` on the server of
 * DATABASE_URL (or the local server), dropped when the benchmark ends.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";

const LOCAL_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres";

/** The created database and how to drop it. */
export interface BenchDatabase {
  readonly name: string;
  readonly url: string;
  drop(): Promise<void>;
}

async function admin<T>(adminUrl: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Creates an empty database and returns its URL. */
export async function createBenchDatabase(): Promise<BenchDatabase> {
  const adminUrl = process.env.DATABASE_URL || LOCAL_ADMIN_URL;
  const name = `selene_bench_${randomBytes(6).toString("hex")}`;
  await admin(adminUrl, (c) => c.query(`create database ${pg.escapeIdentifier(name)}`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    // Sessions of ended pools may still be closing: retry briefly, then force.
    drop: () =>
      admin(adminUrl, async (c) => {
        for (let attempt = 0; attempt < 50; attempt++) {
          try {
            await c.query(`drop database if exists ${pg.escapeIdentifier(name)}`);
            return;
          } catch (err) {
            if ((err as { code?: string }).code !== "55006") throw err;
            await new Promise((done) => setTimeout(done, 100));
          }
        }
        await c.query(`drop database if exists ${pg.escapeIdentifier(name)} with (force)`);
      }),
  };
}
