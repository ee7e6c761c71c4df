/**
 * The fields of every intent the NLP engine recognises. Each intent is also the name of the
 * capability that serves it; `required` is in clarify priority order (highest first), which is
 * the order of `missing_fields` and of the clarify questions, and what Describe publishes as a
 * capability's `required_fields`.
 */

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

/** Required fields (in priority order) and optional fields, per intent. */
export const INTENT_FIELDS: Readonly<Record<Intent, IntentFieldSpec>> = Object.freeze({
  "reminders.create": { required: ["text", "when"], optional: [] },
  "reminders.cancel": { required: ["reminder_id"], optional: [] },
  "messages.send": { required: ["recipient", "body"], optional: [] },
  "tools.lookup": { required: ["query"], optional: [] },
  "tools.time": { required: [], optional: ["timezone"] },
  "tools.convert": { required: ["value", "from_unit", "to_unit"], optional: [] },
  "calc.evaluate": { required: ["expression"], optional: [] },
});
