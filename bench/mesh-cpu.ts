/**
 * CPU time of the benchmark's processes, from /proc (Linux): this process, its children (the mesh's
 * processes and the connect-node server, named by their script) and the Postgres server sessions
 * of the benchmark's database (named by the database in their process title), and the whole host's
 * busy time (to see load from outside the benchmark). Two snapshots give the CPU each spent in
 * between; per call, that shows where a turn's cost goes.
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

/** CPU microseconds by process label. */
export type CpuByLabel = Map<string, number>;

/** A point-in-time reading: CPU ticks by pid, with each pid's label. */
export interface CpuSnapshot {
  readonly selfMicros: number;
  /** Non-idle CPU time of the whole host (all processes, all cores), in ticks. */
  readonly hostTicks: number;
  readonly ticks: ReadonlyMap<number, { readonly label: string; readonly ticks: number }>;
}

/** The label of this process in a CpuByLabel. */
export const SELF_LABEL = "bench";

/** The label of the whole host's busy CPU in a CpuByLabel (not a process: everything, ours included). */
export const HOST_LABEL = "host";

const TICKS_PER_SECOND = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  } catch {
    return 100;
  }
})();

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined; // the process ended between listing and reading
  }
}

/** Labels a process: a child of ours by its script, a Postgres session by the benchmark database. */
function labelOf(pid: number, ppid: number, databaseName: string): string | undefined {
  const cmdline = readText(`/proc/${pid}/cmdline`)?.split("\0").join(" ") ?? "";
  if (ppid === process.pid) {
    if (cmdline.includes("mesh-connect-server")) return "connect-node";
    // dist/services/router/main.js -> router; services/engines/calc/calc_engine.py -> calc
    return /\/services\/(?:engines\/)?([a-z]+)\//.exec(cmdline)?.[1];
  }
  return cmdline.includes(` ${databaseName} `) ? "postgres" : undefined;
}

/** utime + stime of a /proc/<pid>/stat line, in ticks. */
function statTicks(stat: string): { ppid: number; ticks: number } {
  // Fields after the parenthesised command: state ppid ... utime(14) stime(15), 1-based overall.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return { ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) };
}

/** The CPU microseconds process `pid` has used so far; undefined when it is gone. */
export function processCpuMicros(pid: number): number | undefined {
  const stat = readText(`/proc/${pid}/stat`);
  return stat === undefined ? undefined : (statTicks(stat).ticks * 1e6) / TICKS_PER_SECOND;
}

/** Reads the CPU of this process, its children and the benchmark database's sessions. */
export function cpuSnapshot(databaseName: string): CpuSnapshot {
  const { user, system } = process.cpuUsage();
  const ticks = new Map<number, { label: string; ticks: number }>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readText(`/proc/${entry}/stat`);
    if (stat === undefined) continue;
    const pid = Number(entry);
    const own = statTicks(stat);
    const label = labelOf(pid, own.ppid, databaseName);
    if (label === undefined) continue;
    ticks.set(pid, { label, ticks: own.ticks });
  }
  // The first line of /proc/stat: cpu user nice system idle iowait irq softirq steal ...
  const host = (readText("/proc/stat") ?? "").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  const hostTicks = host.reduce((a, b) => a + b, 0) - (host[3] ?? 0) - (host[4] ?? 0);
  return { selfMicros: user + system, hostTicks, ticks };
}

/** CPU microseconds spent by label between two snapshots (a process born in between counts from zero). */
export function cpuBetween(before: CpuSnapshot, after: CpuSnapshot): CpuByLabel {
  const spent: CpuByLabel = new Map([[SELF_LABEL, after.selfMicros - before.selfMicros]]);
  const host = ((after.hostTicks - before.hostTicks) * 1e6) / TICKS_PER_SECOND;
  for (const [pid, { label, ticks }] of after.ticks) {
    const delta = ((ticks - (before.ticks.get(pid)?.ticks ?? 0)) * 1e6) / TICKS_PER_SECOND;
    spent.set(label, (spent.get(label) ?? 0) + delta);
  }
  spent.set(HOST_LABEL, host);
  return spent;
}

/** The host's load averages over 1, 5 and 15 minutes, as /proc/loadavg gives them ("1.20 0.55 0.21"). */
export function loadAverage(): string {
  return readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
}
