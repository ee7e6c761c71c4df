/**
 * The NLP engine's understanding: a pure, rule-based function from an utterance to an
 * Understanding, by the phrase book (policy/nlp-phrases.json). The same utterance always gives the
 * same message, byte for byte: fields are inserted in sorted key order, missing fields and
 * clarifications follow the clarify policy's priority, and every number and text is fixed by the
 * extractors. The required fields of a capability are its blocking fields in the clarify policy;
 * what counts as missing (absent, empty, invalid, ambiguous) and the questions are the policy's,
 * the rules the router applies.
 */
import { create } from "@bufbuild/protobuf";
import { type Understanding, UnderstandingSchema } from "../../../gen/es/selene/engine/v1/engine_pb.js";
import { blockingFieldNames, projectClarifyPolicy } from "../../runtime/policy/clarify-policy.js";
import { missingBecause, questionFor } from "../../runtime/turn-decisions/clarify-rule.js";
import { type PhraseBook, type PhrasePattern, type PhraseRule, projectPhraseBook } from "./phrase-book.js";
import { matchPhrase, type Token, tokenizeUtterance } from "./tokenize-utterance.js";

/** Confidence of a match: nothing missing, something missing, or every one of two or more required fields missing. */
export const CONFIDENCE = Object.freeze({ complete: 0.95, partial: 0.7, bare: 0.5 });

/** Longest field value, in code points, that the contract accepts; longer values count as not supplied. */
export const MAX_FIELD_CHARS = 1024;

/** Reads an utterance; returns undefined when no rule matches (the server answers INTENT_NOT_UNDERSTOOD). */
export function understand(utterance: string, book: PhraseBook = projectPhraseBook()): Understanding | undefined {
  const tokens = withoutPlease(tokenizeUtterance(utterance));
  if (tokens.length === 0) return undefined;
  for (const rule of book.rules) {
    const found = matchRule(rule, tokens);
    if (found !== undefined) return buildUnderstanding(rule.capability, found);
  }
  return undefined;
}

/** The fields of `rule`'s first pattern whose phrases match, or undefined when none does or its extractor refuses. */
function matchRule(rule: PhraseRule, tokens: readonly Token[]): Record<string, string> | undefined {
  for (const pattern of rule.patterns) {
    const next = phrasesEnd(pattern.phrases, tokens);
    if (next === undefined) continue;
    // The first pattern whose phrases match decides, whatever later patterns would say.
    const outputs = pattern.extractor.extract(tokens, next);
    if (outputs === undefined) return undefined;
    const found: Record<string, string> = {};
    for (const [field, output] of pattern.slots) {
      const value = outputs[output];
      if (value !== undefined) found[field] = value;
    }
    return found;
  }
  return undefined;
}

/** The index just past the phrases, every group matched in sequence from the first word; undefined when one does not. */
function phrasesEnd(phrases: PhrasePattern["phrases"], tokens: readonly Token[]): number | undefined {
  let next = 0;
  for (const group of phrases) {
    const length = matchPhrase(tokens, next, group);
    if (length === 0) return undefined;
    next += length;
  }
  return next;
}

function buildUnderstanding(intent: string, found: Readonly<Record<string, string>>): Understanding {
  const fields: Record<string, string> = {};
  // Sorted insertion order makes the map encode identically every time.
  for (const name of Object.keys(found).sort()) {
    const value = found[name]!;
    // A value the contract would reject is dropped, so the field is asked for instead of cut short.
    if (value !== "" && codePoints(value) <= MAX_FIELD_CHARS) fields[name] = value;
  }
  const policy = projectClarifyPolicy();
  const rules = policy.capabilities.get(intent) ?? [];
  const required = blockingFieldNames(policy, intent);
  const missing = required.filter(
    (name) =>
      missingBecause(
        name,
        fields,
        new Set(),
        rules.find((rule) => rule.field === name),
      ) !== undefined,
  );
  return create(UnderstandingSchema, {
    intent,
    fields,
    confidence: confidenceOf(required.length, missing.length),
    missingFields: missing,
    clarifications: missing.map((name) => questionFor(policy, intent, name)),
  });
}

function confidenceOf(required: number, missing: number): number {
  if (missing === 0) return CONFIDENCE.complete;
  return missing === required && required >= 2 ? CONFIDENCE.bare : CONFIDENCE.partial;
}

// "please" at either end changes nothing: "please remind me to stretch", "what time is it please".
function withoutPlease(tokens: readonly Token[]): readonly Token[] {
  const start = tokens[0]?.key === "please" ? 1 : 0;
  const end = tokens.length > start && tokens[tokens.length - 1]!.key === "please" ? tokens.length - 1 : tokens.length;
  return tokens.slice(start, end);
}

function codePoints(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}
