/**
 * The one mapping of whatever a handler throws to what the caller is told.
 * A SeleneError passes as it is. A fault of a dependency the handler could
 * not reach (a refused or reset connection, a database session the server
 * ended, PostgreSQL shutting down or not accepting connections yet, a pool
 * or statement timeout) is UNAVAILABLE with DEPENDENCY_UNAVAILABLE, which is
 * retryable: the same request, with the same idempotency key, can succeed
 * once the dependency is back. Anything else is a bug: INTERNAL. The cause
 * stays in the logs; it never reaches the wire.
 */
import { ReasonCode } from "../../../gen/es/selene/kernel/v1/reason_pb.js";
import { SeleneError } from "../selene-error.js";

/** Socket errors of a peer that is down, restarting or unreachable. */
const SOCKET_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENETDOWN",
  "EAI_AGAIN",
]);

/**
 * PostgreSQL SQLSTATEs of a server that cannot serve right now: 57P01 admin_shutdown, 57P02
 * crash_shutdown, 57P03 cannot_connect_now (starting up or shutting down), 57P05
 * idle_session_timeout, 53300 too_many_connections. Class 08 (connection exceptions) is
 * matched by its prefix.
 */
const SQLSTATES = new Set(["57P01", "57P02", "57P03", "57P05", "53300"]);

/**
 * What node-postgres (pg, pg-pool) says, with no code, when a session is lost or cannot be opened
 * in time. Matched exactly: these are the library's own constant messages.
 */
const PG_CLIENT_MESSAGES = new Set([
  "Connection terminated unexpectedly",
  "Connection terminated",
  "Connection terminated due to connection timeout",
  "timeout exceeded when trying to connect",
  "timeout expired",
  "Query read timeout",
  "Client has encountered a connection error and is not queryable",
  "Client was closed and is not queryable",
]);

/** How deep `cause` chains and AggregateErrors are followed. */
const MAX_DEPTH = 4;

/** Whether `e` (or what caused it) says a dependency could not be reached or lost its session. */
export function isDependencyFault(e: unknown, depth = 0): boolean {
  if (typeof e !== "object" || e === null || depth > MAX_DEPTH) return false;
  const { code, message, cause, errors } = e as {
    code?: unknown;
    message?: unknown;
    cause?: unknown;
    errors?: unknown;
  };
  if (typeof code === "string" && (SOCKET_CODES.has(code) || SQLSTATES.has(code) || /^08[0-9A-Z]{3}$/.test(code))) {
    return true;
  }
  if (typeof message === "string" && PG_CLIENT_MESSAGES.has(message)) return true;
  if (Array.isArray(errors) && errors.some((inner) => isDependencyFault(inner, depth + 1))) return true;
  return isDependencyFault(cause, depth + 1);
}

/** The SeleneError a caller gets for `e`, thrown by a handler or a dependency it called. */
export function toSeleneError(e: unknown): SeleneError {
  if (e instanceof SeleneError) return e;
  if (isDependencyFault(e)) {
    return new SeleneError(ReasonCode.DEPENDENCY_UNAVAILABLE, "a dependency of this service is unavailable", {
      cause: e,
    });
  }
  return new SeleneError(ReasonCode.INTERNAL, "internal error", { cause: e });
}
