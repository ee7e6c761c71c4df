/**
 * The contract gates that `npm test` runs: buf lint, buf breaking against the
 * image of every released contract version, the semantic gate on validation
 * rules against each of them, and the drift check that gen/
 * matches what the generators produce from proto/ today. Each takes the
 * repository root, so the test suite can prove on a temporary copy that each
 * gate fails when it should.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join, relative } from "node:path";
import { parse as parseYaml } from "yaml";
import { describeChange, ruleChanges } from "./rule-tightening.js";

/** The outcome of one gate. */
export interface CheckResult {
  readonly ok: boolean;
  /** What the gate printed, or the list of drifted files. */
  readonly output: string;
}

/** The committed images of released contract versions, `v<major>.<minor>.binpb`; buf breaking checks each. */
export const RELEASES_DIR = "proto/releases";

const RELEASE_NAME = /^v(\d+)\.(\d+)\.binpb$/;

/** The image of release `version`, relative to the root. */
export function releaseImage(version: { readonly major: number; readonly minor: number }): string {
  return join(RELEASES_DIR, `v${version.major}.${version.minor}.binpb`);
}

/** The release images under `root`, oldest version first. */
export function releaseImages(root: string): string[] {
  let names: string[];
  try {
    names = readdirSync(join(root, RELEASES_DIR));
  } catch {
    return [];
  }
  const versions = names.flatMap((name) => {
    const m = RELEASE_NAME.exec(name);
    return m === null ? [] : [{ name, major: Number(m[1]), minor: Number(m[2]) }];
  });
  versions.sort((a, b) => a.major - b.major || a.minor - b.minor);
  return versions.map((v) => join(RELEASES_DIR, v.name));
}

/** Directories and files that the generators own (`npm run generate` writes them all). */
export const GENERATED_PATHS = ["gen/es", "gen/proto", "gen/python", "docs/REASON_CODES.md", "docs/GRANTS.md"];

function bin(root: string, name: string): string {
  return join(root, "node_modules", ".bin", name);
}

function run(cwd: string, command: string, args: string[]): CheckResult {
  const result = spawnSync(command, args, { cwd, encoding: "utf8" });
  const output = `${result.stdout ?? ""}${result.stderr ?? ""}${result.error ? String(result.error) : ""}`.trim();
  return { ok: result.status === 0, output };
}

/** buf lint (STANDARD) over proto/. */
export function bufLint(root: string, toolsRoot = root): CheckResult {
  return run(root, bin(toolsRoot, "buf"), ["lint"]);
}

/** Arguments of `buf build` that give the image of our contracts (with their imports). */
export const IMAGE_ARGS = ["build", "--path", "proto/selene"];

/**
 * The buf breaking categories checked against each release: FILE (generated code and binary
 * clients) and WIRE_JSON (clients of the Connect JSON port: JSON names of fields and enum values).
 * FILE holds every WIRE_JSON rule; running both names which kind of client a change breaks.
 */
export const BREAKING_CATEGORIES = ["FILE", "WIRE_JSON"] as const;

/** buf.yaml with `breaking.use` set to one category, as the data `--config` takes. */
function configFor(root: string, category: string): string {
  const config = parseYaml(readFileSync(join(root, "buf.yaml"), "utf8")) as { breaking?: Record<string, unknown> };
  return JSON.stringify({ ...config, breaking: { ...config.breaking, use: [category] } });
}

/**
 * buf breaking of today's contracts against every release image (a change that one release would
 * allow may still break an older one's clients), in each category; fails naming each release and
 * category it breaks.
 */
export function bufBreaking(root: string, toolsRoot = root): CheckResult {
  const releases = releaseImages(root);
  if (releases.length === 0) return { ok: false, output: `no release images in ${RELEASES_DIR}` };
  const out = mkdtempSync(join(tmpdir(), "selene-image-"));
  try {
    const current = join(out, "current.binpb");
    const build = run(root, bin(toolsRoot, "buf"), [...IMAGE_ARGS, "-o", current]);
    if (!build.ok) return { ok: false, output: `buf build failed:\n${build.output}` };
    const failures: string[] = [];
    for (const release of releases) {
      for (const category of BREAKING_CATEGORIES) {
        // Image against image: the workspace has two modules, a release is one image.
        const against = join(root, release);
        const args = [
          "breaking",
          current,
          "--against",
          against,
          "--path",
          "selene",
          "--config",
          configFor(root, category),
        ];
        const result = run(root, bin(toolsRoot, "buf"), args);
        if (!result.ok) failures.push(`breaks ${release} (${category}):\n${result.output}`);
      }
    }
    return failures.length === 0
      ? { ok: true, output: `no breaking change (${BREAKING_CATEGORIES.join(", ")}) against ${releases.join(", ")}` }
      : { ok: false, output: failures.join("\n") };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/** Rule changes reviewed and accepted, per release (scripts/rule-tightening.ts). */
export const REVIEWED_RULE_CHANGES = join(RELEASES_DIR, "reviewed-rule-changes.json");

interface AcceptedChange {
  readonly release: string;
  readonly subject: string;
  readonly rule: string;
  readonly why: string;
}

function acceptedChanges(root: string): AcceptedChange[] {
  try {
    return (JSON.parse(readFileSync(join(root, REVIEWED_RULE_CHANGES), "utf8")) as { accepted: AcceptedChange[] })
      .accepted;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw e;
  }
}

/**
 * The semantic gate: the protovalidate rules of today's contracts against every release's
 * (scripts/rule-tightening.ts). Fails naming each field path and rule whose change breaks a
 * release's clients, unless reviewed-rule-changes.json accepts it; an accepted entry that matches
 * no change fails too.
 */
export function ruleGate(root: string, toolsRoot = root): CheckResult {
  const releases = releaseImages(root);
  if (releases.length === 0) return { ok: false, output: `no release images in ${RELEASES_DIR}` };
  const out = mkdtempSync(join(tmpdir(), "selene-rules-"));
  try {
    const current = join(out, "current.binpb");
    const build = run(root, bin(toolsRoot, "buf"), [...IMAGE_ARGS, "-o", current]);
    if (!build.ok) return { ok: false, output: `buf build failed:\n${build.output}` };
    const today = readFileSync(current);
    const accepted = acceptedChanges(root);
    const used = new Set<AcceptedChange>();
    const failures: string[] = [];
    for (const release of releases) {
      const name = basename(release, ".binpb");
      for (const change of ruleChanges(readFileSync(join(root, release)), today)) {
        const excuse = accepted.find(
          (a) => a.release === name && a.subject === change.subject && a.rule === change.rule,
        );
        if (excuse === undefined) failures.push(`breaks ${release}: ${describeChange(change)}`);
        else used.add(excuse);
      }
    }
    for (const a of accepted) {
      if (!used.has(a)) failures.push(`stale entry in ${REVIEWED_RULE_CHANGES}: ${a.release} ${a.subject} ${a.rule}`);
    }
    return failures.length === 0
      ? { ok: true, output: `no rule tightened against ${releases.join(", ")} (${used.size} reviewed)` }
      : { ok: false, output: failures.join("\n") };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

function listFiles(dir: string): string[] {
  let entries: string[];
  try {
    if (!statSync(dir).isDirectory()) return [dir];
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  return entries.flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? listFiles(path) : [path];
  });
}

/** Compares gen/ with a fresh generation into a temporary directory. */
export function genDrift(root: string, toolsRoot = root): CheckResult {
  const out = mkdtempSync(join(tmpdir(), "selene-gen-"));
  try {
    const derive = run(root, bin(toolsRoot, "tsx"), [
      join(toolsRoot, "scripts", "derive-validate-proto.ts"),
      "--out",
      join(out, "gen", "proto"),
    ]);
    if (!derive.ok) return { ok: false, output: `deriving validate.proto failed:\n${derive.output}` };
    const generate = run(root, bin(toolsRoot, "buf"), ["generate", "-o", out]);
    if (!generate.ok) return { ok: false, output: `buf generate failed:\n${generate.output}` };
    mkdirSync(join(out, "docs"));
    const docs = run(root, bin(toolsRoot, "tsx"), [
      join(toolsRoot, "scripts", "gen-reason-codes.ts"),
      "--out",
      join(out, "docs", "REASON_CODES.md"),
    ]);
    if (!docs.ok) return { ok: false, output: `generating the reason-code catalog failed:\n${docs.output}` };
    const grants = run(root, bin(toolsRoot, "tsx"), [
      join(toolsRoot, "scripts", "gen-grants-doc.ts"),
      "--out",
      join(out, "docs", "GRANTS.md"),
    ]);
    if (!grants.ok) return { ok: false, output: `generating the grants matrix failed:\n${grants.output}` };
    const python = run(root, bin(toolsRoot, "tsx"), [
      join(toolsRoot, "scripts", "gen-python.ts"),
      "--out",
      join(out, "gen", "python"),
    ]);
    if (!python.ok) return { ok: false, output: `generating the Python code failed:\n${python.output}` };
    const drifted: string[] = [];
    for (const dir of GENERATED_PATHS) {
      const committed = new Set(listFiles(join(root, dir)).map((f) => relative(root, f)));
      const fresh = new Set(listFiles(join(out, dir)).map((f) => relative(out, f)));
      for (const file of new Set([...committed, ...fresh])) {
        if (!committed.has(file)) drifted.push(`missing from gen/: ${file}`);
        else if (!fresh.has(file)) drifted.push(`stale in gen/ (no longer generated): ${file}`);
        else if (!readFileSync(join(root, file)).equals(readFileSync(join(out, file))))
          drifted.push(`differs: ${file}`);
      }
    }
    drifted.sort();
    return {
      ok: drifted.length === 0,
      output:
        drifted.length === 0
          ? "gen/, docs/REASON_CODES.md and docs/GRANTS.md match their sources"
          : `generated files are stale; run \`npm run generate\`:\n${drifted.join("\n")}`,
    };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}
