/**
 * One load run against a router, as both command lines make it: channels per tenant, the corpus
 * schedule, an optional warm-up whose calls are discarded, the measured run with a live progress
 * line, and the channels closed at the end.
 */
import { randomBytes } from "node:crypto";
import { type AcknowledgedEffect, type LoadOptions, type LoadRun, runLoad } from "./load-runner.js";
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
  /** Sample every this-many turns of the measured run for the step breakdown (load-runner.ts). */
  readonly traceEvery?: number;
  /** Called when the measured run starts (after the warm-up). */
  readonly onMeasuredStart?: () => void;
}

/** The measured run, and the effects the warm-up saw acknowledged (they exist too). */
export interface SessionResult {
  readonly run: LoadRun;
  readonly warmupAcknowledged: readonly AcknowledgedEffect[];
}

/** Runs the warm-up (if any) and the measured load. */
export async function runLoadSession(target: LoadTarget, options: SessionOptions): Promise<SessionResult> {
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
    let warmupAcknowledged: readonly AcknowledgedEffect[] = [];
    if (options.warmupMs > 0) {
      const warm = await runLoad(
        channels,
        schedule,
        { ...options.load, total: undefined, durationMs: options.warmupMs },
        {
          runId: `${runId}w`,
          ...(options.signal ? { signal: options.signal } : {}),
          // Unsampled (but for the first call), so the warm-up does not fill the span exporters.
          ...(options.traceEvery === undefined ? {} : { traceEvery: Number.MAX_SAFE_INTEGER }),
        },
      );
      warmupAcknowledged = warm.acknowledged;
    }
    options.onMeasuredStart?.();
    const run = await runLoad(channels, schedule, options.load, {
      runId,
      onTick,
      ...(options.traceEvery === undefined ? {} : { traceEvery: options.traceEvery }),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    return { run, warmupAcknowledged };
  } finally {
    writer.end();
    closeTenantChannels(channels);
  }
}
