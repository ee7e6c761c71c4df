/**
 * The one error type of Selene OS: a reason code from the catalog (what
 * happened), the gRPC status it travels under (category, from the catalog) and
 * whether a retry can help. Domain code throws it; the gRPC adapter maps it to
 * the wire in one place.
 */
import type { status as GrpcStatus } from "@grpc/grpc-js";
import type { ReasonCode } from "../../gen/es/selene/kernel/v1/reason_pb.js";
import { reasonInfo } from "./reason-catalog.js";

/** One broken rule at one field path. */
export interface Violation {
  readonly fieldPath: string;
  readonly ruleId: string;
  readonly message: string;
}

/** Optional facts carried by a SeleneError. */
export interface SeleneErrorInit {
  /** Path of the offending field; defaults to the first violation's path. */
  readonly fieldPath?: string;
  /** Every violation; sorted by the constructor. */
  readonly violations?: readonly Violation[];
  /** Extra facts for the caller (string to string). */
  readonly metadata?: Readonly<Record<string, string>>;
  /** Narrows the catalog's retryability for this occurrence. */
  readonly retryable?: boolean;
  /** When retryable, how long to wait before retrying. */
  readonly retryAfterMs?: number;
  /** The underlying cause, for logs only; never sent on the wire. */
  readonly cause?: unknown;
}

/** Sorts violations by field path, then rule id, then message: the deterministic order. */
export function sortViolations(violations: readonly Violation[]): Violation[] {
  return [...violations].sort(
    (a, b) => cmp(a.fieldPath, b.fieldPath) || cmp(a.ruleId, b.ruleId) || cmp(a.message, b.message),
  );
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** An error with a reason code from the catalog. */
export class SeleneError extends Error {
  override readonly name = "SeleneError";
  /** What happened. */
  readonly reason: ReasonCode;
  /** The gRPC status it travels under. */
  readonly status: GrpcStatus;
  /** Whether retrying the same request can help. */
  readonly retryable: boolean;
  /** Path of the offending field, or "". */
  readonly fieldPath: string;
  /** Every violation, sorted. */
  readonly violations: readonly Violation[];
  /** Extra facts for the caller. */
  readonly metadata: Readonly<Record<string, string>>;
  /** When retryable, the suggested wait. */
  readonly retryAfterMs: number | undefined;

  constructor(reason: ReasonCode, message: string, init: SeleneErrorInit = {}) {
    // A SeleneError is an expected outcome named by its reason code, not a bug: skip
    // the stack capture (a third of its cost). A wrapped fault keeps its stack in `cause`.
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    Error.stackTraceLimit = stackTraceLimit;
    const info = reasonInfo(reason);
    this.reason = reason;
    this.status = info.status;
    this.retryable = init.retryable ?? info.retryable;
    this.violations = Object.freeze(sortViolations(init.violations ?? []));
    this.fieldPath = init.fieldPath ?? this.violations[0]?.fieldPath ?? "";
    this.metadata = Object.freeze({ ...init.metadata });
    this.retryAfterMs = init.retryAfterMs;
  }

  /** The reason's stable name, such as "FIELD_INVALID". */
  get reasonName(): string {
    return reasonInfo(this.reason).name;
  }
}
