/**
 * Puts a SeleneError on the wire and reads it back: the gRPC status code, a
 * deterministic message, and an ErrorDetail inside the grpc-status-details-bin
 * trailer (an RpcStatus, wire-compatible with google.rpc.Status). Nothing else
 * about the error (stack, cause) leaves the process. A caller of an earlier
 * release gets the ErrorDetail shaped for its release (a reason it lacks
 * replaced by its stand-in, and the text's "[REASON]" and the selene-reason
 * trailer with it); the status code stays the error's own.
 */
import { create, type FileRegistry, fromBinary, toBinary } from "@bufbuild/protobuf";
import { anyPack, anyUnpack, durationFromMs } from "@bufbuild/protobuf/wkt";
import { Metadata, type StatusObject } from "@grpc/grpc-js";
import { type ErrorDetail, ErrorDetailSchema, RpcStatusSchema } from "../../gen/es/selene/kernel/v1/error_pb.js";
import { ReasonCode } from "../../gen/es/selene/kernel/v1/reason_pb.js";
import { reasonInfo } from "./reason-catalog.js";
import { messageForRelease } from "./release-surface.js";
import { SeleneError } from "./selene-error.js";

/** The trailer that carries the RpcStatus. */
export const STATUS_DETAILS_KEY = "grpc-status-details-bin";
/** A plain-text trailer with the reason name, for tools that do not decode details (ghz, curl). */
export const REASON_KEY = "selene-reason";
/** gRPC's retry hint trailer: milliseconds to wait before retrying. */
export const PUSHBACK_KEY = "grpc-retry-pushback-ms";

/** The ErrorDetail of an error. */
export function toErrorDetail(err: SeleneError): ErrorDetail {
  return create(ErrorDetailSchema, {
    reason: err.reason,
    retryable: err.retryable,
    fieldPath: err.fieldPath,
    metadata: { ...err.metadata },
    violations: err.violations.map((v) => ({ fieldPath: v.fieldPath, ruleId: v.ruleId, message: v.message })),
    retryAfter: err.retryAfterMs === undefined ? undefined : durationFromMs(err.retryAfterMs),
  });
}

/** The wire message of an error: "[REASON] text", with the reason the caller is told (by default its own). */
export function wireMessage(err: SeleneError, reason: ReasonCode = err.reason): string {
  return `[${reasonInfo(reason).name}] ${err.message}`;
}

/** An error as one caller receives it. */
export interface ShownError {
  /** The ErrorDetail, shaped for the caller's release. */
  readonly detail: ErrorDetail;
  /** The name of the detail's reason, such as "ENGINE_UNAVAILABLE": the selene-reason trailer or header. */
  readonly reasonName: string;
  /** "[REASON] text" with that reason. */
  readonly message: string;
}

/**
 * The error as a caller of `surface`'s release receives it (undefined: as it is): its ErrorDetail
 * shaped for that release (release-surface.ts), so a reason added after it arrives as its stand-in.
 */
export function shownError(err: SeleneError, surface?: FileRegistry): ShownError {
  const own = toErrorDetail(err);
  const detail = surface === undefined ? own : messageForRelease(ErrorDetailSchema, own, surface);
  return { detail, reasonName: reasonInfo(detail.reason).name, message: wireMessage(err, detail.reason) };
}

/**
 * The peer's own text in a message it sent as `wireMessage` does: without the "[REASON] " put
 * before it for the reason its ErrorDetail names (the reason is read from the detail, never from
 * the text). A message without that prefix is kept whole.
 */
export function peerMessage(detail: ErrorDetail, message: string): string {
  const prefix = `[${reasonInfo(detail.reason).name}] `;
  return message.startsWith(prefix) ? message.slice(prefix.length) : message;
}

/** Encodes an error (as `shown`, by default as it is) as the bytes of the grpc-status-details-bin trailer. */
export function encodeStatusDetails(err: SeleneError, shown: ShownError = shownError(err)): Uint8Array {
  return toBinary(
    RpcStatusSchema,
    create(RpcStatusSchema, {
      code: err.status,
      message: shown.message,
      details: [anyPack(ErrorDetailSchema, shown.detail)],
    }),
  );
}

/** The grpc-js status object a server returns for an error, to a caller of `surface`'s release. */
export function toGrpcStatus(err: SeleneError, surface?: FileRegistry): Partial<StatusObject> {
  const shown = shownError(err, surface);
  const metadata = new Metadata();
  metadata.set(STATUS_DETAILS_KEY, Buffer.from(encodeStatusDetails(err, shown)));
  metadata.set(REASON_KEY, shown.reasonName);
  // gRPC's own retry hint (proposal A6), so any gRPC client's retry policy waits as the server asks.
  if (err.retryAfterMs !== undefined) metadata.set(PUSHBACK_KEY, String(Math.max(0, Math.round(err.retryAfterMs))));
  return { code: err.status, details: shown.message, metadata };
}

/** Reads the ErrorDetail from grpc-status-details-bin bytes; undefined when absent or unreadable. */
export function decodeStatusDetails(bytes: Uint8Array): ErrorDetail | undefined {
  try {
    const status = fromBinary(RpcStatusSchema, bytes);
    for (const any of status.details) {
      const detail = anyUnpack(any, ErrorDetailSchema);
      if (detail !== undefined) return detail;
    }
  } catch {
    // fall through: a peer sent something that is not an RpcStatus
  }
  return undefined;
}

/** Rebuilds a SeleneError from a received ErrorDetail (client side). */
export function fromErrorDetail(detail: ErrorDetail, message: string): SeleneError {
  return new SeleneError(detail.reason === ReasonCode.UNSPECIFIED ? ReasonCode.INTERNAL : detail.reason, message, {
    fieldPath: detail.fieldPath,
    violations: detail.violations.map((v) => ({ fieldPath: v.fieldPath, ruleId: v.ruleId, message: v.message })),
    metadata: detail.metadata,
    retryable: detail.retryable,
    retryAfterMs:
      detail.retryAfter === undefined
        ? undefined
        : Number(detail.retryAfter.seconds) * 1000 + Math.floor(detail.retryAfter.nanos / 1e6),
  });
}
