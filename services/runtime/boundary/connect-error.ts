/**
 * Errors on the Connect protocol's wire (unary): the HTTP status of each code,
 * and the JSON body `{"code", "message", "details"}` whose one detail is the
 * ErrorDetail, as protobuf bytes (`value`, base64 without padding) and as its
 * JSON form (`debug`, for curl and people). Connect shares gRPC's codes, so a
 * SeleneError has the same code, message and ErrorDetail bytes on both ports.
 */
import { toBinary, toJson } from "@bufbuild/protobuf";
import { base64Encode } from "@bufbuild/protobuf/wire";
import { status } from "@grpc/grpc-js";
import { ErrorDetailSchema } from "../../../gen/es/selene/kernel/v1/error_pb.js";
import type { ShownError } from "../error-status.js";
import type { SeleneError } from "../selene-error.js";

/** Connect's name of each gRPC status code. */
const CODE_NAMES: Readonly<Record<number, string>> = {
  [status.CANCELLED]: "canceled",
  [status.UNKNOWN]: "unknown",
  [status.INVALID_ARGUMENT]: "invalid_argument",
  [status.DEADLINE_EXCEEDED]: "deadline_exceeded",
  [status.NOT_FOUND]: "not_found",
  [status.ALREADY_EXISTS]: "already_exists",
  [status.PERMISSION_DENIED]: "permission_denied",
  [status.RESOURCE_EXHAUSTED]: "resource_exhausted",
  [status.FAILED_PRECONDITION]: "failed_precondition",
  [status.ABORTED]: "aborted",
  [status.OUT_OF_RANGE]: "out_of_range",
  [status.UNIMPLEMENTED]: "unimplemented",
  [status.INTERNAL]: "internal",
  [status.UNAVAILABLE]: "unavailable",
  [status.DATA_LOSS]: "data_loss",
  [status.UNAUTHENTICATED]: "unauthenticated",
};

/** The HTTP status of each code, as the Connect protocol specifies. */
const HTTP_STATUS: Readonly<Record<number, number>> = {
  [status.CANCELLED]: 499,
  [status.UNKNOWN]: 500,
  [status.INVALID_ARGUMENT]: 400,
  [status.DEADLINE_EXCEEDED]: 504,
  [status.NOT_FOUND]: 404,
  [status.ALREADY_EXISTS]: 409,
  [status.PERMISSION_DENIED]: 403,
  [status.RESOURCE_EXHAUSTED]: 429,
  [status.FAILED_PRECONDITION]: 400,
  [status.ABORTED]: 409,
  [status.OUT_OF_RANGE]: 400,
  [status.UNIMPLEMENTED]: 501,
  [status.INTERNAL]: 500,
  [status.UNAVAILABLE]: 503,
  [status.DATA_LOSS]: 500,
  [status.UNAUTHENTICATED]: 401,
};

/** The Connect name of a gRPC status code, such as "invalid_argument". */
export function connectCodeName(code: status): string {
  return CODE_NAMES[code] ?? "unknown";
}

/** The HTTP status a Connect error with this code travels under. */
export function connectHttpStatus(code: status): number {
  return HTTP_STATUS[code] ?? 500;
}

/** The Connect error body of a SeleneError, as `shown` to the caller (error-status.ts shownError). */
export function connectErrorBody(error: SeleneError, shown: ShownError): string {
  const { detail } = shown;
  return JSON.stringify({
    code: connectCodeName(error.status),
    message: shown.message,
    details: [
      {
        type: ErrorDetailSchema.typeName,
        value: base64Encode(toBinary(ErrorDetailSchema, detail), "std_raw"),
        debug: toJson(ErrorDetailSchema, detail),
      },
    ],
  });
}

/** The body of an error of the protocol itself (an unknown path, a content type not served): no detail. */
export function connectProtocolErrorBody(code: status, message: string): string {
  return JSON.stringify({ code: connectCodeName(code), message });
}
