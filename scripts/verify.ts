/**
 * `npm test`: every gate CI needs, in order, with a progress line per step.
 * Stops at the first failing gate and prints what it said.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { bufBreaking, bufLint, type CheckResult, genDrift, ruleGate } from "./contract-checks.js";

const root = process.cwd();
const bin = (name: string) => join(root, "node_modules", ".bin", name);

function command(cmd: string, args: string[]): () => CheckResult {
  return () => {
    const r = spawnSync(cmd, args, { cwd: root, stdio: "inherit" });
    return { ok: r.status === 0, output: "" };
  };
}

const SMOKE_OFFSET = -25500 + Number(process.env.SELENE_TEST_PORT_SHIFT ?? 0);

const steps: Array<[string, () => CheckResult]> = [
  ["buf lint", () => bufLint(root)],
  ["buf breaking against every release", () => bufBreaking(root)],
  ["validation rules against every release (no tightening)", () => ruleGate(root)],
  ["gen/ drift", () => genDrift(root)],
  ["code lint (biome)", command(bin("biome"), ["check", "."])],
  ["type check", command(bin("tsc"), ["-p", "tsconfig.json", "--noEmit"])],
  // The end-to-end tests run the compiled mesh, as `npm start` does.
  ["build (tsc + Python stubs)", command("npm", ["run", "--silent", "build"])],
  ["tests (mocha)", command(bin("mocha"), process.argv.slice(2))],
  // The short chaos profile: real faults under load, judged on effects, errors, recovery and health.
  // Its mesh sits beside the test meshes' offsets, moved by the same per-checkout shift.
  [
    "chaos smoke profile",
    command("node", ["dist/chaos/chaos-cli.js", "--profile", "smoke", `--port-offset=${SMOKE_OFFSET}`]),
  ],
];

const started = Date.now();
for (const [index, [name, step]] of steps.entries()) {
  const t0 = Date.now();
  process.stdout.write(`[${index + 1}/${steps.length}] ${name} ...\n`);
  const result = step();
  const took = ((Date.now() - t0) / 1000).toFixed(1);
  if (!result.ok) {
    process.stdout.write(`${result.output}\n[${index + 1}/${steps.length}] ${name}: FAILED (${took}s)\n`);
    process.exit(1);
  }
  process.stdout.write(`[${index + 1}/${steps.length}] ${name}: ok (${took}s)\n`);
}
process.stdout.write(`all ${steps.length} gates passed in ${((Date.now() - started) / 1000).toFixed(1)}s\n`);
