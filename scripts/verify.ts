/**
 * `npm test`: every gate CI needs, in order, with a progress line per step.
 * Stops at the first failing gate and prints what it said. Before anything runs it installs the
 * Debian packages the Python engine needs (deploy/system-packages.ts), and the tests get a
 * PostgreSQL server (scripts/test-database-server.ts: DATABASE_URL, the machine's, or an
 * embedded one). Ctrl-C stops the step under way and the embedded server, and leaves nothing behind.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { ensureSystemPackages, MESH_PACKAGES } from "../deploy/system-packages.js";
import { bufBreaking, bufLint, type CheckResult, genDrift, ruleGate } from "./contract-checks.js";
import { type TestDatabaseServer, testDatabaseServer } from "./test-database-server.js";

const root = process.cwd();
const bin = (name: string) => join(root, "node_modules", ".bin", name);

let interrupted: NodeJS.Signals | undefined;
let current: ReturnType<typeof spawn> | undefined;
const onSignal = (signal: NodeJS.Signals) => {
  interrupted ??= signal;
  current?.kill(signal);
};
process.on("SIGINT", onSignal);
process.on("SIGTERM", onSignal);

function command(cmd: string, args: string[]): () => Promise<CheckResult> {
  return () =>
    new Promise((resolveRun) => {
      const child = spawn(cmd, args, { cwd: root, stdio: "inherit" });
      current = child;
      child.once("error", (err) => resolveRun({ ok: false, output: `${cmd} could not run: ${err.message}` }));
      child.once("close", (code) => {
        current = undefined;
        resolveRun({ ok: code === 0, output: "" });
      });
    });
}

const SMOKE_OFFSET = -25500 + Number(process.env.SELENE_TEST_PORT_SHIFT ?? 0);
let database: TestDatabaseServer | undefined;
const say = (line: string) => process.stdout.write(`${line}\n`);

const steps: Array<[string, () => Promise<CheckResult>]> = [
  [
    "system packages",
    async () => {
      const installed = await ensureSystemPackages(MESH_PACKAGES, say);
      return { ok: true, output: installed.length === 0 ? "present" : `installed ${installed.join(" ")}` };
    },
  ],
  ["buf lint", async () => bufLint(root)],
  ["buf breaking against every release", async () => bufBreaking(root)],
  ["validation rules against every release (no tightening)", async () => ruleGate(root)],
  ["gen/ drift", async () => genDrift(root)],
  ["code lint (biome)", command(bin("biome"), ["check", "."])],
  ["type check", command(bin("tsc"), ["-p", "tsconfig.json", "--noEmit"])],
  // The end-to-end tests run the compiled mesh, as `npm start` does.
  ["build (tsc)", command("npm", ["run", "--silent", "build"])],
  [
    "test database",
    async () => {
      database = await testDatabaseServer(root);
      process.env.DATABASE_URL = database.url;
      const where = new URL(database.url);
      return {
        ok: true,
        output: `${database.embedded ? "embedded" : "using"} postgres at ${where.host}${where.pathname}`,
      };
    },
  ],
  ["tests (mocha)", command(bin("mocha"), process.argv.slice(2))],
  // The short chaos profile: real faults under load, judged on effects, errors, recovery and health.
  // Its mesh sits beside the test meshes' offsets, moved by the same per-checkout shift.
  [
    "chaos smoke profile",
    command("node", ["dist/chaos/chaos-cli.js", "--profile", "smoke", `--port-offset=${SMOKE_OFFSET}`]),
  ],
];

async function main(): Promise<number> {
  const started = Date.now();
  for (const [index, [name, step]] of steps.entries()) {
    const t0 = Date.now();
    say(`[${index + 1}/${steps.length}] ${name} ...`);
    const result = await step().catch((err: unknown) => ({
      ok: false,
      output: err instanceof Error ? err.message : String(err),
    }));
    const took = ((Date.now() - t0) / 1000).toFixed(1);
    if (interrupted !== undefined) {
      say(`[${index + 1}/${steps.length}] ${name}: interrupted (${interrupted})`);
      return 130;
    }
    if (!result.ok) {
      say(`${result.output}\n[${index + 1}/${steps.length}] ${name}: FAILED (${took}s)`);
      return 1;
    }
    const note = result.output === "" || result.output.includes("\n") ? "ok" : `ok, ${result.output}`;
    say(`[${index + 1}/${steps.length}] ${name}: ${note} (${took}s)`);
  }
  say(`all ${steps.length} gates passed in ${((Date.now() - started) / 1000).toFixed(1)}s`);
  return 0;
}

main().then(async (code) => {
  await database?.stop();
  process.exit(code);
});
