/**
 * The fields of every intent the NLP engine recognises. Each intent is also the name of the
 * capability that serves it; `required` is the capability's blocking fields in the clarify
 * policy (policy/clarify.json), highest priority first, which is the order of `missing_fields`
 * and of the clarify questions.
 */
import { blockingFieldNames, projectClarifyPolicy } from "../../runtime/policy/clarify-policy.js";

/** The names of the intents the NLP engine recognises, sorted. */
export const INTENTS = [
  "calc.evaluate",
  "messages.send",
  "reminders.cancel",
  "reminders.create",
  "tools.convert",
  "tools.lookup",
  "tools.time",
] as const;

/** One intent the NLP engine recognises (and the capability that serves it). */
export type Intent = (typeof INTENTS)[number];

/** The fields of one intent. */
export interface IntentFieldSpec {
  /** Fields the intent needs, highest clarify priority first. */
  readonly required: readonly string[];
  /** Fields the intent may carry but never asks for. */
  readonly optional: readonly string[];
}

/** Fields an intent may carry but never asks for. */
const OPTIONAL: Readonly<Record<Intent, readonly string[]>> = {
  "calc.evaluate": [],
  "messages.send": [],
  "reminders.cancel": [],
  "reminders.create": [],
  "tools.convert": [],
  "tools.lookup": [],
  "tools.time": ["timezone"],
};

/** Required fields (in priority order, from the clarify policy) and optional fields, per intent. */
export const INTENT_FIELDS: Readonly<Record<Intent, IntentFieldSpec>> = Object.freeze(
  Object.fromEntries(
    INTENTS.map((intent) => [
      intent,
      Object.freeze({ required: blockingFieldNames(projectClarifyPolicy(), intent), optional: OPTIONAL[intent] }),
    ]),
  ) as Record<Intent, IntentFieldSpec>,
);
