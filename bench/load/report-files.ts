/** Writes a run's report files: report.json (ghz's shape), report.html and summary.txt. */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { GhzReport } from "./ghz-report.js";
import { htmlReport } from "./html-report.js";
import { reportSummary } from "./report-summary.js";
import type { SloVerdict } from "./slo-budgets.js";

/** A directory name for a run started at `date`: 20261124-153012. */
export function runStamp(date: Date): string {
  return date.toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
}

/** Writes the three files into `dir`; returns the JSON text (what ghz-web ingests) and the paths. */
export function writeReportFiles(
  dir: string,
  report: GhzReport,
  verdicts: readonly SloVerdict[],
): { json: string; jsonPath: string; htmlPath: string; summaryPath: string } {
  mkdirSync(dir, { recursive: true });
  const json = `${JSON.stringify(report, null, 2)}\n`;
  const jsonPath = join(dir, "report.json");
  const htmlPath = join(dir, "report.html");
  const summaryPath = join(dir, "summary.txt");
  writeFileSync(jsonPath, json);
  writeFileSync(htmlPath, htmlReport(report, verdicts));
  writeFileSync(summaryPath, `${reportSummary(report, verdicts)}\n`);
  return { json, jsonPath, htmlPath, summaryPath };
}
