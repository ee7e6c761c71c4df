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
import type { CapabilityRoutes, RegisteredCapability } from "../engine-registry.js";
import type { ResilientEngines } from "../resilience/resilient-engines.js";
import type { Turn } from "../turn.js";

/** An understood utterance and the capability that serves it. */
export interface Understood {
  readonly understanding: Understanding;
  readonly capability: RegisteredCapability;
}

/**
 * Understands a text turn: what it asks and who serves it, or the refusal that ends the turn.
 * `asked` is the understanding engine's answer when the call was sent ahead of the gate
 * (askUnderstanding, while the turn's claim was written); otherwise the gate asks.
 */
export type UnderstandGate = (
  turn: Turn,
  text: string,
  asked?: Promise<Asked>,
) => Promise<Understood | { readonly refused: Outcome }>;

/** The understanding engine's answer to an utterance, and which engine gave it. */
export interface Asked {
  readonly engine: string;
  /** The engine's response, or the error its call ended with. */
  readonly answer: { readonly response: InvokeResponse } | { readonly error: unknown };
}

/** Sends a text turn's utterance to the understanding engine; the answer is judged by the gate. */
export type AskUnderstanding = (turn: Turn, text: string) => Promise<Asked>;

/**
 * The understanding engine's call, under its resilience policy: records nothing, decides nothing.
 * Never rejects: an answer asked ahead of the gate may be left unread (a replayed key).
 */
export function askUnderstanding(registry: CapabilityRoutes, engines: ResilientEngines): AskUnderstanding {
  return async (turn, text) => {
    const nlp = registry.understander();
    if (nlp === undefined) {
      return {
        engine: "",
        answer: { error: new SeleneError(ReasonCode.CAPABILITY_UNKNOWN, "no engine understands utterances") },
      };
    }
    const request = {
      envelope: turn.envelope,
      capability: nlp.name,
      input: { case: "utterance", value: text },
    } as const;
    try {
      return { engine: nlp.engine, answer: { response: await engines.call(nlp, "invoke", request, turn.hop()) } };
    } catch (error) {
      return { engine: nlp.engine, answer: { error } };
    }
  };
}

/** Creates the gate over the engine registry; the understanding engine is called under its resilience policy. */
export function createUnderstandGate(registry: CapabilityRoutes, engines: ResilientEngines): UnderstandGate {
  const ask = askUnderstanding(registry, engines);
  return async (turn, text, asked) => {
    const { engine, answer } = await (asked ?? ask(turn, text));
    if ("error" in answer) {
      const e = answer.error;
      if (!(e instanceof SeleneError) || e.reason !== ReasonCode.INTENT_NOT_UNDERSTOOD) throw e;
      turn.trail.record(Gate.UNDERSTAND, Decision.DENY, { reason: e.reason, attributes: { engine } });
      return { refused: refused(e.reason, "I did not understand that.") };
    }
    const { response } = answer;
    const understanding = understandingOf(response);
    const capability = registry.lookup(understanding.intent);
    const attributes: Record<string, string> = { engine, intent: understanding.intent };
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
