/**
 * Matcher of tools.lookup. A question head ("what is", "who wrote", "how tall is", ...) makes the
 * whole question the `query`; a command head ("look up", "search for", "tell me about") makes the
 * rest the `query`. The query is the token keys joined by single spaces (lower case, no trailing
 * punctuation): "Who wrote Hamlet?" -> "who wrote hamlet". The tools engine's knowledge base
 * interprets it. A head with nothing after it leaves `query` missing.
 */
import { joinKeys, matchPhrase, type Token } from "./tokenize-utterance.js";

// Longest first within a shared start; "how" only with the measures a fact can answer.
const QUESTION_HEADS = [
  ["how", "tall", "is"],
  ["how", "high", "is"],
  ["how", "long", "is"],
  ["how", "big", "is"],
  ["how", "far", "is"],
  ["how", "deep", "is"],
  ["how", "old", "is"],
  ["what", "is"],
  ["what", "are"],
  ["what", "was"],
  ["who", "is"],
  ["who", "was"],
  ["who", "wrote"],
  ["who", "painted"],
  ["who", "invented"],
  ["who", "discovered"],
  ["where", "is"],
  ["when", "was"],
  ["when", "did"],
  ["what's"],
  ["whats"],
  ["who's"],
  ["which"],
] as const;
const COMMAND_HEADS = [["tell", "me", "about"], ["search", "for"], ["look", "up"], ["lookup"]] as const;

/** Matches tools.lookup; field `query`. */
export function matchLookup(tokens: readonly Token[]): Record<string, string> | undefined {
  const command = matchPhrase(tokens, 0, COMMAND_HEADS);
  if (command > 0) return queryFields(joinKeys(tokens.slice(command)));
  const question = matchPhrase(tokens, 0, QUESTION_HEADS);
  if (question === 0) return undefined;
  return question === tokens.length ? {} : queryFields(joinKeys(tokens));
}

function queryFields(query: string): Record<string, string> {
  return query === "" ? {} : { query };
}
