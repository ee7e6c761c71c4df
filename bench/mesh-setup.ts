/**
 * The mesh the benchmarks and the chaos harness run against: dev certificates in a temp directory,
 * a throwaway database (`selene_bench_<random>`, created on the server the caller names, or on an
 * embedded PostgreSQL in the temp directory when it names none; dropped at the end), migrations,
 * then every compiled process of `npm start` on shifted ports.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { pino } from "pino";
import {
  grpcAddress,
  type MeshLayout,
  type MeshProcess,
  MIGRATED_SERVICES,
  meshEnv,
  meshProcesses,
} from "../deploy/mesh-processes.js";
import { type RunningMesh, startMesh } from "../deploy/mesh-supervisor.js";
import { migrateAll } from "../deploy/migrate.js";
import { ensurePki } from "../deploy/pki.js";
import { startPostgres } from "../deploy/postgres.js";
import { ensureRolePasswords } from "../deploy/role-passwords.js";
import { createScratchDatabase } from "../deploy/scratch-database.js";
import { LOCAL_CONNECT_PORT, LOCAL_PORTS } from "../services/runtime/local-ports.js";

/** The server used when DATABASE_URL is unset (the one the integration tests use). */
export const LOCAL_SERVER_URL = "postgres://postgres@127.0.0.1:5432/test";

/** The repository root: this file is dist/bench/mesh-setup.js once compiled, bench/mesh-setup.ts under tsx (tests). */
const ROOT = fileURLToPath(new URL(import.meta.url.includes("/dist/bench/") ? "../.." : "..", import.meta.url));

/** How to start a benchmark mesh. */
export interface BenchMeshOptions {
  readonly portOffset: number;
  readonly logLevel: string;
  /** Gets one progress line per step. */
  readonly say: (line: string) => void;
  /** The server to create the scratch database on; undefined starts an embedded one in the temp directory. */
  readonly serverUrl: string | undefined;
  /**
   * The caller started `serverUrl`'s server for this run alone (an embedded one): its service roles
   * then get generated passwords, as on a server started here. A shared server's roles are left as
   * they are.
   */
  readonly ownsServer?: boolean;
  /** Variables every process gets on top of the mesh's own (e.g. SELENE_CLIENT_TENANTS). */
  readonly env?: Record<string, string>;
  /** Variables per process, given each process's own database URL (e.g. to route one through a fault proxy). */
  readonly processEnv?: (ownDatabaseUrl: (process: string) => string) => Record<string, Record<string, string>>;
  /** Told the PKI directory once the certificates are issued, before any process starts. */
  readonly onPki?: (pkiDir: string) => void;
}

/** A running benchmark mesh. */
export interface BenchMesh {
  readonly pkiDir: string;
  readonly logDir: string;
  /** The throwaway database's name (its server sessions carry it). */
  readonly databaseName: string;
  /** The throwaway database's URL, reached directly (never through a fault proxy). */
  readonly databaseUrl: string;
  readonly routerAddress: string;
  readonly toolsAddress: string;
  readonly auditAddress: string;
  /** The processes, in start order, with their health addresses. */
  readonly processes: readonly MeshProcess[];
  /** The supervisor, for process faults and restarts. */
  readonly mesh: RunningMesh;
  /** Stops the processes, drops the database, removes the temp directory; safe to call twice. */
  stop(): Promise<void>;
}

/** Starts the mesh. */
export async function startBenchMesh(options: BenchMeshOptions): Promise<BenchMesh> {
  const { portOffset, logLevel, say } = options;
  // The supervisor's health probe would take another mesh on these ports for ours; refuse instead.
  await assertPortsFree(portOffset);
  const dir = mkdtempSync(join(tmpdir(), "selene-bench-"));
  const pkiDir = join(dir, "pki");
  const logDir = join(dir, "logs");
  const undo: Array<() => Promise<void>> = [async () => rmSync(dir, { recursive: true, force: true })];
  const undoAll = async () => {
    for (const step of undo.splice(0).reverse()) await step();
  };
  try {
    const summary = await ensurePki({ dir: pkiDir });
    say(`certificates: issued ${summary.issued.length} in ${pkiDir}`);
    options.onPki?.(pkiDir);

    const server = await startPostgres({
      databaseUrl: options.serverUrl,
      dataDir: join(dir, "pg"),
      port: 0,
      logger: pino({ level: "silent" }),
    });
    undo.push(async () => {
      await server.stop();
      // As root the server may keep its data outside `dir` (deploy/postgres-binaries.ts).
      if (server.dataDir !== undefined) rmSync(server.dataDir, { recursive: true, force: true });
    });
    if (server.embedded) say(`postgres: embedded in ${join(dir, "pg")}`);
    const database = await createScratchDatabase("selene_bench", server.url);
    undo.push(() => database.drop());
    const databaseName = database.name;
    // As npm start does: an embedded server authenticates by password, so its service roles get
    // generated ones; a shared server's roles are not touched.
    const ownServer = server.embedded || options.ownsServer === true;
    const rolePasswords = ownServer ? await ensureRolePasswords(join(dir, "db-role-passwords.json")) : undefined;
    await migrateAll(
      database.url,
      MIGRATED_SERVICES,
      pino({ level: "silent" }),
      rolePasswords === undefined ? {} : { rolePasswords },
    );
    say(`database: ${databaseName} on ${new URL(database.url).host}, migrated`);

    const layout: MeshLayout = {
      root: ROOT,
      pkiDir,
      databaseUrl: database.url,
      portOffset,
      logLevel,
      ...(rolePasswords === undefined ? {} : { rolePasswords }),
    };
    const processes = meshProcesses(layout);
    const ownDatabaseUrl = (name: string) => processes.find((p) => p.name === name)?.env.DATABASE_URL ?? database.url;
    const mesh: RunningMesh = await startMesh(processes, {
      env: { ...meshEnv(layout), ...options.env },
      processEnv: options.processEnv?.(ownDatabaseUrl) ?? {},
      logDir,
      onReady: (name, ms) => say(`  ${name} serving (${ms} ms)`),
    });
    undo.push(() => mesh.stop());
    return {
      pkiDir,
      logDir,
      databaseName,
      databaseUrl: database.url,
      processes,
      mesh,
      routerAddress: grpcAddress("router", portOffset),
      toolsAddress: grpcAddress("tools", portOffset),
      auditAddress: grpcAddress("audit", portOffset),
      stop: undoAll,
    };
  } catch (e) {
    await undoAll();
    throw e;
  }
}

/** Throws unless every port of a mesh at `portOffset` can be bound on 127.0.0.1. */
async function assertPortsFree(portOffset: number): Promise<void> {
  const ports = [...Object.values(LOCAL_PORTS).flatMap((p) => [p.grpc, p.health, p.metrics]), LOCAL_CONNECT_PORT];
  const taken: number[] = [];
  for (const port of ports.map((p) => p + portOffset)) {
    const free = await new Promise<boolean>((resolve) => {
      const probe = createServer();
      probe.once("error", () => resolve(false));
      probe.listen({ host: "127.0.0.1", port, exclusive: true }, () => probe.close(() => resolve(true)));
    });
    if (!free) taken.push(port);
  }
  if (taken.length > 0) {
    throw new Error(
      `cannot start a mesh at port offset ${portOffset}, in use: ${taken.join(", ")} ` +
        "(another benchmark or chaos run?); stop it or choose another port offset",
    );
  }
}
