/**
 * A real mesh for end-to-end tests: compiled processes (run `npm run build`
 * first; `npm test` does), real mTLS certificates in a temp directory, a
 * throwaway database, ports shifted away from a running `npm start`.
 */
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join, resolve } from "node:path";
import { grpcAddress, type MeshLayout, type MeshProcess, meshEnv, meshProcesses } from "../../deploy/mesh-processes.js";
import { type RunningMesh, startMesh } from "../../deploy/mesh-supervisor.js";
import { ensurePki } from "../../deploy/pki.js";
import { testsFailed } from "./failed-tests.js";
import { createMigratedTestDatabase, type TestDatabase } from "./test-database.js";

/** Lines of each process's log printed when a test failed while its mesh was up. */
const TAIL_LINES = 15;

/**
 * Keeps the logs of a mesh a test failed on: copied under .selene/test-logs/ (a clone's CI run
 * loses them with the clone, so the last lines of each are printed as well).
 */
function keepLogs(logDir: string, meshDir: string): void {
  const kept = resolve(".selene", "test-logs", basename(meshDir));
  mkdirSync(kept, { recursive: true });
  cpSync(logDir, kept, { recursive: true });
  const tails = readdirSync(logDir)
    .filter((name) => name.endsWith(".log"))
    .map((name) => {
      const lines = readFileSync(join(logDir, name), "utf8").trimEnd().split("\n").slice(-TAIL_LINES);
      return `--- ${name}, last ${lines.length} lines\n${lines.join("\n")}`;
    });
  console.error(`a test failed while this mesh was up; its logs are kept in ${kept}\n${tails.join("\n")}`);
}

/** A running test mesh. */
export interface TestMesh {
  readonly layout: MeshLayout;
  readonly mesh: RunningMesh;
  readonly pkiDir: string;
  readonly logDir: string;
  /** The environment all processes got (to start an extra process beside them, with processEnv). */
  readonly env: Record<string, string>;
  readonly routerAddress: string;
  stop(): Promise<void>;
}

/**
 * Moves every test mesh of this run by the same amount, so that two checkouts can run their
 * suites on one machine at once (each with its own SELENE_TEST_PORT_SHIFT, e.g. -5000).
 */
export const RUN_PORT_SHIFT = Number(process.env.SELENE_TEST_PORT_SHIFT ?? 0);

/**
 * Starts the mesh; `fileOffset` keeps the meshes of one run apart; `logLevel` is every process's
 * LOG_LEVEL; `extraEnv` goes to every process on top of the mesh's own variables; `replaced` runs
 * another program in a process's place (with its environment, addresses and certificate);
 * `database` is one the caller migrated (today's migrations are then not run; stop drops it).
 */
export async function startTestMesh(
  fileOffset: number,
  logLevel = "info",
  extraEnv: Record<string, string> = {},
  replaced: Partial<Record<MeshProcess["name"], Pick<MeshProcess, "command" | "args">>> = {},
  database?: TestDatabase,
): Promise<TestMesh> {
  const portOffset = fileOffset + RUN_PORT_SHIFT;
  const failedBefore = testsFailed();
  const dir = mkdtempSync(join(tmpdir(), "selene-mesh-"));
  const pkiDir = join(dir, "pki");
  const logDir = join(dir, "logs");
  await ensurePki({ dir: pkiDir });
  const db = database ?? (await createMigratedTestDatabase());
  const layout: MeshLayout = { root: process.cwd(), pkiDir, databaseUrl: db.url, portOffset, logLevel };
  const env = { ...meshEnv(layout), ...extraEnv };
  let mesh: RunningMesh;
  try {
    const processes = meshProcesses(layout).map((p) => ({ ...p, ...replaced[p.name] }));
    mesh = await startMesh(processes, { env, logDir });
  } catch (e) {
    await db.drop();
    throw e;
  }
  return {
    layout,
    mesh,
    pkiDir,
    logDir,
    env,
    routerAddress: grpcAddress("router", portOffset),
    async stop() {
      await mesh.stop();
      await db.drop();
      if (testsFailed() > failedBefore) keepLogs(logDir, dir);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
