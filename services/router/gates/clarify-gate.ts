/**
 * The clarify gate: when the understanding lacks a field its capability
 * requires, the turn ends with exactly one question (the clarify rule,
 * clarify-rule.ts); otherwise the gate passes. The question's bytes are
 * recorded, so replay can ask it again and compare.
 */
import { toBinary } from "@bufbuild/protobuf";
import { Decision, Gate } from "../../../gen/es/selene/audit/v1/audit_pb.js";
import { ClarifySchema } from "../../../gen/es/selene/kernel/v1/clarify_pb.js";
import { ReasonCode } from "../../../gen/es/selene/kernel/v1/reason_pb.js";
import { chooseClarify } from "../../runtime/turn-decisions/clarify-rule.js";
import type { Outcome } from "../../runtime/turn-decisions/turn-decisions.js";
import type { Turn } from "../turn.js";
import type { Understood } from "./understand-gate.js";

/** The CLARIFY outcome that ends the turn with one question, or undefined when nothing is missing. */
export function clarifyGate(turn: Turn, { understanding, capability }: Understood): Outcome | undefined {
  const clarify = chooseClarify(understanding, capability.requiredFields);
  if (clarify === undefined) {
    turn.trail.record(Gate.CLARIFY, Decision.PASS);
    return undefined;
  }
  turn.trail.record(Gate.CLARIFY, Decision.ASK, {
    reason: ReasonCode.CLARIFY_REQUIRED,
    attributes: { missing_field: clarify.missingField },
    payload: toBinary(ClarifySchema, clarify),
  });
  return { case: "clarify", value: clarify };
}
