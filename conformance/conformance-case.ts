/**
 * One named check of the engine contract, and what running it gave. A case
 * throws a CaseFailure (or any error) to fail, returns a CaseSkip when it does
 * not apply to the engine (no sample input for a capability), and passes
 * otherwise.
 */
import type { DescribeResponse } from "../gen/es/selene/engine/v1/engine_pb.js";
import type { EngineCatalog } from "../services/runtime/policy/engine-catalog.js";
import type { ConformanceSamples } from "./conformance-samples.js";
import type { EngineCaller, EngineTarget } from "./engine-caller.js";

/** What every case gets. */
export interface CaseContext {
  readonly target: EngineTarget;
  /** The connection presenting the router's identity. */
  readonly router: EngineCaller;
  /** A connection presenting another identity (or none); closed by the runner. */
  connectAs(identity: string | undefined): EngineCaller;
  /** The engine's Describe, read once before the cases run; undefined when it could not be read. */
  readonly description: DescribeResponse | undefined;
  readonly samples: ConformanceSamples;
  /** The engine catalog Describe must agree with (--catalog); undefined skips that case. */
  readonly catalog: ConformanceCatalog | undefined;
  /** A fresh token for idempotency keys and ids, unique to this run. */
  fresh(label: string): string;
}

/** An engine catalog and the file it was read from. */
export interface ConformanceCatalog {
  readonly file: string;
  readonly catalog: EngineCatalog;
}

/** A case that does not apply, and why. */
export interface CaseSkip {
  readonly skipped: string;
}

/** One named check. */
export interface ConformanceCase {
  /** The area it checks: describe, boundary, determinism, identity, invoke, simulate, commit, deadline, health, reflection. */
  readonly group: string;
  /** What it checks, as a sentence; unique within a run. */
  readonly name: string;
  run(context: CaseContext): Promise<CaseSkip | undefined>;
}

/** The outcome of one case. */
export interface CaseResult {
  readonly group: string;
  readonly name: string;
  readonly status: "passed" | "failed" | "skipped";
  readonly durationMs: number;
  /** Why it failed or was skipped. */
  readonly message?: string;
}

/** Thrown by a case whose check did not hold. */
export class CaseFailure extends Error {
  override readonly name = "CaseFailure";
}

/** Fails the running case with `message` unless `condition` holds. */
export function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new CaseFailure(message);
}
