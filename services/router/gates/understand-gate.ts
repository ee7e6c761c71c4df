/**
 * The understand gate: the engine of the catalog's UNDERSTAND capability reads
 * the utterance, and the intent it names must be a capability a turn may use
 * (capabilityRefusal). Its one record holds that engine's response and, when the capability is known,
 * the kind and required fields the registry had for it: what replay needs to
 * decide again.
 */
import { toBinary } from "@bufbuild/protobuf";
import { Decision, Gate } from "../../../gen/es/selene/audit/v1/audit_pb.js";
import {
  CapabilityKind,
  type InvokeResponse,
  InvokeResponseSchema,
  type Understanding,
} from "../../../gen/es/selene/engine/v1/engine_pb.js";
import { ReasonCode } from "../../../gen/es/selene/kernel/v1/reason_pb.js";
import { SeleneError } from "../../runtime/selene-error.js";
import {
  capabilityRefusal,
  type Outcome,
  refused,
  understandingOf,
} from "../../runtime/turn-decisions/turn-decisions.js";
import type { EngineRegistry, RegisteredCapability } from "../engine-registry.js";
import type { ResilientEngines } from "../resilience/resilient-engines.js";
import type { Turn } from "../turn.js";

/** An understood utterance and the capability that serves it. */
export interface Understood {
  readonly understanding: Understanding;
  readonly capability: RegisteredCapability;
}

/** Understands a text turn: what it asks and who serves it, or the refusal that ends the turn. */
export type UnderstandGate = (turn: Turn, text: string) => Promise<Understood | { readonly refused: Outcome }>;

/** Creates the gate over the engine registry; the understanding engine is called under its resilience policy. */
export function createUnderstandGate(registry: EngineRegistry, engines: ResilientEngines): UnderstandGate {
  return async (turn, text) => {
    const nlp = registry.understander();
    if (nlp === undefined) throw new SeleneError(ReasonCode.CAPABILITY_UNKNOWN, "no engine understands utterances");
    let response: InvokeResponse;
    try {
      response = await engines.call(
        nlp,
        "invoke",
        { envelope: turn.envelope, capability: nlp.name, input: { case: "utterance", value: text } },
        turn.hop(),
      );
    } catch (e) {
      if (!(e instanceof SeleneError) || e.reason !== ReasonCode.INTENT_NOT_UNDERSTOOD) throw e;
      turn.trail.record(Gate.UNDERSTAND, Decision.DENY, { reason: e.reason, attributes: { engine: nlp.engine } });
      return { refused: refused(e.reason, "I did not understand that.") };
    }
    const understanding = understandingOf(response);
    const capability = registry.lookup(understanding.intent);
    const attributes: Record<string, string> = { engine: nlp.engine, intent: understanding.intent };
    if (capability !== undefined) {
      attributes.kind = CapabilityKind[capability.kind];
      attributes.required_fields = capability.requiredFields.join(",");
    }
    const payload = toBinary(InvokeResponseSchema, response);
    const refusal = capabilityRefusal(understanding.intent, capability);
    if (refusal !== undefined) {
      turn.trail.record(Gate.UNDERSTAND, Decision.DENY, { reason: refusal.reason, attributes, payload });
      return { refused: refused(refusal.reason, refusal.message) };
    }
    turn.trail.record(Gate.UNDERSTAND, Decision.PASS, { attributes, payload });
    // capabilityRefusal refuses an unknown capability, so it is known here.
    return { understanding, capability: capability! };
  };
}
