/**
 * Applies a profile's faults at the start of the fault window and undoes them at its end: proxy
 * faults set and cleared; a killed process started again; a stopped one continued; PostgreSQL
 * stopped, then started. Each step is logged with its time, for the report.
 */

import type { ChaosMesh } from "./chaos-mesh.js";
import type { FaultSpec } from "./chaos-profile.js";
import type { OwnedPostgres } from "./owned-postgres.js";

/** One thing done to the mesh, and when (ms since the epoch). */
export interface FaultEvent {
  readonly atMs: number;
  readonly what: string;
}

/** A readable name of a fault. */
export function describeFault(f: FaultSpec): string {
  if (f.kind === "postgres") return "postgres restart";
  if (f.kind === "process") return `${f.action} ${f.target}`;
  if (f.kind === "streams") {
    const parts = [
      f.failEvery !== undefined ? `1 call in ${f.failEvery} fails (UNAVAILABLE)` : "",
      f.delayEvery !== undefined ? `1 call in ${f.delayEvery} held ${f.delayMs} ms` : "",
      f.loseAnswerEvery !== undefined ? `the answer of 1 ${f.loseAnswerOf} in ${f.loseAnswerEvery} lost` : "",
    ].filter((p) => p !== "");
    return `${f.link}: ${parts.join(", ")}`;
  }
  const parts = [
    f.mode !== "pass" ? f.mode : "",
    f.latencyMs !== undefined ? `latency ${f.latencyMs} ms` : "",
    f.jitterMs !== undefined ? `jitter ${f.jitterMs} ms` : "",
    f.bandwidthBytesPerSec !== undefined ? `bandwidth ${f.bandwidthBytesPerSec} B/s` : "",
  ].filter((p) => p !== "");
  return `${f.link}: ${parts.join(", ")}`;
}

/** Applies every fault; returns what was done. */
export async function applyFaults(
  faults: readonly FaultSpec[],
  mesh: ChaosMesh,
  pg: OwnedPostgres,
): Promise<FaultEvent[]> {
  const events: FaultEvent[] = [];
  const log = (what: string) => events.push({ atMs: Date.now(), what });
  for (const f of faults) {
    log(`apply ${describeFault(f)}`);
    if (f.kind === "streams") {
      mesh.streamProxies.get(f.link)!.setFault({
        ...(f.failEvery !== undefined ? { failEvery: f.failEvery } : {}),
        ...(f.delayEvery !== undefined ? { delayEvery: f.delayEvery, delayMs: f.delayMs ?? 0 } : {}),
        ...(f.loseAnswerEvery !== undefined
          ? { loseAnswerEvery: f.loseAnswerEvery, loseAnswerOf: f.loseAnswerOf ?? "" }
          : {}),
      });
    } else if (f.kind === "proxy") {
      mesh.proxies.get(f.link)!.setFault({
        mode: f.mode,
        ...(f.latencyMs !== undefined ? { latencyMs: f.latencyMs } : {}),
        ...(f.jitterMs !== undefined ? { jitterMs: f.jitterMs } : {}),
        ...(f.bandwidthBytesPerSec !== undefined ? { bandwidthBytesPerSec: f.bandwidthBytesPerSec } : {}),
      });
    } else if (f.kind === "process") {
      const supervisor = mesh.bench.mesh;
      if (f.action === "kill") await supervisor.kill(f.target, "SIGKILL");
      else if (f.action === "stop") supervisor.signal(f.target, "SIGSTOP");
      else {
        await supervisor.kill(f.target, "SIGTERM");
        await supervisor.restart(f.target);
        log(`${f.target} SERVING again`);
      }
    } else {
      await pg.stop();
      log("postgres stopped");
    }
  }
  return events;
}

/** Undoes every fault, in reverse order; returns what was done. */
export async function clearFaults(
  faults: readonly FaultSpec[],
  mesh: ChaosMesh,
  pg: OwnedPostgres,
): Promise<FaultEvent[]> {
  const events: FaultEvent[] = [];
  const log = (what: string) => events.push({ atMs: Date.now(), what });
  for (const f of [...faults].reverse()) {
    log(`clear ${describeFault(f)}`);
    if (f.kind === "streams") {
      const proxy = mesh.streamProxies.get(f.link)!;
      const { streams, failed, delayed, lost } = proxy.stats();
      proxy.setFault(undefined);
      log(`${f.link}: ${failed} of ${streams} calls failed, ${delayed} held, ${lost} answers lost`);
    } else if (f.kind === "proxy") mesh.proxies.get(f.link)!.clear();
    else if (f.kind === "process") {
      const supervisor = mesh.bench.mesh;
      if (f.action === "kill") {
        await supervisor.restart(f.target);
        log(`${f.target} SERVING again`);
      } else if (f.action === "stop") supervisor.signal(f.target, "SIGCONT");
    } else {
      await pg.start();
      log("postgres started");
    }
  }
  return events;
}
