/**
 * The validate gate. The call boundary has already validated the request (its
 * bytes, unknown fields, contract version, the contract's rules) before any
 * handler ran, and refused it if it failed; a turn that reaches the gates
 * passed. The gate records that verdict with the request's bytes: the input
 * replay starts from.
 */
import { toBinary } from "@bufbuild/protobuf";
import { Decision, Gate } from "../../../gen/es/selene/audit/v1/audit_pb.js";
import { SubmitTurnRequestSchema } from "../../../gen/es/selene/os/v1/turn_pb.js";
import type { Turn } from "../turn.js";

/** Records the boundary's verdict on the request. */
export function validateGate(turn: Turn): void {
  turn.trail.record(Gate.VALIDATE, Decision.PASS, { payload: toBinary(SubmitTurnRequestSchema, turn.request) });
}
