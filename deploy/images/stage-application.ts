/**
 * Stages the tree every Selene image carries, as the build context of the application image:
 * opt/ is /opt/selene (package.json for the ESM type, compiled code, production node_modules, SQL
 * migrations, the Python engine, the Python engine SDK and the generated code from gen/python), bin/ is
 * /usr/local/bin (selenectl, toolbox-idle).
 * Production node_modules are installed once per package-lock.json, from npm's local cache.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { stagePythonEngines } from "./stage-python.js";

/** Where the context was staged. */
export interface StagedApplication {
  readonly context: string;
}

// The compiled trees the images run (conformance/ for `selenectl engine conformance` in the
// toolbox); bench/ and chaos/ stay out.
const DIST_TREES = ["gen", "services", "deploy", "conformance"];

/** Stages the application of the repository at `root` under `work` (a scratch directory of the build). */
export function stageApplication(root: string, work: string): StagedApplication {
  const context = join(work, "app");
  rmSync(context, { recursive: true, force: true });
  const opt = join(context, "opt");
  mkdirSync(join(opt, "dist"), { recursive: true });
  for (const tree of DIST_TREES) cpSync(join(root, "dist", tree), join(opt, "dist", tree), { recursive: true });
  cpSync(join(root, "deploy", "migrations"), join(opt, "deploy", "migrations"), { recursive: true });
  // The release images: servers shape answers to older callers by them (services/runtime/release-surface.ts).
  cpSync(join(root, "proto", "releases"), join(opt, "proto", "releases"), { recursive: true });
  // The policies every service reads at start (services/runtime/policy/).
  cpSync(join(root, "policy"), join(opt, "policy"), { recursive: true });
  stagePythonEngines(root, opt);
  writeFileSync(join(opt, "package.json"), productionManifest(root));
  cpSync(productionModules(root, work), join(opt, "node_modules"), { recursive: true, verbatimSymlinks: true });
  const bin = join(context, "bin");
  mkdirSync(bin);
  for (const file of ["selenectl", "toolbox-idle"]) cpSync(join(root, "deploy", "images", file), join(bin, file));
  return { context };
}

/** package.json without what only development needs: Node reads "type" from it. */
function productionManifest(root: string): string {
  const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as Record<string, unknown>;
  const kept = Object.fromEntries(
    ["name", "version", "private", "type", "license", "dependencies"].map((key) => [key, manifest[key]]),
  );
  return `${JSON.stringify(kept, null, 2)}\n`;
}

/** node_modules with the production dependencies only (optional ones, such as PostgreSQL binaries, left out). */
function productionModules(root: string, work: string): string {
  const lock = readFileSync(join(root, "package-lock.json"));
  const key = createHash("sha256").update(lock).digest("hex").slice(0, 16);
  const dir = join(work, `node-modules-${key}`);
  if (existsSync(join(dir, "node_modules"))) return join(dir, "node_modules");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  cpSync(join(root, "package.json"), join(dir, "package.json"));
  cpSync(join(root, "package-lock.json"), join(dir, "package-lock.json"));
  const npm = spawnSync(
    "npm",
    ["ci", "--omit=dev", "--omit=optional", "--ignore-scripts", "--prefer-offline", "--no-audit", "--no-fund"],
    { cwd: dir, encoding: "utf8" },
  );
  if (npm.status !== 0) throw new Error(`npm ci --omit=dev failed:\n${npm.stderr.trim()}`);
  return join(dir, "node_modules");
}
