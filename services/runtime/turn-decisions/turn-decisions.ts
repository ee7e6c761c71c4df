/**
 * The router's pure decisions: what a turn does given what the engines said.
 * No I/O and no clock: the turn pipeline calls them live, and `selenectl
 * replay` calls them again on the inputs the audit ledger recorded, so a
 * changed rule or a changed recorded input shows up as drift.
 */
import { create, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { CapabilityKind, type InvokeResponse, type Understanding } from "../../../gen/es/selene/engine/v1/engine_pb.js";
import type { Clarify } from "../../../gen/es/selene/kernel/v1/clarify_pb.js";
import { ReasonCode } from "../../../gen/es/selene/kernel/v1/reason_pb.js";
import { SubmitTurnResponseSchema } from "../../../gen/es/selene/os/v1/turn_pb.js";
import { sha256Digest } from "../content-digest.js";
import { SeleneError } from "../selene-error.js";
import { chooseClarify } from "./clarify-rule.js";

/** A turn's outcome (the oneof of SubmitTurnResponse). */
export type Outcome = NonNullable<MessageInitShape<typeof SubmitTurnResponseSchema>["outcome"]>;

/** What routing needs to know of a capability. */
export interface CapabilityView {
  readonly name: string;
  readonly kind: CapabilityKind;
  readonly requiredFields: readonly string[];
}

/** Where an understood utterance goes next. */
export type Route =
  | { readonly kind: "refuse"; readonly reason: ReasonCode; readonly message: string }
  | { readonly kind: "clarify"; readonly clarify: Clarify }
  | { readonly kind: "answer" }
  | { readonly kind: "simulate" };

/** A refused outcome. */
export function refused(reason: ReasonCode, message: string): Outcome {
  return { case: "refused", value: { reason, message } };
}

/**
 * Routes an understanding: not understood, no engine for the intent, a missing field (one
 * question), or on to an answer (read) or a simulation (effect).
 */
export function routeUnderstanding(u: Understanding | undefined, capability: CapabilityView | undefined): Route {
  if (u === undefined)
    return { kind: "refuse", reason: ReasonCode.INTENT_NOT_UNDERSTOOD, message: "I did not understand that." };
  if (capability === undefined || capability.kind === CapabilityKind.UNDERSTAND) {
    return { kind: "refuse", reason: ReasonCode.CAPABILITY_UNKNOWN, message: `No engine serves "${u.intent}".` };
  }
  const clarify = chooseClarify(u, capability.requiredFields);
  if (clarify !== undefined) return { kind: "clarify", clarify };
  return { kind: capability.kind === CapabilityKind.EFFECT ? "simulate" : "answer" };
}

/** The understanding in an nlp engine's response. */
export function understandingOf(response: InvokeResponse): Understanding {
  if (response.result.case !== "understanding") {
    throw new SeleneError(ReasonCode.ENGINE_INVALID_RESPONSE, "the nlp engine did not return an understanding");
  }
  return response.result.value;
}

/** The ANSWER outcome of a read engine's response. */
export function answerOutcome(capability: string, engine: string, response: InvokeResponse): Outcome {
  if (response.result.case !== "readResult") {
    throw new SeleneError(ReasonCode.ENGINE_INVALID_RESPONSE, `${engine} did not return a read result`);
  }
  const { text, data, provenance } = response.result.value;
  return { case: "answer", value: { intent: capability, text, data, provenance } };
}

/** The REFUSED outcome of an engine's refusal to read (bad or unacceptable fields). */
export function readRefusal(error: SeleneError): Outcome | undefined {
  if (error.reason !== ReasonCode.ENGINE_REJECTED && error.reason !== ReasonCode.FIELD_INVALID) return undefined;
  return refused(error.reason, error.message.replace(/^\[[A-Z_]+\] /, ""));
}

/** The digest of an outcome's bytes: recorded with the decision, compared by replay. */
export function outcomeDigest(outcome: Outcome): string {
  return sha256Digest(toBinary(SubmitTurnResponseSchema, create(SubmitTurnResponseSchema, { outcome })));
}
