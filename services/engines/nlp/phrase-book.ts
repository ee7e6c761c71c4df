/**
 * The phrase book (policy/nlp-phrases.json, docs/ENGINES.md): which words make an utterance one
 * capability's, and which slot extractor reads its fields. Rules are tried in file order and the
 * first that matches decides, so the order is the precedence. Read and checked once per process,
 * at start; a bad file stops the nlp engine with a PolicyError naming the place.
 */
import { type ClarifyPolicy, projectClarifyPolicy } from "../../runtime/policy/clarify-policy.js";
import {
  checkedWithLines,
  objectAt,
  onlyKeys,
  PolicyError,
  policyPath,
  readPolicyFile,
  stringAt,
} from "../../runtime/policy/policy-file.js";
import { SLOT_EXTRACTORS, type SlotExtractor } from "./slot-extractors.js";
import { tokenizeUtterance } from "./tokenize-utterance.js";

/** The phrase book format version this code reads. */
export const PHRASE_BOOK_VERSION = 1;

/** One way of saying a capability: words in sequence, then an extractor for what follows. */
export interface PhrasePattern {
  /** Word groups matched in sequence from the first word; each lists alternatives (as keys), tried in order. */
  readonly phrases: readonly (readonly (readonly string[])[])[];
  /** The extractor's kind, as the file names it. */
  readonly kind: string;
  readonly extractor: SlotExtractor;
  /** Field of the capability -> the extractor's output that fills it. */
  readonly slots: ReadonlyMap<string, string>;
}

/** One capability's rule: its patterns, tried in order; the first whose phrases match decides. */
export interface PhraseRule {
  readonly capability: string;
  readonly patterns: readonly PhrasePattern[];
}

/** The phrase book, checked. */
export interface PhraseBook {
  /** sha256 of the file's canonical JSON. */
  readonly digest: string;
  /** The rules in precedence order. */
  readonly rules: readonly PhraseRule[];
}

const CAPABILITY = /^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$/;
const FIELD = /^[a-z][a-z0-9_]{0,63}$/;
const MAX_PHRASE_CHARS = 128;

function listAt(file: string, path: string, value: unknown, nonEmpty: boolean): readonly unknown[] {
  if (!Array.isArray(value) || (nonEmpty && value.length === 0)) {
    throw new PolicyError(file, path, nonEmpty ? "must be a non-empty list" : "must be a list");
  }
  return value;
}

// A phrase is written as the keys the tokenizer gives (lower case, single spaces, no edge
// punctuation), so every phrase the file accepts can match.
function phraseAt(file: string, path: string, value: unknown): readonly string[] {
  const text = stringAt(file, path, value, MAX_PHRASE_CHARS);
  const keys = tokenizeUtterance(text).map((token) => token.key);
  if (keys.join(" ") !== text || keys.includes("")) {
    throw new PolicyError(file, path, `"${text}" must be lower-case words without edge punctuation, one space apart`);
  }
  return Object.freeze(keys);
}

function patternAt(file: string, path: string, value: unknown): PhrasePattern {
  const o = objectAt(file, path, value);
  onlyKeys(file, path, o, ["phrases", "extract", "slots"]);
  const phrases = listAt(file, `${path}.phrases`, o.phrases, false).map((group, i) =>
    Object.freeze(
      listAt(file, `${path}.phrases[${i}]`, group, true).map((p, j) =>
        phraseAt(file, `${path}.phrases[${i}][${j}]`, p),
      ),
    ),
  );
  const kind = stringAt(file, `${path}.extract`, o.extract, 64);
  const extractor = SLOT_EXTRACTORS.get(kind);
  if (extractor === undefined) {
    throw new PolicyError(
      file,
      `${path}.extract`,
      `must be one of ${[...SLOT_EXTRACTORS.keys()].join(", ")}, got "${kind}"`,
    );
  }
  const table = objectAt(file, `${path}.slots`, o.slots);
  const slots = new Map<string, string>();
  for (const field of Object.keys(table).sort()) {
    if (!FIELD.test(field))
      throw new PolicyError(file, `${path}.slots.${field}`, "must be a field name such as from_unit");
    const output = stringAt(file, `${path}.slots.${field}`, table[field], 64);
    if (!extractor.outputs.includes(output)) {
      throw new PolicyError(
        file,
        `${path}.slots.${field}`,
        `"${output}" is not an output of ${kind} (${extractor.outputs.join(", ") || "none"})`,
      );
    }
    if ([...slots.values()].includes(output))
      throw new PolicyError(file, `${path}.slots.${field}`, `"${output}" fills two fields`);
    slots.set(field, output);
  }
  const unmapped = extractor.outputs.find((output) => ![...slots.values()].includes(output));
  if (unmapped !== undefined)
    throw new PolicyError(file, `${path}.slots`, `must name the field that ${kind}'s "${unmapped}" fills`);
  return Object.freeze({ phrases: Object.freeze(phrases), kind, extractor, slots });
}

function ruleAt(file: string, path: string, value: unknown, seen: Map<string, string>): PhraseRule {
  const o = objectAt(file, path, value);
  onlyKeys(file, path, o, ["capability", "patterns"]);
  const capability = stringAt(file, `${path}.capability`, o.capability, 128);
  if (!CAPABILITY.test(capability)) {
    throw new PolicyError(file, `${path}.capability`, `"${capability}" is not a capability name such as notes.add`);
  }
  const previous = seen.get(capability);
  if (previous !== undefined)
    throw new PolicyError(file, `${path}.capability`, `"${capability}" is already at ${previous}`);
  seen.set(capability, `${path}.capability`);
  const patterns = listAt(file, `${path}.patterns`, o.patterns, true).map((p, i) =>
    patternAt(file, `${path}.patterns[${i}]`, p),
  );
  return Object.freeze({ capability, patterns: Object.freeze(patterns) });
}

/** Checks a parsed phrase book; throws PolicyError naming the place of the first fault. */
export function parsePhraseBook(json: unknown, file: string, digest = ""): PhraseBook {
  const root = objectAt(file, "", json);
  onlyKeys(file, "", root, ["version", "rules"]);
  if (root.version !== PHRASE_BOOK_VERSION) {
    throw new PolicyError(file, ".version", `must be ${PHRASE_BOOK_VERSION}, got ${JSON.stringify(root.version)}`);
  }
  const seen = new Map<string, string>();
  const rules = listAt(file, ".rules", root.rules, true).map((r, i) => ruleAt(file, `.rules[${i}]`, r, seen));
  return Object.freeze({ digest, rules: Object.freeze(rules) });
}

/** The fields a capability's patterns can fill, sorted. */
export function phraseFields(rule: PhraseRule): readonly string[] {
  return [...new Set(rule.patterns.flatMap((pattern) => [...pattern.slots.keys()]))].sort();
}

/**
 * Checks the book against the clarify policy: a blocking field of a capability in the book that
 * no pattern can fill would always be asked for, so it is refused.
 */
export function checkAgainstClarify(book: PhraseBook, policy: ClarifyPolicy, file: string): void {
  book.rules.forEach((rule, i) => {
    const fields = phraseFields(rule);
    for (const blocking of policy.capabilities.get(rule.capability) ?? []) {
      if (!fields.includes(blocking.field)) {
        throw new PolicyError(
          file,
          `.rules[${i}]`,
          `no pattern fills ${blocking.field}, a blocking field of ${rule.capability} in the clarify policy`,
        );
      }
    }
  });
}

/** Reads and checks a phrase book file against the project's clarify policy. */
export function loadPhraseBook(path: string): PhraseBook {
  const document = readPolicyFile(path);
  return checkedWithLines(path, document, () => {
    const book = parsePhraseBook(document.json, path, document.digest);
    checkAgainstClarify(book, projectClarifyPolicy(), path);
    return book;
  });
}

let projectBook: PhraseBook | undefined;

/** The project's policy/nlp-phrases.json, read once per process. */
export function projectPhraseBook(): PhraseBook {
  projectBook ??= loadPhraseBook(policyPath("nlp-phrases"));
  return projectBook;
}
