/**
 * Reads the provenance corpus (test/fixtures/provenance/) and builds the engine responses its
 * cases describe: conflicting claims settled by the tools engine's rule, or results given source
 * by source (with the real content digest unless a case gives another).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { type InvokeResponse, InvokeResponseSchema } from "../../gen/es/selene/engine/v1/engine_pb.js";
import { ConflictRule, FreshnessState } from "../../gen/es/selene/kernel/v1/provenance_pb.js";
import { readContentDigest } from "../../services/runtime/turn-decisions/provenance-check.js";

const DIR = join(import.meta.dirname, "..", "fixtures", "provenance");

/** A source as a case gives it. */
export interface CaseSource {
  readonly id: string;
  readonly trust: number;
  readonly retrieved: string;
}

/** A conflict as a case gives it. */
export interface CaseConflict {
  readonly field: string;
  readonly sources: readonly string[];
  readonly chosen: string;
  readonly rule: keyof typeof ConflictRule;
}

/** A case that gives its result source by source. */
export interface ResultCase {
  readonly name: string;
  readonly now: string;
  readonly refetched?: boolean;
  readonly provenance?: false;
  readonly sources?: readonly CaseSource[];
  readonly conflicts?: readonly CaseConflict[];
  readonly freshness?: keyof typeof FreshnessState;
  readonly digest?: string;
  readonly expect: Record<string, unknown>;
}

/** Reads one corpus file. */
export function provenanceCases<T>(file: string): T[] {
  return JSON.parse(readFileSync(join(DIR, file), "utf8")) as T[];
}

/** The path of a corpus file. */
export function provenanceFixture(file: string): string {
  return join(DIR, file);
}

/** The read result a ResultCase describes, text "The answer.". */
export function resultOf(c: ResultCase): InvokeResponse {
  const text = "The answer.";
  const data = { answer: "42" };
  const sources = c.sources ?? [{ id: "kb:atlas", trust: 90, retrieved: c.now }];
  return create(InvokeResponseSchema, {
    result: {
      case: "readResult",
      value: {
        text,
        data,
        provenance:
          c.provenance === false
            ? undefined
            : {
                sources: sources.map((s) => ({
                  id: s.id,
                  trust: s.trust,
                  retrievedAt: timestampFromMs(Date.parse(s.retrieved)),
                  contentDigest: readContentDigest(s.id, {}),
                })),
                retrievedAt: timestampFromMs(Date.parse(sources[0]?.retrieved ?? c.now)),
                contentDigest: c.digest ?? readContentDigest(text, data),
                freshness: { state: FreshnessState[c.freshness ?? "FRESH"] },
                conflicts: (c.conflicts ?? []).map((k) => ({
                  field: k.field,
                  sourceIds: [...k.sources],
                  chosenSourceId: k.chosen,
                  rule: ConflictRule[k.rule],
                })),
              },
      },
    },
  });
}
