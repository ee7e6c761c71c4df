/**
 * The PostgreSQL server of `npm test`: the one DATABASE_URL names when it is set; otherwise the
 * machine's test server (postgres://postgres@127.0.0.1:5432) when it answers; otherwise an
 * embedded server started for the suite (real binaries, loopback only, trust logins as on the
 * test server), kept in a data directory per checkout so that the next run reuses it.
 */
import { createHash } from "node:crypto";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pino } from "pino";
import { startPostgres } from "../deploy/postgres.js";
import { postgresAnswers } from "../deploy/postgres-answers.js";
import { LOCAL_ADMIN_URL } from "../deploy/scratch-database.js";

/** The server the suite uses: its admin URL, whether it was started here, and how to stop it. */
export interface TestDatabaseServer {
  readonly url: string;
  readonly embedded: boolean;
  stop(): Promise<void>;
}

/** The data directory of the suite's embedded server for the checkout at `root`. */
export function testDataDir(root: string): string {
  const key = createHash("sha256").update(resolve(root)).digest("hex").slice(0, 16);
  return join(tmpdir(), `selene-test-pg-${key}`);
}

/** Picks or starts the suite's server. */
export async function testDatabaseServer(root: string): Promise<TestDatabaseServer> {
  const configured = process.env.DATABASE_URL?.trim();
  if (configured) return { url: configured, embedded: false, stop: async () => {} };
  if (await postgresAnswers(LOCAL_ADMIN_URL)) return { url: LOCAL_ADMIN_URL, embedded: false, stop: async () => {} };
  const handle = await startPostgres({
    dataDir: testDataDir(root),
    port: 0,
    auth: "trust",
    logger: pino({ level: "silent" }),
  });
  // The admin login without its password: the cluster trusts loopback logins.
  const url = new URL(handle.url);
  url.password = "";
  return { url: url.toString(), embedded: true, stop: () => handle.stop() };
}
