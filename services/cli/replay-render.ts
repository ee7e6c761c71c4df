/**
 * How a replay prints: a readable text (fixed columns, ledger order) or
 * canonical JSON (sorted keys, no whitespace). Both are functions of the
 * report alone, so equal reports print equal bytes.
 */
import { canonicalJson } from "../runtime/content-digest.js";
import type { ReplayReport } from "./turn-replay.js";

function attributesText(attributes: Readonly<Record<string, string>>): string {
  return Object.keys(attributes)
    .sort()
    .map((key) => `${key}=${attributes[key]}`)
    .join(" ");
}

/** The readable form. */
export function replayText(report: ReplayReport): string {
  const checks = report.turns.flatMap((t) => t.checks);
  const drifted = checks.filter((c) => c.drift).length;
  const lines = [
    `correlation ${report.correlationId}: ${report.turns.filter((t) => t.kind === "turn").length} turn attempt(s), ` +
      `${report.turns.filter((t) => t.kind === "effect").length} effect(s), ` +
      `${report.turns.reduce((n, t) => n + t.events.length, 0)} event(s), ${checks.length} check(s), ` +
      (drifted === 0 ? "no drift" : `DRIFT in ${drifted}`),
  ];
  for (const turn of report.turns) {
    lines.push(
      "",
      turn.kind === "effect"
        ? `effect ${turn.attempt}  tenant ${turn.tenantId}`
        : `turn ${turn.turnId || "-"}  tenant ${turn.tenantId}  attempt ${turn.attempt || "-"}`,
    );
    for (const e of turn.events) {
      const verdict = [e.decision, e.reason === "UNSPECIFIED" ? "" : e.reason].filter(Boolean).join(" ");
      lines.push(
        `  #${e.sequence.padEnd(6)} ${e.gate.padEnd(10)} ${verdict.padEnd(40)} ${attributesText(e.attributes)}`.trimEnd(),
      );
    }
    for (const c of turn.checks) {
      const mark = c.drift ? "DRIFT" : "same ";
      lines.push(`  ${mark} ${c.gate.padEnd(16)} recorded ${c.recorded}${c.drift ? `  replayed ${c.replayed}` : ""}`);
    }
  }
  return lines.join("\n");
}

/** The canonical JSON form. */
export function replayJson(report: ReplayReport): string {
  return canonicalJson(report);
}
