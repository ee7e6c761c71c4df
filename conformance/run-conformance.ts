/**
 * Runs the conformance suite against one engine: reads its Describe once, then
 * runs every case in a fixed order, one progress line per case, and returns
 * the results. It never throws for a failing engine: a case that throws fails.
 */
import { randomBytes } from "node:crypto";
import { status } from "@grpc/grpc-js";
import { type DescribeResponse, DescribeResponseSchema } from "../gen/es/selene/engine/v1/engine_pb.js";
import { createBoundaryValidator } from "../services/runtime/boundary-validator.js";
import { boundaryCases } from "./boundary-cases.js";
import { capabilityCases } from "./capability-cases.js";
import { catalogCase } from "./catalog-case.js";
import type { CaseContext, CaseResult, ConformanceCase, ConformanceCatalog } from "./conformance-case.js";
import type { ConformanceSamples } from "./conformance-samples.js";
import { connectAs, type EngineCaller, type EngineTarget, enginePath } from "./engine-caller.js";
import { wellFormedRequest } from "./engine-requests.js";
import { identityCases } from "./identity-cases.js";
import { serviceCases } from "./service-cases.js";

/** What to check and where to say how it goes. */
export interface ConformanceOptions {
  readonly target: EngineTarget;
  readonly samples: ConformanceSamples;
  /** The engine catalog Describe must agree with; without one that case is skipped. */
  readonly catalog?: ConformanceCatalog;
  /** Receives one line per case as it ends. */
  readonly progress?: (line: string) => void;
}

/** The outcome of one run. */
export interface ConformanceRun {
  readonly target: EngineTarget;
  /** When the run started, ISO 8601. */
  readonly startedAt: string;
  readonly durationMs: number;
  readonly results: readonly CaseResult[];
}

/** The engine's Describe when it answers the router with a valid one. */
async function readDescription(router: EngineCaller): Promise<DescribeResponse | undefined> {
  const outcome = await router.call(enginePath("Describe"), wellFormedRequest("Describe"));
  if (outcome.code !== status.OK || outcome.response === undefined) return undefined;
  const verdict = createBoundaryValidator().validate(DescribeResponseSchema, outcome.response);
  return verdict.ok ? verdict.message : undefined;
}

/** Every case, in the order they run; the capability cases follow the description. */
export function conformanceCases(description: DescribeResponse | undefined): ConformanceCase[] {
  const [describe, health, reflection, deadline] = serviceCases();
  return [
    describe!,
    catalogCase,
    health!,
    reflection!,
    ...boundaryCases(),
    ...identityCases(),
    ...capabilityCases(description),
    deadline!,
  ];
}

const LABELS = { passed: "PASS", failed: "FAIL", skipped: "SKIP" } as const;

/** Runs one case; a thrown error fails it. */
async function runCase(item: ConformanceCase, context: CaseContext): Promise<CaseResult> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  try {
    const skip = await item.run(context);
    if (skip !== undefined) {
      return { group: item.group, name: item.name, status: "skipped", durationMs: elapsed(), message: skip.skipped };
    }
    return { group: item.group, name: item.name, status: "passed", durationMs: elapsed() };
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    return { group: item.group, name: item.name, status: "failed", durationMs: elapsed(), message };
  }
}

/** Runs the suite against `options.target`. */
export async function runConformance(options: ConformanceOptions): Promise<ConformanceRun> {
  const startedAt = new Date();
  const run = randomBytes(4).toString("hex");
  let counter = 0;
  const router = connectAs(options.target, "router");
  const others: EngineCaller[] = [];
  try {
    const description = await readDescription(router);
    const context: CaseContext = {
      target: options.target,
      router,
      description,
      samples: options.samples,
      catalog: options.catalog,
      connectAs(identity) {
        const caller = connectAs(options.target, identity);
        others.push(caller);
        return caller;
      },
      fresh: (label) => `conf-${run}-${label}-${++counter}`,
    };
    const cases = conformanceCases(description);
    const results: CaseResult[] = [];
    for (const [index, item] of cases.entries()) {
      const result = await runCase(item, context);
      results.push(result);
      const why = result.message === undefined ? "" : `: ${result.message}`;
      options.progress?.(
        `[${index + 1}/${cases.length}] ${LABELS[result.status]} ${item.group}: ${item.name} (${result.durationMs} ms)${why}`,
      );
    }
    return {
      target: options.target,
      startedAt: startedAt.toISOString(),
      durationMs: Date.now() - startedAt.getTime(),
      results,
    };
  } finally {
    router.close();
    for (const caller of others) caller.close();
  }
}
