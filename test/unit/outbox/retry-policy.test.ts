import { expect } from "chai";
import {
  DEFAULT_RETRY_POLICIES,
  DEFAULT_RETRY_POLICY,
  delayCeilingMs,
  nextDelayMs,
  parseRetryPolicies,
  policyFor,
  type RetryPolicy,
} from "../../../services/outbox/retry-policy.js";
import { ConfigError } from "../../../services/runtime/service-config.js";

/** A policy with the defaults, overriding only what the test is about. */
function aPolicy(overrides: Partial<RetryPolicy> = {}): RetryPolicy {
  return { ...DEFAULT_RETRY_POLICY, ...overrides };
}

describe("retry policy", () => {
  it("defaults to 8 attempts, 200 ms base and a 30 s cap", () => {
    expect(DEFAULT_RETRY_POLICY).to.deep.equal({ maxAttempts: 8, baseDelayMs: 200, maxDelayMs: 30_000 });
    expect(policyFor(DEFAULT_RETRY_POLICIES, "reminders.create")).to.equal(DEFAULT_RETRY_POLICY);
  });

  it("doubles the ceiling per attempt from the base until the cap", () => {
    const policy = aPolicy();
    const ceilings = [1, 2, 3, 4, 5, 6, 7, 8, 9].map((attempt) => delayCeilingMs(policy, attempt));
    expect(ceilings).to.deep.equal([200, 400, 800, 1600, 3200, 6400, 12_800, 25_600, 30_000]);
  });

  it("stays at the cap for huge attempt numbers instead of overflowing", () => {
    expect(delayCeilingMs(aPolicy(), 5000)).to.equal(30_000);
    expect(nextDelayMs(aPolicy(), 5000, () => 0.999_999_999)).to.equal(30_000);
  });

  it("draws the full-jitter delay from zero to the ceiling with the injected random source", () => {
    const policy = aPolicy({ baseDelayMs: 100, maxDelayMs: 10_000 });
    expect(nextDelayMs(policy, 3, () => 0)).to.equal(0);
    expect(nextDelayMs(policy, 3, () => 0.5)).to.equal(200);
    expect(nextDelayMs(policy, 3, () => 0.999_999)).to.equal(400);
  });

  it("never leaves [0, ceiling] and covers the range", () => {
    const policy = aPolicy({ baseDelayMs: 50, maxDelayMs: 1000 });
    for (let attempt = 1; attempt <= 12; attempt++) {
      const ceiling = delayCeilingMs(policy, attempt);
      const delays = Array.from({ length: 200 }, (_, i) => nextDelayMs(policy, attempt, () => i / 200));
      expect(Math.min(...delays)).to.equal(0);
      expect(Math.max(...delays))
        .to.be.at.most(ceiling)
        .and.at.least(ceiling * 0.99);
      for (const delay of delays) expect(Number.isInteger(delay)).to.equal(true);
    }
  });

  describe("parseRetryPolicies", () => {
    it("gives the defaults for unset or empty text", () => {
      for (const text of [undefined, "", " , "]) {
        const policies = parseRetryPolicies(text);
        expect(policies.defaultPolicy).to.deep.equal(DEFAULT_RETRY_POLICY);
        expect(policies.byEffectType.size).to.equal(0);
      }
    });

    it("reads per-type policies and a default, and applies each to its type only", () => {
      const policies = parseRetryPolicies("reminders.create=5:100:10000, *=3:50:500,calc.run=1:1:1");
      expect(policyFor(policies, "reminders.create")).to.deep.equal({
        maxAttempts: 5,
        baseDelayMs: 100,
        maxDelayMs: 10_000,
      });
      expect(policyFor(policies, "calc.run")).to.deep.equal({ maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 1 });
      expect(policyFor(policies, "reminders.cancel")).to.deep.equal({
        maxAttempts: 3,
        baseDelayMs: 50,
        maxDelayMs: 500,
      });
    });

    for (const text of [
      "reminders.create=5:100",
      "reminders.create=five:100:1000",
      "Reminders.Create=5:100:1000",
      "reminders=5:100:1000",
      "reminders.create=0:100:1000",
      "reminders.create=5:0:1000",
      "reminders.create=5:1000:100",
      "reminders.create=5:100:1000,reminders.create=6:100:1000",
      "reminders.create=5:100:1000;calc.run=1:1:1",
    ]) {
      it(`refuses "${text}" with a ConfigError naming the variable`, () => {
        expect(() => parseRetryPolicies(text))
          .to.throw(ConfigError)
          .with.property("message")
          .that.contains("SELENE_OUTBOX_RETRY");
      });
    }
  });
});
