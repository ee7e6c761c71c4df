import { expect } from "chai";
import { ReasonCode } from "../../../gen/es/selene/kernel/v1/reason_pb.js";
import { createAnswerGate } from "../../../services/router/gates/answer-gate.js";
import type { Understood } from "../../../services/router/gates/understand-gate.js";
import { SeleneError } from "../../../services/runtime/selene-error.js";
import { outcomeDigest } from "../../../services/runtime/turn-decisions/turn-decisions.js";
import { anUnderstandingResponse, aReadResponse } from "../../support/builders.js";
import { FAKE_CAPABILITIES, type FakeEngine, fakeEngineRegistry } from "../../support/fake-engine-registry.js";
import { aTurn } from "../../support/turn-builder.js";

/** A lookup understood with its query, served by tools.lookup. */
function aLookup(): Understood {
  const response = anUnderstandingResponse({ intent: "tools.lookup", fields: { query: "capital of France" } });
  if (response.result.case !== "understanding") throw new Error("not an understanding");
  return { understanding: response.result.value, capability: FAKE_CAPABILITIES[1]! };
}

const refusing = (reason: ReasonCode, message: string): FakeEngine => ({
  invoke: () => {
    throw new SeleneError(reason, message);
  },
});

describe("answer gate", () => {
  it("answers with the engine's result and provenance, recording the outcome's digest", async () => {
    const registry = fakeEngineRegistry({ tools: { invoke: () => aReadResponse() } });
    const { turn, decisions, ledger } = aTurn();
    const outcome = await createAnswerGate(registry)(turn, aLookup());
    expect(outcome.case).to.equal("answer");
    expect(outcome.value).to.deep.include({ intent: "tools.lookup", text: "Paris" });
    expect(await decisions()).to.deep.equal(["ANSWER PASS"]);
    expect(ledger.appended[0]!.event!.attributes).to.deep.equal({
      engine: "tools",
      capability: "tools.lookup",
      outcome_digest: outcomeDigest(outcome),
    });
    expect(registry.calls[0]!.request).to.deep.include({ capability: "tools.lookup" });
  });

  for (const reason of [ReasonCode.ENGINE_REJECTED, ReasonCode.FIELD_INVALID]) {
    it(`turns the engine's ${ReasonCode[reason]} into REFUSED, in the engine's own words`, async () => {
      const registry = fakeEngineRegistry({ tools: refusing(reason, "the knowledge base has no answer to that") });
      const { turn, decisions } = aTurn();
      const outcome = await createAnswerGate(registry)(turn, aLookup());
      expect(outcome).to.deep.equal({
        case: "refused",
        value: { reason, message: "the knowledge base has no answer to that" },
      });
      expect(await decisions()).to.deep.equal([`ANSWER DENY ${ReasonCode[reason]}`]);
    });
  }

  it("lets a fault through without a decision", async () => {
    const registry = fakeEngineRegistry({ tools: refusing(ReasonCode.ENGINE_DEADLINE_EXCEEDED, "too slow") });
    const { turn, decisions } = aTurn();
    const reason = await createAnswerGate(registry)(turn, aLookup()).then(
      () => undefined,
      (e: SeleneError) => e.reason,
    );
    expect(reason).to.equal(ReasonCode.ENGINE_DEADLINE_EXCEEDED);
    expect(await decisions()).to.deep.equal([]);
  });
});
