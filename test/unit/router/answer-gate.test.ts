import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { expect } from "chai";
import { InvokeResponseSchema } from "../../../gen/es/selene/engine/v1/engine_pb.js";
import { FreshnessState } from "../../../gen/es/selene/kernel/v1/provenance_pb.js";
import { ReasonCode } from "../../../gen/es/selene/kernel/v1/reason_pb.js";
import { createAnswerGate } from "../../../services/router/gates/answer-gate.js";
import type { Understood } from "../../../services/router/gates/understand-gate.js";
import { SeleneError } from "../../../services/runtime/selene-error.js";
import { readContentDigest } from "../../../services/runtime/turn-decisions/provenance-check.js";
import { outcomeDigest } from "../../../services/runtime/turn-decisions/turn-decisions.js";
import { anUnderstandingResponse, aReadResponse, FIXED_MS } from "../../support/builders.js";
import { FAKE_CAPABILITIES, type FakeEngine, fakeEngineRegistry } from "../../support/fake-engine-registry.js";
import { aPipeline, FAKE_NLP } from "../../support/pipeline-builder.js";
import { projectReadPolicies } from "../../support/read-policies.js";
import { resilientEnginesOver, shippedPolicy } from "../../support/test-resilience.js";
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

/** A clock reading from clock:system (max age 5 s, refetch) taken at `retrievedMs`. */
function aClockReading(retrievedMs: number) {
  const text = "It is 12:00.";
  const data = { utc: new Date(retrievedMs).toISOString() };
  return create(InvokeResponseSchema, {
    result: {
      case: "readResult",
      value: {
        text,
        data,
        provenance: {
          sources: [
            {
              id: "clock:system",
              trust: 100,
              retrievedAt: timestampFromMs(retrievedMs),
              contentDigest: readContentDigest("", {}),
            },
          ],
          retrievedAt: timestampFromMs(retrievedMs),
          contentDigest: readContentDigest(text, data),
          freshness: { state: FreshnessState.LIVE },
        },
      },
    },
  });
}

const gate = (registry: ReturnType<typeof fakeEngineRegistry>, now = FIXED_MS) =>
  createAnswerGate(
    resilientEnginesOver(registry, shippedPolicy(), () => now).engines,
    projectReadPolicies(),
    () => now,
  );

describe("answer gate", () => {
  it("answers with the engine's result and provenance, recording when it judged it and the outcome's digest", async () => {
    const registry = fakeEngineRegistry({ tools: { invoke: () => aReadResponse() } });
    const { turn, decisions, ledger } = aTurn();
    const outcome = await gate(registry)(turn, aLookup());
    expect(outcome.case).to.equal("answer");
    expect(outcome.value).to.deep.include({ intent: "tools.lookup", text: "Paris" });
    expect(await decisions()).to.deep.equal(["ANSWER PASS"]);
    const policies = projectReadPolicies();
    expect(ledger.appended[0]!.event!.attributes).to.deep.equal({
      engine: "tools",
      capability: "tools.lookup",
      freshness_policy: policies.freshness.digest,
      conflict_policy: policies.conflicts.digest,
      judged_at: String(FIXED_MS),
      freshness: "FRESH",
      outcome_digest: outcomeDigest(outcome),
    });
    expect(registry.calls[0]!.request).to.deep.include({ capability: "tools.lookup" });
  });

  for (const reason of [ReasonCode.ENGINE_REJECTED, ReasonCode.FIELD_INVALID]) {
    it(`turns the engine's ${ReasonCode[reason]} into REFUSED, in the engine's own words`, async () => {
      const registry = fakeEngineRegistry({ tools: refusing(reason, "the knowledge base has no answer to that") });
      const { turn, decisions } = aTurn();
      const outcome = await gate(registry)(turn, aLookup());
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
    const reason = await gate(registry)(turn, aLookup()).then(
      () => undefined,
      (e: SeleneError) => e.reason,
    );
    expect(reason).to.equal(ReasonCode.ENGINE_DEADLINE_EXCEEDED);
    expect(await decisions()).to.deep.equal([]);
  });

  it("asks the engine once more when a source is past its max age and the policy says refetch", async () => {
    const readings = [aClockReading(FIXED_MS - 60_000), aClockReading(FIXED_MS - 1000)];
    const registry = fakeEngineRegistry({ tools: { invoke: () => readings.shift()! } });
    const { turn, decisions, ledger } = aTurn();
    const outcome = await gate(registry)(turn, aLookup());
    expect(outcome.case).to.equal("answer");
    expect(registry.calls).to.have.length(2);
    expect(await decisions()).to.deep.equal(["ANSWER PASS"]);
    expect(ledger.appended[0]!.event!.attributes).to.deep.include({ refetched: "true", freshness: "LIVE" });
  });

  it("refuses with PROVENANCE_STALE when the refetched answer is still too old, recording the response", async () => {
    const registry = fakeEngineRegistry({ tools: { invoke: () => aClockReading(FIXED_MS - 60_000) } });
    const { turn, decisions, ledger } = aTurn();
    const outcome = await gate(registry)(turn, aLookup());
    expect(outcome).to.deep.equal({
      case: "refused",
      value: {
        reason: ReasonCode.PROVENANCE_STALE,
        message: "This may be out of date: clock:system was retrieved on 2026-01-01, more than 5s ago.",
      },
    });
    expect(await decisions()).to.deep.equal(["ANSWER DENY PROVENANCE_STALE"]);
    expect(ledger.appended[0]!.event!.attributes).to.deep.include({ stale_sources: "clock:system", refetched: "true" });
    expect(ledger.appended[0]!.event!.payload.length).to.be.greaterThan(0);
  });

  it("rejects a read result without provenance with ENGINE_INVALID_RESPONSE and records it once, with the response", async () => {
    const bare = create(InvokeResponseSchema, { result: { case: "readResult", value: { text: "Paris", data: {} } } });
    const pipeline = aPipeline({ nlp: FAKE_NLP, tools: { invoke: () => bare } });
    const { response, decisions, appended } = await pipeline.submit(pipeline.text("lookup capital of France"));
    expect(response).to.be.instanceOf(SeleneError);
    expect((response as SeleneError).reason).to.equal(ReasonCode.ENGINE_INVALID_RESPONSE);
    expect(decisions.filter((d) => d.startsWith("ANSWER"))).to.deep.equal(["ANSWER FAIL ENGINE_INVALID_RESPONSE"]);
    const failed = appended.find((e) => e.event?.reason === ReasonCode.ENGINE_INVALID_RESPONSE)!;
    expect(failed.event!.payload.length).to.be.greaterThan(0);
  });
});

describe("answer gate with a fallback", () => {
  it("says in the record that the last good answer answered, and how old it is; the outcome's provenance is stale", async () => {
    let up = true;
    const registry = fakeEngineRegistry({
      tools: {
        invoke: () => {
          if (up) return aReadResponse();
          throw new SeleneError(ReasonCode.ENGINE_UNAVAILABLE, "down");
        },
      },
    });
    const answer = createAnswerGate(
      resilientEnginesOver(registry, shippedPolicy(), () => FIXED_MS).engines,
      projectReadPolicies(),
      () => FIXED_MS,
    );
    await answer(aTurn().turn, aLookup());
    up = false;
    const { turn, decisions, ledger } = aTurn();
    const outcome = await answer(turn, aLookup());
    expect(await decisions()).to.deep.equal(["ANSWER PASS"]);
    expect(ledger.appended[0]!.event!.attributes).to.deep.include({
      engine: "tools",
      fallback: "last_good",
      stale_age_ms: "0",
      outcome_digest: outcomeDigest(outcome),
    });
    const provenance = outcome.case === "answer" ? outcome.value.provenance : undefined;
    expect(provenance?.freshness?.state).to.equal(FreshnessState.STALE);
    expect(provenance?.sources?.at(-1)?.id).to.equal("selene:last-good-answer");
  });
});
