/**
 * The clarify corpus (test/fixtures/clarify/, written by scripts/build-clarify-corpus.ts from
 * hand-decided expectations): every utterance is read by the nlp engine's rules and the router's
 * clarify rule decides the one question, whose bytes must equal the expected Clarify's.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { expect } from "chai";
import { ClarifySchema } from "../../../gen/es/selene/kernel/v1/clarify_pb.js";
import { understand } from "../../../services/engines/nlp/understand.js";
import { blockingFieldNames, projectClarifyPolicy } from "../../../services/runtime/policy/clarify-policy.js";
import { chooseClarify } from "../../../services/runtime/turn-decisions/clarify-rule.js";
import { clarifyCorpus } from "../../support/clarify-corpus.js";

describe("clarify corpus", () => {
  const policy = projectClarifyPolicy();
  const corpus = clarifyCorpus();

  it("holds at least 300 utterances, covering every capability the policy lists and every blocking field", () => {
    expect(corpus.length).to.be.at.least(300);
    for (const [capability, fields] of policy.capabilities) {
      expect(
        corpus.some((c) => c.intent === capability),
        capability,
      ).to.equal(true);
      for (const { field } of fields) {
        expect(
          corpus.some((c) => c.intent === capability && c.ask?.field === field),
          `${capability}/${field}`,
        ).to.equal(true);
      }
    }
  });

  for (const c of corpus) {
    it(`${c.id}: ${c.ask === null ? "no question" : `asks for ${c.ask.field}`}`, () => {
      const understanding = understand(c.utterance);
      if (c.intent === null) {
        expect(understanding, JSON.stringify(understanding?.intent)).to.equal(undefined);
        return;
      }
      expect(understanding?.intent).to.equal(c.intent);
      const choice = chooseClarify(policy, understanding!, blockingFieldNames(policy, c.intent), c.locale);
      if (c.ask === null) {
        expect(choice?.clarify.missingField, JSON.stringify(understanding!.fields)).to.equal(undefined);
        return;
      }
      expect(choice?.clarify.question, JSON.stringify(understanding!.fields)).to.equal(c.ask.question);
      const expected = create(ClarifySchema, {
        intent: c.intent,
        missingField: c.ask.field,
        question: c.ask.question,
        exampleAnswers: [...c.ask.examples],
      });
      expect(Buffer.from(toBinary(ClarifySchema, choice!.clarify)).toString("hex")).to.equal(
        Buffer.from(toBinary(ClarifySchema, expected)).toString("hex"),
      );
    });
  }
});
