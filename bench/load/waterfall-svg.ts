/** A waterfall of one turn's spans (report.html): one row per span, placed on the client's clock. */
import type { OutcomeBreakdown } from "./turn-breakdown.js";

const W = 900;
const LABEL = 330;
const ROW = 16;

function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const COLORS: Record<string, string> = { client: "#888", router: "#06c", db: "#693", audit: "#c60", outbox: "#a3a" };

function colorOf(label: string): string {
  if (label.includes(" db ")) return COLORS.db!;
  const service = label.split(" ")[0] ?? "";
  return COLORS[service] ?? "#39c";
}

/** The typical turn of `o` as an SVG waterfall. */
export function waterfallSvg(o: OutcomeBreakdown): string {
  const { bars, latencyNs } = o.typical;
  const span = Math.max(latencyNs, ...bars.map((b) => b.startNs + b.durationNs), 1);
  const scale = (W - LABEL - 70) / span;
  const h = (bars.length + 1) * ROW + 10;
  const rows = bars.map((b, i) => {
    const y = i * ROW + 4;
    const x = LABEL + Math.max(0, b.startNs) * scale;
    const w = Math.max(1, b.durationNs * scale);
    const cpu = b.cpuUs === undefined ? "" : `, CPU ${b.cpuUs} µs`;
    const text = `${(b.durationNs / 1e6).toFixed(2)} ms${cpu}`;
    return (
      `<text x="${4 + b.depth * 10}" y="${y + 11}">${escapeXml(b.label)}</text>` +
      `<rect x="${x.toFixed(1)}" y="${y + 2}" width="${w.toFixed(1)}" height="${ROW - 5}" fill="${colorOf(b.label)}"/>` +
      `<text x="${(x + w + 3).toFixed(1)}" y="${y + 11}" fill="#444">${escapeXml(text)}</text>`
    );
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${h}" font-size="11" font-family="sans-serif">`,
    ...rows,
    `<text x="${LABEL}" y="${h - 4}" fill="#444">0 ms</text>`,
    `<text x="${W - 70}" y="${h - 4}" text-anchor="end" fill="#444">${(span / 1e6).toFixed(2)} ms</text>`,
    "</svg>",
  ].join("\n");
}
