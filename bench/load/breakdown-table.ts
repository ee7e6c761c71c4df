/** The step breakdown of a run as text: one Markdown table per outcome (summary.txt and report.html). */
import type { OutcomeBreakdown, TurnBreakdown } from "./turn-breakdown.js";

const msText = (ns: number) => (ns / 1e6).toFixed(2);

/** One outcome's table (Markdown). */
export function outcomeTable(o: OutcomeBreakdown): string {
  const lines = [
    "| step | per turn | wall p50 ms | wall p95 ms | CPU µs |",
    "|---|---:|---:|---:|---:|",
    ...o.rows.map(
      (r) =>
        `| ${r.label} | ${r.perTurn.toFixed(r.perTurn % 1 === 0 ? 0 : 1)} | ${msText(r.wallP50Ns)} | ${msText(r.wallP95Ns)} | ${r.cpuUs === undefined ? "-" : r.cpuUs.toFixed(0)} |`,
    ),
  ];
  return lines.join("\n");
}

/** The heading of one outcome's table. */
export function outcomeHeading(o: OutcomeBreakdown): string {
  return `${o.outcome}: ${o.turns} sampled turns, client p50 ${msText(o.latencyP50Ns)} ms, CPU of all processes ${(o.cpuUs / 1000).toFixed(2)} ms per turn`;
}

/** The whole breakdown as summary text. */
export function breakdownText(b: TurnBreakdown): string {
  if (b.outcomes.length === 0) return "Where the time went: no sampled turn's spans arrived.";
  const parts = [
    `Where the time went (every ${b.sampledEvery}th turn traced; wall per turn; CPU is the process's own while`,
    "the step was open: exact at 1 in flight, with calls overlapping it counts theirs too):",
  ];
  for (const o of b.outcomes) parts.push("", outcomeHeading(o), outcomeTable(o));
  return parts.join("\n");
}
