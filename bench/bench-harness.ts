/**
 * Small measurement helpers shared by the benchmarks: timed loops, concurrent
 * async loops with latency percentiles, and table output.
 */

/** Throughput and latency of one measured run. */
export interface RunResult {
  readonly name: string;
  readonly ops: number;
  readonly seconds: number;
  readonly opsPerSec: number;
  /** Latency percentiles in microseconds (concurrent runs only). */
  readonly p50us?: number;
  readonly p95us?: number;
  readonly p99us?: number;
  /** Mean time per operation in microseconds (wall time / ops). */
  readonly meanUs: number;
}

/** Runs `fn` synchronously in a loop for about `seconds`, after a warm-up. */
export function measureSync(name: string, fn: () => void, seconds: number): RunResult {
  const warmEnd = performance.now() + 300;
  while (performance.now() < warmEnd) fn();
  let ops = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  while (performance.now() < end) {
    for (let i = 0; i < 100; i++) fn();
    ops += 100;
  }
  const elapsed = (performance.now() - start) / 1000;
  return { name, ops, seconds: elapsed, opsPerSec: ops / elapsed, meanUs: (elapsed * 1e6) / ops };
}

/** The `p`th percentile (nearest rank) of ascending `sorted`; 0 when it is empty. */
export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

/** Runs `concurrency` async loops of `fn` for about `seconds`, after a warm-up; records latencies. */
export async function measureAsync(
  name: string,
  fn: () => Promise<void>,
  seconds: number,
  concurrency: number,
  warmupMs = 500,
): Promise<RunResult> {
  const warmEnd = performance.now() + warmupMs;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < warmEnd) await fn();
    }),
  );
  const latencies: number[] = [];
  const start = performance.now();
  const end = start + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const t0 = performance.now();
        await fn();
        latencies.push((performance.now() - t0) * 1000);
      }
    }),
  );
  const elapsed = (performance.now() - start) / 1000;
  const sorted = Float64Array.from(latencies).sort();
  return {
    name,
    ops: latencies.length,
    seconds: elapsed,
    opsPerSec: latencies.length / elapsed,
    meanUs: (elapsed * 1e6) / latencies.length,
    p50us: percentile(sorted, 50),
    p95us: percentile(sorted, 95),
    p99us: percentile(sorted, 99),
  };
}

/** Formats results as a Markdown table. */
export function table(results: readonly RunResult[]): string {
  const fmt = (n: number | undefined) => (n === undefined ? "-" : n >= 100 ? n.toFixed(0) : n.toFixed(2));
  const rows = results.map(
    (r) =>
      `| ${r.name} | ${fmt(r.opsPerSec)} | ${fmt(r.meanUs)} | ${fmt(r.p50us)} | ${fmt(r.p95us)} | ${fmt(r.p99us)} |`,
  );
  return [
    "| run | ops/s | µs per op (wall) | p50 µs | p95 µs | p99 µs |",
    "|---|---:|---:|---:|---:|---:|",
    ...rows,
  ].join("\n");
}
