/**
 * Runs work in one PostgreSQL transaction: commit on success, rollback and
 * rethrow on failure. A client whose rollback fails, or whose statement timed out
 * (database-pool.ts), is discarded from the pool rather than returned to it in
 * an unknown state.
 */
import type pg from "pg";

/** Runs `work` in a READ COMMITTED transaction on a client of `pool`. */
export async function inTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    // Explicit: callers rely on each statement seeing transactions committed before it.
    await client.query("begin isolation level read committed");
    const result = await work(client);
    await client.query("commit");
    client.release();
    return result;
  } catch (err) {
    if (timedOut(err)) {
      // The session stopped answering: a rollback would wait as long again. Discard it; the server
      // rolls the transaction back when the session goes.
      client.release(err as Error);
      throw err;
    }
    try {
      await client.query("rollback");
      client.release();
    } catch (rollbackError) {
      client.release(rollbackError as Error);
    }
    throw err;
  }
}

/** Whether `err` is node-postgres's client-side statement timeout (query_timeout). */
function timedOut(err: unknown): boolean {
  return err instanceof Error && err.message === "Query read timeout";
}
