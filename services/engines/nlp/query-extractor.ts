/**
 * Slot extractors of look-ups (tools.lookup in policy/nlp-phrases.json), output `query`: the token
 * keys joined by single spaces (lower case, no trailing punctuation). The tools engine's knowledge
 * base interprets it.
 *   query      after a command ("look up the speed of light"): the rest, "the speed of light"
 *   question   after a question head ("who wrote Hamlet?"): the whole question, "who wrote hamlet"
 * Nothing after the words leaves `query` missing; both always match.
 */
import { joinKeys, type Token } from "./tokenize-utterance.js";

/** The rest as a query. */
export function extractQuery(tokens: readonly Token[], start: number): Record<string, string> {
  return queryFields(joinKeys(tokens.slice(start)));
}

/** The whole utterance as a query, when something follows its head. */
export function extractQuestion(tokens: readonly Token[], start: number): Record<string, string> {
  return start === tokens.length ? {} : queryFields(joinKeys(tokens));
}

function queryFields(query: string): Record<string, string> {
  return query === "" ? {} : { query };
}
