/**
 * The NLP engine's understanding: a pure, rule-based function from an utterance to an
 * Understanding. The same utterance always gives the same message, byte for byte: fields are
 * inserted in sorted key order, missing fields and clarifications follow INTENT_FIELDS order,
 * and every number and text is fixed by the rules. What counts as missing (absent, empty,
 * invalid, ambiguous) and the questions are the clarify policy's, the rules the router applies.
 */
import { create } from "@bufbuild/protobuf";
import { type Understanding, UnderstandingSchema } from "../../../gen/es/selene/engine/v1/engine_pb.js";
import { projectClarifyPolicy } from "../../runtime/policy/clarify-policy.js";
import { missingBecause, questionFor } from "../../runtime/turn-decisions/clarify-rule.js";
import { INTENT_FIELDS, type Intent } from "./intent-fields.js";
import { INTENT_RULES } from "./intent-rules.js";
import { type Token, tokenizeUtterance } from "./tokenize-utterance.js";

/** Confidence of a match: nothing missing, something missing, or every one of two or more required fields missing. */
export const CONFIDENCE = Object.freeze({ complete: 0.95, partial: 0.7, bare: 0.5 });

/** Longest field value, in code points, that the contract accepts; longer values count as not supplied. */
export const MAX_FIELD_CHARS = 1024;

/** Reads an utterance; returns undefined when no rule matches (the server answers INTENT_NOT_UNDERSTOOD). */
export function understand(utterance: string): Understanding | undefined {
  const tokens = withoutPlease(tokenizeUtterance(utterance));
  if (tokens.length === 0) return undefined;
  for (const rule of INTENT_RULES) {
    const found = rule.match(tokens);
    if (found !== undefined) return buildUnderstanding(rule.intent, found);
  }
  return undefined;
}

function buildUnderstanding(intent: Intent, found: Readonly<Record<string, string>>): Understanding {
  const spec = INTENT_FIELDS[intent];
  const known = new Set([...spec.required, ...spec.optional]);
  const fields: Record<string, string> = {};
  // Sorted insertion order makes the map encode identically every time.
  for (const name of Object.keys(found).sort()) {
    const value = found[name]!;
    // A value the contract would reject is dropped, so the field is asked for instead of cut short.
    if (known.has(name) && value !== "" && codePoints(value) <= MAX_FIELD_CHARS) fields[name] = value;
  }
  const policy = projectClarifyPolicy();
  const rules = policy.capabilities.get(intent) ?? [];
  const missing = spec.required.filter(
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
    confidence: confidenceOf(spec.required.length, missing.length),
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
