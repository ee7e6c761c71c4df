import { readFileSync } from "node:fs";
import { expect } from "chai";
import { loadResiliencePolicy, parseResiliencePolicy } from "../../../services/router/resilience/resilience-policy.js";
import { PolicyError } from "../../../services/runtime/policy/policy-file.js";
import { DECLARED_CAPABILITIES, POLICY_FILE, type PolicyJson } from "../../support/test-resilience.js";

/** The shipped policy file as JSON, for a test to break one value of. */
function shippedJson(): PolicyJson {
  return JSON.parse(readFileSync(POLICY_FILE, "utf8"));
}

/** The message of the PolicyError `json` gives. */
function errorOf(json: unknown): string {
  try {
    parseResiliencePolicy(json, DECLARED_CAPABILITIES);
  } catch (e) {
    expect(e).to.be.instanceOf(PolicyError);
    return (e as Error).message;
  }
  throw new Error("the policy was accepted");
}

describe("resilience policy", () => {
  it("accepts the shipped policy, with an entry for every declared capability and engine", () => {
    const policy = loadResiliencePolicy(POLICY_FILE, DECLARED_CAPABILITIES);
    expect([...policy.capabilities.keys()]).to.deep.equal(DECLARED_CAPABILITIES.map(([name]) => name));
    expect(Object.keys(policy.engines)).to.have.members(["nlp", "tools", "reminders", "calc"]);
    for (const [name, , kind] of DECLARED_CAPABILITIES) {
      const entry = policy.capabilities.get(name)!;
      if (kind !== 3) expect(entry.commit, name).to.equal(null);
      else expect(entry.commit?.requireIdempotencyKey, name).to.equal(true);
    }
  });

  const cases: Array<[string, (p: PolicyJson) => void, string]> = [
    ["a version it does not read", (p) => (p.version = 2), "policy.version: must be 1, got 2"],
    [
      "a deadline share past the whole budget",
      (p) => (p.capabilities["tools.lookup"].deadlineShare = 1.5),
      'policy.capabilities["tools.lookup"].deadlineShare: must be a number in (0, 1], got 1.5',
    ],
    [
      "zero attempts",
      (p) => (p.capabilities["calc.evaluate"].retry.maxAttempts = 0),
      'policy.capabilities["calc.evaluate"].retry.maxAttempts: must be an integer from 1 to 5, got 0',
    ],
    [
      "a maximum backoff under the initial one",
      (p) => (p.capabilities["tools.time"].retry.maxBackoffMs = 5),
      'policy.capabilities["tools.time"].retry.maxBackoffMs: must be an integer from 10 to 60000, got 5',
    ],
    [
      "a retry budget above 10% of calls",
      (p) => (p.engines.tools.retryBudget.ratio = 0.5),
      "policy.engines.tools.retryBudget.ratio: must be a number in [0, 0.1], got 0.5",
    ],
    [
      "a breaker that never opens",
      (p) => (p.engines.nlp.breaker.failureRatio = 0),
      "policy.engines.nlp.breaker.failureRatio: must be a number in (0, 1), got 0",
    ],
    [
      "a bulkhead of no calls",
      (p) => (p.engines.calc.bulkhead.maxInFlight = 0),
      "policy.engines.calc.bulkhead.maxInFlight: must be an integer from 1 to 10000, got 0",
    ],
    [
      "a commit retried without its key",
      (p) => (p.capabilities["reminders.create"].commit.requireIdempotencyKey = false),
      'policy.capabilities["reminders.create"].commit.requireIdempotencyKey: must be true: a commit is only ever retried with its key, got false',
    ],
    [
      "an effect without its commit entry",
      (p) => delete p.capabilities["reminders.cancel"].commit,
      'policy.capabilities["reminders.cancel"].commit: must be set, got nothing',
    ],
    [
      "a commit entry on a read",
      (p) => (p.capabilities["tools.lookup"].commit = { maxAttempts: 2, requireIdempotencyKey: true }),
      'policy.capabilities["tools.lookup"].commit: is not a field',
    ],
    [
      "an effect that falls back",
      (p) => (p.capabilities["reminders.create"].fallback = { lastGood: { maxAgeMs: 1000 } }),
      'policy.capabilities["reminders.create"].fallback: must be null: only a read may fall back',
    ],
    [
      "a hedged effect",
      (p) => (p.capabilities["reminders.create"].hedgeAfterMs = 100),
      'policy.capabilities["reminders.create"].hedgeAfterMs: must be null: only a read is hedged, got 100',
    ],
    [
      "a hedge without a second attempt",
      (p) => (p.capabilities["tools.lookup"].retry.maxAttempts = 1),
      'policy.capabilities["tools.lookup"].hedgeAfterMs: needs retry.maxAttempts >= 2 (a hedge is an attempt), got 250',
    ],
    [
      "a fallback to an unknown capability",
      (p) => (p.capabilities["tools.lookup"].fallback = { capability: "tools.nothing" }),
      'policy.capabilities["tools.lookup"].fallback.capability: must name a declared capability, got "tools.nothing"',
    ],
    [
      "a fallback to the same engine",
      (p) => (p.capabilities["tools.lookup"].fallback = { capability: "tools.convert" }),
      'policy.capabilities["tools.lookup"].fallback.capability: must be served by another engine, got "tools.convert"',
    ],
    [
      "a fallback to an effect",
      (p) => (p.capabilities["calc.evaluate"].fallback = { capability: "reminders.create" }),
      'policy.capabilities["calc.evaluate"].fallback.capability: must name a read, got "reminders.create"',
    ],
    [
      "a capability the router does not declare",
      (p) => (p.capabilities["tools.weather"] = p.capabilities["tools.time"]),
      'policy.capabilities["tools.weather"]: is not a capability of the catalog',
    ],
    [
      "a declared capability without an entry or a default of its kind",
      (p) => {
        delete p.capabilities.default.READ;
        delete p.capabilities["tools.time"];
      },
      'policy.capabilities["tools.time"]: must be set (or "default.READ")',
    ],
    [
      "a capability default for no kind",
      (p) => (p.capabilities.default.WRITE = p.capabilities.default.READ),
      "policy.capabilities.default.WRITE: is not a kind",
    ],
    [
      "a catalog engine without an entry or a default",
      (p) => {
        delete p.engines.default;
        delete p.engines.reminders;
      },
      'policy.engines.reminders: must be set (or a "default" entry)',
    ],
    [
      "an entry for an engine the catalog does not name",
      (p) => (p.engines.weather = p.engines.tools),
      "policy.engines.weather: is not an engine of the catalog",
    ],
    [
      "a misspelt field",
      (p) => (p.engines.tools.breaker.halfOpenAfter = 500),
      "policy.engines.tools.breaker.halfOpenAfter: is not a field",
    ],
  ];
  for (const [what, mutate, message] of cases) {
    it(`refuses ${what}, naming the field`, () => {
      const json = shippedJson();
      mutate(json);
      expect(errorOf(json)).to.contain(message);
    });
  }

  it("gives a catalog engine without an entry of its own the default entry", () => {
    const json = shippedJson();
    json.engines.default.bulkhead.maxInFlight = 7;
    delete json.engines.reminders;
    const policy = parseResiliencePolicy(json, DECLARED_CAPABILITIES);
    expect(policy.engines.reminders?.bulkhead.maxInFlight).to.equal(7);
    expect(policy.engines.tools?.bulkhead.maxInFlight).to.equal(64);
    expect(Object.keys(policy.engines)).to.deep.equal(["nlp", "tools", "reminders", "calc"]);
  });

  it("gives a catalog capability without an entry of its own the default of its kind", () => {
    const json = shippedJson();
    json.capabilities.default.EFFECT.deadlineShare = 0.7;
    delete json.capabilities["reminders.cancel"];
    const policy = parseResiliencePolicy(json, DECLARED_CAPABILITIES);
    expect(policy.capabilities.get("reminders.cancel")?.deadlineShare).to.equal(0.7);
    expect(policy.capabilities.get("reminders.cancel")?.commit?.requireIdempotencyKey).to.equal(true);
    expect(policy.capabilities.get("reminders.create")?.deadlineShare).to.equal(0.9);
  });

  it("accepts a read falling back to another engine's read", () => {
    const json = shippedJson();
    json.capabilities["tools.convert"].fallback = { capability: "calc.evaluate" };
    const policy = parseResiliencePolicy(json, DECLARED_CAPABILITIES);
    expect(policy.capabilities.get("tools.convert")!.fallback).to.deep.equal({ capability: "calc.evaluate" });
  });

  it("names the file when it is not JSON", () => {
    expect(() => loadResiliencePolicy("/nonexistent/resilience.json", DECLARED_CAPABILITIES)).to.throw(
      PolicyError,
      "/nonexistent/resilience.json",
    );
  });
});
