/**
 * `npm start`: the whole mesh on this machine. Installs the Debian packages the
 * Python engine needs when missing (deploy/system-packages.ts), issues dev
 * certificates when missing, starts Postgres (embedded unless DATABASE_URL is set), migrates,
 * starts every process and waits until each reports SERVING, runs the demo
 * conversation and prints it, then serves until Ctrl-C and stops everything:
 * the router first, then the engines, then Postgres.
 *
 * Ctrl-C (SIGINT) or SIGTERM at any step stops what was started; the processes
 * started are recorded in SELENE_HOME, so a launch after one that was killed
 * outright stops what that one left behind.
 *
 * Flags: --exit-after-demo (stop after the demo; used by the end-to-end test).
 * Environment: DATABASE_URL, SELENE_HOME (default .selene), SELENE_PORT_OFFSET
 * (default 0; moves every port, the embedded PostgreSQL's 54329 too), LOG_LEVEL (default info). DATABASE_URL is the migrating login's; each process
 * connects as its own role (deploy/mesh-processes.ts).
 */
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { pino } from "pino";
import { CURRENT_CONTRACT_VERSION } from "../services/runtime/contract-version.js";
import { runDemoConversation } from "./demo-conversation.js";
import { LauncherRecord, reclaimLeftovers } from "./launcher-record.js";
import {
  connectAddress,
  grpcAddress,
  type MeshLayout,
  MIGRATED_SERVICES,
  meshEnv,
  meshProcesses,
} from "./mesh-processes.js";
import { startMesh } from "./mesh-supervisor.js";
import { migrateAll } from "./migrate.js";
import { ensurePki } from "./pki.js";
import { DEFAULT_EMBEDDED_PORT, startPostgres } from "./postgres.js";
import { ensureRolePasswords, readRolePasswords } from "./role-passwords.js";
import { ensureSystemPackages, MESH_PACKAGES } from "./system-packages.js";

const root = resolve(fileURLToPath(import.meta.url), "..", "..", "..");
const home = resolve(process.env.SELENE_HOME ?? join(root, ".selene"));
const portOffset = Number(process.env.SELENE_PORT_OFFSET ?? 0);
const exitAfterDemo = process.argv.includes("--exit-after-demo");
mkdirSync(home, { recursive: true });
// The launcher's own lifecycle lines go to a file; the console gets the progress lines.
const logger = pino({ level: "info", base: { service: "launcher" } }, pino.destination(join(home, "launcher.log")));

const say = (line: string) => process.stdout.write(`${line}\n`);

// Ctrl-C or SIGTERM at any step: the step under way finishes or fails (its children got the
// terminal's SIGINT too), then everything started is stopped, in reverse order.
class Interrupted extends Error {}
let interrupted: NodeJS.Signals | undefined;
let wake: (() => void) | undefined;
const onSignal = (signal: NodeJS.Signals) => {
  interrupted ??= signal;
  wake?.();
};
process.on("SIGINT", onSignal);
process.on("SIGTERM", onSignal);

let step = 0;
const STEPS = 7;
async function timed<T>(title: string, work: () => Promise<T>, done: (value: T) => string): Promise<T> {
  step++;
  const t0 = Date.now();
  say(`[${step}/${STEPS}] ${title} ...`);
  const value = await work();
  if (interrupted !== undefined) throw new Interrupted(interrupted);
  say(`[${step}/${STEPS}] ${done(value)} (${((Date.now() - t0) / 1000).toFixed(1)}s)`);
  return value;
}

async function main(): Promise<void> {
  await timed(
    "system packages",
    () => ensureSystemPackages(MESH_PACKAGES, say),
    (installed) => (installed.length === 0 ? "system packages present" : `installed ${installed.join(" ")}`),
  );
  const recordFile = join(home, "launcher.json");
  const reclaimed = await reclaimLeftovers(recordFile, root);
  if (reclaimed.length > 0) say(`      stopped ${reclaimed.length} processes an earlier run left behind`);
  const record = new LauncherRecord(recordFile);
  // What was started, stopped in reverse order on the way out, whatever the way.
  const started: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const stop of started.splice(0).reverse()) await stop();
    record.clear();
  };
  try {
    await serve(record, started);
  } finally {
    await stopAll();
  }
}

async function serve(record: LauncherRecord, started: Array<() => Promise<void>>): Promise<void> {
  const pkiDir = join(home, "pki");
  await timed(
    "certificates",
    () => ensurePki({ dir: pkiDir }),
    (s) =>
      s.upToDate ? `certificates up to date in ${pkiDir}` : `issued ${s.issued.length} certificates in ${pkiDir}`,
  );
  const pg = await timed(
    "postgres",
    async () => {
      const handle = await startPostgres({
        databaseUrl: process.env.DATABASE_URL,
        dataDir: join(home, "pg"),
        port: DEFAULT_EMBEDDED_PORT + portOffset,
        logger,
      });
      started.push(() => handle.stop());
      return handle;
    },
    (h) => (h.embedded ? `embedded postgres at ${h.url.replace(/\/\/[^@]*@/, "//")}` : "using DATABASE_URL"),
  );
  // The embedded server authenticates by password: the service roles get generated ones. An
  // external server gets none set; the file's passwords are used in the URLs if it exists.
  const passwordsFile = join(home, "db-role-passwords.json");
  const rolePasswords = pg.embedded ? await ensureRolePasswords(passwordsFile) : await readRolePasswords(passwordsFile);
  await timed(
    "migrations",
    () => migrateAll(pg.url, MIGRATED_SERVICES, logger, pg.embedded ? { rolePasswords } : {}),
    (applied) => `migrated (${Object.values(applied).flat().length} applied)`,
  );
  const layout: MeshLayout = {
    root,
    pkiDir,
    databaseUrl: pg.url,
    ...(rolePasswords === undefined ? {} : { rolePasswords }),
    portOffset,
    logLevel: process.env.LOG_LEVEL ?? "info",
  };
  const processes = meshProcesses(layout);
  await timed(
    "processes",
    async () => {
      const mesh = await startMesh(processes, {
        env: meshEnv(layout),
        logDir: join(home, "logs"),
        onReady: (name, ms) => say(`      ${name.padEnd(9)} SERVING  (${ms} ms)`),
        onSpawn: (_name, pid) => record.add(pid),
      });
      started.push(() => mesh.stop());
      return mesh;
    },
    () => `all ${processes.length} processes SERVING; logs in ${join(home, "logs")}`,
  );
  const demo = await timed(
    "demo conversation",
    () => runDemoConversation(grpcAddress("router", portOffset), pkiDir, `run${Date.now().toString(36)}`),
    (d) => `demo done (${d.responses.length} turns)`,
  );
  say("");
  for (const line of demo.lines) say(`  ${line}`);
  step++;
  say(
    `[${step}/${STEPS}] serving: gRPC ${grpcAddress("router", portOffset)}, Connect https://${connectAddress(portOffset)}`,
  );
  if (exitAfterDemo) return;
  const executed = demo.responses.find((r) => r.outcome.case === "executed") ?? demo.responses[0];
  say("      Every decision above is in the audit ledger. Replay one, check the chains:");
  say(`      npm run selenectl -- replay ${executed?.correlationId ?? "<correlation-id>"}`);
  say("      npm run selenectl -- audit verify");
  say("      Ctrl-C to stop. Try it with curl:");
  say(
    `      curl --cacert ${pkiDir}/ca.crt --cert ${pkiDir}/demo-app.crt --key ${pkiDir}/demo-app.key \\\n` +
      `        -H 'content-type: application/json' https://localhost:${connectAddress(portOffset).split(":")[1]}/selene.os.v1.TurnService/SubmitTurn \\\n` +
      `        -d '{"envelope":{"contractVersion":${JSON.stringify(CURRENT_CONTRACT_VERSION)},"tenantId":"demo","userId":"me","correlationId":"c1","turnId":"t1","idempotencyKey":"k1"},"text":"convert 5 km to miles"}'`,
  );
  await new Promise<void>((resolveStop) => {
    wake = resolveStop;
    if (interrupted !== undefined) resolveStop();
  });
  say("stopping ...");
}

// Exit explicitly: open handles (pools, timers) must not keep a stopped launcher alive.
main().then(
  () => {
    say(exitAfterDemo ? "stopped" : "stopped: every process exited, postgres shut down");
    process.exit(0);
  },
  (e: unknown) => {
    if (e instanceof Interrupted || interrupted !== undefined) {
      say(`stopped (${interrupted ?? "interrupted"}): every process started was stopped`);
      process.exit(130);
    }
    process.stderr.write(`npm start failed: ${(e as Error).message}\n`);
    process.exit(1);
  },
);
