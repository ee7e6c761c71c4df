/**
 * Properties of the clarify rule (fast-check): the question depends on the understanding's
 * content only, never on the order of its lists or of its map, the process, the time zone or the
 * locale; a follow-up that fills the asked field never asks for it again; two router replicas,
 * and a router restarted (the policy read again), ask the same question, byte for byte.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { expect } from "chai";
import fc from "fast-check";
import { InvokeResponseSchema, UnderstandingSchema } from "../../../gen/es/selene/engine/v1/engine_pb.js";
import { ClarifySchema } from "../../../gen/es/selene/kernel/v1/clarify_pb.js";
import { SubmitTurnResponseSchema } from "../../../gen/es/selene/os/v1/turn_pb.js";
import { understand } from "../../../services/engines/nlp/understand.js";
import { loadClarifyPolicy, projectClarifyPolicy } from "../../../services/runtime/policy/clarify-policy.js";
import { policyPath } from "../../../services/runtime/policy/policy-file.js";
import { chooseClarify } from "../../../services/runtime/turn-decisions/clarify-rule.js";
import { aReadResponse } from "../../support/builders.js";
import { corpusQuestionsDigest } from "../../support/clarify-digest.js";
import { aPipeline } from "../../support/pipeline-builder.js";

const policy = projectClarifyPolicy();
const capabilities = [...policy.capabilities.keys()];

/** Values a field may carry: usable ones, and ones that count as missing (empty, invalid, ambiguous). */
const VALUES = ["call mom", "17:00", "r-42", "Ana", "5", "km", "mi", "1 + 2", "capital of france", "José", "Ｊｏｓé"];
const MISSING_VALUES = ["", " ", "\u200b", "--", "him", "HIM", "it", "all", "x", "５x"];
const FIELDS = [
  "text",
  "when",
  "reminder_id",
  "recipient",
  "body",
  "query",
  "value",
  "from_unit",
  "to_unit",
  "expression",
  "zone",
];

/** A usable value per blocking field, to answer a question with. */
const ANSWERS: Readonly<Record<string, string>> = {
  text: "call mom",
  when: "17:00",
  reminder_id: "r-42",
  recipient: "Ana",
  body: "see you",
  query: "capital of france",
  value: "5",
  from_unit: "km",
  to_unit: "mi",
  expression: "1 + 2",
};

const anUnderstanding = fc.record({
  intent: fc.constantFrom(...capabilities),
  fields: fc.dictionary(fc.constantFrom(...FIELDS), fc.constantFrom(...VALUES, ...MISSING_VALUES), { maxKeys: 6 }),
  missingFields: fc.uniqueArray(fc.constantFrom(...FIELDS), { maxLength: 4 }),
  required: fc.uniqueArray(fc.constantFrom(...FIELDS), { maxLength: 4 }),
});

const bytesOf = (choice: ReturnType<typeof chooseClarify>) =>
  choice === undefined
    ? "none"
    : `${choice.because}:${Buffer.from(toBinary(ClarifySchema, choice.clarify)).toString("hex")}`;

function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let state = seed >>> 0 || 1;
  for (let i = out.length - 1; i > 0; i--) {
    state = (state * 1_103_515_245 + 12_345) >>> 0;
    const j = state % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

describe("clarify properties", () => {
  it("asks the same question whatever the order of the lists, of the map, and across a wire round trip", () => {
    fc.assert(
      fc.property(anUnderstanding, fc.integer(), ({ intent, fields, missingFields, required }, seed) => {
        const first = chooseClarify(policy, { intent, fields, missingFields }, required);
        const reordered: Record<string, string> = {};
        for (const key of shuffled(Object.keys(fields), seed)) reordered[key] = fields[key]!;
        // Through the wire: the map's encoding order is the engine's, not ours.
        const wire = fromBinary(
          UnderstandingSchema,
          toBinary(
            UnderstandingSchema,
            create(UnderstandingSchema, {
              intent,
              fields: reordered,
              missingFields: shuffled(missingFields, seed + 1),
            }),
          ),
        );
        const second = chooseClarify(policy, wire, shuffled(required, seed + 2));
        expect(bytesOf(second)).to.equal(bytesOf(first));
      }),
      { numRuns: 500 },
    );
  });

  it("never asks again for a field the follow-up filled, and ends within the number of fields", () => {
    fc.assert(
      fc.property(anUnderstanding, ({ intent, fields, missingFields, required }) => {
        let state = { intent, fields: { ...fields }, missingFields: [...missingFields] };
        const asked = new Set<string>();
        for (let turn = 0; turn <= FIELDS.length; turn++) {
          const choice = chooseClarify(policy, state, required);
          if (choice === undefined) return;
          const field = choice.clarify.missingField;
          expect(asked.has(field), `asked for ${field} again`).to.equal(false);
          asked.add(field);
          // The follow-up answers the question: the field filled, no longer reported missing.
          state = {
            intent,
            fields: { ...state.fields, [field]: ANSWERS[field] ?? "filled" },
            missingFields: state.missingFields.filter((f) => f !== field),
          };
        }
        expect.fail("the questions did not end");
      }),
      { numRuns: 500 },
    );
  });

  it("asks the same questions in other processes, time zones and locales", async function () {
    this.timeout(120_000);
    const run = promisify(execFile);
    const here = corpusQuestionsDigest();
    const envs = [
      { TZ: "Pacific/Kiritimati", LANG: "tr_TR.UTF-8", LC_ALL: "tr_TR.UTF-8" },
      { TZ: "America/St_Johns", LANG: "ja_JP.UTF-8", LC_ALL: "ja_JP.UTF-8" },
    ];
    const digests = await Promise.all(
      envs.map((env) =>
        run(process.execPath, ["--import", "tsx", "test/support/clarify-digest.ts"], {
          env: { ...process.env, ...env },
        }).then(({ stdout }) => stdout.trim()),
      ),
    );
    expect(digests).to.deep.equal([here, here]);
  });

  it("asks the same question from two router replicas and from a router restarted on the same policy file", async () => {
    const nlp = {
      invoke: (request: { input: { case: string | undefined; value?: unknown } }) =>
        create(InvokeResponseSchema, {
          result: { case: "understanding", value: understand(String(request.input.value))! },
        }),
    };
    const engines = { nlp, tools: { invoke: () => aReadResponse() } };
    const replicaA = aPipeline(engines);
    const replicaB = aPipeline(engines);
    // A restart reads the file again: a new policy object, the same rules.
    const restarted = aPipeline(engines, loadClarifyPolicy(policyPath("clarify")));
    const asked: Record<string, string> = {
      "remind me": "text",
      "remind me to call mom": "when",
      "remind me at 5pm": "text",
      "look up": "query",
    };
    for (const [utterance, field] of Object.entries(asked)) {
      const outcomes: string[] = [];
      for (const router of [replicaA, replicaB, restarted]) {
        const { response } = await router.submit(router.text(utterance));
        if (!("outcome" in response)) throw response;
        const question = response.outcome?.case === "clarify" ? response.outcome.value : undefined;
        expect(question?.missingField, utterance).to.equal(field);
        const outcome = create(SubmitTurnResponseSchema, { outcome: response.outcome });
        outcomes.push(Buffer.from(toBinary(SubmitTurnResponseSchema, outcome)).toString("hex"));
      }
      expect(outcomes[1], utterance).to.equal(outcomes[0]);
      expect(outcomes[2], utterance).to.equal(outcomes[0]);
    }
  });
});
