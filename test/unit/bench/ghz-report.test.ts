import { expect } from "chai";
import type { CallRecord } from "../../../bench/load/call-record.js";
import { ghzHistogram, nearestRank, perSecond, sliceStats } from "../../../bench/load/ghz-report.js";
import { rfc3339Nano } from "../../../bench/load/rfc3339-nano.js";

const ms = (n: number) => n * 1e6;

function aCall(over: Partial<CallRecord> = {}): CallRecord {
  return { startMs: 0, latencyNs: ms(10), code: 0, error: "", step: "answer", fixtureId: "f", tenant: "demo", ...over };
}

describe("ghz report figures", () => {
  it("takes percentiles by nearest rank", () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(nearestRank(sorted, 10)).to.equal(10);
    expect(nearestRank(sorted, 99)).to.equal(99);
    expect(nearestRank([5], 50)).to.equal(5);
    expect(nearestRank([], 50)).to.equal(0);
    expect(nearestRank([1, 2, 3], 50)).to.equal(2);
  });

  it("spreads 11 buckets from the fastest to the slowest, marks in seconds, frequencies summing to 1", () => {
    const sorted = [ms(1), ms(2), ms(2), ms(5), ms(11)];
    const h = ghzHistogram(sorted);
    expect(h).to.have.length(11);
    expect(h[0]!.mark).to.equal(0.001);
    expect(h[10]!.mark).to.be.closeTo(0.011, 1e-12);
    expect(h.reduce((a, b) => a + b.count, 0)).to.equal(5);
    expect(h.reduce((a, b) => a + b.frequency, 0)).to.be.closeTo(1, 1e-9);
    expect(h[0]!.count).to.equal(1);
    expect(h[1]!.count).to.equal(2);
  });

  it("leaves failed calls out of the latencies and counts them in the error rate", () => {
    const stats = sliceStats([
      aCall(),
      aCall({ latencyNs: ms(20) }),
      aCall({ error: "x", code: 14, latencyNs: ms(900) }),
    ]);
    expect(stats.count).to.equal(3);
    expect(stats.errors).to.equal(1);
    expect(stats.errorRate).to.be.closeTo(1 / 3, 1e-9);
    expect(stats.p99).to.be.closeTo(ms(20), ms(0.05));
    expect(stats.average).to.equal(ms(15));
  });

  it("groups calls by the second they started in, with empty seconds kept", () => {
    const series = perSecond([aCall({ startMs: 100 }), aCall({ startMs: 2500, error: "e", code: 4 })]);
    expect(series.map((s) => [s.second, s.count, s.errors])).to.deep.equal([
      [0, 1, 0],
      [1, 0, 0],
      [2, 1, 1],
    ]);
  });

  it("prints RFC 3339 timestamps with nanoseconds", () => {
    expect(rfc3339Nano(Date.UTC(2026, 10, 24, 15, 0, 0, 123), 456_789)).to.equal("2026-11-24T15:00:00.123456789Z");
    expect(rfc3339Nano(Date.UTC(2026, 0, 1), 0)).to.equal("2026-01-01T00:00:00.000000000Z");
  });
});
