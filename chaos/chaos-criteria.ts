/**
 * The pass/fail verdicts of a chaos run, computed from what happened: the effect ledger, the calls
 * started during the fault window, the first window after the fault in which the SLO held again,
 * and the health of every process at the end.
 */
import type { CallRecord } from "../bench/load/call-record.js";
import { sliceStats } from "../bench/load/ghz-report.js";
import { checkSlice, type SloBudget, type SloVerdict } from "../bench/load/slo-budgets.js";
import type { ChaosCriteria } from "./chaos-profile.js";
import type { EffectLedger } from "./effect-ledger.js";

/** One criterion's verdict. */
export interface CriterionVerdict {
  readonly name: string;
  readonly limit: string;
  readonly actual: string;
  readonly pass: boolean;
}

/** Failed calls over calls started in [fromMs, toMs) (ms since the load started). */
export function errorRateBetween(
  records: readonly CallRecord[],
  fromMs: number,
  toMs: number,
): { calls: number; rate: number } {
  const stats = sliceStats(records.filter((r) => r.startMs >= fromMs && r.startMs < toMs));
  return { calls: stats.count, rate: stats.errorRate };
}

/**
 * Seconds from the end of the fault to the start of the first window of `steadySeconds` in which
 * the budget held (windows start every 250 ms); undefined when none did before `endMs`.
 */
export function recoverySeconds(
  records: readonly CallRecord[],
  faultEndMs: number,
  endMs: number,
  budget: SloBudget,
  steadySeconds: number,
): number | undefined {
  const width = steadySeconds * 1000;
  for (let start = faultEndMs; start + width <= endMs; start += 250) {
    const window = records.filter((r) => r.startMs >= start && r.startMs < start + width);
    if (window.length === 0) continue;
    if (checkSlice(budget, sliceStats(window)).every((v) => v.ok)) return (start - faultEndMs) / 1000;
  }
  return undefined;
}

/**
 * Seconds from `fromMs` to the start of the first window of `steadySeconds` (windows start every
 * 250 ms) in which every read turn started succeeded, by the engine, a retry or a fallback, and
 * there was at least one; undefined when none did before `endMs`.
 */
export function readsRecoverySeconds(
  records: readonly CallRecord[],
  fromMs: number,
  endMs: number,
  steadySeconds: number,
): number | undefined {
  const reads = records.filter((r) => r.step === "answer");
  const width = steadySeconds * 1000;
  for (let start = fromMs; start + width <= endMs; start += 250) {
    const window = reads.filter((r) => r.startMs >= start && r.startMs < start + width);
    if (window.length > 0 && window.every((r) => r.error === "")) return (start - fromMs) / 1000;
  }
  return undefined;
}

/**
 * Whether the budget held over the calls that ended before the fault began (a busy host or a slow
 * mesh fails here, not in recovery; a call the fault cut short is the fault's).
 */
export function baselineHolds(records: readonly CallRecord[], faultFromMs: number, budget: SloBudget): SloVerdict[] {
  return checkSlice(budget, sliceStats(records.filter((r) => r.startMs + r.latencyNs / 1e6 < faultFromMs)));
}

/** Everything the verdicts are computed from. */
export interface RunFacts {
  readonly baseline: readonly SloVerdict[];
  readonly ledger: EffectLedger;
  readonly faultErrorRate: { calls: number; rate: number };
  readonly recoveryS: number | undefined;
  readonly unhealthy: readonly string[];
  /** Seconds from the restarted process serving again to the SLO holding again; undefined: never. */
  readonly recoveryAfterServingS?: number | undefined;
  /** Seconds from the fault clearing (a restarted process serving) to read turns all succeeding again; undefined: never. */
  readonly readsRecoveryS?: number | undefined;
  /** The faulted engine's attempts per call in the fault window (router metrics). */
  readonly attempts?: {
    readonly engine: string;
    readonly calls: number;
    readonly ratio: number;
    readonly retries?: number;
    readonly hedges?: number;
  };
  /** The faulted engine's breaker: openings in the fault window, closings after it. */
  readonly breaker?: { readonly engine: string; readonly opened: number; readonly closed: number };
  /** Error rate in the fault window of the turns that do not read. */
  readonly otherErrorRate?: { calls: number; rate: number };
  /** The most an engine call ended past its deadline over the whole run (router metrics), and the engine. */
  readonly deadlineOverrun?: { readonly engine: string; readonly ms: number } | undefined;
}

/** Failed calls over calls started in [fromMs, toMs) whose expected outcome is not an answer. */
export function otherErrorRateBetween(records: readonly CallRecord[], fromMs: number, toMs: number) {
  return errorRateBetween(
    records.filter((r) => r.step !== "answer"),
    fromMs,
    toMs,
  );
}

/** The verdicts, one per criterion. */
export function judge(criteria: ChaosCriteria, facts: RunFacts): CriterionVerdict[] {
  const pct = (x: number) => `${(x * 100).toFixed(2)}%`;
  const missed = facts.baseline.filter((v) => !v.ok);
  const verdicts: CriterionVerdict[] = [
    {
      name: "SLO held before the fault",
      limit: "every budget",
      actual: missed.length === 0 ? "held" : `missed: ${missed.map((v) => v.label).join(", ")}`,
      pass: missed.length === 0,
    },
    {
      name: "duplicate effects",
      limit: `<= ${criteria.maxDuplicateEffects}`,
      actual: String(facts.ledger.duplicates),
      pass: facts.ledger.duplicates <= criteria.maxDuplicateEffects,
    },
    {
      name: "lost acknowledged effects",
      limit: `<= ${criteria.maxLostEffects}`,
      actual: `${facts.ledger.lost.length} of ${facts.ledger.acknowledged}`,
      pass: facts.ledger.lost.length <= criteria.maxLostEffects,
    },
    {
      name: "error rate during the fault",
      limit: `<= ${pct(criteria.maxErrorRateDuringFault)}`,
      actual: `${pct(facts.faultErrorRate.rate)} of ${facts.faultErrorRate.calls} calls`,
      pass: facts.faultErrorRate.rate <= criteria.maxErrorRateDuringFault,
    },
    {
      name: "recovery to the SLO",
      limit: `<= ${criteria.recoverWithinS} s (${criteria.steadySeconds} s steady)`,
      actual: facts.recoveryS === undefined ? "never" : `${facts.recoveryS.toFixed(2)} s`,
      pass: facts.recoveryS !== undefined && facts.recoveryS <= criteria.recoverWithinS,
    },
  ];
  if (criteria.recoverWithinAfterServingS !== undefined) {
    const r = facts.recoveryAfterServingS;
    verdicts.push({
      name: "recovery after serving again",
      limit: `<= ${criteria.recoverWithinAfterServingS} s (${criteria.steadySeconds} s steady)`,
      actual: r === undefined ? "never" : `${r.toFixed(2)} s`,
      pass: r !== undefined && r <= criteria.recoverWithinAfterServingS,
    });
  }
  if (criteria.readsRecoverWithinS !== undefined) {
    const r = facts.readsRecoveryS;
    verdicts.push({
      name: "reads recovered",
      limit: `<= ${criteria.readsRecoverWithinS} s (${criteria.steadySeconds} s with every read answered)`,
      actual: r === undefined ? "never" : `${r.toFixed(2)} s`,
      pass: r !== undefined && r <= criteria.readsRecoverWithinS,
    });
  }
  if (criteria.maxAttemptsPerCall !== undefined) {
    const a = facts.attempts;
    verdicts.push({
      name: "attempts per call to the engine",
      limit: `<= ${criteria.maxAttemptsPerCall}`,
      actual:
        a === undefined
          ? "no engine faulted"
          : `${a.ratio.toFixed(3)} over ${a.calls} ${a.engine} calls (${a.retries ?? 0} retries, ${a.hedges ?? 0} hedges)`,
      pass: a !== undefined && a.ratio <= criteria.maxAttemptsPerCall,
    });
  }
  if (criteria.breakerOpensAndCloses) {
    const b = facts.breaker;
    verdicts.push({
      name: "breaker opens and closes",
      limit: "opens in the fault, closes after",
      actual: b === undefined ? "no engine faulted" : `${b.engine}: opened ${b.opened}, closed ${b.closed}`,
      pass: b !== undefined && b.opened > 0 && b.closed > 0,
    });
  }
  if (criteria.maxOtherErrorRateDuringFault !== undefined) {
    const o = facts.otherErrorRate ?? { calls: 0, rate: 0 };
    verdicts.push({
      name: "other turns' error rate in the fault",
      limit: `<= ${pct(criteria.maxOtherErrorRateDuringFault)}`,
      actual: `${pct(o.rate)} of ${o.calls} calls`,
      pass: o.rate <= criteria.maxOtherErrorRateDuringFault,
    });
  }
  if (criteria.maxDeadlineOverrunMs !== undefined) {
    const d = facts.deadlineOverrun;
    verdicts.push({
      name: "engine calls past their deadline",
      limit: `<= ${criteria.maxDeadlineOverrunMs} ms`,
      actual:
        d === undefined
          ? "no engine call ended"
          : d.ms > 0
            ? `${d.ms.toFixed(1)} ms past it at worst (${d.engine})`
            : `none: the latest ended ${(-d.ms).toFixed(1)} ms before it (${d.engine})`,
      pass: d !== undefined && d.ms <= criteria.maxDeadlineOverrunMs,
    });
  }
  if (criteria.healthyAtEnd) {
    verdicts.push({
      name: "every process healthy at the end",
      limit: "all SERVING",
      actual: facts.unhealthy.length === 0 ? "all SERVING" : `not: ${facts.unhealthy.join(", ")}`,
      pass: facts.unhealthy.length === 0,
    });
  }
  return verdicts;
}
