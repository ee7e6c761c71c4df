/** The readable summary of chaos runs: one block per profile, and a table over all of them. */
import type { ChaosReport } from "./chaos-run.js";

/** One profile's block. */
export function profileSummary(r: ChaosReport): string {
  const lines = [
    `${r.pass ? "PASS" : "FAIL"} ${r.profile}: ${r.description}`,
    `  faults: ${r.faults.join("; ")} (from ${r.faultWindowS.from.toFixed(1)} s to ${r.faultWindowS.to.toFixed(1)} s)`,
    `  load: ${r.calls} calls, ${r.errors} failed, ${r.load.rps.toFixed(1)}/s, p50 ${(r.load.selene.overall.p50 / 1e6).toFixed(1)} ms, p99 ${(r.load.selene.overall.p99 / 1e6).toFixed(1)} ms`,
    `  effects: ${r.ledger.acknowledged} acknowledged, ${r.ledger.performed} performed, ${r.ledger.performedUnacknowledged} performed but unacknowledged, ${r.ledger.undrained} undrained`,
    `  fault window by step: ${Object.entries(r.faultWindowSteps)
      .map(([step, s]) => `${step} ${s.errors}/${s.calls} failed, p99 ${s.p99Ms.toFixed(0)} ms`)
      .join("; ")}`,
    ...r.verdicts.map((v) => `  ${v.pass ? "ok  " : "FAIL"} ${v.name.padEnd(34)} ${v.actual}  (limit ${v.limit})`),
  ];
  const errors = Object.entries(r.errorDistribution).sort((a, b) => b[1] - a[1]);
  if (errors.length > 0)
    lines.push("  errors:", ...errors.slice(0, 6).map(([e, n]) => `    [${n}] ${e.slice(0, 140)}`));
  return lines.join("\n");
}

/** The table over every profile (Markdown). */
export function overallTable(reports: readonly ChaosReport[]): string {
  const rows = reports.map((r) => {
    const v = (name: string) => r.verdicts.find((x) => x.name === name)?.actual ?? "-";
    return `| ${r.profile} | ${r.pass ? "pass" : "FAIL"} | ${v("SLO held before the fault")} | ${r.calls} | ${v("error rate during the fault")} | ${v("recovery to the SLO")} | ${r.ledger.acknowledged} | ${r.ledger.duplicates} | ${r.ledger.lost.length} | ${r.unhealthy.length === 0 ? "yes" : r.unhealthy.join(" ")} | ${r.durationS.toFixed(0)} s |`;
  });
  return [
    "| profile | result | SLO before the fault | calls | error rate during fault | recovery | acknowledged effects | duplicates | lost | healthy at end | run time |",
    "|---|---|---|---:|---|---|---:|---:|---:|---|---:|",
    ...rows,
  ].join("\n");
}
