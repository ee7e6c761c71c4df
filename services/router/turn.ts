/**
 * One turn as every gate sees it: the request and its envelope, who called,
 * the turn's one deadline, its logger and its audit trail. A turn is started
 * once per call, before the idempotency check, so every step of it measures
 * time against the same deadline.
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { Envelope } from "../../gen/es/selene/kernel/v1/envelope_pb.js";
import type { SubmitTurnRequest, SubmitTurnResponseSchema } from "../../gen/es/selene/os/v1/turn_pb.js";
import type { Logger } from "../runtime/logger.js";
import type { CallOptions } from "../runtime/unary-client.js";
import type { CallContext } from "../runtime/unary-service.js";
import { hopDeadline } from "./turn-deadline.js";
import { startTurnTrail, type TrailSink, type TurnTrail } from "./turn-trail.js";

/** A turn's response. */
export type TurnResponse = MessageInitShape<typeof SubmitTurnResponseSchema>;

/** One turn. */
export interface Turn {
  readonly request: SubmitTurnRequest;
  /** The request's envelope (the boundary has checked that it is there). */
  readonly envelope: Envelope;
  /** The caller's SPIFFE id, from its mTLS certificate. */
  readonly caller: string;
  readonly correlationId: string;
  /** When the turn must have answered, epoch ms: the caller's deadline, or the default when it set none. */
  readonly deadline: number;
  /** The call's logger (correlation id, method, trace). */
  readonly logger: Logger;
  /** Where the gates record their decisions. */
  readonly trail: TurnTrail;
  /**
   * Work the answer waits for, done while the turn's outcome is stored (an effect the engine has
   * committed whose ack to the outbox is on its way): the answer goes out once it has ended, and
   * its failure fails the answer.
   */
  readonly answerAfter: Promise<void>[];
  /** The options of the turn's next outgoing call; throws DEADLINE_EXCEEDED when no time is left for one. */
  hop(): CallOptions;
}

/** Runs a started turn to its response. */
export type TurnRun = (turn: Turn) => Promise<TurnResponse>;

/** What starting a turn needs. */
export interface TurnStart {
  /** The turn's budget when the caller sets no deadline, ms. */
  readonly defaultDeadlineMs: number;
  /** Where the turn's trail goes (the call's logger is added per turn). */
  readonly audit: Omit<TrailSink, "logger">;
  readonly now?: () => number;
}

/** Starts the turn of one call. */
export function startTurn(request: SubmitTurnRequest, call: CallContext, start: TurnStart): Turn {
  const now = start.now ?? Date.now;
  const envelope = request.envelope!;
  const deadline = call.deadline ?? now() + start.defaultDeadlineMs;
  return {
    request,
    envelope,
    caller: call.caller,
    correlationId: call.correlationId,
    deadline,
    logger: call.logger,
    trail: startTurnTrail({ ...start.audit, logger: call.logger }, envelope),
    answerAfter: [],
    hop: () => ({ deadline: hopDeadline(deadline, now()), correlationId: call.correlationId }),
  };
}
