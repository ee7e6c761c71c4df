/**
 * One load run against a router, as both command lines make it: channels per tenant, the corpus
 * schedule, an optional warm-up whose calls are discarded, the measured run with a live progress
 * line, and the channels closed at the end.
 */
import { randomBytes } from "node:crypto";
import { type LoadOptions, type LoadRun, runLoad } from "./load-runner.js";
import { progressText, progressWriter } from "./progress-line.js";
import { type ClientFiles, closeTenantChannels, openTenantChannels } from "./turn-channels.js";
import { drawSchedule, type TurnCorpus } from "./turn-corpus.js";

/** Where and as whom to send the load. */
export interface LoadTarget {
  readonly address: string;
  readonly tenants: ReadonlyArray<{ tenant: string; files: ClientFiles }>;
}

/** A session's settings. */
export interface SessionOptions {
  readonly corpus: TurnCorpus;
  readonly load: LoadOptions;
  readonly connections: number;
  readonly seed: number;
  readonly warmupMs: number;
  readonly signal?: AbortSignal;
  /** Called once a second with the progress; the default writes a progress line to stderr. */
  readonly onTick?: (line: string, elapsedMs: number) => void;
}

/** Runs the warm-up (if any) and the measured load; returns the measured run. */
export async function runLoadSession(target: LoadTarget, options: SessionOptions): Promise<LoadRun> {
  const channels = openTenantChannels(target.address, target.tenants, options.connections);
  const schedule = drawSchedule(options.corpus, target.tenants.length, options.seed);
  const runId = randomBytes(4).toString("hex");
  const writer = progressWriter(process.stderr);
  const planned = options.load.durationMs;
  const onTick =
    options.onTick === undefined
      ? (p: Parameters<typeof progressText>[0]) => writer.tick(progressText(p, planned))
      : (p: Parameters<typeof progressText>[0]) => options.onTick!(progressText(p, planned), p.elapsedMs);
  try {
    if (options.warmupMs > 0) {
      await runLoad(
        channels,
        schedule,
        { ...options.load, total: undefined, durationMs: options.warmupMs },
        { runId: `${runId}w`, ...(options.signal ? { signal: options.signal } : {}) },
      );
    }
    return await runLoad(channels, schedule, options.load, {
      runId,
      onTick,
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } finally {
    writer.end();
    closeTenantChannels(channels);
  }
}
