/** What the load engine keeps of every call, and the gRPC status names ghz reports. */
import { status } from "@grpc/grpc-js";
import type { StepOutcome } from "./turn-corpus.js";

/** One completed call. */
export interface CallRecord {
  /** When it started, in ms since the run started (performance clock). */
  readonly startMs: number;
  readonly latencyNs: number;
  /** The gRPC status code. */
  readonly code: number;
  /** Empty when the call succeeded and ended in the expected outcome. */
  readonly error: string;
  /** The outcome the call had to return. */
  readonly step: StepOutcome;
  readonly fixtureId: string;
  readonly tenant: string;
  /** The W3C trace id the call was sent with when the run sampled it for the step breakdown. */
  readonly traceId?: string;
  /** When it started, ms since the epoch (to line it up with the mesh's spans); sampled calls only. */
  readonly startEpochMs?: number;
}

/** Whether a call counts as a success: status OK and the expected outcome. */
export function succeeded(record: CallRecord): boolean {
  return record.error === "";
}

// ghz names codes as Go's codes.Code.String() does: "OK", "Unavailable", "DeadlineExceeded", ...
const GO_CODE_NAMES: Record<number, string> = {
  [status.OK]: "OK",
  [status.CANCELLED]: "Canceled",
  [status.UNKNOWN]: "Unknown",
  [status.INVALID_ARGUMENT]: "InvalidArgument",
  [status.DEADLINE_EXCEEDED]: "DeadlineExceeded",
  [status.NOT_FOUND]: "NotFound",
  [status.ALREADY_EXISTS]: "AlreadyExists",
  [status.PERMISSION_DENIED]: "PermissionDenied",
  [status.RESOURCE_EXHAUSTED]: "ResourceExhausted",
  [status.FAILED_PRECONDITION]: "FailedPrecondition",
  [status.ABORTED]: "Aborted",
  [status.OUT_OF_RANGE]: "OutOfRange",
  [status.UNIMPLEMENTED]: "Unimplemented",
  [status.INTERNAL]: "Internal",
  [status.UNAVAILABLE]: "Unavailable",
  [status.DATA_LOSS]: "DataLoss",
  [status.UNAUTHENTICATED]: "Unauthenticated",
};

/** The gRPC code's name as ghz prints it. */
export function codeName(code: number): string {
  return GO_CODE_NAMES[code] ?? `Code(${code})`;
}

/** Codes after which a client retries a confirmation with the same idempotency key. */
export const RETRYABLE_CODES: ReadonlySet<number> = new Set([
  status.UNAVAILABLE,
  status.DEADLINE_EXCEEDED,
  status.ABORTED,
  status.RESOURCE_EXHAUSTED,
]);
