/**
 * The router's pure decisions: what a turn does given what the engines said
 * (with the clarify rule beside it, clarify-rule.ts, and the read decision, read-decision.ts). No I/O and no clock: the
 * router's gates call them live, and `selenectl replay` calls them again on the
 * inputs the audit ledger recorded, so a changed rule or a changed recorded
 * input shows up as drift.
 */
import { create, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { CapabilityKind, type InvokeResponse, type Understanding } from "../../../gen/es/selene/engine/v1/engine_pb.js";
import { ReasonCode } from "../../../gen/es/selene/kernel/v1/reason_pb.js";
import { SubmitTurnResponseSchema } from "../../../gen/es/selene/os/v1/turn_pb.js";
import { sha256Digest } from "../content-digest.js";
import { SeleneError } from "../selene-error.js";

/** A turn's outcome (the oneof of SubmitTurnResponse). */
export type Outcome = NonNullable<MessageInitShape<typeof SubmitTurnResponseSchema>["outcome"]>;

/** What the decisions need to know of a capability (the registry's, or as the ledger recorded it). */
export interface CapabilityView {
  readonly name: string;
  readonly kind: CapabilityKind;
  readonly requiredFields: readonly string[];
}

/** A refusal: the reason code and the sentence the user gets. */
export interface Refusal {
  readonly reason: ReasonCode;
  readonly message: string;
}

/** A refused outcome. */
export function refused(reason: ReasonCode, message: string): Outcome {
  return { case: "refused", value: { reason, message } };
}

/**
 * The understand gate's rule: an intent goes on only when it names a capability a turn may use,
 * one that an engine serves and that is not itself an understanding (nlp's own capability).
 */
export function capabilityRefusal(intent: string, capability: CapabilityView | undefined): Refusal | undefined {
  if (capability === undefined || capability.kind === CapabilityKind.UNDERSTAND) {
    return { reason: ReasonCode.CAPABILITY_UNKNOWN, message: `No engine serves "${intent}".` };
  }
  return undefined;
}

/** The understanding in an nlp engine's response. */
export function understandingOf(response: InvokeResponse): Understanding {
  if (response.result.case !== "understanding") {
    throw new SeleneError(ReasonCode.ENGINE_INVALID_RESPONSE, "the nlp engine did not return an understanding");
  }
  return response.result.value;
}

/** The REFUSED outcome of an engine's refusal to read (bad or unacceptable fields), with the engine's words. */
export function readRefusal(error: SeleneError): Outcome | undefined {
  if (error.reason !== ReasonCode.ENGINE_REJECTED && error.reason !== ReasonCode.FIELD_INVALID) return undefined;
  return refused(error.reason, error.message);
}

/** The digest of an outcome's bytes: recorded with the decision, compared by replay. */
export function outcomeDigest(outcome: Outcome): string {
  return sha256Digest(toBinary(SubmitTurnResponseSchema, create(SubmitTurnResponseSchema, { outcome })));
}
