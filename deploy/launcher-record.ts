/**
 * The processes `npm start` started, recorded in SELENE_HOME as they start, so that a launch after
 * one that was killed outright (SIGKILL: no chance to stop its children) stops what it left behind
 * instead of failing on ports they still hold, and a launch beside one that still runs says so.
 */
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { processAlive } from "./process-alive.js";

interface Recorded {
  readonly launcher: number;
  readonly pids: number[];
}

/** The command line of a live process, or "" (gone, or not readable). */
function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
  } catch {
    return "";
  }
}

function read(file: string): Recorded | undefined {
  try {
    const parsed = JSON.parse(readFileSync(file, "utf8")) as Recorded;
    return Number.isInteger(parsed.launcher) && Array.isArray(parsed.pids) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** Another launcher on the same SELENE_HOME is running. */
export class LauncherRunningError extends Error {
  override readonly name = "LauncherRunningError";
}

/**
 * Before a launch: stops (SIGTERM, then SIGKILL after `graceMs`) every recorded process of a dead
 * launcher that still runs code of `root`, and returns their pids; throws when the recorded
 * launcher is alive.
 */
export async function reclaimLeftovers(file: string, root: string, graceMs = 5000): Promise<number[]> {
  const recorded = read(file);
  if (recorded === undefined) return [];
  if (recorded.launcher !== process.pid && processAlive(recorded.launcher)) {
    throw new LauncherRunningError(
      `another npm start (pid ${recorded.launcher}) is running with this SELENE_HOME; stop it (Ctrl-C, or kill -INT ${recorded.launcher}) or set another SELENE_HOME`,
    );
  }
  // A pid the kernel reused for something else is not ours: only processes running this checkout's code are.
  const left = recorded.pids.filter((pid) => processAlive(pid) && commandLine(pid).includes(root));
  for (const pid of left) process.kill(pid, "SIGTERM");
  for (let waited = 0; left.some(processAlive); waited += 100) {
    if (waited >= graceMs) for (const pid of left.filter(processAlive)) process.kill(pid, "SIGKILL");
    await new Promise((done) => setTimeout(done, 100));
  }
  rmSync(file, { force: true });
  return left;
}

/** Records the launcher (this process) and each pid it starts; clear() when everything has stopped. */
export class LauncherRecord {
  private readonly pids: number[] = [];

  constructor(private readonly file: string) {
    this.write();
  }

  add(pid: number): void {
    this.pids.push(pid);
    this.write();
  }

  clear(): void {
    rmSync(this.file, { force: true });
  }

  private write(): void {
    writeFileSync(this.file, `${JSON.stringify({ launcher: process.pid, pids: this.pids })}\n`);
  }
}
