/**
 * The clarify rule: when an intent lacks a field that blocks it, exactly one question is asked,
 * for the highest-priority missing field. Everything the rule knows comes from the clarify policy
 * (policy/clarify.json, docs/CLARIFY.md):
 *   - the candidates: the capability's blocking fields, the required fields its engine publishes
 *     in Describe, and the fields the understanding itself reports missing;
 *   - a candidate is missing when it is absent, empty, invalid (its normalised value fails the
 *     field's valid_pattern) or ambiguous (its normalised value is listed ambiguous), or when the
 *     understanding reports it missing;
 *   - priority: the policy's order; fields it does not list come after, in byte order of names;
 *   - the question: the policy's text for the field and locale (the default locale when the
 *     locale has none); an unlisted field gets the policy's fallback question.
 * Nothing depends on the order of lists or maps in the understanding, on time or on the host.
 */
import { create } from "@bufbuild/protobuf";
import type { Understanding } from "../../../gen/es/selene/engine/v1/engine_pb.js";
import { type Clarify, ClarifySchema } from "../../../gen/es/selene/kernel/v1/clarify_pb.js";
import { type BlockingField, type ClarifyPolicy, normalizeFieldValue } from "../policy/clarify-policy.js";

/** Why a field counts as missing. */
export type MissingBecause = "absent" | "empty" | "invalid" | "ambiguous" | "reported";

/** The field to ask about and why. */
export interface MissingField {
  readonly field: string;
  readonly because: MissingBecause;
}

function byteOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Why `field` is missing from `fields`, or undefined when its value is usable. */
export function missingBecause(
  field: string,
  fields: Readonly<Record<string, string>>,
  reported: ReadonlySet<string>,
  rule: BlockingField | undefined,
): MissingBecause | undefined {
  const value = Object.hasOwn(fields, field) ? fields[field] : undefined;
  if (value === undefined) return "absent";
  const normalized = normalizeFieldValue(value);
  if (normalized === "") return "empty";
  if (rule?.validPattern !== undefined && !rule.validPattern.test(normalized)) return "invalid";
  if (rule?.ambiguous.has(normalized)) return "ambiguous";
  return reported.has(field) ? "reported" : undefined;
}

/** The one field to ask about for `understanding`, or undefined when nothing blocks it. */
export function highestPriorityMissing(
  policy: ClarifyPolicy,
  understanding: Pick<Understanding, "intent" | "fields" | "missingFields">,
  requiredFields: readonly string[],
): MissingField | undefined {
  const listed = policy.capabilities.get(understanding.intent) ?? [];
  const reported = new Set(understanding.missingFields);
  const rank = (field: string) => {
    const index = listed.findIndex((rule) => rule.field === field);
    return index < 0 ? listed.length : index;
  };
  const candidates = [...new Set([...listed.map((rule) => rule.field), ...requiredFields, ...reported])].sort(
    (a, b) => rank(a) - rank(b) || byteOrder(a, b),
  );
  for (const field of candidates) {
    const because = missingBecause(
      field,
      understanding.fields,
      reported,
      listed.find((rule) => rule.field === field),
    );
    if (because !== undefined) return { field, because };
  }
  return undefined;
}

/** The question for `field` of `capability` in `locale`, from the policy. */
export function questionFor(policy: ClarifyPolicy, capability: string, field: string, locale?: string): Clarify {
  const rule = (policy.capabilities.get(capability) ?? []).find((r) => r.field === field);
  const wanted = locale ?? policy.defaultLocale;
  if (rule !== undefined) {
    const text = rule.questions.get(wanted) ?? rule.questions.get(policy.defaultLocale)!;
    return create(ClarifySchema, {
      intent: capability,
      missingField: field,
      question: text.text,
      exampleAnswers: [...text.examples],
    });
  }
  const template = policy.fallbackQuestion.get(wanted) ?? policy.fallbackQuestion.get(policy.defaultLocale)!;
  return create(ClarifySchema, {
    intent: capability,
    missingField: field,
    question: template.split("{field}").join(field.replaceAll("_", " ")),
  });
}

/** The question to ask and why its field counts as missing. */
export interface ClarifyChoice {
  readonly clarify: Clarify;
  readonly because: MissingBecause;
}

/** The clarify question for `understanding`, or undefined when no field blocks it. */
export function chooseClarify(
  policy: ClarifyPolicy,
  understanding: Pick<Understanding, "intent" | "fields" | "missingFields">,
  requiredFields: readonly string[],
  locale?: string,
): ClarifyChoice | undefined {
  const missing = highestPriorityMissing(policy, understanding, requiredFields);
  if (missing === undefined) return undefined;
  return { clarify: questionFor(policy, understanding.intent, missing.field, locale), because: missing.because };
}
