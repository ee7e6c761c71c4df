/**
 * The resilience metrics of the router: engine call attempts by kind (first,
 * retry, hedge), retries the budget refused, bulkhead refusals, breaker states
 * and transitions, fallbacks that answered, and how far past its deadline a
 * call ended at worst.
 */
import { Counter, Gauge } from "prom-client";
import { metricsRegistry } from "../../runtime/metrics-registry.js";
import type { AttemptKind } from "./attempts.js";
import type { BreakerChange, BreakerState } from "./engine-breakers.js";

/** The recorder. */
export interface ResilienceMetrics {
  /** A call the router made to the engine, whatever became of it. */
  call(engine: string): void;
  /** An attempt that reached the engine (not refused by its breaker or bulkhead). */
  attempt(engine: string, kind: AttemptKind): void;
  budgetSpent(engine: string): void;
  bulkheadRejected(engine: string): void;
  breaker(change: BreakerChange): void;
  fallback(capability: string, kind: "engine" | "last_good"): void;
  /** A call that ended (answered, failed or gave up) `overrunMs` after its deadline (negative: before it). */
  ended(engine: string, overrunMs: number): void;
}

const STATE_VALUE: Record<BreakerState, number> = { closed: 0, half_open: 1, open: 2 };

let metrics: ResilienceMetrics | undefined;

/** The process's one recorder (registered once in the shared registry). */
export function resilienceMetrics(): ResilienceMetrics {
  if (metrics !== undefined) return metrics;
  const registers = [metricsRegistry()];
  const calls = new Counter({
    name: "selene_engine_calls_total",
    help: "Engine calls the router made, before retries, breakers and bulkheads",
    labelNames: ["engine"],
    registers,
  });
  const attempts = new Counter({
    name: "selene_engine_attempts_total",
    help: "Attempts that reached the engine, by kind: first, retry, hedge",
    labelNames: ["engine", "kind"],
    registers,
  });
  const spent = new Counter({
    name: "selene_engine_retry_budget_exhausted_total",
    help: "Retries and hedges the engine's retry budget refused",
    labelNames: ["engine"],
    registers,
  });
  const rejected = new Counter({
    name: "selene_engine_bulkhead_rejected_total",
    help: "Engine calls refused with ENGINE_BUSY because the engine's bulkhead was full",
    labelNames: ["engine"],
    registers,
  });
  const state = new Gauge({
    name: "selene_engine_breaker_state",
    help: "State of the engine's own circuit breaker: 0 closed, 1 half-open, 2 open",
    labelNames: ["engine"],
    registers,
  });
  const transitions = new Counter({
    name: "selene_engine_breaker_transitions_total",
    help: "Circuit breaker state changes, per engine, scope (engine or tenant) and new state",
    labelNames: ["engine", "scope", "to"],
    registers,
  });
  const fallbacks = new Counter({
    name: "selene_read_fallbacks_total",
    help: "Reads a declared fallback answered, per capability and kind (engine, last_good)",
    labelNames: ["capability", "kind"],
    registers,
  });
  const overrun = new Gauge({
    name: "selene_engine_call_deadline_overrun_max_ms",
    help: "The most any engine call ended past its deadline since the router started, in ms (negative: every call ended that long before it)",
    labelNames: ["engine"],
    registers,
  });
  const worstOverrun = new Map<string, number>();
  // Labelled children kept per engine: every engine call counts twice, and prom-client hashes the
  // labels of every inc() given as an object.
  const callsOf = new Map<string, Counter.Internal>();
  const attemptsOf = new Map<string, Counter.Internal>();
  const child = (cache: Map<string, Counter.Internal>, key: string, make: () => Counter.Internal) => {
    let found = cache.get(key);
    if (found === undefined) {
      found = make();
      cache.set(key, found);
    }
    return found;
  };
  metrics = {
    call: (engine) => child(callsOf, engine, () => calls.labels({ engine })).inc(),
    attempt: (engine, kind) => child(attemptsOf, `${engine}\n${kind}`, () => attempts.labels({ engine, kind })).inc(),
    budgetSpent: (engine) => spent.inc({ engine }),
    bulkheadRejected: (engine) => rejected.inc({ engine }),
    breaker(change) {
      const scope = change.tenant === undefined ? "engine" : "tenant";
      transitions.inc({ engine: change.engine, scope, to: change.to });
      if (scope === "engine") state.set({ engine: change.engine }, STATE_VALUE[change.to]);
    },
    fallback: (capability, kind) => fallbacks.inc({ capability, kind }),
    ended(engine, overrunMs) {
      const before = worstOverrun.get(engine);
      if (before !== undefined && overrunMs <= before) return;
      worstOverrun.set(engine, overrunMs);
      overrun.set({ engine }, overrunMs);
    },
  };
  return metrics;
}
