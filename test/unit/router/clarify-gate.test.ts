import { fromBinary } from "@bufbuild/protobuf";
import { expect } from "chai";
import { ClarifySchema } from "../../../gen/es/selene/kernel/v1/clarify_pb.js";
import { ReasonCode } from "../../../gen/es/selene/kernel/v1/reason_pb.js";
import { createClarifyGate } from "../../../services/router/gates/clarify-gate.js";
import type { Understood } from "../../../services/router/gates/understand-gate.js";
import { projectClarifyPolicy } from "../../../services/runtime/policy/clarify-policy.js";
import { anUnderstandingResponse, type UnderstandingOverrides } from "../../support/builders.js";
import { FAKE_CAPABILITIES } from "../../support/fake-engine-registry.js";
import { aTurn } from "../../support/turn-builder.js";

/** A reminder understood as `overrides` says, served by reminders.create (required: text, when). */
function aReminder(overrides: UnderstandingOverrides): Understood {
  const response = anUnderstandingResponse({ intent: "reminders.create", ...overrides });
  if (response.result.case !== "understanding") throw new Error("not an understanding");
  return { understanding: response.result.value, capability: FAKE_CAPABILITIES[2]! };
}

const policy = projectClarifyPolicy();
const clarifyGate = createClarifyGate(policy);

describe("clarify gate", () => {
  it("passes an understanding with every required field", async () => {
    const { turn, decisions } = aTurn();
    expect(clarifyGate(turn, aReminder({}))).to.equal(undefined);
    expect(await decisions()).to.deep.equal(["CLARIFY PASS"]);
  });

  it("asks one question, for the missing field the policy ranks first, in the policy's words, and records its bytes", async () => {
    const { turn, decisions, ledger } = aTurn();
    const outcome = clarifyGate(
      turn,
      aReminder({
        fields: {},
        missingFields: ["when", "text"],
        clarifications: [
          { missingField: "when", question: "When?" },
          { missingField: "text", question: "Remind you of what?" },
        ],
      }),
    );
    expect(outcome?.case).to.equal("clarify");
    // The nlp engine's own wording is not used: the question is the policy's.
    expect(outcome?.value).to.deep.include({ missingField: "text", question: "What should I remind you about?" });
    expect(await decisions()).to.deep.equal(["CLARIFY ASK CLARIFY_REQUIRED"]);
    const event = ledger.appended[0]!.event!;
    expect(event.reason).to.equal(ReasonCode.CLARIFY_REQUIRED);
    expect(event.attributes).to.deep.equal({
      missing_field: "text",
      missing_because: "absent",
      clarify_policy: policy.digest,
    });
    expect(fromBinary(ClarifySchema, event.payload).question).to.equal("What should I remind you about?");
  });
});
