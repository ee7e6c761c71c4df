/** The router's resilient engine calls over a (fake) registry, under the shipped policy or a test's own. */
import { fileURLToPath } from "node:url";
import type { EngineRegistry } from "../../services/router/engine-registry.js";
import { type BreakerChange, createEngineBreakers } from "../../services/router/resilience/engine-breakers.js";
import { createLastGoodAnswers, type LastGoodAnswers } from "../../services/router/resilience/last-good-answers.js";
import type { ResilienceMetrics } from "../../services/router/resilience/resilience-metrics.js";
import { loadResiliencePolicy, type ResiliencePolicy } from "../../services/router/resilience/resilience-policy.js";
import { createResilientEngines, type ResilientEngines } from "../../services/router/resilience/resilient-engines.js";
import { declaredCapabilities, loadEngineCatalog } from "../../services/runtime/policy/engine-catalog.js";

/** The shipped engine catalog's capabilities, as the router declares them. */
export const DECLARED_CAPABILITIES = declaredCapabilities(loadEngineCatalog());

/** The shipped policy file. */
export const POLICY_FILE = fileURLToPath(new URL("../../policy/resilience.json", import.meta.url));

/** The shipped policy. */
export function shippedPolicy(): ResiliencePolicy {
  return loadResiliencePolicy(POLICY_FILE, DECLARED_CAPABILITIES);
}

/** Metrics that only count, per name, for assertions. */
export interface CountingMetrics extends ResilienceMetrics {
  readonly counts: Map<string, number>;
  /** How far past its deadline each call ended, ms, per engine, in order. */
  readonly overruns: Map<string, number[]>;
}

/** A recorder that counts `name:label` pairs. */
export function countingMetrics(): CountingMetrics {
  const counts = new Map<string, number>();
  const overruns = new Map<string, number[]>();
  const inc = (key: string) => counts.set(key, (counts.get(key) ?? 0) + 1);
  return {
    counts,
    overruns,
    call: (engine) => inc(`call:${engine}`),
    attempt: (engine, kind) => inc(`attempt:${engine}:${kind}`),
    budgetSpent: (engine) => inc(`budget:${engine}`),
    bulkheadRejected: (engine) => inc(`bulkhead:${engine}`),
    breaker: (change) => inc(`breaker:${change.engine}:${change.tenant ?? "*"}:${change.to}`),
    fallback: (capability, kind) => inc(`fallback:${capability}:${kind}`),
    ended: (engine, overrunMs) => overruns.set(engine, [...(overruns.get(engine) ?? []), overrunMs]),
  };
}

/** What a test gets: the engines and what they told. */
export interface TestEngines {
  readonly engines: ResilientEngines;
  readonly metrics: CountingMetrics;
  readonly changes: BreakerChange[];
  readonly lastGood: LastGoodAnswers;
}

/** Resilient engines over `registry` under `policy` (the shipped one by default). */
export function resilientEnginesOver(
  registry: EngineRegistry,
  policy: ResiliencePolicy = shippedPolicy(),
  now?: () => number,
): TestEngines {
  const metrics = countingMetrics();
  const changes: BreakerChange[] = [];
  const lastGood = createLastGoodAnswers(100, now);
  const engines = createResilientEngines({
    registry,
    policy,
    breakers: createEngineBreakers(policy.engines, (change) => changes.push(change)),
    lastGood,
    metrics,
    now,
  });
  return { engines, metrics, changes, lastGood };
}

/** The policy file's JSON, which a test breaks one value of. */
// biome-ignore lint/suspicious/noExplicitAny: any path of the file's JSON may be changed
export type PolicyJson = Record<string, any>;
