/**
 * HDR histograms of call latencies (hdr-histogram-js), recorded in microseconds with three
 * significant digits from 1 µs to 10 minutes, read back in nanoseconds like the rest of the report.
 */
import * as hdr from "hdr-histogram-js";

/** A latency histogram. */
export type LatencyHistogram = hdr.Histogram;

const HIGHEST_US = 600_000_000;

/** An empty histogram. */
export function createLatencyHistogram(): LatencyHistogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: HIGHEST_US, numberOfSignificantValueDigits: 3 });
}

/** Records one latency given in nanoseconds. */
export function recordLatencyNs(histogram: LatencyHistogram, latencyNs: number): void {
  histogram.recordValue(Math.min(HIGHEST_US, Math.max(1, Math.round(latencyNs / 1000))));
}

/** The latency at `percentile` (0-100) in nanoseconds; 0 when nothing was recorded. */
export function percentileNs(histogram: LatencyHistogram, percentile: number): number {
  return histogram.totalCount === 0 ? 0 : histogram.getValueAtPercentile(percentile) * 1000;
}
