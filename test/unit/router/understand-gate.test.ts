import { fromBinary } from "@bufbuild/protobuf";
import { expect } from "chai";
import { InvokeResponseSchema } from "../../../gen/es/selene/engine/v1/engine_pb.js";
import { ReasonCode } from "../../../gen/es/selene/kernel/v1/reason_pb.js";
import type { EngineRegistry } from "../../../services/router/engine-registry.js";
import { createUnderstandGate } from "../../../services/router/gates/understand-gate.js";
import { SeleneError } from "../../../services/runtime/selene-error.js";
import {
  anUnderstandingResponse,
  aReadResponse,
  FIXED_MS,
  type UnderstandingOverrides,
} from "../../support/builders.js";
import { fakeEngineRegistry } from "../../support/fake-engine-registry.js";
import { resilientEnginesOver, shippedPolicy } from "../../support/test-resilience.js";

/** The gate over `registry`, its calls under the shipped resilience policy. */
const understandGateOver = (registry: EngineRegistry) =>
  createUnderstandGate(registry, resilientEnginesOver(registry, shippedPolicy(), () => FIXED_MS).engines);

import { aTurn } from "../../support/turn-builder.js";

describe("understand gate", () => {
  /** The gate over an nlp engine that understands every utterance as `understanding`. */
  const gateUnderstanding = (understanding: UnderstandingOverrides) =>
    understandGateOver(fakeEngineRegistry({ nlp: { invoke: () => anUnderstandingResponse(understanding) } }));

  it("passes an intent a turn may use, recording the nlp response and the capability's kind and fields", async () => {
    const { turn, decisions, ledger } = aTurn({ text: "remind me to feed the cat at 8am" });
    const understood = await gateUnderstanding({ intent: "reminders.create" })(
      turn,
      "remind me to feed the cat at 8am",
    );
    expect("refused" in understood).to.equal(false);
    if ("refused" in understood) return;
    expect(understood.capability.name).to.equal("reminders.create");
    expect(understood.understanding.fields).to.deep.equal({ text: "feed the cat", when: "8am" });
    expect(await decisions()).to.deep.equal(["UNDERSTAND PASS"]);
    const event = ledger.appended[0]!.event!;
    expect(event.attributes).to.deep.equal({
      engine: "nlp",
      intent: "reminders.create",
      kind: "EFFECT",
      required_fields: "text,when",
    });
    expect(fromBinary(InvokeResponseSchema, event.payload).result.case).to.equal("understanding");
  });

  it("refuses an intent no engine serves with CAPABILITY_UNKNOWN, and records no access verdict", async () => {
    const { turn, decisions, ledger } = aTurn();
    const understood = await gateUnderstanding({ intent: "messages.send" })(turn, "text Ana");
    expect(understood).to.deep.equal({
      refused: {
        case: "refused",
        value: { reason: ReasonCode.CAPABILITY_UNKNOWN, message: 'No engine serves "messages.send".' },
      },
    });
    expect(await decisions()).to.deep.equal(["UNDERSTAND DENY CAPABILITY_UNKNOWN"]);
    expect(ledger.appended[0]!.event!.attributes).to.deep.equal({ engine: "nlp", intent: "messages.send" });
    expect(ledger.appended[0]!.event!.payload.length).to.be.greaterThan(0);
  });

  it("refuses nlp's own capability as an intent: a turn may not ask for an understanding", async () => {
    const { turn, decisions } = aTurn();
    const understood = await gateUnderstanding({ intent: "nlp.understand" })(turn, "understand this");
    expect("refused" in understood && understood.refused.value).to.deep.include({
      reason: ReasonCode.CAPABILITY_UNKNOWN,
    });
    expect(await decisions()).to.deep.equal(["UNDERSTAND DENY CAPABILITY_UNKNOWN"]);
  });

  it("refuses an utterance the nlp engine does not understand with INTENT_NOT_UNDERSTOOD", async () => {
    const gate = understandGateOver(
      fakeEngineRegistry({
        nlp: {
          invoke: () => {
            throw new SeleneError(ReasonCode.INTENT_NOT_UNDERSTOOD, "no rule matched");
          },
        },
      }),
    );
    const { turn, decisions } = aTurn();
    const understood = await gate(turn, "blorp");
    expect("refused" in understood && understood.refused.value).to.deep.equal({
      reason: ReasonCode.INTENT_NOT_UNDERSTOOD,
      message: "I did not understand that.",
    });
    expect(await decisions()).to.deep.equal(["UNDERSTAND DENY INTENT_NOT_UNDERSTOOD"]);
  });

  it("lets a fault through without a decision (the pipeline records it)", async () => {
    const { turn, decisions } = aTurn();
    const down = understandGateOver(fakeEngineRegistry({}));
    const wrong = understandGateOver(fakeEngineRegistry({ nlp: { invoke: () => aReadResponse() } }));
    const reasonOf = (gate: typeof down) =>
      gate(turn, "hi").then(
        () => undefined,
        (e: SeleneError) => e.reason,
      );
    expect(await reasonOf(down)).to.equal(ReasonCode.ENGINE_UNAVAILABLE);
    expect(await reasonOf(wrong)).to.equal(ReasonCode.ENGINE_INVALID_RESPONSE);
    expect(await decisions()).to.deep.equal([]);
  });

  it("calls the nlp engine within its policy's share of the turn's deadline, minus the reserve", async () => {
    const registry = fakeEngineRegistry({ nlp: { invoke: () => anUnderstandingResponse() } });
    const { turn } = aTurn();
    await understandGateOver(registry)(turn, "remind me");
    const share = shippedPolicy().capabilities.get("nlp.understand")!.deadlineShare;
    expect(registry.calls.map((c) => [c.engine, c.method, c.deadline])).to.deep.equal([
      ["nlp", "invoke", FIXED_MS + Math.floor(share * (turn.hop().deadline - FIXED_MS))],
    ]);
  });
});
