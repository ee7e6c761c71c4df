/**
 * The last good answer of each read, per tenant, capability and arguments:
 * what a read whose policy says `lastGood` answers when its engine cannot,
 * marked in its provenance as stale (freshness STALE, and a source
 * "selene:last-good-answer" whose locator carries the answer's age), never
 * passed off as fresh. Bounded: the oldest entries go first.
 */
import { clone, create } from "@bufbuild/protobuf";
import { type InvokeResponse, InvokeResponseSchema } from "../../../gen/es/selene/engine/v1/engine_pb.js";
import { FreshnessSchema, FreshnessState, SourceSchema } from "../../../gen/es/selene/kernel/v1/provenance_pb.js";

/** The id of the source a stale answer names. */
export const LAST_GOOD_SOURCE = "selene:last-good-answer";

/** A remembered answer, recalled. */
export interface RecalledAnswer {
  /** The answer, its provenance marked stale. */
  readonly response: InvokeResponse;
  /** How old it is, ms. */
  readonly ageMs: number;
}

/** The store of last good answers. */
export interface LastGoodAnswers {
  remember(tenant: string, capability: string, args: Readonly<Record<string, string>>, response: InvokeResponse): void;
  /** The last good answer no older than `maxAgeMs`, marked stale; undefined when there is none. */
  recall(
    tenant: string,
    capability: string,
    args: Readonly<Record<string, string>>,
    maxAgeMs: number,
  ): RecalledAnswer | undefined;
}

/** The key of one read: tenant, capability and its arguments in sorted order. */
function keyOf(tenant: string, capability: string, args: Readonly<Record<string, string>>): string {
  const sorted = Object.keys(args)
    .sort()
    .map((k) => [k, args[k]]);
  return JSON.stringify([tenant, capability, sorted]);
}

/** `response` as a stale answer `ageMs` old: freshness STALE and the last-good source with the age. */
export function markStale(response: InvokeResponse, ageMs: number): InvokeResponse {
  const stale = clone(InvokeResponseSchema, response);
  if (stale.result.case !== "readResult") return stale;
  const provenance = stale.result.value.provenance;
  if (provenance === undefined) return stale;
  provenance.freshness = create(FreshnessSchema, { maxAge: provenance.freshness?.maxAge, state: FreshnessState.STALE });
  if (provenance.sources.length < 32) {
    provenance.sources.push(
      create(SourceSchema, {
        id: LAST_GOOD_SOURCE,
        uri: `selene://router/last-good-answer?age_ms=${Math.max(0, Math.round(ageMs))}`,
        trust: 0,
        retrievedAt: provenance.retrievedAt,
        contentDigest: provenance.contentDigest,
      }),
    );
  }
  return stale;
}

/** Creates a store of at most `maxEntries` answers. */
export function createLastGoodAnswers(maxEntries = 10_000, now: () => number = Date.now): LastGoodAnswers {
  const answers = new Map<string, { readonly response: InvokeResponse; readonly at: number }>();
  return {
    remember(tenant, capability, args, response) {
      const key = keyOf(tenant, capability, args);
      answers.delete(key); // re-inserted last: the Map's order is the age order
      answers.set(key, { response, at: now() });
      if (answers.size > maxEntries) answers.delete(answers.keys().next().value!);
    },
    recall(tenant, capability, args, maxAgeMs) {
      const found = answers.get(keyOf(tenant, capability, args));
      if (found === undefined) return undefined;
      const ageMs = now() - found.at;
      if (ageMs > maxAgeMs) return undefined;
      return { response: markStale(found.response, ageMs), ageMs };
    },
  };
}
