/**
 * Wraps a turn's run with turn-level idempotency (docs/IDEMPOTENCY.md):
 * the first request with a (tenant, key) runs; later requests with the same key
 * and the same request get the stored outcome, errors included, without running
 * anything; the same key with a different request is IDEMPOTENCY_KEY_REUSED; a
 * duplicate that arrives while the first is running waits for it, up to a
 * bound, then gets ABORTED / IDEMPOTENCY_IN_FLIGHT with a retry hint.
 * Retryable failures (the catalog's retryable flag) are not stored: their claim
 * is released so that the retry runs the turn again.
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { ReasonCode } from "../../gen/es/selene/kernel/v1/reason_pb.js";
import {
  type SubmitTurnRequest,
  SubmitTurnRequestSchema,
  SubmitTurnResponseSchema,
} from "../../gen/es/selene/os/v1/turn_pb.js";
import { sha256Digest } from "../runtime/content-digest.js";
import { decodeStatusDetails, encodeStatusDetails, fromErrorDetail } from "../runtime/error-status.js";
import { SeleneError } from "../runtime/selene-error.js";
import type { Turn, TurnRun } from "./turn.js";
import type { TurnRecords } from "./turn-records.js";

/** Settings of the wrapper. */
export interface TurnIdempotencyOptions {
  /**
   * Work made durable together with a turn's stored outcome (its audit records): both are
   * written at the same time, and the answer goes out once both have ended.
   */
  readonly alongside?: (turn: Turn) => Promise<void>;
  /** How long a claim outlives the turn's deadline before another request may take it over, ms. */
  readonly claimMarginMs: number;
  /** How long a duplicate waits for the first request before ABORTED, ms. */
  readonly duplicateWaitMs: number;
}

/** Poll interval of a waiting duplicate, ms. */
const WAIT_POLL_MS = 25;

/**
 * The digest of what makes two requests "the same": the tenant, the user and the
 * input. Correlation and turn ids may differ between a request and its retry.
 */
export function requestDigest(request: SubmitTurnRequest): string {
  const envelope = request.envelope!;
  const core = create(SubmitTurnRequestSchema, {
    envelope: { tenantId: envelope.tenantId, userId: envelope.userId },
    input: request.input,
  });
  return sha256Digest(toBinary(SubmitTurnRequestSchema, core));
}

/** The stored error again, as the first request got it (the message rode in the stored metadata). */
function replayError(bytes: Uint8Array): SeleneError {
  const detail = decodeStatusDetails(bytes);
  if (detail === undefined) return new SeleneError(ReasonCode.INTERNAL, "a stored outcome could not be read");
  const { message, ...metadata } = detail.metadata;
  const error = fromErrorDetail(detail, "");
  return new SeleneError(error.reason, message ?? "the first request with this key failed", {
    fieldPath: error.fieldPath,
    violations: error.violations,
    metadata,
  });
}

/** Wraps `run` with turn-level idempotency over `records`. */
export function withTurnIdempotency(run: TurnRun, records: TurnRecords, options: TurnIdempotencyOptions): TurnRun {
  return async (turn) => {
    const { envelope, deadline } = turn;
    const { tenantId, idempotencyKey: key } = envelope;
    const digest = requestDigest(turn.request);
    const claimMs = Math.max(0, deadline - Date.now()) + options.claimMarginMs;
    const waitUntil = Math.min(deadline - 50, Date.now() + options.duplicateWaitMs);
    for (;;) {
      const claim = await records.claim(tenantId, key, digest, claimMs);
      if (claim.kind === "mismatch") {
        throw new SeleneError(
          ReasonCode.IDEMPOTENCY_KEY_REUSED,
          "this idempotency key was used with a different request",
          {
            fieldPath: "envelope.idempotency_key",
          },
        );
      }
      if (claim.kind === "replay") {
        turn.logger.info("turn replayed from its idempotency record");
        if (claim.error !== null) throw replayError(claim.error);
        return fromBinary(SubmitTurnResponseSchema, claim.response ?? new Uint8Array());
      }
      if (claim.kind === "claimed") break;
      if (Date.now() + WAIT_POLL_MS >= waitUntil) {
        throw new SeleneError(ReasonCode.IDEMPOTENCY_IN_FLIGHT, "the first request with this key is still running", {
          retryAfterMs: 200,
        });
      }
      await new Promise((resolve) => setTimeout(resolve, WAIT_POLL_MS));
    }
    try {
      const response = await run(turn);
      const bytes = toBinary(SubmitTurnResponseSchema, create(SubmitTurnResponseSchema, response));
      // The answer waits for both, and for the work the turn left to finish meanwhile (an effect's
      // ack); a failed write of the outcome fails the turn, as before, and so does that work.
      const [completed, , after] = await Promise.allSettled([
        records.complete(tenantId, key, { response: bytes }),
        options.alongside?.(turn),
        Promise.all(turn.answerAfter),
      ]);
      if (completed.status === "rejected") throw completed.reason;
      if (after.status === "rejected") throw after.reason;
      return response;
    } catch (e) {
      if (e instanceof SeleneError && !e.retryable) {
        const stored = new SeleneError(e.reason, e.message, {
          fieldPath: e.fieldPath,
          violations: e.violations,
          metadata: { ...e.metadata, message: e.message },
        });
        await records.complete(tenantId, key, { error: encodeStatusDetails(stored) });
      } else {
        await records.release(tenantId, key);
      }
      throw e;
    }
  };
}
