/**
 * The PostgreSQL pool every service uses. A session that stops answering (a
 * half-open connection, a server that vanished) must not hold a request
 * forever nor stay in the pool: every query has a client-side timeout, and a
 * client whose query failed is discarded by the pool (pool.query and
 * inTransaction release it with the error), so the next request opens a
 * fresh session. TCP keepalive finds dead idle sessions. A session the server
 * ends while in use is logged, never fatal to the process.
 */
import pg from "pg";
import type { Logger } from "./logger.js";

/** How long one statement may take before the client gives up on its session, ms. */
export const QUERY_TIMEOUT_MS = 5000;
/** How long opening a session may take, ms. */
export const CONNECT_TIMEOUT_MS = 5000;

/** A pool of at most `max` sessions over `url`. */
export function createDatabasePool(url: string, logger: Logger, max = 10): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max,
    query_timeout: QUERY_TIMEOUT_MS,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
  });
  pool.on("error", (err) => logger.error({ err }, "idle database client failed"));
  // A session the server ends while a request holds it (a restart: "terminating connection due to
  // administrator command") reports on the client itself; unheard, that event would end the
  // process. Heard here, the request's next statement fails and the session leaves the pool.
  pool.on("connect", (client) => {
    client.on("error", (err) => logger.warn({ err }, "database session ended while in use"));
  });
  return pool;
}
