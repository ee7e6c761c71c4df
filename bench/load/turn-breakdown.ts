/**
 * Where a turn's time went: the sampled turns of a run (load-runner.ts sends every Nth with a
 * sampled trace context) joined with the spans the mesh exported for them (span-receiver.ts). Per
 * outcome, one row per step with its wall time per turn (p50, p95) and the CPU its process spent
 * while it was open, and the spans of a typical turn (the sampled one nearest the median) for a
 * waterfall.
 */
import { type CallRecord, succeeded } from "./call-record.js";
import { nearestRank } from "./ghz-report.js";
import type { ReceivedSpan } from "./span-receiver.js";
import { EXPECTATIONS, type StepOutcome } from "./turn-corpus.js";

/** One step of a turn, over the sampled turns of an outcome. */
export interface BreakdownRow {
  readonly label: string;
  /** How many of the sampled turns had the step. */
  readonly turns: number;
  /** Times the step ran per turn that had it (polls run several times). */
  readonly perTurn: number;
  /** Wall time per turn (the step's occurrences summed), ns. */
  readonly wallP50Ns: number;
  readonly wallP95Ns: number;
  /** The process's CPU while the step was open, µs per turn (mean); undefined where not recorded. */
  readonly cpuUs: number | undefined;
}

/** One bar of a waterfall: a span, placed from the start of the client's call. */
export interface WaterfallBar {
  readonly label: string;
  readonly depth: number;
  readonly startNs: number;
  readonly durationNs: number;
  readonly cpuUs: number | undefined;
}

/** The breakdown of the turns that had to end in one outcome. */
export interface OutcomeBreakdown {
  readonly outcome: StepOutcome;
  /** Sampled successful turns whose spans arrived. */
  readonly turns: number;
  readonly latencyP50Ns: number;
  /** CPU of all processes per turn (their server spans summed), µs, mean. */
  readonly cpuUs: number;
  readonly rows: readonly BreakdownRow[];
  /** The typical turn: its client latency and its spans. */
  readonly typical: { readonly latencyNs: number; readonly bars: readonly WaterfallBar[] };
}

/** The breakdown of a run. */
export interface TurnBreakdown {
  /** One turn in this many was sampled. */
  readonly sampledEvery: number;
  readonly outcomes: readonly OutcomeBreakdown[];
}

const SERVER = 2;
const CLIENT = 3;
/** The derived rows, named for what they hold. */
export const TRANSPORT_ROW = "client <-> router: TLS, HTTP/2, gRPC framing, queueing";
export const ROUTER_OWN_ROW = "router own work: validation, gates, encoding, event loop";

const method = (name: string) => name.split("/").at(-1) ?? name;

/** A span's row label: "nlp Understand", "router -> nlp Understand", "router db turn claim". */
export function spanLabel(span: ReceivedSpan): string {
  if (span.kind === SERVER) return `${span.service} ${method(span.name)}`;
  if (span.kind === CLIENT)
    return `${span.service} -> ${span.attributes["server.address"] ?? "?"} ${method(span.name)}`;
  return `${span.service} ${span.name}`;
}

const cpuOf = (span: ReceivedSpan): number | undefined => {
  const v = span.attributes["selene.cpu_us"];
  return typeof v === "number" ? v : undefined;
};

/** Total length of the union of [start, end) intervals, ns. */
function unionNs(intervals: ReadonlyArray<readonly [number, number]>): number {
  const sorted = [...intervals].sort((a, b) => a[0] - b[0]);
  let total = 0;
  let end = Number.NEGATIVE_INFINITY;
  for (const [s, e] of sorted) {
    if (e <= end) continue;
    total += e - Math.max(s, end);
    end = e;
  }
  return total;
}

interface TracedTurn {
  readonly record: CallRecord;
  readonly root: ReceivedSpan;
  readonly spans: readonly ReceivedSpan[];
}

/** One turn's steps: label -> [wall ns summed, CPU µs summed or undefined, occurrences, first start]. */
function stepsOf(turn: TracedTurn): Map<string, { wall: number; cpu: number | undefined; n: number; at: number }> {
  const steps = new Map<string, { wall: number; cpu: number | undefined; n: number; at: number }>();
  const add = (label: string, wall: number, cpu: number | undefined, at: number) => {
    const s = steps.get(label);
    if (s === undefined) steps.set(label, { wall, cpu, n: 1, at });
    else {
      s.wall += wall;
      s.cpu = s.cpu === undefined || cpu === undefined ? (s.cpu ?? cpu) : s.cpu + cpu;
      s.n++;
    }
  };
  const { record, root, spans } = turn;
  const t0 = record.startEpochMs! * 1e6;
  add(TRANSPORT_ROW, Math.max(0, record.latencyNs - (root.endNs - root.startNs)), undefined, 0);
  const children = spans.filter((s) => s.parentSpanId === root.spanId);
  const own = root.endNs - root.startNs - unionNs(children.map((c) => [c.startNs, c.endNs] as const));
  add(ROUTER_OWN_ROW, Math.max(0, own), undefined, root.startNs - t0);
  for (const span of spans) add(spanLabel(span), span.endNs - span.startNs, cpuOf(span), span.startNs - t0);
  return steps;
}

/** The spans of `turn` as waterfall bars, from the client's start, in start order, nested by parent. */
export function waterfallOf(turn: TracedTurn): WaterfallBar[] {
  const t0 = turn.record.startEpochMs! * 1e6;
  const byId = new Map(turn.spans.map((s) => [s.spanId, s]));
  const depth = (span: ReceivedSpan): number => {
    let d = 1;
    for (let p = byId.get(span.parentSpanId); p !== undefined && d < 32; p = byId.get(p.parentSpanId)) d++;
    return d;
  };
  const bars: WaterfallBar[] = [
    { label: "client SubmitTurn", depth: 0, startNs: 0, durationNs: turn.record.latencyNs, cpuUs: undefined },
  ];
  for (const span of [...turn.spans].sort((a, b) => a.startNs - b.startNs)) {
    bars.push({
      label: spanLabel(span),
      depth: depth(span),
      startNs: span.startNs - t0,
      durationNs: span.endNs - span.startNs,
      cpuUs: cpuOf(span),
    });
  }
  return bars;
}

/** Builds the breakdown from a run's records and the spans received for their traces. */
export function buildTurnBreakdown(
  records: readonly CallRecord[],
  spans: readonly ReceivedSpan[],
  sampledEvery: number,
): TurnBreakdown {
  const byTrace = new Map<string, ReceivedSpan[]>();
  for (const span of spans) {
    const list = byTrace.get(span.traceId);
    if (list === undefined) byTrace.set(span.traceId, [span]);
    else list.push(span);
  }
  const traced: TracedTurn[] = [];
  for (const record of records) {
    if (record.traceId === undefined || record.startEpochMs === undefined || !succeeded(record)) continue;
    const own = byTrace.get(record.traceId) ?? [];
    const root = own.find((s) => s.kind === SERVER && s.service === "router" && s.name.endsWith("/SubmitTurn"));
    if (root !== undefined) traced.push({ record, root, spans: own });
  }
  const outcomes: OutcomeBreakdown[] = [];
  for (const outcome of EXPECTATIONS) {
    const turns = traced.filter((t) => t.record.step === outcome);
    if (turns.length === 0) continue;
    const latencies = turns.map((t) => t.record.latencyNs).sort((a, b) => a - b);
    const median = nearestRank(latencies, 50);
    const typical = turns.reduce((best, t) =>
      Math.abs(t.record.latencyNs - median) < Math.abs(best.record.latencyNs - median) ? t : best,
    );
    const perLabel = new Map<string, { walls: number[]; cpus: number[]; n: number; ats: number[] }>();
    let cpuTotal = 0;
    for (const turn of turns) {
      for (const [label, s] of stepsOf(turn)) {
        const row = perLabel.get(label) ?? { walls: [], cpus: [], n: 0, ats: [] };
        row.walls.push(s.wall);
        if (s.cpu !== undefined) row.cpus.push(s.cpu);
        row.n += s.n;
        row.ats.push(s.at);
        perLabel.set(label, row);
      }
      for (const span of turn.spans) if (span.kind === SERVER) cpuTotal += cpuOf(span) ?? 0;
    }
    const rows = [...perLabel.entries()]
      .map(([label, r]) => {
        const walls = [...r.walls].sort((a, b) => a - b);
        const at = nearestRank(
          [...r.ats].sort((a, b) => a - b),
          50,
        );
        const row: BreakdownRow = {
          label,
          turns: r.walls.length,
          perTurn: r.n / r.walls.length,
          wallP50Ns: nearestRank(walls, 50),
          wallP95Ns: nearestRank(walls, 95),
          cpuUs: r.cpus.length === 0 ? undefined : r.cpus.reduce((a, b) => a + b, 0) / r.cpus.length,
        };
        return { row, at };
      })
      .sort((a, b) => a.at - b.at || a.row.label.localeCompare(b.row.label))
      .map(({ row }) => row);
    outcomes.push({
      outcome,
      turns: turns.length,
      latencyP50Ns: median,
      cpuUs: cpuTotal / turns.length,
      rows,
      typical: { latencyNs: typical.record.latencyNs, bars: waterfallOf(typical) },
    });
  }
  return { sampledEvery, outcomes };
}
