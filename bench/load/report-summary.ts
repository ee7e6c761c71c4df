/** The readable summary of a load run, in ghz's layout, plus the per-outcome table and the SLO verdicts. */
import { breakdownText } from "./breakdown-table.js";
import type { GhzReport, SliceStats } from "./ghz-report.js";
import type { SloVerdict } from "./slo-budgets.js";

/** Nanoseconds as milliseconds with two decimals. */
export function ms(ns: number): string {
  return `${(ns / 1e6).toFixed(2)} ms`;
}

function row(name: string, s: SliceStats): string {
  const cells = [
    s.count,
    s.errors,
    `${(s.errorRate * 100).toFixed(2)}%`,
    ms(s.average),
    ms(s.p50),
    ms(s.p95),
    ms(s.p99),
    ms(s.p999),
  ];
  return `| ${name} | ${cells.join(" | ")} |`;
}

/** The per-outcome and per-tenant table (Markdown). */
export function breakdownTable(report: GhzReport): string {
  const lines = [
    "| calls that had to end in | count | errors | error rate | average | p50 | p95 | p99 | p99.9 |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    row("all", report.selene.overall),
    ...Object.entries(report.selene.steps).map(([step, s]) => row(step, s)),
    ...Object.entries(report.selene.tenants).map(([tenant, s]) => row(`tenant ${tenant}`, s)),
  ];
  return lines.join("\n");
}

/** One verdict as a line. */
export function verdictLine(v: SloVerdict): string {
  const fmt = (x: number) => (v.unit === "ns" ? ms(x) : `${(x * 100).toFixed(2)}%`);
  return `  ${v.ok ? "ok  " : "MISS"} ${v.label.padEnd(34)} ${fmt(v.actual).padStart(10)}  (budget ${fmt(v.limit)})`;
}

/** The whole summary. */
export function reportSummary(report: GhzReport, verdicts: readonly SloVerdict[]): string {
  const lines = [
    "Summary:",
    `  Name:         ${report.name}`,
    `  Count:        ${report.count}`,
    `  Total:        ${ms(report.total)}`,
    `  Slowest:      ${ms(report.slowest)}`,
    `  Fastest:      ${ms(report.fastest)}`,
    `  Average:      ${ms(report.average)}`,
    `  Requests/sec: ${report.rps.toFixed(2)}`,
    `  End reason:   ${report.endReason}`,
    "",
    "Latency distribution:",
    ...report.latencyDistribution.map((l) => `  ${l.percentage} % in ${ms(l.latency)}`),
    `  99.9 % in ${ms(report.selene.latencyP999)}`,
    "",
    "Status code distribution:",
    ...Object.entries(report.statusCodeDistribution).map(([code, n]) => `  [${code}] ${n} responses`),
  ];
  const errors = Object.entries(report.errorDistribution);
  if (errors.length > 0) {
    lines.push("", "Error distribution:", ...errors.map(([e, n]) => `  [${n}] ${e}`));
  }
  lines.push("", breakdownTable(report), "", `Acknowledged effects (EXECUTED): ${report.selene.acknowledgedEffects}`);
  if (report.selene.breakdown !== undefined) lines.push("", breakdownText(report.selene.breakdown));
  if (verdicts.length > 0) lines.push("", "SLO (deploy/slo.yaml):", ...verdicts.map(verdictLine));
  return lines.join("\n");
}
