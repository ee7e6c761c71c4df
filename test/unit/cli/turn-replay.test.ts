import { create } from "@bufbuild/protobuf";
import { expect } from "chai";
import {
  type AuditEntry,
  type AuditRecord,
  AuditRecordSchema,
  Gate,
} from "../../../gen/es/selene/audit/v1/audit_pb.js";
import { replayText } from "../../../services/cli/replay-render.js";
import { replayTurns } from "../../../services/cli/turn-replay.js";
import { aPipeline } from "../../support/pipeline-builder.js";

/** The ledger's records of `entries`, numbered from `first`. */
function recordsOf(entries: readonly AuditEntry[], first = 1): AuditRecord[] {
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

/** Replaces the first `from` in a record's payload with `to` (same length). */
function tamper(record: AuditRecord, from: string, to: string): void {
  const bytes = Buffer.from(record.event!.payload);
  const at = bytes.indexOf(from);
  expect(at, `${from} in the payload`).to.be.greaterThan(-1);
  bytes.write(to, at);
  record.event!.payload = bytes;
}

describe("selenectl replay: the router's decisions again, on recorded inputs", () => {
  for (const utterance of [
    "lookup the capital of France",
    "remind me",
    "remind me to feed the cat at 8am",
    "send Ana a note",
  ]) {
    it(`finds no drift in a fresh turn ("${utterance}"), and replays to the same bytes`, async () => {
      const { submit, text } = aPipeline();
      const request = text(utterance);
      const records = recordsOf((await submit(request)).appended);
      const report = replayTurns(request.envelope!.correlationId, records);
      expect(report.drift, replayText(report)).to.equal(false);
      expect(report.turns[0]!.checks.map((c) => c.gate)).to.include("UNDERSTAND");
      expect(replayText(replayTurns(request.envelope!.correlationId, [...records].reverse()))).to.equal(
        replayText(report),
      );
    });
  }

  it("reports drift at UNDERSTAND and CLARIFY when the recorded understanding names another intent", async () => {
    const { submit, text } = aPipeline();
    const request = text("lookup the capital of France");
    const records = recordsOf((await submit(request)).appended);
    tamper(records.find((r) => r.event!.gate === Gate.UNDERSTAND)!, "tools.lookup", "tools.lookuq");
    const report = replayTurns(request.envelope!.correlationId, records);
    const drifted = report.turns[0]!.checks.filter((c) => c.drift);
    expect(drifted.map((c) => c.gate)).to.deep.equal(["UNDERSTAND input", "UNDERSTAND", "CLARIFY"]);
    expect(drifted.slice(1).map((c) => [c.recorded, c.replayed])).to.deep.equal([
      ["PASS tools.lookup", "DENY CAPABILITY_UNKNOWN tools.lookuq"],
      ["PASS", "not reached"],
    ]);
  });

  it("reports drift at CLARIFY when the recorded question is not the one the rule asks", async () => {
    const { submit, text } = aPipeline();
    const request = text("remind me");
    const records = recordsOf((await submit(request)).appended);
    tamper(records.find((r) => r.event!.gate === Gate.CLARIFY)!, "When should", "Where should");
    const drifted = replayTurns(request.envelope!.correlationId, records).turns[0]!.checks.filter((c) => c.drift);
    expect(drifted.map((c) => c.gate)).to.deep.equal(["CLARIFY input", "CLARIFY"]);
  });
});
