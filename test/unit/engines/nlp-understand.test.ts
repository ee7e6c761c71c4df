import { toBinary } from "@bufbuild/protobuf";
import { createValidator } from "@bufbuild/protovalidate";
import { expect } from "chai";
import { type Understanding, UnderstandingSchema } from "../../../gen/es/selene/engine/v1/engine_pb.js";
import { projectPhraseBook } from "../../../services/engines/nlp/phrase-book.js";
import { parseTimeExpression } from "../../../services/engines/nlp/time-expression.js";
import { CONFIDENCE, MAX_FIELD_CHARS, understand } from "../../../services/engines/nlp/understand.js";
import { blockingFieldNames, projectClarifyPolicy } from "../../../services/runtime/policy/clarify-policy.js";

/** A capability the phrase book recognises. */
type Intent = string;

/** The capabilities of the phrase book (policy/nlp-phrases.json), sorted. */
const INTENTS: readonly Intent[] = projectPhraseBook()
  .rules.map((rule) => rule.capability)
  .sort();

/** The required fields of an intent: its blocking fields in the clarify policy, in priority order. */
function requiredFields(intent: Intent): readonly string[] {
  return blockingFieldNames(projectClarifyPolicy(), intent);
}

/** The policy's English question for a field of an intent. */
function policyQuestion(intent: Intent, field: string) {
  return projectClarifyPolicy()
    .capabilities.get(intent)
    ?.find((rule) => rule.field === field)
    ?.questions.get("en");
}

const validator = createValidator();

interface Case {
  readonly utterance: string;
  readonly intent: Intent;
  readonly fields: Record<string, string>;
}

// Every intent, every combination of supplied and missing required fields.
const CASES: readonly Case[] = [
  // reminders.create: text, when
  {
    utterance: "remind me to call mom at 5pm",
    intent: "reminders.create",
    fields: { text: "call mom", when: "17:00" },
  },
  {
    utterance: "Remind me to call Mom at 9am.",
    intent: "reminders.create",
    fields: { text: "call Mom", when: "09:00" },
  },
  {
    utterance: "remind me in 20 minutes to stretch",
    intent: "reminders.create",
    fields: { text: "stretch", when: "+PT20M" },
  },
  {
    utterance: "set a reminder to water the plants tomorrow at 9am",
    intent: "reminders.create",
    fields: { text: "water the plants", when: "tomorrow 09:00" },
  },
  {
    utterance: "remind me about the dentist on friday",
    intent: "reminders.create",
    fields: { text: "the dentist", when: "friday" },
  },
  { utterance: "remind me to stretch", intent: "reminders.create", fields: { text: "stretch" } },
  {
    utterance: "set a reminder for tomorrow at 9am",
    intent: "reminders.create",
    fields: { when: "tomorrow 09:00" },
  },
  { utterance: "remind me in an hour", intent: "reminders.create", fields: { when: "+PT1H" } },
  { utterance: "remind me", intent: "reminders.create", fields: {} },
  // reminders.cancel: reminder_id
  { utterance: "cancel reminder r-42", intent: "reminders.cancel", fields: { reminder_id: "r-42" } },
  { utterance: "Delete the reminder #17", intent: "reminders.cancel", fields: { reminder_id: "17" } },
  { utterance: "cancel my reminder", intent: "reminders.cancel", fields: {} },
  { utterance: "cancel the reminder to call mom", intent: "reminders.cancel", fields: {} },
  // messages.send: recipient, body
  {
    utterance: "send a message to Ana saying I'm late",
    intent: "messages.send",
    fields: { recipient: "Ana", body: "I'm late" },
  },
  { utterance: "text Bob: running late", intent: "messages.send", fields: { recipient: "Bob", body: "running late" } },
  { utterance: "send Ana a message saying hi", intent: "messages.send", fields: { recipient: "Ana", body: "hi" } },
  { utterance: "text Bob", intent: "messages.send", fields: { recipient: "Bob" } },
  { utterance: "send a message saying hello", intent: "messages.send", fields: { body: "hello" } },
  { utterance: "send a message", intent: "messages.send", fields: {} },
  // tools.lookup: query
  {
    utterance: "What is the capital of France?",
    intent: "tools.lookup",
    fields: { query: "what is the capital of france" },
  },
  { utterance: "who wrote Hamlet", intent: "tools.lookup", fields: { query: "who wrote hamlet" } },
  { utterance: "How tall is Mount Everest?", intent: "tools.lookup", fields: { query: "how tall is mount everest" } },
  { utterance: "look up the speed of light", intent: "tools.lookup", fields: { query: "the speed of light" } },
  { utterance: "what is", intent: "tools.lookup", fields: {} },
  { utterance: "look up", intent: "tools.lookup", fields: {} },
  // tools.time: timezone (optional)
  { utterance: "what time is it", intent: "tools.time", fields: {} },
  { utterance: "What's the date today?", intent: "tools.time", fields: {} },
  { utterance: "what time is it in Tokyo", intent: "tools.time", fields: { timezone: "Asia/Tokyo" } },
  { utterance: "current time in New York", intent: "tools.time", fields: { timezone: "America/New_York" } },
  // tools.convert: value, from_unit, to_unit
  {
    utterance: "convert 5 km to miles",
    intent: "tools.convert",
    fields: { value: "5", from_unit: "km", to_unit: "mi" },
  },
  {
    utterance: "how many pounds is 3 kg",
    intent: "tools.convert",
    fields: { value: "3", from_unit: "kg", to_unit: "lb" },
  },
  {
    utterance: "how many feet are in a mile?",
    intent: "tools.convert",
    fields: { value: "1", from_unit: "mi", to_unit: "ft" },
  },
  {
    utterance: "convert -40°F to degrees celsius",
    intent: "tools.convert",
    fields: { value: "-40", from_unit: "f", to_unit: "c" },
  },
  {
    utterance: "what is 2.50 litres in gallons",
    intent: "tools.convert",
    fields: { value: "2.5", from_unit: "l", to_unit: "gal" },
  },
  { utterance: "convert 5 km", intent: "tools.convert", fields: { value: "5", from_unit: "km" } },
  { utterance: "convert 5 to miles", intent: "tools.convert", fields: { value: "5", to_unit: "mi" } },
  { utterance: "convert km to miles", intent: "tools.convert", fields: { from_unit: "km", to_unit: "mi" } },
  { utterance: "convert 5", intent: "tools.convert", fields: { value: "5" } },
  { utterance: "how many ounces", intent: "tools.convert", fields: { to_unit: "oz" } },
  { utterance: "convert", intent: "tools.convert", fields: {} },
  // calc.evaluate: expression
  { utterance: "what is 12 * 7", intent: "calc.evaluate", fields: { expression: "12 * 7" } },
  { utterance: "calculate (3 + 4) / 2", intent: "calc.evaluate", fields: { expression: "(3 + 4) / 2" } },
  { utterance: "what's 3 plus 4 times 2?", intent: "calc.evaluate", fields: { expression: "3 + 4 * 2" } },
  { utterance: "2+2=", intent: "calc.evaluate", fields: { expression: "2+2" } },
  { utterance: "calculate", intent: "calc.evaluate", fields: {} },
  { utterance: "calculate the tip", intent: "calc.evaluate", fields: {} },
  // notes.add: text; notes.count: nothing (the example notes engine, from the phrase book alone)
  { utterance: "take a note buy milk", intent: "notes.add", fields: { text: "buy milk" } },
  {
    utterance: "Make a note that the plumber comes at 9.",
    intent: "notes.add",
    fields: { text: "the plumber comes at 9" },
  },
  { utterance: "take a note", intent: "notes.add", fields: {} },
  { utterance: "how many notes do I have?", intent: "notes.count", fields: {} },
];

function understood(utterance: string): Understanding {
  const result = understand(utterance);
  if (result === undefined) expect.fail(`"${utterance}" was not understood`);
  return result;
}

function expectValid(message: Understanding): void {
  const result = validator.validate(UnderstandingSchema, message);
  expect(result.kind, result.kind === "invalid" ? result.error.message : "").to.equal("valid");
}

describe("nlp understand", () => {
  for (const { utterance, intent, fields } of CASES) {
    const missing = requiredFields(intent).filter((name) => fields[name] === undefined);
    it(`reads "${utterance}" as ${intent} missing [${missing.join(", ")}]`, () => {
      const result = understood(utterance);
      expect(result.intent).to.equal(intent);
      expect(result.fields).to.deep.equal(fields);
      expect(result.missingFields).to.deep.equal(missing);
      expect(result.clarifications.map((c) => [c.intent, c.missingField])).to.deep.equal(
        missing.map((name) => [intent, name]),
      );
      for (const clarify of result.clarifications) {
        const question = policyQuestion(intent, clarify.missingField)!;
        expect(clarify.question).to.equal(question.text);
        expect(clarify.exampleAnswers).to.deep.equal(question.examples);
        expect(clarify.exampleAnswers.length).to.be.within(2, 3);
      }
      const required = requiredFields(intent).length;
      const expected =
        missing.length === 0
          ? CONFIDENCE.complete
          : missing.length === required && required >= 2
            ? CONFIDENCE.bare
            : CONFIDENCE.partial;
      expect(result.confidence).to.equal(expected);
      expectValid(result);
    });
  }

  it("covers every intent and every single missing required field in its cases", () => {
    for (const intent of INTENTS) {
      const intentCases = CASES.filter((c) => c.intent === intent);
      expect(intentCases.some((c) => requiredFields(intent).every((f) => c.fields[f] !== undefined))).to.equal(true);
      for (const field of requiredFields(intent)) {
        expect(
          intentCases.some((c) => c.fields[field] === undefined),
          `${intent}/${field}`,
        ).to.equal(true);
      }
    }
  });

  describe("determinism", () => {
    it("gives identical bytes for the same utterance twice", () => {
      for (const { utterance } of CASES) {
        expect(toBinary(UnderstandingSchema, understood(utterance))).to.deep.equal(
          toBinary(UnderstandingSchema, understood(utterance)),
        );
      }
    });

    for (const [a, b] of [
      ["  WHAT TIME IS IT   in tokyo ?? ", "what time is it in Tokyo"],
      ["Remind   me to stretch!", "remind me to stretch"],
      ["REMIND ME TO stretch AT 5PM", "remind me to stretch at 5 pm"],
      ["Convert 5 KM to Miles.", "convert 5km to miles"],
      ["please remind me to stretch", "remind me to stretch please"],
    ] as const) {
      it(`gives identical bytes for "${a}" and "${b}" when they differ only in case, spacing or punctuation`, () => {
        expect(toBinary(UnderstandingSchema, understood(a))).to.deep.equal(
          toBinary(UnderstandingSchema, understood(b)),
        );
      });
    }

    it("lists missing fields and clarifications in the intent's priority order", () => {
      const result = understood("convert");
      expect(result.missingFields).to.deep.equal(["value", "from_unit", "to_unit"]);
      expect(result.clarifications.map((c) => c.missingField)).to.deep.equal(["value", "from_unit", "to_unit"]);
    });
  });

  describe("precedence", () => {
    for (const [utterance, intent] of [
      ["remind me to ask what time it is", "reminders.create"],
      ["remind me to convert 5 km to miles", "reminders.create"],
      ["cancel reminder r-1", "reminders.cancel"],
      ["text Bob what is 12 * 7", "messages.send"],
      ["what time is it", "tools.time"],
      ["what is 5 km in miles", "tools.convert"],
      ["what is 12 * 7", "calc.evaluate"],
      ["what is the height of K2", "tools.lookup"],
    ] as const) {
      it(`picks ${intent} for "${utterance}" when several rules could match`, () => {
        expect(understood(utterance).intent).to.equal(intent);
      });
    }

    it("lists every intent once in the phrase book", () => {
      expect(new Set(INTENTS).size).to.equal(INTENTS.length);
      expect(INTENTS).to.include.members(["calc.evaluate", "notes.add", "reminders.create", "tools.lookup"]);
    });
  });

  for (const utterance of ["", "   ", "?!", "hello there", "how are you", "what time is it in Atlantis", "please"]) {
    it(`returns undefined when nothing matches "${utterance}"`, () => {
      expect(understand(utterance)).to.equal(undefined);
    });
  }

  describe("time expressions", () => {
    for (const [expression, when] of [
      ["at 9am", "09:00"],
      ["at 9:30 p.m.", "21:30"],
      ["at 12am", "00:00"],
      ["at noon", "12:00"],
      ["at 5", "05:00"],
      ["17:45", "17:45"],
      ["tomorrow at 5pm", "tomorrow 17:00"],
      ["at 5pm tomorrow", "tomorrow 17:00"],
      ["tonight", "today 20:00"],
      ["tonight at 9", "today 21:00"],
      ["on monday", "monday"],
      ["for friday 8am", "friday 08:00"],
      ["in 20 minutes", "+PT20M"],
      ["in five hours", "+PT5H"],
      ["in half an hour", "+PT30M"],
      ["in 3 days", "+P3D"],
      ["in a week", "+P1W"],
    ] as const) {
      it(`normalises "${expression}" to "${when}"`, () => {
        expect(parseTimeExpression(expression.split(" "))).to.equal(when);
      });
    }

    for (const expression of ["5", "at 13pm", "at 24:00", "at 9:60", "in 0 minutes", "in 10000 minutes", "on 5pm"]) {
      it(`rejects "${expression}" when it is outside the grammar`, () => {
        expect(parseTimeExpression(expression.split(" "))).to.equal(undefined);
      });
    }
  });

  describe("limits", () => {
    it("drops a field longer than the contract allows so that it is asked for", () => {
      const result = understood(`remind me to ${"a".repeat(MAX_FIELD_CHARS + 1)} at 5pm`);
      expect(result.fields).to.deep.equal({ when: "17:00" });
      expect(result.missingFields).to.deep.equal(["text"]);
      expectValid(result);
    });

    it("keeps a field of exactly the maximum length", () => {
      const text = "é".repeat(MAX_FIELD_CHARS);
      expect(understood(`remind me to ${text} at 5pm`).fields.text).to.equal(text);
    });

    it("finishes adversarial 4096-character utterances without backtracking blow-up", function () {
      // A catastrophic regex would take seconds or more: the timeout is the assertion.
      this.timeout(2000);
      const fill = (prefix: string, unit: string, suffix = "") =>
        prefix + unit.repeat(Math.ceil(4096 / unit.length)).slice(0, 4096 - prefix.length - suffix.length) + suffix;
      const adversarial = [
        fill("remind me to ", "at "),
        fill("what is ", "("),
        fill("", "1+"),
        fill("", "9", "!"),
        fill("send a message to ", "saying "),
        fill("convert ", "5 "),
        fill("", "9:"),
        fill("", "'"),
        fill("", " \t\n"),
        fill("", "a", "?"),
        fill("remind me ", "in 1 "),
        fill("what time is it in ", "x "),
        fill("text ", "Bob"),
        fill("", "remind me to "),
        fill("calculate ", "(1 + "),
        fill("how many ", "feet in "),
      ];
      for (const utterance of adversarial) {
        expect(utterance.length).to.equal(4096);
        const result = understand(utterance);
        if (result !== undefined) expectValid(result);
      }
    });
  });

  describe("intent fields", () => {
    it("has a clarify question with 2-3 examples for every required field", () => {
      for (const intent of INTENTS) {
        for (const field of requiredFields(intent)) {
          expect(policyQuestion(intent, field)?.examples.length, `${intent}/${field}`).to.be.within(2, 3);
        }
      }
    });

    it("names every intent as a capability the contract accepts", () => {
      for (const intent of INTENTS) expect(intent).to.match(/^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$/);
    });
  });
});
