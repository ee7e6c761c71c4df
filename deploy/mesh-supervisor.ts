/**
 * Starts the mesh's processes in order, each after the previous reports
 * SERVING on its health port, and stops them all on request: SIGTERM, then
 * SIGKILL after a grace period, so no process outlives the launcher. Each
 * process's output goes to its own log file.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, mkdirSync } from "node:fs";
import { join } from "node:path";
import { waitHealthy } from "./health-probe.js";
import type { MeshProcess } from "./mesh-processes.js";

/** A running mesh. */
export interface RunningMesh {
  /** Stops every process, the router first; resolves when all have exited. */
  stop(graceMs?: number): Promise<void>;
  /** Kills one process at once (for fault tests). */
  kill(name: string, signal?: NodeJS.Signals): Promise<void>;
  /** Sends a signal that need not end the process (SIGSTOP, SIGCONT) and returns at once. */
  signal(name: string, signal: NodeJS.Signals): void;
  /** Whether a process is running (started and not exited). */
  running(name: string): boolean;
  /** Starts a stopped process again, with `extraEnv` on top (for fault tests); resolves when SERVING. */
  restart(name: string, extraEnv?: Record<string, string>): Promise<void>;
  /** Resolves with the signal that ended a process (null for a plain exit) once it has exited. */
  exited(name: string): Promise<NodeJS.Signals | null>;
}

/** How to start. */
export interface StartOptions {
  readonly env: Record<string, string>;
  /** Variables for one process only, on top of `env` (e.g. the router's engine addresses pointed at a fault proxy). */
  readonly processEnv?: Readonly<Record<string, Record<string, string>>>;
  readonly logDir: string;
  /** Called after each process is SERVING (a progress line). */
  readonly onReady?: (name: string, ms: number) => void;
  /** Called once a process is spawned, with its pid (the launcher records what it started). */
  readonly onSpawn?: (name: string, pid: number) => void;
  readonly healthTimeoutMs?: number;
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

/** Starts `processes` in order; on any failure, stops what was started and throws. */
export async function startMesh(processes: readonly MeshProcess[], options: StartOptions): Promise<RunningMesh> {
  mkdirSync(options.logDir, { recursive: true });
  const children = new Map<string, ChildProcess>();

  async function stopAll(graceMs = 8000): Promise<void> {
    for (const name of [...children.keys()].reverse()) {
      const child = children.get(name)!;
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await exited(child);
      clearTimeout(timer);
    }
  }

  async function launch(proc: MeshProcess, extraEnv: Record<string, string> = {}): Promise<void> {
    const started = Date.now();
    const log = createWriteStream(join(options.logDir, `${proc.name}.log`), { flags: "a" });
    const child = spawn(proc.command, [...proc.args], {
      env: { ...process.env, ...options.env, ...proc.env, ...options.processEnv?.[proc.name], ...extraEnv },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    children.set(proc.name, child);
    if (child.pid !== undefined) options.onSpawn?.(proc.name, child.pid);
    const healthy = await waitHealthy(
      proc.healthAddress,
      Date.now() + (options.healthTimeoutMs ?? 20_000),
      () => child.exitCode === null && child.signalCode === null,
    );
    if (!healthy) {
      await stopAll(2000);
      throw new Error(`${proc.name} did not become healthy; see ${join(options.logDir, `${proc.name}.log`)}`);
    }
    options.onReady?.(proc.name, Date.now() - started);
  }

  for (const proc of processes) await launch(proc);

  return {
    stop: stopAll,
    async kill(name, signal = "SIGKILL") {
      const child = children.get(name);
      if (child === undefined) throw new Error(`no process ${name}`);
      child.kill(signal);
      await exited(child);
    },
    signal(name, signal) {
      const child = children.get(name);
      if (child === undefined) throw new Error(`no process ${name}`);
      child.kill(signal);
    },
    running(name) {
      const child = children.get(name);
      return child !== undefined && child.exitCode === null && child.signalCode === null;
    },
    async restart(name, extraEnv) {
      const proc = processes.find((p) => p.name === name);
      if (proc === undefined) throw new Error(`no process ${name}`);
      const running = children.get(name);
      if (running !== undefined && running.exitCode === null && running.signalCode === null) {
        throw new Error(`${name} is still running`);
      }
      await launch(proc, extraEnv);
    },
    async exited(name) {
      const child = children.get(name);
      if (child === undefined) throw new Error(`no process ${name}`);
      await exited(child);
      return child.signalCode;
    },
  };
}
