/**
 * The fixed clarify question, with example answers, for every required field of every intent.
 * Fixed text keeps clarifications byte-for-byte deterministic.
 */
import { create } from "@bufbuild/protobuf";
import { type Clarify, ClarifySchema } from "../../../gen/es/selene/kernel/v1/clarify_pb.js";
import { INTENT_FIELDS, type Intent } from "./intent-fields.js";

/** A question and its example answers. */
export interface ClarifyQuestion {
  /** The question asked. */
  readonly question: string;
  /** Two or three example answers. */
  readonly examples: readonly string[];
}

/** Questions per intent and required field; every required field in INTENT_FIELDS has one. */
export const CLARIFY_QUESTIONS: Readonly<Record<Intent, Readonly<Record<string, ClarifyQuestion>>>> = {
  "reminders.create": {
    text: { question: "What should I remind you about?", examples: ["call mom", "take out the trash", "stretch"] },
    when: { question: "When should I remind you?", examples: ["at 9am", "tomorrow at 5pm", "in 20 minutes"] },
  },
  "reminders.cancel": {
    reminder_id: { question: "Which reminder should I cancel?", examples: ["r-42", "r-7"] },
  },
  "messages.send": {
    recipient: { question: "Who should I send the message to?", examples: ["Ana", "Bob"] },
    body: { question: "What should the message say?", examples: ["I'm running late", "See you at noon"] },
  },
  "tools.lookup": {
    query: {
      question: "What would you like me to look up?",
      examples: ["What is the capital of France?", "Who wrote Hamlet?"],
    },
  },
  "tools.time": {},
  "tools.convert": {
    value: { question: "How much should I convert?", examples: ["5", "3.5", "100"] },
    from_unit: { question: "Which unit should I convert from?", examples: ["km", "kg", "Celsius"] },
    to_unit: { question: "Which unit should I convert to?", examples: ["miles", "pounds", "Fahrenheit"] },
  },
  "calc.evaluate": {
    expression: { question: "What should I calculate?", examples: ["12 * 7", "(3 + 4) / 2"] },
  },
};

/** Builds the Clarify message asking for one missing required field of an intent. */
export function clarifyFor(intent: Intent, field: string): Clarify {
  const entry = CLARIFY_QUESTIONS[intent][field];
  if (entry === undefined || !INTENT_FIELDS[intent].required.includes(field)) {
    throw new RangeError(`no clarify question for ${intent}/${field}`);
  }
  return create(ClarifySchema, {
    intent,
    missingField: field,
    question: entry.question,
    exampleAnswers: [...entry.examples],
  });
}
