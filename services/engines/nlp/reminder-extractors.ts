/**
 * Slot extractors of reminders (reminders.create and reminders.cancel in policy/nlp-phrases.json).
 * Both always match; what they cannot read is left missing.
 *
 * text_and_time, outputs `text` and `time`: either a time expression first ("remind me tomorrow
 *   at 9am to call mom") or the text with an optional time expression at its end ("remind me to
 *   call mom at 5pm"). Linking words "to", "about", "that", "of" before the text are dropped.
 * reference, output `id`: ["id" | "number" | "no"] then exactly one id token such as "r-42", kept
 *   as written ("#42" gives "42"); anything else ("the reminder to call mom") leaves it missing.
 */
import { findTimePrefix, findTimeSuffix } from "./time-expression.js";
import { joinText, keyIn, type Token } from "./tokenize-utterance.js";

const TEXT_LINKS = new Set(["to", "about", "that", "of"]);

const ID_WORDS = new Set(["id", "number", "no"]);
// One id token: bounded length, no nested quantifiers.
const ID_TOKEN = /^#?([A-Za-z0-9][A-Za-z0-9._-]{0,63})$/;

/** A text and a time, either first or last. */
export function extractTextAndTime(tokens: readonly Token[], start: number): Record<string, string> {
  const rest = tokens.slice(start);
  const keys = rest.map((token) => token.key);
  const fields: Record<string, string> = {};

  // A leading time expression, then nothing or a linking word and the text.
  const leading = findTimePrefix(keys, 0);
  if (leading !== undefined && (leading.end === rest.length || TEXT_LINKS.has(keys[leading.end]!))) {
    fields.time = leading.when;
    addText(fields, rest.slice(leading.end + 1));
    return fields;
  }

  const body = keyIn(rest, 0, TEXT_LINKS) ? rest.slice(1) : rest;
  const trailing = findTimeSuffix(body.map((token) => token.key));
  if (trailing !== undefined) {
    fields.time = trailing.when;
    addText(fields, body.slice(0, trailing.start));
  } else {
    addText(fields, body);
  }
  return fields;
}

/** One id token, after an optional "id", "number" or "no". */
export function extractReference(tokens: readonly Token[], start: number): Record<string, string> {
  let next = start;
  if (keyIn(tokens, next, ID_WORDS)) next++;
  const fields: Record<string, string> = {};
  // Exactly one id token: anything else ("the reminder to call mom") leaves the id to clarify.
  if (tokens.length === next + 1) {
    // NFKC: a full-width id ("r-４２") is the same id as its ASCII spelling.
    const match = ID_TOKEN.exec(tokens[next]!.text.normalize("NFKC"));
    if (match !== null) fields.id = match[1]!;
  }
  return fields;
}

function addText(fields: Record<string, string>, tokens: readonly Token[]): void {
  const text = joinText(tokens);
  if (text !== "") fields.text = text;
}
