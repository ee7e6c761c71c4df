/**
 * The router's decision on a read result, pure and clock-free (the time of judgement is passed in
 * and recorded, so replay decides again on the same inputs):
 *   1. the provenance must hold (provenance-check.ts), else ENGINE_INVALID_RESPONSE;
 *   2. freshness (policy/freshness.json): every source the answer relies on (all sources, less
 *      those that lost a conflict) is judged by its own max age from its recorded retrieval time;
 *      one past it decides, the strictest action winning (refuse, then refetch, then stale): a
 *      stale answer is served marked STALE with a note; refetch asks the engine once more, and a
 *      refetched answer still too old is refused; refuse ends the turn with PROVENANCE_STALE;
 *   3. conflicts (policy/conflicts.json): each stays in the provenance, and one settled by a rule
 *      the policy calls disputed adds a note to the text naming the sources, the kept source and
 *      the rule.
 * No answer is ever served as FRESH or LIVE past a source's max age.
 */
import { clone } from "@bufbuild/protobuf";
import type { InvokeResponse } from "../../../gen/es/selene/engine/v1/engine_pb.js";
import {
  FreshnessState,
  type Provenance,
  ProvenanceSchema,
  type Source,
} from "../../../gen/es/selene/kernel/v1/provenance_pb.js";
import { ReasonCode } from "../../../gen/es/selene/kernel/v1/reason_pb.js";
import type { ConflictPolicy } from "../policy/conflict-policy.js";
import { type FreshnessPolicy, freshnessOf, type SourceFreshness } from "../policy/freshness-policy.js";
import { SeleneError } from "../selene-error.js";
import { checkedProvenance, retrievedMs } from "./provenance-check.js";
import { type Outcome, refused } from "./turn-decisions.js";

/** The policies a read is judged by. */
export interface ReadPolicies {
  readonly freshness: FreshnessPolicy;
  readonly conflicts: ConflictPolicy;
}

/** A relied-on source past its max age. */
export interface StaleSource {
  readonly source: Source;
  readonly rule: SourceFreshness;
}

/** What the router does with a read result. */
export type ReadDecision =
  | {
      readonly kind: "answer";
      readonly outcome: Outcome;
      /** The provenance served (its freshness state judged here). */
      readonly provenance: Provenance;
      readonly stale: readonly StaleSource[];
    }
  | { readonly kind: "refetch"; readonly stale: readonly StaleSource[] }
  | { readonly kind: "refuse"; readonly outcome: Outcome; readonly stale: readonly StaleSource[] };

const SEVERITY = { stale: 1, refetch: 2, refuse: 3 } as const;

/** The longest answer text the contract accepts, in code points. */
const MAX_TEXT = 4096;

/** The engine's text and the notes after it; the engine's text is shortened (with "…") when both would not fit. */
function withNotes(text: string, notes: readonly string[]): string {
  const tail = notes.map((note) => ` ${note}`).join("");
  const room = MAX_TEXT - [...tail].length;
  const chars = [...text];
  return (chars.length <= room ? text : `${chars.slice(0, Math.max(0, room - 1)).join("")}…`) + tail;
}

function fill(template: string, values: Readonly<Record<string, string>>): string {
  return template.replace(/\{([a-z_]+)\}/g, (whole, key: string) => values[key] ?? whole);
}

/** The sources an answer relies on: all it lists, less those that lost a conflict. */
export function reliedSources(provenance: Provenance): Source[] {
  const lost = new Set(provenance.conflicts.flatMap((c) => c.sourceIds.filter((id) => id !== c.chosenSourceId)));
  // A source that won one conflict is relied on even if it lost another.
  for (const c of provenance.conflicts) lost.delete(c.chosenSourceId);
  return provenance.sources.filter((s) => !lost.has(s.id));
}

/** The relied-on sources past their max age at `nowMs`, in the provenance's order. */
export function staleSources(policy: FreshnessPolicy, provenance: Provenance, nowMs: number): StaleSource[] {
  return reliedSources(provenance)
    .map((source) => ({ source, rule: freshnessOf(policy, source.id) }))
    .filter(({ source, rule }) => nowMs - retrievedMs(source) > rule.maxAgeMs);
}

function staleNote(policy: FreshnessPolicy, { source, rule }: StaleSource): string {
  return fill(policy.staleNote.get("en")!, {
    source: source.id,
    date: new Date(retrievedMs(source)).toISOString().slice(0, 10),
    max_age: rule.maxAge,
  });
}

function disputedNotes(policy: ConflictPolicy, provenance: Provenance): string[] {
  const names = policy.ruleNames.get("en")!;
  return provenance.conflicts
    .filter((c) => policy.disputedRules.has(c.rule))
    .map((c) =>
      fill(policy.disputedNote.get("en")!, {
        sources: [...c.sourceIds].sort().join(", "),
        field: c.field,
        chosen: c.chosenSourceId,
        rule: names.get(c.rule)!,
      }),
    );
}

/**
 * Decides on the read result in `response` at `nowMs`. `refetched`: the response is already the
 * second the engine was asked for. Throws ENGINE_INVALID_RESPONSE when it is no read result or
 * its provenance does not hold.
 */
export function decideRead(
  capability: string,
  engine: string,
  response: InvokeResponse,
  policies: ReadPolicies,
  nowMs: number,
  refetched: boolean,
): ReadDecision {
  if (response.result.case !== "readResult") {
    throw new SeleneError(ReasonCode.ENGINE_INVALID_RESPONSE, `${engine} did not return a read result`);
  }
  const result = response.result.value;
  const provenance = checkedProvenance(engine, result);
  const stale = staleSources(policies.freshness, provenance, nowMs);
  const worst = stale.reduce((max, s) => Math.max(max, SEVERITY[s.rule.action]), 0);
  if (worst === SEVERITY.refetch && !refetched) return { kind: "refetch", stale };
  const notes = stale.map((s) => staleNote(policies.freshness, s));
  if (worst >= SEVERITY.refetch) {
    return { kind: "refuse", outcome: refused(ReasonCode.PROVENANCE_STALE, notes.join(" ")), stale };
  }
  const served = clone(ProvenanceSchema, provenance);
  if (stale.length > 0 && served.freshness !== undefined) served.freshness.state = FreshnessState.STALE;
  const text = withNotes(result.text, [...disputedNotes(policies.conflicts, provenance), ...notes]);
  return {
    kind: "answer",
    outcome: { case: "answer", value: { intent: capability, text, data: result.data, provenance: served } },
    provenance: served,
    stale,
  };
}
