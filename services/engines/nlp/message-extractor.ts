/**
 * Slot extractors of messages (messages.send in policy/nlp-phrases.json), outputs `recipient` and
 * `body`:
 *   recipient_and_body      ["to"] recipient [("saying" | "that") body]      always matches
 *                           ... recipient":" body ("text Bob: running late")
 *   recipient_then_message  recipient ("a message" | "a text") [("saying" | "that")] [body]
 *                           ("send Ana a message saying hi"); no match without "a message"
 * Without a separator, a rest of up to three words is all recipient ("text Ana Maria"); a longer
 * rest is read as one-word recipient then body ("text Bob I'm late").
 */
import { joinText, keyIn, type Token } from "./tokenize-utterance.js";

const MESSAGE_NOUNS = new Set(["message", "text"]);
const SEPARATORS = new Set(["saying", "that"]);
const TO = new Set(["to"]);
const MAX_RECIPIENT_WORDS = 3;
// "send <recipient> a message": how many words the recipient may have.
const MAX_SEND_GAP = 4;

/** Recipient and body after an optional "to". */
export function extractRecipientAndBody(tokens: readonly Token[], start: number): Record<string, string> {
  return splitRecipientAndBody(tokens.slice(keyIn(tokens, start, TO) ? start + 1 : start));
}

/** A recipient of up to MAX_SEND_GAP words, then "a message" or "a text", then the body. */
export function extractRecipientThenMessage(
  tokens: readonly Token[],
  start: number,
): Record<string, string> | undefined {
  for (let i = start + 1; i <= start + MAX_SEND_GAP && i + 1 < tokens.length; i++) {
    if (tokens[i]!.key === "a" && MESSAGE_NOUNS.has(tokens[i + 1]!.key)) {
      const fields: Record<string, string> = {};
      addRecipient(fields, tokens.slice(start, i));
      const rest = tokens.slice(i + 2);
      if (keyIn(rest, 0, SEPARATORS)) addBody(fields, rest.slice(1));
      else addBody(fields, rest);
      return fields;
    }
  }
  return undefined;
}

function splitRecipientAndBody(rest: readonly Token[]): Record<string, string> {
  const fields: Record<string, string> = {};
  for (let i = 0; i < rest.length; i++) {
    const token = rest[i]!;
    if (SEPARATORS.has(token.key)) {
      addRecipient(fields, rest.slice(0, i));
      addBody(fields, rest.slice(i + 1));
      return fields;
    }
    if (token.text.endsWith(":")) {
      addRecipient(fields, rest.slice(0, i + 1));
      addBody(fields, rest.slice(i + 1));
      return fields;
    }
  }
  if (rest.length <= MAX_RECIPIENT_WORDS) {
    addRecipient(fields, rest);
  } else {
    addRecipient(fields, rest.slice(0, 1));
    addBody(fields, rest.slice(1));
  }
  return fields;
}

function addRecipient(fields: Record<string, string>, tokens: readonly Token[]): void {
  const recipient = joinText(tokens);
  if (recipient !== "") fields.recipient = recipient;
}

function addBody(fields: Record<string, string>, tokens: readonly Token[]): void {
  const body = joinText(tokens);
  if (body !== "") fields.body = body;
}
