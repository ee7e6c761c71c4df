/**
 * The PostgreSQL a chaos run owns: an embedded server (real binaries) in a temp data directory on
 * a free port, which a profile may stop and start again on the same port. The machine's own
 * PostgreSQL is never touched.
 */
import { rm } from "node:fs/promises";
import { pino } from "pino";
import { type PostgresHandle, startPostgres } from "../deploy/postgres.js";

/** The owned server. */
export interface OwnedPostgres {
  /** Its admin URL (database "selene"); the port never changes. */
  readonly url: string;
  /** host:port, for the fault proxies. */
  readonly address: string;
  /** Shuts it down (fast shutdown: open sessions are cut). */
  stop(): Promise<void>;
  /** Starts it again on the same data directory and port (a no-op when it runs). */
  start(): Promise<void>;
  /** Stops it and removes its data directory, wherever the server kept it (as root, outside `dataDir`). */
  discard(): Promise<void>;
}

/** Starts the server in `dataDir`. */
export async function startOwnedPostgres(dataDir: string): Promise<OwnedPostgres> {
  const logger = pino({ level: "silent" });
  let handle: PostgresHandle | undefined = await startPostgres({ dataDir, port: 0, logger });
  const url = handle.url;
  const serverDir = handle.dataDir ?? dataDir;
  const port = Number(new URL(url).port);
  return {
    url,
    address: `127.0.0.1:${port}`,
    async stop() {
      await handle?.stop();
      handle = undefined;
    },
    async start() {
      if (handle === undefined) handle = await startPostgres({ dataDir, port, logger });
    },
    async discard() {
      await handle?.stop();
      handle = undefined;
      await rm(serverDir, { recursive: true, force: true });
    },
  };
}
