/**
 * The provenance corpus (test/fixtures/provenance/, expectations written by hand): conflicting
 * claims settled by the tools engine and judged by the router at an injected time; freshness
 * actions under a fixture policy; results whose provenance does not hold, refused with
 * ENGINE_INVALID_RESPONSE. Each decision is also made twice, to equal bytes.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { expect } from "chai";
import { InvokeResponseSchema } from "../../../gen/es/selene/engine/v1/engine_pb.js";
import { ConflictRule, FreshnessState } from "../../../gen/es/selene/kernel/v1/provenance_pb.js";
import { ReasonCode } from "../../../gen/es/selene/kernel/v1/reason_pb.js";
import { SubmitTurnResponseSchema } from "../../../gen/es/selene/os/v1/turn_pb.js";
import { buildReadResult } from "../../../services/engines/tools/provenance.js";
import { resolveClaims } from "../../../services/engines/tools/resolve-claims.js";
import { loadFreshnessPolicy } from "../../../services/runtime/policy/freshness-policy.js";
import { SeleneError } from "../../../services/runtime/selene-error.js";
import { readContentDigest } from "../../../services/runtime/turn-decisions/provenance-check.js";
import { decideRead, type ReadDecision } from "../../../services/runtime/turn-decisions/read-decision.js";
import { provenanceCases, provenanceFixture, type ResultCase, resultOf } from "../../support/provenance-corpus.js";
import { projectReadPolicies } from "../../support/read-policies.js";

interface ConflictCase {
  readonly name: string;
  readonly now: string;
  readonly field: string;
  readonly answer: string;
  readonly claims: readonly { source: string; trust: number; retrieved: string; value: string }[];
  readonly expect: {
    readonly chosen: string;
    readonly rule: keyof typeof ConflictRule | null;
    readonly conflict_sources: readonly string[] | null;
    readonly outcome: string;
    readonly freshness: keyof typeof FreshnessState;
    readonly text: string;
  };
}

const DAY_MS = 86_400_000;

/** The outcome's bytes, or the decision's kind when it has none. */
function bytesOf(decision: ReadDecision): string {
  if (decision.kind === "refetch") return "refetch";
  const response = create(SubmitTurnResponseSchema, { outcome: decision.outcome });
  return Buffer.from(toBinary(SubmitTurnResponseSchema, response)).toString("hex");
}

function expectOutcome(decision: ReadDecision, expected: Record<string, unknown>) {
  expect(decision.kind === "refuse" ? "refused" : decision.kind).to.equal(expected.outcome);
  expect(decision.stale.map((s) => s.source.id)).to.deep.equal(
    expected.stale_sources ?? decision.stale.map((s) => s.source.id),
  );
  if (decision.kind === "answer" && decision.outcome.case === "answer") {
    expect(decision.outcome.value.text).to.equal(expected.text);
    expect(FreshnessState[decision.provenance.freshness?.state ?? 0]).to.equal(expected.freshness);
  }
  if (decision.kind === "refuse" && decision.outcome.case === "refused") {
    expect(ReasonCode[decision.outcome.value.reason ?? 0]).to.equal(expected.reason);
    expect(decision.outcome.value.message).to.equal(expected.text);
  }
}

describe("provenance corpus", () => {
  const policies = projectReadPolicies();

  describe("conflicting sources", () => {
    for (const c of provenanceCases<ConflictCase>("conflicts.json")) {
      it(c.name, () => {
        const nowMs = Date.parse(c.now);
        const claims = c.claims.map((k) => ({
          sourceId: k.source,
          trust: k.trust,
          retrievedAtMs: Date.parse(k.retrieved),
          value: k.value,
        }));
        const { chosen, conflict } = resolveClaims(c.field, claims);
        expect(chosen.sourceId).to.equal(c.expect.chosen);
        expect(conflict === undefined ? null : ConflictRule[conflict.rule]).to.equal(c.expect.rule);
        expect(conflict === undefined ? null : [...conflict.sourceIds]).to.deep.equal(c.expect.conflict_sources);
        const result = buildReadResult({
          text: c.answer.split("{value}").join(chosen.value),
          data: { fact: c.field, value: chosen.value, source: chosen.sourceId },
          sources: claims.map((k) => ({
            id: k.sourceId,
            trust: k.trust,
            retrievedAtMs: k.retrievedAtMs,
            content: { fact: c.field, value: k.value },
          })),
          retrievedAtMs: chosen.retrievedAtMs,
          freshness: { kind: "snapshot", maxAgeMs: 3650 * DAY_MS },
          conflicts: conflict === undefined ? [] : [conflict],
          nowMs,
        });
        const response = create(InvokeResponseSchema, { result: { case: "readResult", value: result } });
        const decision = decideRead("tools.lookup", "tools", response, policies, nowMs, false);
        expectOutcome(decision, { ...c.expect, stale_sources: undefined });
        // Replayed on the same inputs: the same bytes.
        const again = decideRead(
          "tools.lookup",
          "tools",
          create(InvokeResponseSchema, response),
          policies,
          nowMs,
          false,
        );
        expect(bytesOf(again)).to.equal(bytesOf(decision));
      });
    }
  });

  describe("freshness actions (fixture policy)", () => {
    const freshness = loadFreshnessPolicy(provenanceFixture("freshness-policy.json"));
    for (const c of provenanceCases<ResultCase>("freshness.json")) {
      it(c.name, () => {
        const decision = decideRead(
          "tools.lookup",
          "tools",
          resultOf(c),
          { ...policies, freshness },
          Date.parse(c.now),
          c.refetched ?? false,
        );
        expectOutcome(decision, c.expect);
      });
    }
  });

  describe("provenance that does not hold", () => {
    for (const c of provenanceCases<ResultCase>("invalid.json")) {
      it(`refuses ${c.name}`, () => {
        let error: unknown;
        try {
          decideRead("tools.lookup", "tools", resultOf(c), policies, Date.parse(c.now), false);
        } catch (e) {
          error = e;
        }
        expect(error).to.be.instanceOf(SeleneError);
        expect(ReasonCode[(error as SeleneError).reason]).to.equal(c.expect.reason);
        expect((error as SeleneError).message).to.contain(c.expect.detail);
      });
    }
  });
});

describe("read decision", () => {
  it("keeps a disputed answer within the contract's 4096 characters, the note whole", () => {
    const c = provenanceCases<ResultCase>("invalid.json")[0]!;
    const nowMs = Date.parse(c.now);
    const long = "x".repeat(4096);
    const data = { answer: "42" };
    const response = resultOf({
      name: "long",
      now: c.now,
      sources: [
        { id: "web:a", trust: 50, retrieved: c.now },
        { id: "web:b", trust: 50, retrieved: c.now },
      ],
      conflicts: [{ field: "answer", sources: ["web:a", "web:b"], chosen: "web:a", rule: "SOURCE_ID" }],
      expect: {},
    });
    if (response.result.case !== "readResult") throw new Error("not a read result");
    response.result.value.text = long;
    response.result.value.provenance!.contentDigest = readContentDigest(long, data);
    const decision = decideRead("tools.lookup", "tools", response, projectReadPolicies(), nowMs, false);
    if (decision.kind !== "answer" || decision.outcome.case !== "answer") throw new Error("not an answer");
    const text = decision.outcome.value.text ?? "";
    expect([...text].length).to.equal(4096);
    expect(text).to.match(/x…/);
    expect(text.endsWith("chosen by a stable tie-break on source ids.")).to.equal(true);
  });
});
