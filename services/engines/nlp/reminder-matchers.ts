/**
 * Matchers of the reminder intents. A matcher returns the fields it found (possibly none) when
 * the utterance is of its intent, and undefined when it is not.
 *
 * reminders.create: ("remind me" | "set a reminder" | "set reminder" | "create a reminder" |
 *   "add a reminder" | "new reminder" | "reminder") then either a time expression first
 *   ("remind me tomorrow at 9am to call mom") or the text with an optional time expression at
 *   its end ("remind me to call mom at 5pm"). Linking words "to", "about", "that", "of" before
 *   the text are dropped.
 * reminders.cancel: ("cancel" | "delete" | "remove") ["the" | "my"] "reminder" ["id" | "number"]
 *   then one id token such as "r-42", kept as written ("#42" gives "42").
 */
import { findTimePrefix, findTimeSuffix } from "./time-expression.js";
import { joinText, keyIn, matchPhrase, type Token } from "./tokenize-utterance.js";

const CREATE_HEADS = [
  ["remind", "me"],
  ["set", "a", "reminder"],
  ["set", "reminder"],
  ["create", "a", "reminder"],
  ["add", "a", "reminder"],
  ["new", "reminder"],
  ["reminder"],
] as const;
const TEXT_LINKS = new Set(["to", "about", "that", "of"]);

const CANCEL_VERBS = [["cancel"], ["delete"], ["remove"]] as const;
const CANCEL_OBJECTS = [["the", "reminder"], ["my", "reminder"], ["reminder"]] as const;
const ID_WORDS = new Set(["id", "number", "no"]);
// One id token: bounded length, no nested quantifiers.
const REMINDER_ID = /^#?([A-Za-z0-9][A-Za-z0-9._-]{0,63})$/;

/** Matches reminders.create; fields `text` and `when`. */
export function matchReminderCreate(tokens: readonly Token[]): Record<string, string> | undefined {
  const head = matchPhrase(tokens, 0, CREATE_HEADS);
  if (head === 0) return undefined;
  const rest = tokens.slice(head);
  const keys = rest.map((token) => token.key);
  const fields: Record<string, string> = {};

  // A leading time expression, then nothing or a linking word and the text.
  const leading = findTimePrefix(keys, 0);
  if (leading !== undefined && (leading.end === rest.length || TEXT_LINKS.has(keys[leading.end]!))) {
    fields.when = leading.when;
    addText(fields, rest.slice(leading.end + 1));
    return fields;
  }

  const body = keyIn(rest, 0, TEXT_LINKS) ? rest.slice(1) : rest;
  const trailing = findTimeSuffix(body.map((token) => token.key));
  if (trailing !== undefined) {
    fields.when = trailing.when;
    addText(fields, body.slice(0, trailing.start));
  } else {
    addText(fields, body);
  }
  return fields;
}

/** Matches reminders.cancel; field `reminder_id`. */
export function matchReminderCancel(tokens: readonly Token[]): Record<string, string> | undefined {
  const verb = matchPhrase(tokens, 0, CANCEL_VERBS);
  if (verb === 0) return undefined;
  const object = matchPhrase(tokens, verb, CANCEL_OBJECTS);
  if (object === 0) return undefined;
  let next = verb + object;
  if (keyIn(tokens, next, ID_WORDS)) next++;
  const fields: Record<string, string> = {};
  // Exactly one id token: anything else ("the reminder to call mom") leaves the id to clarify.
  if (tokens.length === next + 1) {
    // NFKC: a full-width id ("r-４２") is the same id as its ASCII spelling.
    const match = REMINDER_ID.exec(tokens[next]!.text.normalize("NFKC"));
    if (match !== null) fields.reminder_id = match[1]!;
  }
  return fields;
}

function addText(fields: Record<string, string>, tokens: readonly Token[]): void {
  const text = joinText(tokens);
  if (text !== "") fields.text = text;
}
