/**
 * deploy/slo.yaml: p50/p95/p99 and error-rate budgets per RPC (optionally per outcome), and the
 * check of a report against them. The bench fails a run that misses one; the chaos harness asks
 * whether a window of the run meets them.
 */
import { durationValueMs } from "./duration-text.js";
import type { GhzReport, SliceStats } from "./ghz-report.js";
import { EXPECTATIONS, type StepOutcome } from "./turn-corpus.js";
import {
  enumField,
  type Fields,
  listField,
  numberField,
  onlyKeys,
  optionalNumberField,
  readYamlFile,
  stringField,
} from "./yaml-fields.js";

/** One budget; latencies in ns, absent ones unchecked. */
export interface SloBudget {
  readonly rpc: string;
  readonly outcome: StepOutcome | undefined;
  readonly p50: number | undefined;
  readonly p95: number | undefined;
  readonly p99: number | undefined;
  readonly errorRate: number | undefined;
}

/** One checked figure. */
export interface SloVerdict {
  /** e.g. "SubmitTurn p99" or "SubmitTurn[executed] error rate". */
  readonly label: string;
  readonly limit: number;
  readonly actual: number;
  readonly unit: "ns" | "ratio";
  readonly ok: boolean;
}

function latency(fields: Fields, key: string): number | undefined {
  const v = fields.value[key];
  return v === undefined ? undefined : Math.round(durationValueMs(v, `${fields.at}.${key}`) * 1e6);
}

/** Reads and checks an SLO file; a bad field is a UsageError naming it. */
export function loadSlo(path: string): SloBudget[] {
  const root = readYamlFile(path);
  onlyKeys(root, ["version", "budgets"]);
  numberField(root, "version", 1, 1);
  return listField(root, "budgets").map((b) => {
    onlyKeys(b, ["rpc", "outcome", "p50", "p95", "p99", "error_rate"]);
    return {
      rpc: stringField(b, "rpc"),
      outcome: b.value.outcome === undefined ? undefined : enumField(b, "outcome", EXPECTATIONS),
      p50: latency(b, "p50"),
      p95: latency(b, "p95"),
      p99: latency(b, "p99"),
      errorRate: optionalNumberField(b, "error_rate", 0, 1),
    };
  });
}

/** Checks one slice of calls against a budget. */
export function checkSlice(budget: SloBudget, stats: SliceStats): SloVerdict[] {
  const name = `${budget.rpc.split(".").at(-1)}${budget.outcome === undefined ? "" : `[${budget.outcome}]`}`;
  const verdicts: SloVerdict[] = [];
  for (const key of ["p50", "p95", "p99"] as const) {
    const limit = budget[key];
    if (limit !== undefined) {
      verdicts.push({ label: `${name} ${key}`, limit, actual: stats[key], unit: "ns", ok: stats[key] <= limit });
    }
  }
  if (budget.errorRate !== undefined) {
    const ok = stats.errorRate <= budget.errorRate;
    verdicts.push({ label: `${name} error rate`, limit: budget.errorRate, actual: stats.errorRate, unit: "ratio", ok });
  }
  return verdicts;
}

/** Checks a report against every budget of its RPC (budgets of other RPCs do not apply). */
export function checkReport(budgets: readonly SloBudget[], report: GhzReport): SloVerdict[] {
  return budgets
    .filter((b) => b.rpc === report.options.call)
    .flatMap((b) => {
      const stats = b.outcome === undefined ? report.selene.overall : report.selene.steps[b.outcome];
      return stats === undefined ? [] : checkSlice(b, stats);
    });
}
