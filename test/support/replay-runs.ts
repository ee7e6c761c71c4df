/**
 * One run of two turns through a fresh router pipeline over the real nlp rules and the real
 * knowledge base (at the fixed instant): a clarify turn and an answer whose sources conflict.
 * Run as a script with a file of recorded turns (recordsFile), it prints the digest of their
 * replay and of their provenance verification, so a test can compare the replay of the same
 * records in other processes, time zones and locales.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { type AuditEntry, type AuditRecord, AuditRecordSchema } from "../../gen/es/selene/audit/v1/audit_pb.js";
import { InvokeResponseSchema } from "../../gen/es/selene/engine/v1/engine_pb.js";
import { provenanceText, verifyProvenance } from "../../services/cli/provenance-verify.js";
import { replayJson } from "../../services/cli/replay-render.js";
import { replayTurns } from "../../services/cli/turn-replay.js";
import { understand } from "../../services/engines/nlp/understand.js";
import { lookup } from "../../services/engines/tools/knowledge-base.js";
import { sha256Digest } from "../../services/runtime/content-digest.js";
import { FIXED_MS } from "./builders.js";
import { aPipeline } from "./pipeline-builder.js";

/** The ledger's records of `entries`. */
export function recordsOf(entries: readonly AuditEntry[], first = 1): AuditRecord[] {
  return entries.map((entry, i) =>
    create(AuditRecordSchema, {
      tenantId: entry.tenantId,
      correlationId: entry.correlationId,
      turnId: entry.turnId,
      sequence: BigInt(first + i),
      event: entry.event,
    }),
  );
}

/** A pipeline over the nlp engine's rules and the tools engine's knowledge base. */
export function aRealReadPipeline() {
  return aPipeline({
    nlp: {
      invoke: (request) =>
        create(InvokeResponseSchema, {
          result: { case: "understanding", value: understand(String(request.input.value))! },
        }),
    },
    tools: {
      invoke: (request) =>
        create(InvokeResponseSchema, {
          result: {
            case: "readResult",
            value: lookup(
              request.input.case === "read" ? (request.input.value.args.query ?? "") : "",
              new Date(FIXED_MS),
            )!,
          },
        }),
    },
  });
}

/** The records and replay JSON of each utterance, in a fresh pipeline. */
export async function replayRun(
  utterances: readonly string[] = ["remind me", "how tall is Mont Blanc"],
): Promise<{ records: AuditRecord[][]; json: string[] }> {
  const pipeline = aRealReadPipeline();
  const records: AuditRecord[][] = [];
  const json: string[] = [];
  for (const utterance of utterances) {
    const request = pipeline.text(utterance);
    const turn = recordsOf((await pipeline.submit(request)).appended);
    records.push(turn);
    json.push(replayJson(replayTurns(request.envelope!.correlationId, turn)));
  }
  return { records, json };
}

/** What the same records replay and verify to: one digest of both outputs, for every turn. */
export function replayDigest(turns: readonly AuditRecord[][]): string {
  const outputs = turns.map((records) => {
    const id = records[0]?.correlationId ?? "";
    return `${replayJson(replayTurns(id, records))}\n${provenanceText(verifyProvenance(id, records))}`;
  });
  return sha256Digest(outputs.join("\n"));
}

/** Writes recorded turns to `path` (base64 of each record's bytes). */
export function writeRecords(path: string, turns: readonly AuditRecord[][]): void {
  const json = turns.map((records) =>
    records.map((r) => Buffer.from(toBinary(AuditRecordSchema, r)).toString("base64")),
  );
  writeFileSync(path, JSON.stringify(json));
}

function readRecords(path: string): AuditRecord[][] {
  const json = JSON.parse(readFileSync(path, "utf8")) as string[][];
  return json.map((records) => records.map((r) => fromBinary(AuditRecordSchema, Buffer.from(r, "base64"))));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.stdout.write(`${replayDigest(readRecords(process.argv[2]!))}\n`);
}
