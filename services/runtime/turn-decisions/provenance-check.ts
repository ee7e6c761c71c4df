/**
 * What the router checks of every read result's provenance before anything of it is served: it is
 * there; its content digest is sha256 of the canonical JSON of { text, data } (the one form of
 * services/runtime/content-digest.ts); and every conflict names sources the result lists, keeps
 * the best-ranked of them (trust, then retrieval time, then the smallest id) and names a rule that
 * really separates the kept source from another one. A result that fails is the engine's fault:
 * ENGINE_INVALID_RESPONSE, whatever the rest of it says.
 */
import { timestampMs } from "@bufbuild/protobuf/wkt";
import type { ReadResult } from "../../../gen/es/selene/engine/v1/engine_pb.js";
import {
  type Conflict,
  ConflictRule,
  type Provenance,
  type Source,
} from "../../../gen/es/selene/kernel/v1/provenance_pb.js";
import { ReasonCode } from "../../../gen/es/selene/kernel/v1/reason_pb.js";
import { canonicalJson, sha256Digest } from "../content-digest.js";
import { SeleneError } from "../selene-error.js";

/** sha256 of canonicalJson({ text, data }): the content digest a read result must carry. */
export function readContentDigest(text: string, data: Readonly<Record<string, string>>): string {
  return sha256Digest(canonicalJson({ text, data: { ...data } }));
}

/** A source's retrieval time in epoch ms (0 when absent). */
export function retrievedMs(source: Source): number {
  return source.retrievedAt === undefined ? 0 : timestampMs(source.retrievedAt);
}

/** Orders sources best first: trust, then the later retrieval, then the smaller id. */
export function rankSources(sources: readonly Source[]): Source[] {
  return [...sources].sort(
    (a, b) => b.trust - a.trust || retrievedMs(b) - retrievedMs(a) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
}

/** Whether `rule` separates `chosen` from at least one of `others`. */
function ruleHolds(rule: ConflictRule, chosen: Source, others: readonly Source[]): boolean {
  switch (rule) {
    case ConflictRule.TRUST:
      return others.some((o) => o.trust < chosen.trust);
    case ConflictRule.FRESHNESS:
      return others.some((o) => o.trust === chosen.trust && retrievedMs(o) < retrievedMs(chosen));
    case ConflictRule.SOURCE_ID:
      return others.some((o) => o.trust === chosen.trust && retrievedMs(o) === retrievedMs(chosen));
    default:
      return false;
  }
}

function conflictFault(provenance: Provenance, conflict: Conflict): string | undefined {
  const byId = new Map(provenance.sources.map((s) => [s.id, s]));
  const sources = conflict.sourceIds.map((id) => byId.get(id));
  if (sources.some((s) => s === undefined))
    return `conflict on ${conflict.field} names a source the result does not list`;
  if (new Set(conflict.sourceIds).size !== conflict.sourceIds.length)
    return `conflict on ${conflict.field} names a source twice`;
  const best = rankSources(sources as Source[])[0];
  if (best?.id !== conflict.chosenSourceId)
    return `conflict on ${conflict.field} keeps ${conflict.chosenSourceId}, not the best-ranked source`;
  const others = (sources as Source[]).filter((s) => s.id !== best.id);
  if (!ruleHolds(conflict.rule, best, others))
    return `conflict on ${conflict.field} names a rule that does not separate its sources`;
  return undefined;
}

/** The provenance of `result`, checked; throws ENGINE_INVALID_RESPONSE naming what does not hold. */
export function checkedProvenance(engine: string, result: ReadResult): Provenance {
  const { provenance } = result;
  const fault = (detail: string) =>
    new SeleneError(ReasonCode.ENGINE_INVALID_RESPONSE, `${engine} returned a read result ${detail}`);
  if (provenance === undefined) throw fault("without provenance");
  if (provenance.sources.length === 0) throw fault("whose provenance names no source");
  if (provenance.contentDigest !== readContentDigest(result.text, result.data)) {
    throw fault("whose content digest does not match its text and data");
  }
  for (const conflict of provenance.conflicts) {
    const detail = conflictFault(provenance, conflict);
    if (detail !== undefined) throw fault(`whose ${detail}`);
  }
  return provenance;
}
