/** The tags every report carries, as ghz's --tags would: git revision, environment, machine. */
import { execFileSync } from "node:child_process";
import { availableParallelism, loadavg } from "node:os";

/** The short git revision of the working tree ("+dirty" when it has changes), or "unknown". */
export function gitRevision(): string {
  try {
    const rev = execFileSync("git", ["rev-parse", "--short", "HEAD"], { encoding: "utf8", stdio: "pipe" }).trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "--untracked-files=no"], {
      encoding: "utf8",
      stdio: "pipe",
    }).trim();
    return dirty === "" ? rev : `${rev}+dirty`;
  } catch {
    return "unknown";
  }
}

/** The standard tags, under the caller's own (theirs win). */
export function runTags(environment: string, extra: Record<string, string>): Record<string, string> {
  return {
    git: gitRevision(),
    environment,
    node: process.version,
    cores: String(availableParallelism()),
    // The host's 1-minute load average at the start: a busy host makes figures incomparable.
    loadavg: loadavg()[0]!.toFixed(2),
    ...extra,
  };
}
