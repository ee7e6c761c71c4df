/**
 * Settles what several sources claim about one field. The rule, applied in order:
 *   1. higher trust wins (ConflictRule.TRUST);
 *   2. at equal trust, the fresher retrieval wins (ConflictRule.FRESHNESS);
 *   3. at equal trust and retrieval time, the smaller source id (byte order) wins
 *      (ConflictRule.SOURCE_ID), a stable tie-break; the built-in knowledge base never needs it.
 * The rule is decided between the winner and the best-ranked source with a different value.
 * Whenever the claims do not all agree, a conflict naming every claiming source is returned.
 */
import { ConflictRule } from "../../../gen/es/selene/kernel/v1/provenance_pb.js";
import type { ConflictRecord } from "./provenance.js";

/** One source's value for a field. */
export interface Claim {
  /** The claiming source's id. */
  readonly sourceId: string;
  /** The source's trust rank. */
  readonly trust: number;
  /** When the source's data was retrieved, in epoch milliseconds. */
  readonly retrievedAtMs: number;
  /** The claimed value. */
  readonly value: string;
}

/** The kept claim, and the conflict when the claims disagreed. */
export interface Resolution {
  /** The claim whose value is kept. */
  readonly chosen: Claim;
  /** Present when at least two claims disagree. */
  readonly conflict: ConflictRecord | undefined;
}

/** Orders claims best first: trust, then freshness, then source id. */
export function rankClaims(claims: readonly Claim[]): Claim[] {
  return [...claims].sort(
    (a, b) =>
      b.trust - a.trust ||
      b.retrievedAtMs - a.retrievedAtMs ||
      (a.sourceId < b.sourceId ? -1 : a.sourceId > b.sourceId ? 1 : 0),
  );
}

/** Chooses the value of a field from the claims of its sources and records any disagreement. */
export function resolveClaims(field: string, claims: readonly Claim[]): Resolution {
  const ranked = rankClaims(claims);
  const chosen = ranked[0];
  if (chosen === undefined) throw new RangeError(`no claims for field ${field}`);
  const rival = ranked.find((claim) => claim.value !== chosen.value);
  if (rival === undefined) return { chosen, conflict: undefined };
  return {
    chosen,
    conflict: {
      field,
      sourceIds: ranked.map((claim) => claim.sourceId).sort(),
      chosenSourceId: chosen.sourceId,
      rule:
        chosen.trust > rival.trust
          ? ConflictRule.TRUST
          : chosen.retrievedAtMs > rival.retrievedAtMs
            ? ConflictRule.FRESHNESS
            : ConflictRule.SOURCE_ID,
    },
  };
}
