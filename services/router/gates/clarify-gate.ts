/**
 * The clarify gate: when the understanding lacks a field that blocks its capability, the turn
 * ends with exactly one question (the clarify rule, clarify-rule.ts, over the clarify policy);
 * otherwise the gate passes. The question's bytes are recorded with the field, why it counts as
 * missing and the digest of the policy that chose it, so replay can ask it again and compare.
 */
import { toBinary } from "@bufbuild/protobuf";
import { Decision, Gate } from "../../../gen/es/selene/audit/v1/audit_pb.js";
import { ClarifySchema } from "../../../gen/es/selene/kernel/v1/clarify_pb.js";
import { ReasonCode } from "../../../gen/es/selene/kernel/v1/reason_pb.js";
import type { ClarifyPolicy } from "../../runtime/policy/clarify-policy.js";
import { chooseClarify } from "../../runtime/turn-decisions/clarify-rule.js";
import type { Outcome } from "../../runtime/turn-decisions/turn-decisions.js";
import type { Turn } from "../turn.js";
import type { Understood } from "./understand-gate.js";

/** Decides one turn's question: the CLARIFY outcome, or undefined when nothing is missing. */
export type ClarifyGate = (turn: Turn, understood: Understood) => Outcome | undefined;

/** Creates the gate over the clarify policy. */
export function createClarifyGate(policy: ClarifyPolicy): ClarifyGate {
  return (turn, { understanding, capability }) => {
    const choice = chooseClarify(policy, understanding, capability.requiredFields);
    if (choice === undefined) {
      turn.trail.record(Gate.CLARIFY, Decision.PASS);
      return undefined;
    }
    const { clarify, because } = choice;
    turn.trail.record(Gate.CLARIFY, Decision.ASK, {
      reason: ReasonCode.CLARIFY_REQUIRED,
      attributes: { missing_field: clarify.missingField, missing_because: because, clarify_policy: policy.digest },
      payload: toBinary(ClarifySchema, clarify),
    });
    return { case: "clarify", value: clarify };
  };
}
