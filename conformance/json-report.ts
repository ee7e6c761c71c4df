/**
 * The JSON report of a conformance run: the engine, the counts, and every case
 * with its group, name, outcome, duration and message, in run order.
 */
import type { CaseResult } from "./conformance-case.js";
import type { ConformanceRun } from "./run-conformance.js";

/** The counts of a run. */
export interface ConformanceSummary {
  readonly total: number;
  readonly passed: number;
  readonly failed: number;
  readonly skipped: number;
}

/** Counts the results by outcome. */
export function summarize(results: readonly CaseResult[]): ConformanceSummary {
  const count = (s: CaseResult["status"]) => results.filter((r) => r.status === s).length;
  return { total: results.length, passed: count("passed"), failed: count("failed"), skipped: count("skipped") };
}

/** The report as a JSON document (two-space indented, newline-terminated). */
export function toJsonReport(run: ConformanceRun): string {
  const report = {
    suite: "selene engine conformance",
    engine: run.target.engine,
    address: run.target.address,
    spiffeId: run.target.spiffeId,
    startedAt: run.startedAt,
    durationMs: run.durationMs,
    summary: summarize(run.results),
    cases: run.results.map((r) => ({
      group: r.group,
      name: r.name,
      status: r.status,
      durationMs: r.durationMs,
      ...(r.message === undefined ? {} : { message: r.message }),
    })),
  };
  return `${JSON.stringify(report, null, 2)}\n`;
}
