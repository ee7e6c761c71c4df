/**
 * The previous release of the code (proto/releases/code-releases.json), built from the repository's
 * own history for the rolling-upgrade test: its tree comes out of `git archive` into a directory
 * under the system's temp directory, keyed by the commit, the checkout and its package-lock.json,
 * and is built once (later runs reuse it). When its package-lock.json equals today's, today's
 * node_modules is linked in; otherwise `npm ci` installs its own. Only what the test runs is
 * compiled: the router and the migrations (a few seconds).
 */

import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { Logger } from "pino";

/** Where the previous release is recorded. */
export const CODE_RELEASES = join("proto", "releases", "code-releases.json");

/** The previous release of the code. */
export interface CodeRelease {
  /** The commit of main it was built from (40 hex digits). */
  readonly commit: string;
  /** The contract version it speaks. */
  readonly contractVersion: string;
}

/** A built previous release. */
export interface BuiltRelease extends CodeRelease {
  /** Its tree, with dist/ built. */
  readonly dir: string;
  /** Its compiled router. */
  readonly routerMain: string;
  /** Whether today's node_modules was linked in (the lock files are equal). */
  readonly sharesNodeModules: boolean;
  /** Migrates `url` with its own migration code and SQL files: the previous release's schema. */
  migrate(url: string, logger: Logger): Promise<Record<string, string[]>>;
}

const BUILT_MARK = ".selene-release-built";

/** Reads the previous release from `root`'s CODE_RELEASES. */
export function readPreviousRelease(root: string): CodeRelease {
  const data = JSON.parse(readFileSync(join(root, CODE_RELEASES), "utf8")) as {
    previous?: { commit?: unknown; contractVersion?: unknown };
  };
  const { commit, contractVersion } = data.previous ?? {};
  if (typeof commit !== "string" || !/^[0-9a-f]{40}$/.test(commit)) {
    throw new Error(`${CODE_RELEASES}: previous.commit must be a full commit id (40 hex digits)`);
  }
  if (typeof contractVersion !== "string" || !/^\d+\.\d+$/.test(contractVersion)) {
    throw new Error(`${CODE_RELEASES}: previous.contractVersion must be <major>.<minor>`);
  }
  return { commit, contractVersion };
}

function run(command: string, args: readonly string[], cwd: string): string {
  const result = spawnSync(command, [...args], { cwd, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (result.error !== undefined) throw result.error;
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(" ")} failed (${result.status}): ${result.stderr}${result.stdout}`);
  }
  return result.stdout;
}

/**
 * Fails, saying how to fetch it, when the repository lacks the commit (a shallow clone, a mirror
 * that fetched only the branch head): a rolling-upgrade test that skipped would prove nothing.
 */
export function assertCommitPresent(root: string, commit: string): void {
  const found = spawnSync("git", ["cat-file", "-e", `${commit}^{commit}`], { cwd: root, encoding: "utf8" });
  if (found.status === 0) return;
  const needed = `the previous release ${commit} (${CODE_RELEASES}) is needed to build the N-1 router`;
  const shallow = spawnSync("git", ["rev-parse", "--is-shallow-repository"], { cwd: root, encoding: "utf8" });
  if (shallow.status !== 0) {
    throw new Error(`${needed}, but ${root} is not a git checkout: clone the repository with its history`);
  }
  const why = shallow.stdout.trim() === "true" ? "this clone is shallow" : "the commit is not in this repository";
  throw new Error(
    `${needed}, but ${why}: fetch the history with \`git fetch --unshallow\` ` +
      `(or \`git fetch origin ${commit}\`), then run again`,
  );
}

function sha256(data: Buffer | string): string {
  return createHash("sha256").update(data).digest("hex");
}

/** The tsconfig that compiles what the test runs of the release, beside its own tsconfig.build.json. */
const RELEASE_TSCONFIG = {
  extends: "./tsconfig.build.json",
  include: ["services/router/main.ts", "deploy/migrate.ts", "deploy/mesh-processes.ts"],
};

function build(root: string, release: CodeRelease, dir: string, todaysLock: Buffer): boolean {
  mkdirSync(dir, { recursive: true });
  const archive = join(dir, "tree.tar");
  run("git", ["archive", "--format=tar", "-o", archive, release.commit], root);
  run("tar", ["-xf", archive, "-C", dir], root);
  rmSync(archive);
  const sharesNodeModules = readFileSync(join(dir, "package-lock.json")).equals(todaysLock);
  if (sharesNodeModules) symlinkSync(join(root, "node_modules"), join(dir, "node_modules"), "dir");
  else run("npm", ["ci", "--no-audit", "--no-fund"], dir);
  writeFileSync(join(dir, "tsconfig.release.json"), JSON.stringify(RELEASE_TSCONFIG));
  run(process.execPath, [join(dir, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.release.json"], dir);
  writeFileSync(join(dir, BUILT_MARK), JSON.stringify({ commit: release.commit, sharesNodeModules }));
  return sharesNodeModules;
}

/**
 * Builds the previous release of `root` (or finds it built) and returns it. The first build takes
 * the archive and one tsc run; `npm ci` only when the lock files differ.
 */
export function buildPreviousRelease(root: string): BuiltRelease {
  const release = readPreviousRelease(root);
  assertCommitPresent(root, release.commit);
  const todaysLock = readFileSync(join(root, "package-lock.json"));
  // Keyed by the checkout too: a linked node_modules is this checkout's.
  const key = sha256(`${root}\0${sha256(todaysLock)}`).slice(0, 12);
  const dir = join(tmpdir(), `selene-release-${release.commit.slice(0, 12)}-${key}`);
  let sharesNodeModules: boolean;
  if (existsSync(join(dir, BUILT_MARK))) {
    sharesNodeModules = (JSON.parse(readFileSync(join(dir, BUILT_MARK), "utf8")) as { sharesNodeModules: boolean })
      .sharesNodeModules;
  } else {
    // Built aside and renamed into place, so a run stopped halfway leaves nothing that looks built.
    const building = `${dir}.${process.pid}`;
    rmSync(building, { recursive: true, force: true });
    try {
      sharesNodeModules = build(root, release, building, todaysLock);
      rmSync(dir, { recursive: true, force: true });
      renameSync(building, dir);
    } finally {
      rmSync(building, { recursive: true, force: true });
    }
  }
  return {
    ...release,
    dir,
    routerMain: join(dir, "dist", "services", "router", "main.js"),
    sharesNodeModules,
    async migrate(url, logger) {
      const { migrateAll } = (await import(pathToFileURL(join(dir, "dist", "deploy", "migrate.js")).href)) as {
        migrateAll(url: string, services: readonly string[], logger: Logger): Promise<Record<string, string[]>>;
      };
      const { MIGRATED_SERVICES } = (await import(
        pathToFileURL(join(dir, "dist", "deploy", "mesh-processes.js")).href
      )) as { MIGRATED_SERVICES: readonly string[] };
      return migrateAll(url, MIGRATED_SERVICES, logger);
    },
  };
}
