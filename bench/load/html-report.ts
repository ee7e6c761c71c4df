/**
 * The HTML report of a load run: one self-contained page (inline SVG, no scripts, nothing fetched)
 * with the summary, latency over time (p50 and p99 per second, errors per second), the latency
 * histogram, the per-outcome table and the SLO verdicts.
 */
import { outcomeHeading, outcomeTable } from "./breakdown-table.js";
import type { GhzReport } from "./ghz-report.js";
import { breakdownTable, ms, verdictLine } from "./report-summary.js";
import type { SloVerdict } from "./slo-budgets.js";
import { waterfallSvg } from "./waterfall-svg.js";

const W = 760;
const H = 240;
const PAD = 48;

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function polyline(points: ReadonlyArray<[number, number]>, color: string): string {
  const d = points.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(" ");
  return `<polyline fill="none" stroke="${color}" stroke-width="1.5" points="${d}"/>`;
}

function axes(xLabel: string, yLabel: string, yMax: string): string {
  return [
    `<line x1="${PAD}" y1="${H - PAD}" x2="${W - 10}" y2="${H - PAD}" stroke="#444"/>`,
    `<line x1="${PAD}" y1="10" x2="${PAD}" y2="${H - PAD}" stroke="#444"/>`,
    `<text x="${W / 2}" y="${H - 10}" text-anchor="middle">${escapeHtml(xLabel)}</text>`,
    `<text x="12" y="${H / 2}" transform="rotate(-90 12 ${H / 2})" text-anchor="middle">${escapeHtml(yLabel)}</text>`,
    `<text x="${PAD - 4}" y="16" text-anchor="end">${escapeHtml(yMax)}</text>`,
    `<text x="${PAD - 4}" y="${H - PAD}" text-anchor="end">0</text>`,
  ].join("");
}

/** Latency over time: p50 and p99 per second (ms), errors per second as red bars. */
export function latencyOverTimeSvg(report: GhzReport): string {
  const series = report.selene.series;
  const maxNs = Math.max(1, ...series.map((s) => s.p99));
  const maxErrors = Math.max(1, ...series.map((s) => s.errors));
  const x = (i: number) => PAD + ((W - PAD - 10) * i) / Math.max(1, series.length - 1);
  const y = (ns: number) => H - PAD - ((H - PAD - 10) * ns) / maxNs;
  const bars = series
    .filter((s) => s.errors > 0)
    .map((s) => {
      const h = ((H - PAD - 10) * s.errors) / maxErrors;
      return `<rect x="${x(s.second) - 2}" y="${H - PAD - h}" width="4" height="${h}" fill="#d33" opacity="0.5"/>`;
    });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-size="11" font-family="sans-serif">`,
    axes(`seconds (${series.length})`, "latency", ms(maxNs)),
    ...bars,
    polyline(
      series.map((s) => [x(s.second), y(s.p99)]),
      "#c60",
    ),
    polyline(
      series.map((s) => [x(s.second), y(s.p50)]),
      "#06c",
    ),
    `<text x="${W - 200}" y="20" fill="#06c">p50</text><text x="${W - 160}" y="20" fill="#c60">p99</text>`,
    `<text x="${W - 120}" y="20" fill="#d33">errors/s (max ${maxErrors})</text>`,
    "</svg>",
  ].join("\n");
}

/** The 11-bucket latency histogram as bars. */
export function histogramSvg(report: GhzReport): string {
  const buckets = report.histogram;
  const maxCount = Math.max(1, ...buckets.map((b) => b.count));
  const slot = (W - PAD - 10) / Math.max(1, buckets.length);
  const bars = buckets.map((b, i) => {
    const h = ((H - PAD - 10) * b.count) / maxCount;
    const left = PAD + i * slot;
    return (
      `<rect x="${left + 2}" y="${H - PAD - h}" width="${slot - 4}" height="${h}" fill="#39c"/>` +
      `<text x="${left + slot / 2}" y="${H - PAD + 14}" text-anchor="middle">${(b.mark * 1000).toFixed(1)}</text>` +
      `<text x="${left + slot / 2}" y="${H - PAD - h - 3}" text-anchor="middle">${b.count}</text>`
    );
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-size="11" font-family="sans-serif">`,
    axes("latency up to (ms)", "calls", String(maxCount)),
    ...bars,
    "</svg>",
  ].join("\n");
}

function markdownTableHtml(markdown: string): string {
  const rows = markdown.split("\n").filter((_line, i) => i !== 1);
  return `<table>${rows
    .map((line, i) => {
      const cells = line.split("|").slice(1, -1);
      const tag = i === 0 ? "th" : "td";
      return `<tr>${cells.map((c) => `<${tag}>${escapeHtml(c.trim())}</${tag}>`).join("")}</tr>`;
    })
    .join("")}</table>`;
}

/** Where the time went: per outcome, the step table and the waterfall of a typical turn. */
function stepsHtml(report: GhzReport): string {
  const b = report.selene.breakdown;
  if (b === undefined) return "";
  const parts = [`<h2>Where the time went (every ${b.sampledEvery}th turn traced)</h2>`];
  if (b.outcomes.length === 0) parts.push("<p>no sampled turn's spans arrived</p>");
  for (const o of b.outcomes) {
    parts.push(`<h3>${escapeHtml(outcomeHeading(o))}</h3>`, markdownTableHtml(outcomeTable(o)));
    parts.push(`<p>A typical turn (the sampled one nearest the median, ${ms(o.typical.latencyNs)}):</p>`);
    parts.push(waterfallSvg(o));
  }
  return parts.join("\n");
}

/** The whole page. */
export function htmlReport(report: GhzReport, verdicts: readonly SloVerdict[]): string {
  const facts: Array<[string, string]> = [
    ["date", report.date],
    ["end reason", report.endReason],
    ["calls", String(report.count)],
    ["wall time", ms(report.total)],
    ["requests/s", report.rps.toFixed(2)],
    ["average", ms(report.average)],
    ["fastest / slowest", `${ms(report.fastest)} / ${ms(report.slowest)}`],
    ...report.latencyDistribution.map((l): [string, string] => [`p${l.percentage}`, ms(l.latency)]),
    ["p99.9", ms(report.selene.latencyP999)],
    ["status codes", JSON.stringify(report.statusCodeDistribution)],
    [
      "options",
      `-c ${report.options.concurrency} --connections ${report.options.connections} -n ${report.options.total} -z ${report.options.duration / 1e9}s -r ${report.options.rps} -t ${report.options.timeout / 1e9}s`,
    ],
    ["tags", JSON.stringify(report.tags)],
  ];
  const errors = Object.entries(report.errorDistribution);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(report.name)}</title>
<style>body{font-family:sans-serif;margin:24px;max-width:900px}table{border-collapse:collapse;margin:8px 0}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#eee}td:first-child{text-align:left}
pre{background:#f6f6f6;padding:8px}</style></head><body>
<h1>${escapeHtml(report.name)}</h1>
<table>${facts.map(([k, v]) => `<tr><td>${escapeHtml(k)}</td><td>${escapeHtml(v)}</td></tr>`).join("")}</table>
<h2>Latency over time</h2>
${latencyOverTimeSvg(report)}
<h2>Latency histogram</h2>
${histogramSvg(report)}
<h2>By outcome and tenant</h2>
${markdownTableHtml(breakdownTable(report))}
${stepsHtml(report)}
<h2>Errors</h2>
${errors.length === 0 ? "<p>none</p>" : `<pre>${escapeHtml(errors.map(([e, n]) => `[${n}] ${e}`).join("\n"))}</pre>`}
<h2>SLO</h2>
<pre>${escapeHtml(verdicts.map(verdictLine).join("\n") || "no budget applies")}</pre>
</body></html>
`;
}
