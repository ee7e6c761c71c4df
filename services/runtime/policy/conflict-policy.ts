/**
 * The conflict policy (policy/conflicts.json, docs/PROVENANCE.md): which of the rules that settle
 * a disagreement between sources leave the answer disputed (a winner by trust is not disputed; a
 * winner by mere freshness or by the tie-break is), and the note the answer text then carries,
 * naming the sources, the field, the kept source and the rule. Read and checked here only.
 */
import { ConflictRule } from "../../../gen/es/selene/kernel/v1/provenance_pb.js";
import {
  checkedWithLines,
  objectAt,
  onlyKeys,
  PolicyError,
  policyPath,
  readPolicyFile,
  stringAt,
} from "./policy-file.js";

/** The policy, checked. */
export interface ConflictPolicy {
  readonly digest: string;
  /** Rules whose conflicts make the answer disputed. */
  readonly disputedRules: ReadonlySet<ConflictRule>;
  /** The words of each rule, per locale. */
  readonly ruleNames: ReadonlyMap<string, ReadonlyMap<ConflictRule, string>>;
  /** The note per locale: {sources}, {field}, {chosen}, {rule}. */
  readonly disputedNote: ReadonlyMap<string, string>;
}

const RULES = new Map<string, ConflictRule>([
  ["TRUST", ConflictRule.TRUST],
  ["FRESHNESS", ConflictRule.FRESHNESS],
  ["SOURCE_ID", ConflictRule.SOURCE_ID],
]);

function ruleOf(file: string, path: string, name: unknown): ConflictRule {
  const rule = RULES.get(String(name));
  if (rule === undefined) throw new PolicyError(file, path, `must be one of ${[...RULES.keys()].join(", ")}`);
  return rule;
}

/** Checks a parsed conflict policy; `file` names it in errors. */
export function parseConflictPolicy(json: unknown, digest: string, file = "policy/conflicts.json"): ConflictPolicy {
  const root = objectAt(file, "", json);
  onlyKeys(file, "", root, ["version", "disputed_rules", "rule_names", "disputed_note"]);
  if (root.version !== 1) throw new PolicyError(file, ".version", "must be 1");
  if (!Array.isArray(root.disputed_rules)) throw new PolicyError(file, ".disputed_rules", "must be a list");
  const disputedRules = new Set(root.disputed_rules.map((name, i) => ruleOf(file, `.disputed_rules[${i}]`, name)));
  const ruleNames = new Map<string, ReadonlyMap<ConflictRule, string>>();
  const names = objectAt(file, ".rule_names", root.rule_names);
  for (const locale of Object.keys(names).sort()) {
    const table = objectAt(file, `.rule_names.${locale}`, names[locale]);
    const words = new Map<ConflictRule, string>();
    for (const [name, rule] of RULES) words.set(rule, stringAt(file, `.rule_names.${locale}.${name}`, table[name]));
    ruleNames.set(locale, words);
  }
  const notes = objectAt(file, ".disputed_note", root.disputed_note);
  const disputedNote = new Map<string, string>();
  for (const locale of Object.keys(notes).sort()) {
    disputedNote.set(locale, stringAt(file, `.disputed_note.${locale}`, notes[locale]));
  }
  if (!ruleNames.has("en") || !disputedNote.has("en")) throw new PolicyError(file, "", "needs en texts");
  return Object.freeze({ digest, disputedRules, ruleNames, disputedNote });
}

/** Reads and checks a conflict policy file. */
export function loadConflictPolicy(path: string): ConflictPolicy {
  const document = readPolicyFile(path);
  return checkedWithLines(path, document, () => parseConflictPolicy(document.json, document.digest, path));
}

let projectPolicy: ConflictPolicy | undefined;

/** The project's policy/conflicts.json, read once per process. */
export function projectConflictPolicy(): ConflictPolicy {
  projectPolicy ??= loadConflictPolicy(policyPath("conflicts"));
  return projectPolicy;
}
