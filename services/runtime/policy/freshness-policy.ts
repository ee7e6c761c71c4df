/**
 * The freshness policy (policy/freshness.json, docs/PROVENANCE.md): per source id, how long after
 * its retrieval a source may be relied on, and what the router does with an answer that relies on
 * a source past that age: serve it marked STALE ("stale"), ask the engine once more ("refetch"),
 * or refuse it ("refuse"). Sources the file does not name get its "default". Read and checked here
 * only, once per process.
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

/** What the router does with an answer relying on a source past its max age. */
export type StaleAction = "stale" | "refetch" | "refuse";

/** The rule of one source. */
export interface SourceFreshness {
  readonly maxAgeMs: number;
  /** The max age as written in the file ("730d"), for the words of the stale note. */
  readonly maxAge: string;
  readonly action: StaleAction;
}

/** The policy, checked. */
export interface FreshnessPolicy {
  readonly digest: string;
  readonly defaultRule: SourceFreshness;
  readonly sources: ReadonlyMap<string, SourceFreshness>;
  /** The note added to a stale answer, per locale: {source}, {date} (UTC, YYYY-MM-DD), {max_age}. */
  readonly staleNote: ReadonlyMap<string, string>;
}

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION = /^([0-9]{1,9})(ms|s|m|h|d)$/;
const ACTIONS: readonly StaleAction[] = ["stale", "refetch", "refuse"];

function sourceRule(file: string, path: string, raw: unknown): SourceFreshness {
  const object = objectAt(file, path, raw);
  onlyKeys(file, path, object, ["max_age", "action"]);
  const maxAge = stringAt(file, `${path}.max_age`, object.max_age, 16);
  const match = DURATION.exec(maxAge);
  if (match === null) throw new PolicyError(file, `${path}.max_age`, 'must be a duration such as "90s" or "730d"');
  const action = object.action as StaleAction;
  if (!ACTIONS.includes(action)) throw new PolicyError(file, `${path}.action`, `must be one of ${ACTIONS.join(", ")}`);
  return { maxAgeMs: Number(match[1]) * UNIT_MS[match[2]!]!, maxAge, action };
}

/** Checks a parsed freshness policy; `file` names it in errors. */
export function parseFreshnessPolicy(json: unknown, digest: string, file = "policy/freshness.json"): FreshnessPolicy {
  const root = objectAt(file, "", json);
  onlyKeys(file, "", root, ["version", "default", "sources", "stale_note"]);
  if (root.version !== 1) throw new PolicyError(file, ".version", "must be 1");
  const sources = new Map<string, SourceFreshness>();
  const table = objectAt(file, ".sources", root.sources);
  for (const id of Object.keys(table).sort()) {
    stringAt(file, `.sources.${id}`, id, 128);
    sources.set(id, sourceRule(file, `.sources.${id}`, table[id]));
  }
  const notes = objectAt(file, ".stale_note", root.stale_note);
  const staleNote = new Map<string, string>();
  for (const locale of Object.keys(notes).sort())
    staleNote.set(locale, stringAt(file, `.stale_note.${locale}`, notes[locale]));
  if (!staleNote.has("en")) throw new PolicyError(file, ".stale_note", "has no en text");
  return Object.freeze({ digest, defaultRule: sourceRule(file, ".default", root.default), sources, staleNote });
}

/** The rule of a source id. */
export function freshnessOf(policy: FreshnessPolicy, sourceId: string): SourceFreshness {
  return policy.sources.get(sourceId) ?? policy.defaultRule;
}

/** Reads and checks a freshness policy file. */
export function loadFreshnessPolicy(path: string): FreshnessPolicy {
  const document = readPolicyFile(path);
  return checkedWithLines(path, document, () => parseFreshnessPolicy(document.json, document.digest, path));
}

let projectPolicy: FreshnessPolicy | undefined;

/** The project's policy/freshness.json, read once per process. */
export function projectFreshnessPolicy(): FreshnessPolicy {
  projectPolicy ??= loadFreshnessPolicy(policyPath("freshness"));
  return projectPolicy;
}
