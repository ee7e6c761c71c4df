import { create, toBinary } from "@bufbuild/protobuf";
import { expect } from "chai";
import { ReasonCode } from "../../../gen/es/selene/kernel/v1/reason_pb.js";
import { SubmitTurnResponseSchema } from "../../../gen/es/selene/os/v1/turn_pb.js";
import type { TurnResponse } from "../../../services/router/turn.js";
import { HOP_RESERVE_MS } from "../../../services/router/turn-deadline.js";
import { toSeleneError } from "../../../services/runtime/boundary/to-selene-error.js";
import { encodeStatusDetails, wireMessage } from "../../../services/runtime/error-status.js";
import { SeleneError } from "../../../services/runtime/selene-error.js";
import { aReadResponse, aSimulateResponse, FIXED_MS } from "../../support/builders.js";
import { aPipeline, FAKE_NLP, type Submitted } from "../../support/pipeline-builder.js";
import { shippedPolicy } from "../../support/test-resilience.js";
import { aTurn, DEFAULT_DEADLINE_MS } from "../../support/turn-builder.js";

/** The outcome of a submitted turn (fails the test on an error). */
function outcomeOf({ response }: Submitted): NonNullable<TurnResponse["outcome"]> {
  if (response instanceof SeleneError) throw response;
  return response.outcome!;
}

/** The error of a submitted turn. */
function errorOf({ response }: Submitted): SeleneError {
  if (!(response instanceof SeleneError)) throw new Error("the turn did not fail");
  return response;
}

describe("turn pipeline: the gates in order", () => {
  it("answers a read: validate, identity, understand, clarify, answer; no access verdict without a policy", async () => {
    const { submit, text } = aPipeline();
    const answered = await submit(text("lookup the capital of France"));
    expect(outcomeOf(answered).case).to.equal("answer");
    expect(answered.decisions).to.deep.equal([
      "VALIDATE PASS",
      "IDENTITY PASS",
      "UNDERSTAND PASS",
      "CLARIFY PASS",
      "ANSWER PASS",
    ]);
  });

  it("simulates an effect, then executes the owner's confirmation", async () => {
    const { submit, text } = aPipeline();
    const simulated = await submit(text("remind me to feed the cat at 8am", { userId: "alice" }));
    expect(simulated.decisions).to.deep.equal([
      "VALIDATE PASS",
      "IDENTITY PASS",
      "UNDERSTAND PASS",
      "CLARIFY PASS",
      "SIMULATE ASK SIMULATION_REQUIRED",
    ]);
    const { simulationId } = outcomeOf(simulated).value as { simulationId: string };
    const { turn } = aTurn({
      envelope: { userId: "alice", idempotencyKey: "confirm-1" },
      confirmation: { simulationId },
    });
    const confirmed = await submit(turn.request);
    expect(outcomeOf(confirmed).case).to.equal("executed");
    expect(confirmed.decisions).to.deep.equal(["VALIDATE PASS", "IDENTITY PASS", "CONFIRM PASS", "COMMIT PASS"]);
  });

  it("records another user's confirmation once, as the confirm gate decided it", async () => {
    const { submit, text } = aPipeline();
    const simulated = await submit(text("remind me to feed the cat at 8am", { userId: "alice" }));
    const { simulationId } = outcomeOf(simulated).value as { simulationId: string };
    const { turn } = aTurn({
      envelope: { userId: "mallory", idempotencyKey: "steal-1" },
      confirmation: { simulationId },
    });
    const stolen = await submit(turn.request);
    expect(errorOf(stolen).reason).to.equal(ReasonCode.SIMULATION_NOT_FOUND);
    expect(stolen.decisions).to.deep.equal(["VALIDATE PASS", "IDENTITY PASS", "CONFIRM DENY ACCESS_DENIED"]);
  });

  it("records a fault at the gate it surfaced at: an effect engine down fails SIMULATE", async () => {
    const { submit, text } = aPipeline({ nlp: FAKE_NLP, tools: { invoke: () => aReadResponse() } });
    const failed = await submit(text("remind me to feed the cat at 8am"));
    expect(errorOf(failed).reason).to.equal(ReasonCode.ENGINE_UNAVAILABLE);
    expect(failed.decisions).to.deep.equal([
      "VALIDATE PASS",
      "IDENTITY PASS",
      "UNDERSTAND PASS",
      "CLARIFY PASS",
      "SIMULATE FAIL ENGINE_UNAVAILABLE",
    ]);
  });

  it("records an error no gate decided: DENY for a refusal of the request, FAIL for a fault", async () => {
    const refusing = aPipeline({
      nlp: {
        invoke: () => {
          throw new SeleneError(ReasonCode.FIELD_INVALID, "the utterance is too long");
        },
      },
    });
    expect((await refusing.submit(refusing.text("anything"))).decisions.at(-1)).to.equal(
      "UNDERSTAND DENY FIELD_INVALID",
    );
    const down = aPipeline({ reminders: { simulate: () => aSimulateResponse() } });
    expect((await down.submit(down.text("anything"))).decisions.at(-1)).to.equal("UNDERSTAND FAIL ENGINE_UNAVAILABLE");
  });

  it("records a dependency fault with the reason the caller is told: DEPENDENCY_UNAVAILABLE, not INTERNAL", async () => {
    const fixture = aPipeline();
    fixture.simulations.save = async () => {
      // What pg reports for a session PostgreSQL ended (a stop or a restart).
      throw Object.assign(new Error("terminating connection due to administrator command"), { code: "57P01" });
    };
    const failed = await fixture.submit(fixture.text("remind me to feed the cat at 8am"));
    // The pipeline passes the fault on; the call boundary maps it with the same function.
    expect(toSeleneError(failed.response).reasonName).to.equal("DEPENDENCY_UNAVAILABLE");
    expect(failed.decisions.at(-1)).to.equal("SIMULATE FAIL DEPENDENCY_UNAVAILABLE");
  });

  it("holds every call of a turn to its policy's share of its one deadline, set once when the call has none", async () => {
    const { submit, text, registry } = aPipeline();
    await submit(text("lookup the capital of France"));
    const left = DEFAULT_DEADLINE_MS - HOP_RESERVE_MS;
    const share = (capability: string) => shippedPolicy().capabilities.get(capability)!.deadlineShare;
    expect(registry.calls.map((c) => c.deadline)).to.deep.equal([
      FIXED_MS + Math.floor(share("nlp.understand") * left),
      FIXED_MS + Math.floor(share("tools.lookup") * left),
    ]);
  });

  it("replays a decided key without running a gate again; the understanding asked ahead is left unread", async () => {
    const { submit, text, registry } = aPipeline();
    const request = text("lookup the capital of France");
    const first = await submit(request);
    const again = await submit(request);
    const bytes = (s: Submitted) =>
      toBinary(SubmitTurnResponseSchema, create(SubmitTurnResponseSchema, s.response as never));
    expect(bytes(again)).to.deep.equal(bytes(first));
    expect(again.decisions).to.deep.equal([]);
    expect(registry.calls.map((c) => c.engine)).to.deep.equal(["nlp", "tools", "nlp"]);
  });

  it("replays a refusal with the bytes of the first answer", async () => {
    const { submit, text } = aPipeline();
    const simulated = await submit(text("remind me to feed the cat at 8am", { userId: "alice" }));
    const { simulationId } = outcomeOf(simulated).value as { simulationId: string };
    const { turn } = aTurn({
      envelope: { userId: "mallory", idempotencyKey: "steal-2" },
      confirmation: { simulationId },
    });
    const first = errorOf(await submit(turn.request));
    const again = errorOf(await submit(turn.request));
    expect(wireMessage(again)).to.equal(wireMessage(first));
    expect(Buffer.from(encodeStatusDetails(again))).to.deep.equal(Buffer.from(encodeStatusDetails(first)));
  });
});
