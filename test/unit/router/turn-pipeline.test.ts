import { create, toBinary } from "@bufbuild/protobuf";
import { expect } from "chai";
import { ReasonCode } from "../../../gen/es/selene/kernel/v1/reason_pb.js";
import { type SubmitTurnRequest, SubmitTurnResponseSchema } from "../../../gen/es/selene/os/v1/turn_pb.js";
import { HOP_RESERVE_MS } from "../../../services/router/turn-deadline.js";
import { createTurnPipeline } from "../../../services/router/turn-pipeline.js";
import { SeleneError } from "../../../services/runtime/selene-error.js";
import {
  anEnvelope,
  anUnderstandingResponse,
  aReadResponse,
  aSimulateResponse,
  aTurnRequest,
  FIXED_MS,
} from "../../support/builders.js";
import {
  ACME_APP,
  aCallContext,
  aRecordingLedger,
  aTurn,
  DEFAULT_DEADLINE_MS,
  decisionsOf,
} from "../../support/turn-builder.js";
import { type FakeEngine, fakeEngineRegistry } from "./fake-engine-registry.js";
import { fakeOutbox } from "./fake-outbox.js";
import { fakeSimulationStore } from "./fake-simulation-store.js";
import { fakeTurnRecords } from "./fake-turn-records.js";

/** An nlp engine that reads "lookup ..." as a lookup and anything else as a reminder. */
const nlp: FakeEngine = {
  invoke: (request) =>
    request.input.case === "utterance" && request.input.value.startsWith("lookup")
      ? anUnderstandingResponse({ intent: "tools.lookup", fields: { query: request.input.value } })
      : anUnderstandingResponse(),
};

describe("turn pipeline: the gates in order", () => {
  /** The pipeline over fake engines; `reminders: false` takes the reminders engine down. */
  function aPipeline(options: { reminders?: boolean; engines?: Parameters<typeof fakeEngineRegistry>[0] } = {}) {
    const ledger = aRecordingLedger();
    const registry = fakeEngineRegistry(
      options.engines ?? {
        nlp,
        tools: { invoke: () => aReadResponse() },
        ...(options.reminders === false ? {} : { reminders: { simulate: () => aSimulateResponse() } }),
      },
    );
    const simulations = fakeSimulationStore();
    const handle = createTurnPipeline({
      registry,
      simulations,
      clientTenants: new Map([[ACME_APP, "acme"]]),
      defaultTurnDeadlineMs: DEFAULT_DEADLINE_MS,
      simulationTtlMs: 60_000,
      outbox: fakeOutbox(),
      crash: () => {},
      pokeExecutor: () => {},
      audit: ledger.sink,
      idempotency: { records: fakeTurnRecords(), claimMarginMs: 100, duplicateWaitMs: 100 },
      now: () => FIXED_MS,
    });
    let n = 0;
    /** Submits `request` (fresh ids unless it has its own) and returns the outcome or the error. */
    const submit = async (request: SubmitTurnRequest) => {
      n++;
      const before = ledger.appended.length;
      const response = await handle(request, aCallContext({ correlationId: `c-${n}` })).then(
        (r) => r,
        (e: SeleneError) => e,
      );
      // Failed turns append their record on their own time.
      await new Promise((resolve) => setImmediate(resolve));
      return { response, decisions: decisionsOf(ledger.appended.slice(before)) };
    };
    const text = (value: string, envelope = {}) =>
      aTurnRequest({
        envelope: anEnvelope({ idempotencyKey: `k-${n + 1}`, ...envelope }),
        input: { case: "text", value },
      });
    return { submit, text, registry, simulations };
  }

  it("answers a read: validate, identity, understand, clarify, answer; no access verdict without a policy", async () => {
    const { submit, text } = aPipeline();
    const { response, decisions } = await submit(text("lookup the capital of France"));
    expect((response as { outcome: { case: string } }).outcome.case).to.equal("answer");
    expect(decisions).to.deep.equal([
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
    const { outcome } = simulated.response as { outcome: { case: string; value: { simulationId: string } } };
    const { turn } = aTurn({ envelope: { userId: "alice", idempotencyKey: "confirm-1" }, confirmation: outcome.value });
    const confirmed = await submit(turn.request);
    expect((confirmed.response as { outcome: { case: string } }).outcome.case).to.equal("executed");
    expect(confirmed.decisions).to.deep.equal(["VALIDATE PASS", "IDENTITY PASS", "CONFIRM PASS", "COMMIT PASS"]);
  });

  it("records another user's confirmation once, as the confirm gate decided it", async () => {
    const { submit, text } = aPipeline();
    const simulated = await submit(text("remind me to feed the cat at 8am", { userId: "alice" }));
    const { outcome } = simulated.response as { outcome: { value: { simulationId: string } } };
    const { turn } = aTurn({ envelope: { userId: "mallory", idempotencyKey: "steal-1" }, confirmation: outcome.value });
    const stolen = await submit(turn.request);
    expect((stolen.response as SeleneError).reason).to.equal(ReasonCode.SIMULATION_NOT_FOUND);
    expect(stolen.decisions).to.deep.equal(["VALIDATE PASS", "IDENTITY PASS", "CONFIRM DENY ACCESS_DENIED"]);
  });

  it("records a fault at the gate it surfaced at: an effect engine down fails SIMULATE", async () => {
    const { submit, text } = aPipeline({ reminders: false });
    const { response, decisions } = await submit(text("remind me to feed the cat at 8am"));
    expect((response as SeleneError).reason).to.equal(ReasonCode.ENGINE_UNAVAILABLE);
    expect(decisions).to.deep.equal([
      "VALIDATE PASS",
      "IDENTITY PASS",
      "UNDERSTAND PASS",
      "CLARIFY PASS",
      "SIMULATE FAIL ENGINE_UNAVAILABLE",
    ]);
  });

  it("records an error no gate decided: DENY for a refusal of the request, FAIL for a fault", async () => {
    const refusing = aPipeline({
      engines: {
        nlp: {
          invoke: () => {
            throw new SeleneError(ReasonCode.FIELD_INVALID, "the utterance is too long");
          },
        },
      },
    });
    expect((await refusing.submit(refusing.text("anything"))).decisions.at(-1)).to.equal(
      "UNDERSTAND DENY FIELD_INVALID",
    );
    const down = aPipeline({ engines: {} });
    expect((await down.submit(down.text("anything"))).decisions.at(-1)).to.equal("UNDERSTAND FAIL ENGINE_UNAVAILABLE");
  });

  it("holds every call of a turn to its one deadline, set once when the call has none", async () => {
    const { submit, text, registry } = aPipeline();
    await submit(text("lookup the capital of France"));
    expect(registry.calls.map((c) => c.deadline)).to.deep.equal([
      FIXED_MS + DEFAULT_DEADLINE_MS - HOP_RESERVE_MS,
      FIXED_MS + DEFAULT_DEADLINE_MS - HOP_RESERVE_MS,
    ]);
  });

  it("replays a decided key without running a gate again", async () => {
    const { submit, text, registry } = aPipeline();
    const request = text("lookup the capital of France");
    const first = await submit(request);
    const again = await submit(request);
    const bytes = (response: unknown) =>
      toBinary(SubmitTurnResponseSchema, create(SubmitTurnResponseSchema, response as never));
    expect(bytes(again.response)).to.deep.equal(bytes(first.response));
    expect(again.decisions).to.deep.equal([]);
    expect(registry.calls).to.have.length(2);
  });
});
