/**
 * The nlp engine's EngineService handlers: `nlp.understand` turns an utterance
 * into an Understanding, deterministically; it has no reads and no effects.
 */
import { CapabilityKind } from "../../../gen/es/selene/engine/v1/engine_pb.js";
import { ReasonCode } from "../../../gen/es/selene/kernel/v1/reason_pb.js";
import { describeEngine } from "../../runtime/engine-description.js";
import { notServed } from "../../runtime/engine-rejection.js";
import { SeleneError } from "../../runtime/selene-error.js";
import type { EngineHandlers } from "../../runtime/serve-engine.js";
import type { PhraseBook } from "./phrase-book.js";
import { understand } from "./understand.js";

/** The capability this engine serves. */
export const UNDERSTAND_CAPABILITY = "nlp.understand";

/** Creates the nlp engine's handlers over a checked phrase book. */
export function createNlpEngine(phrases: PhraseBook): EngineHandlers {
  return {
    async describe() {
      return describeEngine("nlp", [{ name: UNDERSTAND_CAPABILITY, kind: CapabilityKind.UNDERSTAND }]);
    },
    async invoke(request) {
      if (request.capability !== UNDERSTAND_CAPABILITY || request.input.case !== "utterance") {
        throw notServed("nlp", `${request.capability} with ${request.input.case ?? "no"} input`);
      }
      const understanding = understand(request.input.value, phrases);
      if (understanding === undefined) {
        throw new SeleneError(ReasonCode.INTENT_NOT_UNDERSTOOD, "the utterance matched no known intent");
      }
      return { result: { case: "understanding", value: understanding } };
    },
    async simulate() {
      throw notServed("nlp", "effects");
    },
    async commit() {
      throw notServed("nlp", "effects");
    },
  };
}
