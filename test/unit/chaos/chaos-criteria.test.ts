import { expect } from "chai";
import type { CallRecord } from "../../../bench/load/call-record.js";
import type { SloBudget } from "../../../bench/load/slo-budgets.js";
import {
  baselineHolds,
  errorRateBetween,
  judge,
  readsRecoverySeconds,
  recoverySeconds,
} from "../../../chaos/chaos-criteria.js";

const BUDGET: SloBudget = {
  rpc: "selene.os.v1.TurnService.SubmitTurn",
  outcome: undefined,
  p50: 100e6,
  p95: undefined,
  p99: 200e6,
  errorRate: 0,
};

/** Ten calls a second from `fromS` to `toS`; `failing(second)` says whether that second's calls fail. */
function callsPerSecond(fromS: number, toS: number, failing: (s: number) => boolean, latencyMs = 20): CallRecord[] {
  const out: CallRecord[] = [];
  for (let s = fromS; s < toS; s++) {
    for (let i = 0; i < 10; i++) {
      const fail = failing(s);
      out.push({
        startMs: s * 1000 + i * 100,
        latencyNs: latencyMs * 1e6,
        code: fail ? 14 : 0,
        error: fail ? "unavailable" : "",
        step: "answer",
        fixtureId: "f",
        tenant: "demo",
      });
    }
  }
  return out;
}

describe("chaos criteria", () => {
  it("counts the error rate of calls started in the fault window", () => {
    const records = callsPerSecond(0, 20, (s) => s >= 5 && s < 10);
    expect(errorRateBetween(records, 5000, 10_000)).to.deep.equal({ calls: 50, rate: 1 });
    expect(errorRateBetween(records, 0, 5000).rate).to.equal(0);
  });

  it("measures recovery from the fault's end to the first window in which the budget holds", () => {
    const records = callsPerSecond(0, 30, (s) => s >= 5 && s < 13);
    expect(recoverySeconds(records, 10_000, 30_000, BUDGET, 3)).to.equal(3);
    expect(
      recoverySeconds(
        callsPerSecond(0, 30, () => false),
        10_000,
        30_000,
        BUDGET,
        3,
      ),
    ).to.equal(0);
  });

  it("never recovers when the budget does not hold again before the load ends", () => {
    const records = callsPerSecond(0, 30, (s) => s >= 5);
    expect(recoverySeconds(records, 10_000, 30_000, BUDGET, 3)).to.equal(undefined);
    const slow = callsPerSecond(0, 30, () => false, 500);
    expect(recoverySeconds(slow, 10_000, 30_000, BUDGET, 3)).to.equal(undefined);
  });

  it("measures reads recovered from the first window in which every read turn succeeded", () => {
    // Reads fail until 11.5 s; another step's failure later does not hold reads back.
    const records = callsPerSecond(0, 30, (s) => s >= 5 && s < 11).concat(
      callsPerSecond(11, 12, () => true).filter((r) => r.startMs < 11_500),
      [{ ...callsPerSecond(20, 21, () => true)[0]!, step: "executed" }],
    );
    expect(readsRecoverySeconds(records, 10_000, 30_000, 3)).to.equal(1.5);
    // A window without any read proves nothing.
    const noReads = callsPerSecond(0, 30, () => false).map((r) => ({ ...r, step: "clarify" as const }));
    expect(readsRecoverySeconds(noReads, 10_000, 30_000, 3)).to.equal(undefined);
  });

  it("judges the baseline on calls that ended before the fault began", () => {
    const records = callsPerSecond(0, 10, () => false);
    // A call started just before the fault and cut short by it belongs to the fault.
    records.push({ ...records[0]!, startMs: 4990, latencyNs: 3000e6, code: 4, error: "deadline" });
    expect(baselineHolds(records, 5000, BUDGET).every((v) => v.ok)).to.equal(true);
    expect(
      baselineHolds(
        callsPerSecond(0, 10, () => false, 400),
        5000,
        BUDGET,
      ).some((v) => !v.ok),
    ).to.equal(true);
  });

  it("fails a run on any duplicate or lost effect, and on an unhealthy process", () => {
    const facts = {
      baseline: [],
      ledger: { acknowledged: 3, performed: 3, lost: [], duplicates: 0, undrained: 0, performedUnacknowledged: 0 },
      faultErrorRate: { calls: 10, rate: 0.2 },
      recoveryS: 1,
      unhealthy: [],
    };
    const criteria = {
      maxDuplicateEffects: 0,
      maxLostEffects: 0,
      maxErrorRateDuringFault: 0.5,
      recoverWithinS: 5,
      steadySeconds: 3,
      healthyAtEnd: true,
      latencyBudgetFactor: 1,
      maxAttemptsPerCall: 1.1,
      recoverWithinAfterServingS: 1,
      readsRecoverWithinS: 1,
      breakerOpensAndCloses: true,
      maxOtherErrorRateDuringFault: 0.05,
      maxDeadlineOverrunMs: 5,
    };
    Object.assign(facts, {
      attempts: { engine: "tools", calls: 400, ratio: 1.05 },
      recoveryAfterServingS: 0.5,
      readsRecoveryS: 0.75,
      breaker: { engine: "tools", opened: 1, closed: 1 },
      otherErrorRate: { calls: 100, rate: 0.01 },
      deadlineOverrun: { engine: "tools", ms: 4.9 },
    });
    expect(judge(criteria, facts).every((v) => v.pass)).to.equal(true);
    const failed = (over: object) =>
      judge(criteria, { ...facts, ...over })
        .filter((v) => !v.pass)
        .map((v) => v.name);
    expect(failed({ ledger: { ...facts.ledger, duplicates: 1 } })).to.deep.equal(["duplicate effects"]);
    expect(failed({ ledger: { ...facts.ledger, lost: ["e1"] } })).to.deep.equal(["lost acknowledged effects"]);
    expect(failed({ unhealthy: ["router"] })).to.deep.equal(["every process healthy at the end"]);
    expect(failed({ recoveryS: undefined })).to.deep.equal(["recovery to the SLO"]);
    expect(failed({ faultErrorRate: { calls: 10, rate: 0.6 } })).to.deep.equal(["error rate during the fault"]);
    expect(failed({ attempts: { engine: "tools", calls: 400, ratio: 1.2 } })).to.deep.equal([
      "attempts per call to the engine",
    ]);
    expect(failed({ recoveryAfterServingS: 1.5 })).to.deep.equal(["recovery after serving again"]);
    expect(failed({ readsRecoveryS: 1.25 })).to.deep.equal(["reads recovered"]);
    expect(failed({ readsRecoveryS: undefined })).to.deep.equal(["reads recovered"]);
    expect(failed({ breaker: { engine: "tools", opened: 1, closed: 0 } })).to.deep.equal(["breaker opens and closes"]);
    expect(failed({ otherErrorRate: { calls: 100, rate: 0.2 } })).to.deep.equal([
      "other turns' error rate in the fault",
    ]);
    // A synthetic overrun: one call ended 7 ms past its deadline; and a run where no call ended proves nothing.
    expect(failed({ deadlineOverrun: { engine: "tools", ms: 7 } })).to.deep.equal(["engine calls past their deadline"]);
    expect(failed({ deadlineOverrun: undefined })).to.deep.equal(["engine calls past their deadline"]);
  });
});
