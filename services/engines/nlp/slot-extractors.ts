/**
 * The slot extractors: the fixed set of ways the nlp engine reads the words after a phrase of
 * policy/nlp-phrases.json. A phrase book entry names one by its kind and maps each of its outputs
 * to a field of the capability; the grammars (times, numbers, units, expressions, free text) stay
 * code, and a new capability picks from these kinds.
 */
import { extractConversion, extractConversionQuestion, extractExactConversion } from "./conversion-extractor.js";
import { extractExpression, extractStrictExpression } from "./expression-extractor.js";
import { extractRecipientAndBody, extractRecipientThenMessage } from "./message-extractor.js";
import { extractQuery, extractQuestion } from "./query-extractor.js";
import { extractReference, extractTextAndTime } from "./reminder-extractors.js";
import { extractTimeZone } from "./time-zone-extractor.js";
import { joinText, type Token } from "./tokenize-utterance.js";

/** One kind of extractor. */
export interface SlotExtractor {
  /** The outputs it may fill; a phrase book entry maps every one of them to a field. */
  readonly outputs: readonly string[];
  /**
   * Reads the tokens from `start` (just past the phrases; the whole utterance is there for the
   * kinds that quote it): the outputs found, possibly none, or undefined when the utterance is not
   * of this shape and the capability's entry does not match.
   */
  readonly extract: (tokens: readonly Token[], start: number) => Readonly<Record<string, string>> | undefined;
}

/** The rest as written, spaces collapsed; nothing leaves `text` missing. Always matches. */
function extractFreeText(tokens: readonly Token[], start: number): Record<string, string> {
  const text = joinText(tokens.slice(start));
  return text === "" ? {} : { text };
}

/** Matches only when nothing follows the phrases. */
function extractNothing(tokens: readonly Token[], start: number): Record<string, string> | undefined {
  return start === tokens.length ? {} : undefined;
}

/** The extractors by kind, the names the phrase book uses. */
export const SLOT_EXTRACTORS: ReadonlyMap<string, SlotExtractor> = new Map<string, SlotExtractor>([
  ["conversion", { outputs: ["value", "from_unit", "to_unit"], extract: extractConversion }],
  ["conversion_question", { outputs: ["value", "from_unit", "to_unit"], extract: extractConversionQuestion }],
  ["exact_conversion", { outputs: ["value", "from_unit", "to_unit"], extract: extractExactConversion }],
  ["expression", { outputs: ["expression"], extract: extractExpression }],
  ["strict_expression", { outputs: ["expression"], extract: extractStrictExpression }],
  ["free_text", { outputs: ["text"], extract: extractFreeText }],
  ["nothing", { outputs: [], extract: extractNothing }],
  ["query", { outputs: ["query"], extract: extractQuery }],
  ["question", { outputs: ["query"], extract: extractQuestion }],
  ["recipient_and_body", { outputs: ["recipient", "body"], extract: extractRecipientAndBody }],
  ["recipient_then_message", { outputs: ["recipient", "body"], extract: extractRecipientThenMessage }],
  ["reference", { outputs: ["id"], extract: extractReference }],
  ["text_and_time", { outputs: ["text", "time"], extract: extractTextAndTime }],
  ["time_zone", { outputs: ["timezone"], extract: extractTimeZone }],
]);
