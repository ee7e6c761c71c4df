/**
 * Builds the ReadResult of a read with its Provenance: sources most trusted first, per-source
 * digests, the content digest, freshness and conflicts. Everything is sorted here, so a result
 * encodes to the same bytes whatever order its parts were gathered in.
 *
 * content_digest = readContentDigest(text, data), the form the router checks; a source's
 * content_digest = sha256Digest(canonicalJson(content)) of what that source contributed.
 */
import { create } from "@bufbuild/protobuf";
import { durationFromMs, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { type ReadResult, ReadResultSchema } from "../../../gen/es/selene/engine/v1/engine_pb.js";
import {
  type ConflictRule,
  ConflictSchema,
  FreshnessSchema,
  FreshnessState,
  type Provenance,
  ProvenanceSchema,
  SourceSchema,
} from "../../../gen/es/selene/kernel/v1/provenance_pb.js";
import { canonicalJson, sha256Digest } from "../../runtime/content-digest.js";
import { readContentDigest } from "../../runtime/turn-decisions/provenance-check.js";

/** One source a result was built from. */
export interface SourceRecord {
  /** Stable id, such as "kb:atlas". */
  readonly id: string;
  /** Optional locator (a URI or a citation). */
  readonly uri?: string;
  /** Trust rank, 0..100: higher wins a conflict. */
  readonly trust: number;
  /** When the source's data was retrieved, in epoch milliseconds. */
  readonly retrievedAtMs: number;
  /** What the source contributed to the result; its canonical JSON is digested. */
  readonly content: unknown;
}

/** Sources that disagreed on one field, and the rule that chose the kept value. */
export interface ConflictRecord {
  /** The field the sources disagree on. */
  readonly field: string;
  /** Ids of the disagreeing sources, in any order (sorted when built). */
  readonly sourceIds: readonly string[];
  /** The id of the source whose value was kept. */
  readonly chosenSourceId: string;
  /** The rule that chose it. */
  readonly rule: ConflictRule;
}

/** How a result ages: computed now (LIVE), or a snapshot that is FRESH for maxAgeMs. */
export type FreshnessPolicy = { readonly kind: "live" } | { readonly kind: "snapshot"; readonly maxAgeMs: number };

/** Everything a ReadResult is built from. */
export interface ReadResultInput {
  /** The answer in words. */
  readonly text: string;
  /** The answer's structured values. */
  readonly data: Readonly<Record<string, string>>;
  /** The sources, in any order (at least one). */
  readonly sources: readonly SourceRecord[];
  /** When the result's data was retrieved: now for computed results, the kept value's snapshot otherwise. */
  readonly retrievedAtMs: number;
  /** How the result ages. */
  readonly freshness: FreshnessPolicy;
  /** Disagreements between sources; each one is recorded, never dropped. */
  readonly conflicts?: readonly ConflictRecord[];
  /** The time of the request, in epoch milliseconds. */
  readonly nowMs: number;
}

/** FRESH while now - retrievedAt <= maxAge, STALE after. */
export function snapshotFreshness(retrievedAtMs: number, maxAgeMs: number, nowMs: number): FreshnessState {
  return nowMs - retrievedAtMs <= maxAgeMs ? FreshnessState.FRESH : FreshnessState.STALE;
}

/** Builds a ReadResult and its Provenance from the parts of a read. */
export function buildReadResult(input: ReadResultInput): ReadResult {
  const data: Record<string, string> = {};
  for (const key of Object.keys(input.data).sort()) data[key] = input.data[key]!;
  return create(ReadResultSchema, {
    text: input.text,
    data,
    provenance: buildProvenance(input, readContentDigest(input.text, data)),
  });
}

function buildProvenance(input: ReadResultInput, digest: string): Provenance {
  if (input.sources.length === 0) throw new RangeError("a read result needs at least one source");
  const sources = [...input.sources].sort(
    (a, b) => b.trust - a.trust || b.retrievedAtMs - a.retrievedAtMs || compare(a.id, b.id),
  );
  const conflicts = [...(input.conflicts ?? [])].sort(
    (a, b) => compare(a.field, b.field) || compare(a.chosenSourceId, b.chosenSourceId),
  );
  const { freshness } = input;
  return create(ProvenanceSchema, {
    sources: sources.map((source) =>
      create(SourceSchema, {
        id: source.id,
        uri: source.uri ?? "",
        trust: source.trust,
        retrievedAt: timestampFromMs(source.retrievedAtMs),
        contentDigest: sha256Digest(canonicalJson(source.content)),
      }),
    ),
    retrievedAt: timestampFromMs(input.retrievedAtMs),
    contentDigest: digest,
    freshness:
      freshness.kind === "live"
        ? create(FreshnessSchema, { state: FreshnessState.LIVE })
        : create(FreshnessSchema, {
            maxAge: durationFromMs(freshness.maxAgeMs),
            state: snapshotFreshness(input.retrievedAtMs, freshness.maxAgeMs, input.nowMs),
          }),
    conflicts: conflicts.map((conflict) =>
      create(ConflictSchema, {
        field: conflict.field,
        sourceIds: [...conflict.sourceIds].sort(compare),
        chosenSourceId: conflict.chosenSourceId,
        rule: conflict.rule,
      }),
    ),
  });
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
