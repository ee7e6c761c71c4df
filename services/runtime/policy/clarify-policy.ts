/**
 * The clarify policy (policy/clarify.json, docs/CLARIFY.md): per capability the fields that block
 * it, highest priority first; what makes a supplied value count as missing (empty, invalid,
 * ambiguous); the question and example answers per field and locale; the tie-break for fields no
 * rule lists; and the question asked for those. Read and checked here only, once per process; the
 * router's clarify rule and the nlp engine use what this returns, and the Python calc engine reads
 * the same file (services/engines/python-sdk/selene_engine/clarify_policy.py).
 */
import {
  checkedWithLines,
  objectAt,
  onlyKeys,
  PolicyError,
  policyPath,
  readPolicyFile,
  stringAt,
} from "./policy-file.js";

/** A question and its example answers, in one locale. */
export interface ClarifyText {
  readonly text: string;
  readonly examples: readonly string[];
}

/** One blocking field of a capability. */
export interface BlockingField {
  readonly field: string;
  /** A supplied value is invalid (so missing) unless its normalised form matches this. */
  readonly validPattern: RegExp | undefined;
  /** Normalised values that are ambiguous (so missing), such as "him" for a recipient. */
  readonly ambiguous: ReadonlySet<string>;
  /** The question per locale; the default locale is always present. */
  readonly questions: ReadonlyMap<string, ClarifyText>;
}

/** The policy, checked. */
export interface ClarifyPolicy {
  /** sha256 of the file's canonical JSON. */
  readonly digest: string;
  readonly defaultLocale: string;
  /** The tie-break among fields no rule lists; the only one defined is byte order of their names. */
  readonly unlistedFields: "byte_order";
  /** The question for an unlisted field, per locale; "{field}" is its name with "_" as spaces. */
  readonly fallbackQuestion: ReadonlyMap<string, string>;
  /** Blocking fields per capability, highest priority first. */
  readonly capabilities: ReadonlyMap<string, readonly BlockingField[]>;
}

const LOCALE = /^[a-z]{2}(-[A-Z]{2})?$/;
const CAPABILITY = /^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$/;
const FIELD = /^[a-z][a-z0-9_]{0,63}$/;
const MAX_EXAMPLES = 8;

/**
 * The form a value is judged in: Unicode NFKC (full-width digits become ASCII, NFC and NFD forms
 * meet), format characters such as zero-width spaces removed, white space trimmed and collapsed to
 * single spaces, lower case (locale-independent). The value passed on is never changed.
 */
export function normalizeFieldValue(value: string): string {
  return value
    .normalize("NFKC")
    .replace(/\p{Cf}/gu, "")
    .trim()
    .replace(/\s+/gu, " ")
    .toLowerCase();
}

function localized<T>(
  file: string,
  path: string,
  raw: unknown,
  defaultLocale: string,
  read: (p: string, v: unknown) => T,
): ReadonlyMap<string, T> {
  const object = objectAt(file, path, raw);
  const out = new Map<string, T>();
  for (const locale of Object.keys(object).sort()) {
    if (!LOCALE.test(locale)) throw new PolicyError(file, `${path}.${locale}`, "is not a locale such as en or fr-CA");
    out.set(locale, read(`${path}.${locale}`, object[locale]));
  }
  if (!out.has(defaultLocale)) throw new PolicyError(file, path, `has no text in the default locale ${defaultLocale}`);
  return out;
}

function clarifyText(file: string, path: string, raw: unknown): ClarifyText {
  const object = objectAt(file, path, raw);
  onlyKeys(file, path, object, ["text", "examples"]);
  const examples = object.examples ?? [];
  if (!Array.isArray(examples) || examples.length > MAX_EXAMPLES) {
    throw new PolicyError(file, `${path}.examples`, `must be a list of at most ${MAX_EXAMPLES} strings`);
  }
  return {
    text: stringAt(file, `${path}.text`, object.text),
    examples: Object.freeze(examples.map((e, i) => stringAt(file, `${path}.examples[${i}]`, e, 256))),
  };
}

function blockingField(file: string, path: string, raw: unknown, defaultLocale: string): BlockingField {
  const object = objectAt(file, path, raw);
  onlyKeys(file, path, object, ["field", "valid_pattern", "ambiguous", "questions"]);
  const field = stringAt(file, `${path}.field`, object.field, 64);
  if (!FIELD.test(field)) throw new PolicyError(file, `${path}.field`, "must be a field name such as from_unit");
  let validPattern: RegExp | undefined;
  if (object.valid_pattern !== undefined) {
    const source = stringAt(file, `${path}.valid_pattern`, object.valid_pattern);
    try {
      validPattern = new RegExp(source, "u");
    } catch (e) {
      throw new PolicyError(file, `${path}.valid_pattern`, e instanceof Error ? e.message : String(e));
    }
  }
  const ambiguous = object.ambiguous ?? [];
  if (!Array.isArray(ambiguous)) throw new PolicyError(file, `${path}.ambiguous`, "must be a list of strings");
  ambiguous.forEach((value, i) => {
    // Entries are compared with normalised values, so each must already be in that form.
    if (stringAt(file, `${path}.ambiguous[${i}]`, value, 256) !== normalizeFieldValue(value)) {
      throw new PolicyError(
        file,
        `${path}.ambiguous[${i}]`,
        "must be written normalised (NFKC, lower case, single spaces)",
      );
    }
  });
  const questions = localized(file, `${path}.questions`, object.questions, defaultLocale, (p, v) =>
    clarifyText(file, p, v),
  );
  return { field, validPattern, ambiguous: new Set(ambiguous as string[]), questions };
}

/** Checks a parsed clarify policy; `file` names it in errors. */
export function parseClarifyPolicy(json: unknown, digest: string, file = "policy/clarify.json"): ClarifyPolicy {
  const root = objectAt(file, "", json);
  onlyKeys(file, "", root, ["version", "default_locale", "unlisted_fields", "fallback_question", "capabilities"]);
  if (root.version !== 1) throw new PolicyError(file, ".version", "must be 1");
  const defaultLocale = stringAt(file, ".default_locale", root.default_locale, 8);
  if (!LOCALE.test(defaultLocale)) throw new PolicyError(file, ".default_locale", "is not a locale such as en");
  if (root.unlisted_fields !== "byte_order") throw new PolicyError(file, ".unlisted_fields", 'must be "byte_order"');
  const fallbackQuestion = localized(file, ".fallback_question", root.fallback_question, defaultLocale, (p, v) => {
    const text = stringAt(file, p, v);
    if (!text.includes("{field}")) throw new PolicyError(file, p, "must contain {field}");
    return text;
  });
  const capabilities = new Map<string, readonly BlockingField[]>();
  const table = objectAt(file, ".capabilities", root.capabilities);
  for (const name of Object.keys(table).sort()) {
    const path = `.capabilities.${name}`;
    if (!CAPABILITY.test(name)) throw new PolicyError(file, path, "is not a capability name such as tools.convert");
    const entry = objectAt(file, path, table[name]);
    onlyKeys(file, path, entry, ["blocking_fields"]);
    if (!Array.isArray(entry.blocking_fields)) throw new PolicyError(file, `${path}.blocking_fields`, "must be a list");
    const fields = entry.blocking_fields.map((raw, i) =>
      blockingField(file, `${path}.blocking_fields[${i}]`, raw, defaultLocale),
    );
    const seen = new Set<string>();
    for (const { field } of fields) {
      if (seen.has(field)) throw new PolicyError(file, `${path}.blocking_fields`, `lists ${field} twice`);
      seen.add(field);
    }
    capabilities.set(name, Object.freeze(fields));
  }
  return Object.freeze({ digest, defaultLocale, unlistedFields: "byte_order", fallbackQuestion, capabilities });
}

/** Reads and checks a clarify policy file. */
export function loadClarifyPolicy(path: string): ClarifyPolicy {
  const document = readPolicyFile(path);
  return checkedWithLines(path, document, () => parseClarifyPolicy(document.json, document.digest, path));
}

let projectPolicy: ClarifyPolicy | undefined;

/** The project's policy/clarify.json, read once per process. */
export function projectClarifyPolicy(): ClarifyPolicy {
  projectPolicy ??= loadClarifyPolicy(policyPath("clarify"));
  return projectPolicy;
}

/** The blocking field names of a capability, highest priority first (none when the policy lists none). */
export function blockingFieldNames(policy: ClarifyPolicy, capability: string): readonly string[] {
  return (policy.capabilities.get(capability) ?? []).map((f) => f.field);
}
