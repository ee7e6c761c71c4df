/**
 * The boundary cases: every EngineService method refuses each spoiled request
 * with the status, reason code and field path the contract prescribes, and the
 * same refused bytes always give the same error bytes.
 */
import { status } from "@grpc/grpc-js";
import { reasonInfo } from "../services/runtime/reason-catalog.js";
import { CaseFailure, type ConformanceCase, check } from "./conformance-case.js";
import { type CallOutcome, describeOutcome, enginePath } from "./engine-caller.js";
import { ENGINE_METHODS, type EngineMethod, type ExpectedRefusal, spoiledRequests } from "./engine-requests.js";

/** The refusal in words: "INVALID_ARGUMENT, UNKNOWN_FIELD at envelope.99". */
export function refusalText(expected: ExpectedRefusal): string {
  const where = expected.fieldPath === "" ? "" : ` at ${expected.fieldPath}`;
  return `${status[expected.status]}, ${reasonInfo(expected.reason).name}${where}`;
}

/** Fails unless `outcome` is the refusal `expected`. */
export function checkRefusal(outcome: CallOutcome, expected: ExpectedRefusal): void {
  const want = refusalText(expected);
  check(outcome.code === expected.status, `expected ${want}; got ${describeOutcome(outcome)}`);
  const detail = outcome.detail;
  check(detail !== undefined, `expected ${want}; the error carries no ErrorDetail in grpc-status-details-bin`);
  check(
    detail.reason === expected.reason,
    `expected ${want}; the ErrorDetail names reason ${reasonInfo(detail.reason).name}`,
  );
  const first = detail.violations[0];
  const paths = [detail.fieldPath, ...(first === undefined ? [] : [first.fieldPath])];
  check(
    paths.includes(expected.fieldPath),
    `expected ${want}; the ErrorDetail names field path "${detail.fieldPath}" and first violation "${first?.fieldPath ?? ""}"`,
  );
  if (expected.ruleId !== undefined) {
    check(
      first?.ruleId === expected.ruleId,
      `expected rule ${expected.ruleId} at ${expected.fieldPath}; the first violation names rule "${first?.ruleId ?? ""}"`,
    );
  }
}

/** The refusal cases of one method. */
function refusalCases(method: EngineMethod): ConformanceCase[] {
  return spoiledRequests(method).map((spoiled) => ({
    group: "boundary",
    name: `${method} refuses ${spoiled.what} with ${refusalText(spoiled.expected)}`,
    async run({ router }) {
      checkRefusal(await router.call(enginePath(method), spoiled.bytes), spoiled.expected);
      return undefined;
    },
  }));
}

/** Whether two refusals are the same bytes on the wire: status, message and details trailer. */
function sameRefusal(a: CallOutcome, b: CallOutcome): boolean {
  const detailsEqual =
    a.detailBytes !== undefined && b.detailBytes !== undefined && Buffer.compare(a.detailBytes, b.detailBytes) === 0;
  return a.code === b.code && a.message === b.message && detailsEqual;
}

/** The determinism case of one method. */
function determinismCase(method: EngineMethod): ConformanceCase {
  return {
    group: "determinism",
    name: `${method} gives the same error bytes for the same refused bytes`,
    async run({ router }) {
      for (const spoiled of spoiledRequests(method)) {
        const first = await router.call(enginePath(method), spoiled.bytes);
        const second = await router.call(enginePath(method), spoiled.bytes);
        check(first.code !== status.OK, `${spoiled.what}: accepted`);
        if (!sameRefusal(first, second)) {
          const what =
            first.code === second.code && first.message === second.message ? "ErrorDetail trailers" : "errors";
          throw new CaseFailure(
            `${spoiled.what}: two sends gave different ${what}: ${describeOutcome(first)} / ${describeOutcome(second)}`,
          );
        }
      }
      return undefined;
    },
  };
}

/** Every boundary and determinism case, method by method. */
export function boundaryCases(): ConformanceCase[] {
  return ENGINE_METHODS.flatMap((method) => [...refusalCases(method), determinismCase(method)]);
}
