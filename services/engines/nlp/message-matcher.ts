/**
 * Matcher of messages.send. Accepted shapes:
 *   ("send a message" | "send a text" | "send message" | "send text" | "message" | "text")
 *     ["to"] recipient [("saying" | "that") body]
 *   "send" recipient ("a message" | "a text") [("saying" | "that") body]
 *   ... recipient":" body            ("text Bob: running late")
 * Without a separator, a rest of up to three words is all recipient ("text Ana Maria"); a longer
 * rest is read as one-word recipient then body ("text Bob I'm late").
 */
import { joinText, keyIn, matchPhrase, type Token } from "./tokenize-utterance.js";

const HEADS = [
  ["send", "a", "message"],
  ["send", "a", "text"],
  ["send", "message"],
  ["send", "text"],
  ["message"],
  ["text"],
] as const;
const MESSAGE_NOUNS = new Set(["message", "text"]);
const SEPARATORS = new Set(["saying", "that"]);
const TO = new Set(["to"]);
const MAX_RECIPIENT_WORDS = 3;
// "send <recipient> a message": how far to look for "a message" after "send".
const MAX_SEND_GAP = 4;

/** Matches messages.send; fields `recipient` and `body`. */
export function matchMessageSend(tokens: readonly Token[]): Record<string, string> | undefined {
  const head = matchPhrase(tokens, 0, HEADS);
  if (head > 0) {
    const start = keyIn(tokens, head, TO) ? head + 1 : head;
    return splitRecipientAndBody(tokens.slice(start));
  }
  if (tokens[0]?.key !== "send") return undefined;
  for (let i = 2; i <= 1 + MAX_SEND_GAP && i + 1 < tokens.length; i++) {
    if (tokens[i]!.key === "a" && MESSAGE_NOUNS.has(tokens[i + 1]!.key)) {
      const fields: Record<string, string> = {};
      addRecipient(fields, tokens.slice(1, i));
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
