/**
 * Deadlines that shrink across hops: each engine call gets what is left of the
 * turn's deadline minus a reserve for the router's own work after the call, so
 * the turn answers within its deadline even when an engine hangs.
 */
import { ReasonCode } from "../../gen/es/selene/kernel/v1/reason_pb.js";
import { SeleneError } from "../runtime/selene-error.js";

/** Time kept back for the router's own work after an engine call, ms. */
export const HOP_RESERVE_MS = 50;

/** The deadline of the next engine call; throws DEADLINE_EXCEEDED when nothing is left. */
export function hopDeadline(turnDeadline: number, now: number, reserveMs = HOP_RESERVE_MS): number {
  const deadline = turnDeadline - reserveMs;
  if (deadline <= now) throw new SeleneError(ReasonCode.DEADLINE_EXCEEDED, "the turn ran out of time");
  return deadline;
}
