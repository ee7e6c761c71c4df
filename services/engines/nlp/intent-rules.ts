/**
 * The rule table of the NLP engine: which matcher recognises which intent, in precedence order.
 */
import { matchCalc } from "./calc-matcher.js";
import { matchConvert } from "./convert-matcher.js";
import type { Intent } from "./intent-fields.js";
import { matchLookup } from "./lookup-matcher.js";
import { matchMessageSend } from "./message-matcher.js";
import { matchReminderCancel, matchReminderCreate } from "./reminder-matchers.js";
import { matchTime } from "./time-matcher.js";
import type { Token } from "./tokenize-utterance.js";

/** One rule: an intent and the matcher that recognises it (fields found, or undefined for no match). */
export interface IntentRule {
  /** The intent the rule recognises. */
  readonly intent: Intent;
  /** Returns the fields found when the utterance is of this intent, else undefined. */
  readonly match: (tokens: readonly Token[]) => Record<string, string> | undefined;
}

/**
 * The rules, tried in this order; the FIRST rule that matches decides the intent, whatever later
 * rules would say. The order is the precedence:
 *   1. Commands anchored on their verb, so words inside their free text never re-route them:
 *      reminders.cancel ("cancel reminder ...") before reminders.create ("remind me ..."; its
 *      text may say anything, even "remind me to ask what time it is"), then messages.send.
 *   2. Questions, most specific first: tools.time ("what time is it"), tools.convert
 *      ("what is 5 km in miles"), calc.evaluate ("what is 12 * 7"), and last tools.lookup, which
 *      takes any remaining "what/who/how tall ..." question.
 */
export const INTENT_RULES: readonly IntentRule[] = [
  { intent: "reminders.cancel", match: matchReminderCancel },
  { intent: "reminders.create", match: matchReminderCreate },
  { intent: "messages.send", match: matchMessageSend },
  { intent: "tools.time", match: matchTime },
  { intent: "tools.convert", match: matchConvert },
  { intent: "calc.evaluate", match: matchCalc },
  { intent: "tools.lookup", match: matchLookup },
];
