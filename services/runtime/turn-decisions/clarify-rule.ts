/**
 * The clarify rule: when an intent lacks required fields, exactly one question
 * is asked, for the highest-priority missing field. Priority is the order of the
 * serving capability's required_fields, as its engine publishes them in
 * Describe (the engine that performs the action knows what it needs most);
 * missing fields it does not list come after, in byte order of their names. The
 * question is the NLP engine's Clarify for that field, or a fixed fallback. The
 * same Understanding gives the same question whatever order its lists arrive in.
 */
import { create } from "@bufbuild/protobuf";
import type { Understanding } from "../../../gen/es/selene/engine/v1/engine_pb.js";
import { type Clarify, ClarifySchema } from "../../../gen/es/selene/kernel/v1/clarify_pb.js";

function byteOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The one field to ask about, or undefined when nothing is missing. */
export function highestPriorityMissing(
  missing: readonly string[],
  requiredFields: readonly string[],
): string | undefined {
  const rank = (field: string) => {
    const index = requiredFields.indexOf(field);
    return index < 0 ? requiredFields.length : index;
  };
  return [...new Set(missing)].sort((a, b) => rank(a) - rank(b) || byteOrder(a, b))[0];
}

/** The clarify question for `understanding`, or undefined when no field is missing. */
export function chooseClarify(understanding: Understanding, requiredFields: readonly string[]): Clarify | undefined {
  const field = highestPriorityMissing(understanding.missingFields, requiredFields);
  if (field === undefined) return undefined;
  const fromNlp = understanding.clarifications
    .filter((c) => c.missingField === field)
    .sort((a, b) => byteOrder(a.question, b.question))[0];
  return create(ClarifySchema, {
    intent: understanding.intent,
    missingField: field,
    question: fromNlp?.question ?? `What is the ${field.replaceAll("_", " ")}?`,
    exampleAnswers: fromNlp?.exampleAnswers ?? [],
  });
}
