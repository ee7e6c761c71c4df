/**
 * The answer gate: a read-only capability's engine answers, with provenance.
 * An engine's refusal of the request (ENGINE_REJECTED, FIELD_INVALID) is a
 * REFUSED outcome in the engine's words; any other error is a fault. The
 * engine's response is recorded with the digest of the outcome built from it,
 * which replay rebuilds and compares.
 */
import { toBinary } from "@bufbuild/protobuf";
import { Decision, Gate } from "../../../gen/es/selene/audit/v1/audit_pb.js";
import { InvokeResponseSchema } from "../../../gen/es/selene/engine/v1/engine_pb.js";
import { SeleneError } from "../../runtime/selene-error.js";
import {
  answerOutcome,
  type Outcome,
  outcomeDigest,
  readRefusal,
} from "../../runtime/turn-decisions/turn-decisions.js";
import type { EngineRegistry } from "../engine-registry.js";
import type { Turn } from "../turn.js";
import type { Understood } from "./understand-gate.js";

/** Answers a read: ANSWER, or REFUSED when the engine refuses the request. */
export type AnswerGate = (turn: Turn, understood: Understood) => Promise<Outcome>;

/** Creates the gate over the engine registry. */
export function createAnswerGate(registry: EngineRegistry): AnswerGate {
  return async (turn, { understanding, capability }) => {
    const attributes = { engine: capability.engine, capability: capability.name };
    try {
      const response = await registry.client(capability.engine).call(
        "invoke",
        {
          envelope: turn.envelope,
          capability: capability.name,
          input: { case: "read", value: { args: understanding.fields } },
        },
        turn.hop(),
      );
      const outcome = answerOutcome(capability.name, capability.engine, response);
      turn.trail.record(Gate.ANSWER, Decision.PASS, {
        attributes: { ...attributes, outcome_digest: outcomeDigest(outcome) },
        payload: toBinary(InvokeResponseSchema, response),
      });
      return outcome;
    } catch (e) {
      const outcome = e instanceof SeleneError ? readRefusal(e) : undefined;
      if (outcome === undefined) throw e;
      turn.trail.record(Gate.ANSWER, Decision.DENY, {
        reason: (e as SeleneError).reason,
        attributes: { ...attributes, outcome_digest: outcomeDigest(outcome) },
      });
      return outcome;
    }
  };
}
