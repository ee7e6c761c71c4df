import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { expect } from "chai";
import { type AuditRecord, Gate } from "../../../gen/es/selene/audit/v1/audit_pb.js";
import { provenanceText, verifyProvenance } from "../../../services/cli/provenance-verify.js";
import { replayText } from "../../../services/cli/replay-render.js";
import { replayTurns } from "../../../services/cli/turn-replay.js";
import { sha256Digest } from "../../../services/runtime/content-digest.js";
import { replayDigest, replayRun, writeRecords } from "../../support/replay-runs.js";

/** Replaces the first `from` in a record's payload with `to` (same length). */
function tamper(record: AuditRecord, from: string, to: string): void {
  const bytes = Buffer.from(record.event!.payload);
  const at = bytes.indexOf(from);
  expect(at, `${from} in the payload`).to.be.greaterThan(-1);
  bytes.write(to, at);
  record.event!.payload = bytes;
}

describe("selenectl provenance verify: digests recomputed from the ledger", () => {
  it("finds every digest of a disputed answer matching, and prints the same bytes in any record order", async () => {
    const { records } = await replayRun(["how tall is Mont Blanc"]);
    const report = verifyProvenance("c-1", records[0]!);
    expect(report.mismatch, provenanceText(report)).to.equal(false);
    expect(report.answers).to.have.length(1);
    expect(report.answers[0]!.sources).to.deep.equal(["kb:gazetteer", "kb:almanac"]);
    expect(report.answers[0]!.checks.map((c) => c.what)).to.deep.equal(["engine response", "content", "outcome"]);
    expect(provenanceText(verifyProvenance("c-1", [...records[0]!].reverse()))).to.equal(provenanceText(report));
  });

  it("reports a mismatch when the recorded response was changed after the fact", async () => {
    const { records } = await replayRun(["how tall is Mont Blanc"]);
    const answer = records[0]!.find((r) => r.event?.gate === Gate.ANSWER)!;
    tamper(answer, "4806", "4807");
    const report = verifyProvenance("c-1", records[0]!);
    expect(report.mismatch).to.equal(true);
    expect(report.answers[0]!.checks.filter((c) => !c.match).map((c) => c.what)).to.deep.equal([
      "engine response",
      "content",
      // The router would refuse the changed response now: its provenance no longer holds.
      "readable",
    ]);
    expect(provenanceText(report)).to.contain("MISMATCH");
  });

  it("reports a mismatch when the response and its input digest were both rewritten: the content digest gives it away", async () => {
    const { records } = await replayRun(["how tall is Mont Blanc"]);
    const answer = records[0]!.find((r) => r.event?.gate === Gate.ANSWER)!;
    tamper(answer, "4806", "4807");
    answer.event!.inputDigest = sha256Digest(answer.event!.payload);
    const failed = verifyProvenance("c-1", records[0]!).answers[0]!.checks.filter((c) => !c.match);
    expect(failed.map((c) => c.what)).to.include("content");
  });
});

describe("replay across runs", () => {
  /** A record without its attempt id (random per attempt): what two runs must agree on. */
  const decided = (r: AuditRecord) => {
    const { gate, decision, reason, attributes, payload, inputDigest } = r.event!;
    return { gate, decision, reason, attributes, payload: Buffer.from(payload).toString("hex"), inputDigest };
  };

  it("decides a clarify turn and a conflicting answer to the same bytes in two runs, with no drift", async () => {
    const first = await replayRun();
    const second = await replayRun();
    expect(second.records.map((turn) => turn.map(decided))).to.deep.equal(
      first.records.map((turn) => turn.map(decided)),
    );
    for (const [i, records] of first.records.entries()) {
      const report = replayTurns(`c-${i + 1}`, records);
      expect(report.drift, replayText(report)).to.equal(false);
    }
    expect(first.json[0]).to.contain('"gate":"CLARIFY"');
    expect(first.json[1]).to.contain("FRESHNESS:kb:gazetteer");
  });

  it("replays and verifies the same records to the same bytes in other processes, time zones and locales", async function () {
    this.timeout(120_000);
    const { records } = await replayRun();
    const dir = mkdtempSync(join(tmpdir(), "selene-replay-"));
    try {
      const file = join(dir, "records.json");
      writeRecords(file, records);
      const here = replayDigest(records);
      const run = promisify(execFile);
      const digests = await Promise.all(
        [
          { TZ: "Asia/Kathmandu", LANG: "tr_TR.UTF-8", LC_ALL: "tr_TR.UTF-8" },
          { TZ: "America/Los_Angeles", LANG: "de_DE.UTF-8", LC_ALL: "de_DE.UTF-8" },
        ].map((env) =>
          run(process.execPath, ["--import", "tsx", "test/support/replay-runs.ts", file], {
            env: { ...process.env, ...env },
          }).then(({ stdout }) => stdout.trim()),
        ),
      );
      expect(digests).to.deep.equal([here, here]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
