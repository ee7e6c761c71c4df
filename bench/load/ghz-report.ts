/**
 * The run's JSON report in ghz's shape (ghz -O json), so ghz-web imports it and SREs compare it with
 * real ghz runs: durations are integer nanoseconds, histogram marks seconds, latencyDistribution the
 * nearest-rank percentiles 10..99 of the successful calls, statusCodeDistribution by Go code name.
 * What ghz has no field for (p99.9, the per-outcome breakdown, the per-second series, the corpus)
 * sits under the key "selene".
 */
import { type CallRecord, codeName, succeeded } from "./call-record.js";
import { createLatencyHistogram, percentileNs, recordLatencyNs } from "./latency-histogram.js";
import type { LoadRun } from "./load-runner.js";
import { rfc3339Nano } from "./rfc3339-nano.js";
import type { TurnBreakdown } from "./turn-breakdown.js";
import type { StepOutcome } from "./turn-corpus.js";

/** The run's options, keyed as ghz's flags (durations in ns). */
export interface GhzOptions {
  readonly call: string;
  readonly host: string;
  readonly cacert: string;
  readonly cert: string;
  readonly key: string;
  readonly cname: string;
  readonly rps: number;
  readonly concurrency: number;
  readonly connections: number;
  readonly total: number;
  readonly duration: number;
  readonly timeout: number;
  readonly skipFirst: number;
  readonly metadata: Record<string, string>;
  readonly name: string;
}

/** Latency figures of one slice of the calls (ns). */
export interface SliceStats {
  readonly count: number;
  readonly errors: number;
  readonly errorRate: number;
  readonly average: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly p999: number;
}

/** One second of the run. */
export interface SecondStats {
  readonly second: number;
  readonly count: number;
  readonly errors: number;
  readonly p50: number;
  readonly p99: number;
}

/** Our own section of the report. */
export interface SeleneSection {
  readonly corpus: { readonly path: string; readonly version: number };
  readonly latencyP999: number;
  /** All calls, then by the outcome each call had to return. */
  readonly overall: SliceStats;
  readonly steps: Partial<Record<StepOutcome, SliceStats>>;
  readonly tenants: Record<string, SliceStats>;
  readonly series: readonly SecondStats[];
  readonly acknowledgedEffects: number;
  /** Where the sampled turns' time went (only when the mesh exported its spans to the bench). */
  readonly breakdown?: TurnBreakdown;
}

/** ghz's JSON report, plus "selene". */
export interface GhzReport {
  readonly name: string;
  readonly endReason: "normal" | "cancel" | "timeout";
  readonly options: GhzOptions;
  readonly date: string;
  readonly count: number;
  readonly total: number;
  readonly average: number;
  readonly fastest: number;
  readonly slowest: number;
  readonly rps: number;
  readonly errorDistribution: Record<string, number>;
  readonly statusCodeDistribution: Record<string, number>;
  readonly latencyDistribution: ReadonlyArray<{ readonly percentage: number; readonly latency: number }>;
  readonly histogram: ReadonlyArray<{ readonly mark: number; readonly count: number; readonly frequency: number }>;
  readonly details: ReadonlyArray<{
    readonly timestamp: string;
    readonly latency: number;
    readonly error: string;
    readonly status: string;
  }>;
  readonly tags: Record<string, string>;
  readonly selene: SeleneSection;
}

/** ghz's percentages, exactly. */
export const GHZ_PERCENTAGES = [10, 25, 50, 75, 90, 95, 99] as const;
/** ghz keeps at most this many details. */
export const MAX_DETAILS = 1_000_000;
const BUCKETS = 11;

/** Nearest rank: the smallest value with at least p% of the values at or below it. */
export function nearestRank(sorted: readonly number[], percentage: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil((percentage / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

/** 11 buckets from the fastest to the slowest latency, marks in seconds, each counting the latencies up to its mark. */
export function ghzHistogram(sorted: readonly number[]): GhzReport["histogram"] {
  if (sorted.length === 0) return [];
  const fastest = sorted[0]!;
  const slowest = sorted.at(-1)!;
  const step = (slowest - fastest) / (BUCKETS - 1);
  const counts = new Array<number>(BUCKETS).fill(0);
  for (const latency of sorted) {
    const index = step === 0 ? 0 : Math.min(BUCKETS - 1, Math.ceil((latency - fastest) / step));
    counts[index]!++;
  }
  return counts.map((count, i) => ({
    mark: (fastest + step * i) / 1e9,
    count,
    frequency: count / sorted.length,
  }));
}

/** Latency figures of some calls. */
export function sliceStats(records: readonly CallRecord[]): SliceStats {
  const histogram = createLatencyHistogram();
  let sum = 0;
  let ok = 0;
  for (const r of records) {
    if (!succeeded(r)) continue;
    ok++;
    sum += r.latencyNs;
    recordLatencyNs(histogram, r.latencyNs);
  }
  const errors = records.length - ok;
  return {
    count: records.length,
    errors,
    errorRate: records.length === 0 ? 0 : errors / records.length,
    average: ok === 0 ? 0 : Math.round(sum / ok),
    p50: percentileNs(histogram, 50),
    p95: percentileNs(histogram, 95),
    p99: percentileNs(histogram, 99),
    p999: percentileNs(histogram, 99.9),
  };
}

/** Per-second figures by start time: what the latency-over-time plot and the chaos windows read. */
export function perSecond(records: readonly CallRecord[]): SecondStats[] {
  const seconds = groupRecords(records, (r) => Math.floor(r.startMs / 1000));
  const last = Math.max(-1, ...seconds.keys());
  return Array.from({ length: last + 1 }, (_, second) => {
    const stats = sliceStats(seconds.get(second) ?? []);
    return { second, count: stats.count, errors: stats.errors, p50: stats.p50, p99: stats.p99 };
  });
}

function groupRecords<K>(records: readonly CallRecord[], key: (r: CallRecord) => K): Map<K, CallRecord[]> {
  const groups = new Map<K, CallRecord[]>();
  for (const r of records) {
    const k = key(r);
    const list = groups.get(k);
    if (list === undefined) groups.set(k, [r]);
    else list.push(r);
  }
  return groups;
}

function groupBy<K extends string>(records: readonly CallRecord[], key: (r: CallRecord) => K): Record<K, SliceStats> {
  const groups = groupRecords(records, key);
  return Object.fromEntries([...groups].sort().map(([k, list]) => [k, sliceStats(list)])) as Record<K, SliceStats>;
}

function tally(values: Iterable<string>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[v] = (out[v] ?? 0) + 1;
  return out;
}

/** What the report needs beside the run. */
export interface ReportContext {
  readonly name: string;
  readonly options: GhzOptions;
  readonly tags: Record<string, string>;
  readonly corpus: { readonly path: string; readonly version: number };
}

/** Builds the report; the first `options.skipFirst` calls to complete are left out, as ghz does. */
export function buildGhzReport(run: LoadRun, context: ReportContext): GhzReport {
  const records = run.records.slice(context.options.skipFirst);
  const okSorted = records
    .filter(succeeded)
    .map((r) => r.latencyNs)
    .sort((a, b) => a - b);
  const overall = sliceStats(records);
  return {
    name: context.name,
    endReason: run.endReason,
    options: context.options,
    date: new Date(run.startedAtMs).toISOString(),
    count: records.length,
    total: run.wallNs,
    average: overall.average,
    fastest: okSorted[0] ?? 0,
    slowest: okSorted.at(-1) ?? 0,
    rps: run.wallNs === 0 ? 0 : records.length / (run.wallNs / 1e9),
    errorDistribution: tally(records.filter((r) => !succeeded(r)).map((r) => r.error)),
    statusCodeDistribution: tally(records.map((r) => codeName(r.code))),
    latencyDistribution: GHZ_PERCENTAGES.map((percentage) => ({
      percentage,
      latency: nearestRank(okSorted, percentage),
    })),
    histogram: ghzHistogram(okSorted),
    details: records.slice(0, MAX_DETAILS).map((r) => ({
      timestamp: rfc3339Nano(run.startedAtMs + r.startMs),
      latency: r.latencyNs,
      error: r.error,
      status: codeName(r.code),
    })),
    tags: context.tags,
    selene: {
      corpus: context.corpus,
      latencyP999: overall.p999,
      overall,
      steps: groupBy(records, (r) => r.step),
      tenants: groupBy(records, (r) => r.tenant),
      series: perSecond(records),
      acknowledgedEffects: run.acknowledged.length,
    },
  };
}
