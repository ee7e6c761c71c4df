/**
 * The tools engine's built-in knowledge base (tools.lookup). A question is normalised
 * (normalizeLookupQuery) and matched exactly against the phrases each fact answers. The kept
 * value is chosen by resolveClaims (trust, then freshness, then source id) and every
 * disagreement is recorded as a Conflict. Freshness is judged on the kept value's snapshot date.
 *
 * An unknown question gives undefined, never a guessed or empty ReadResult: the server answers
 * it with a refusal.
 */
import type { ReadResult } from "../../../gen/es/selene/engine/v1/engine_pb.js";
import { KB_FACTS, KB_SOURCES, type KnowledgeFact, maxAgeMs } from "./knowledge-facts.js";
import { normalizeLookupQuery } from "./lookup-query.js";
import { buildReadResult } from "./provenance.js";
import { type Claim, resolveClaims } from "./resolve-claims.js";

function buildIndex(facts: readonly KnowledgeFact[]): ReadonlyMap<string, KnowledgeFact> {
  const index = new Map<string, KnowledgeFact>();
  for (const fact of facts) {
    for (const source of Object.keys(fact.claims)) {
      if (!KB_SOURCES.has(source)) throw new Error(`fact ${fact.id} cites unknown source ${source}`);
    }
    for (const ask of fact.asks) {
      const key = normalizeLookupQuery(ask);
      const other = index.get(key);
      if (other !== undefined) throw new Error(`facts ${other.id} and ${fact.id} both answer "${key}"`);
      index.set(key, fact);
    }
  }
  return index;
}

// Built once at load: a broken table fails the process at start, not a request.
const INDEX = buildIndex(KB_FACTS);

/** Finds the fact a question asks for, or undefined when the knowledge base does not know it. */
export function findFact(query: string): KnowledgeFact | undefined {
  return INDEX.get(normalizeLookupQuery(query));
}

/** Lists every claim of a fact, with its source's trust and snapshot date, in source-id order. */
export function claimsOf(fact: KnowledgeFact): Claim[] {
  return Object.keys(fact.claims)
    .sort()
    .map((sourceId) => {
      const source = KB_SOURCES.get(sourceId)!;
      return { sourceId, trust: source.trust, retrievedAtMs: source.retrievedAtMs, value: fact.claims[sourceId]! };
    });
}

/** Answers a question from the knowledge base with provenance, or returns undefined when it is unknown. */
export function lookup(query: string, now: Date): ReadResult | undefined {
  const fact = findFact(query);
  if (fact === undefined) return undefined;
  const claims = claimsOf(fact);
  const { chosen, conflict } = resolveClaims(fact.id, claims);
  return buildReadResult({
    text: fact.answer.split("{value}").join(chosen.value),
    data: { fact: fact.id, value: chosen.value, source: chosen.sourceId },
    sources: claims.map((claim) => {
      const source = KB_SOURCES.get(claim.sourceId)!;
      return {
        id: source.id,
        uri: source.uri,
        trust: source.trust,
        retrievedAtMs: source.retrievedAtMs,
        content: { fact: fact.id, value: claim.value },
      };
    }),
    retrievedAtMs: chosen.retrievedAtMs,
    freshness: { kind: "snapshot", maxAgeMs: maxAgeMs(fact) },
    conflicts: conflict === undefined ? [] : [conflict],
    nowMs: now.getTime(),
  });
}
