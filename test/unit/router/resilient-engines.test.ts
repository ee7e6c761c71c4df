import { readFileSync } from "node:fs";
import { create } from "@bufbuild/protobuf";
import { expect } from "chai";
import fc from "fast-check";
import {
  CapabilityKind,
  CommitRequestSchema,
  CommitResponseSchema,
} from "../../../gen/es/selene/engine/v1/engine_pb.js";
import { FreshnessState } from "../../../gen/es/selene/kernel/v1/provenance_pb.js";
import { ReasonCode } from "../../../gen/es/selene/kernel/v1/reason_pb.js";
import type { EngineClient } from "../../../services/router/engine-client.js";
import type { EngineRegistry, RegisteredCapability } from "../../../services/router/engine-registry.js";
import { LAST_GOOD_SOURCE } from "../../../services/router/resilience/last-good-answers.js";
import { parseResiliencePolicy, type ResiliencePolicy } from "../../../services/router/resilience/resilience-policy.js";
import { maxAttemptsOf, type ResilientEngines } from "../../../services/router/resilience/resilient-engines.js";
import { SeleneError } from "../../../services/runtime/selene-error.js";
import { anEnvelope, aReadResponse } from "../../support/builders.js";
import { fakeEngineRegistry } from "../../support/fake-engine-registry.js";
import {
  DECLARED_CAPABILITIES,
  POLICY_FILE,
  type PolicyJson,
  resilientEnginesOver,
  shippedPolicy,
} from "../../support/test-resilience.js";

const LOOKUP: RegisteredCapability = {
  name: "tools.lookup",
  engine: "tools",
  kind: CapabilityKind.READ,
  requiredFields: [],
};
const TIME: RegisteredCapability = {
  name: "tools.time",
  engine: "tools",
  kind: CapabilityKind.READ,
  requiredFields: [],
};
const CALC: RegisteredCapability = {
  name: "calc.evaluate",
  engine: "calc",
  kind: CapabilityKind.READ,
  requiredFields: [],
};
const REMIND: RegisteredCapability = {
  name: "reminders.create",
  engine: "reminders",
  kind: CapabilityKind.EFFECT,
  requiredFields: [],
};

/** The shipped policy with `change` applied to its JSON form. */
function aPolicy(change: (json: PolicyJson) => void): ResiliencePolicy {
  const json = JSON.parse(JSON.stringify(policyJson));
  change(json);
  return parseResiliencePolicy(json, DECLARED_CAPABILITIES);
}
const policyJson: PolicyJson = JSON.parse(readFileSync(POLICY_FILE, "utf8"));

const lookupRequest = (tenant = "acme", query = "capital of France") => ({
  envelope: anEnvelope({ tenantId: tenant }),
  capability: "tools.lookup",
  input: { case: "read" as const, value: { args: { query } } },
});
const options = (ms = 2000) => ({ deadline: Date.now() + ms, correlationId: "c-1" });
const failing =
  (reason = ReasonCode.ENGINE_UNAVAILABLE) =>
  () => {
    throw new SeleneError(reason, "down");
  };
const reasonOf = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: SeleneError) => e.reason,
  );
/** A reminder's dry run through `engines`: its refusal's reason, or undefined when it answered. */
const simulateReminder = (engines: ResilientEngines) =>
  reasonOf(
    engines.call(REMIND, "simulate", { envelope: anEnvelope(), capability: "reminders.create", fields: {} }, options()),
  );

describe("resilient engine calls", () => {
  it("retries a retryable engine fault within the call, and answers", async () => {
    let n = 0;
    const registry = fakeEngineRegistry({
      tools: {
        invoke: () => {
          n += 1;
          if (n === 1) throw new SeleneError(ReasonCode.ENGINE_FAILED, "flaky");
          return aReadResponse();
        },
      },
    });
    const { engines, metrics } = resilientEnginesOver(registry);
    const answer = await engines.read(TIME, { ...lookupRequest(), capability: "tools.time" }, options());
    expect(answer.fallback).to.equal(undefined);
    expect(registry.calls.length).to.equal(2);
    expect(metrics.counts.get("attempt:tools:retry")).to.equal(1);
  });

  it("tells how far past its deadline each call ended, answered or failed", async () => {
    let clock = 1_000_000;
    const registry = fakeEngineRegistry({
      tools: {
        invoke: () => {
          clock += 1200; // the engine answers 200 ms after the call's 1000 ms share (0.5 of 2000)
          return aReadResponse();
        },
      },
      calc: { invoke: failing(ReasonCode.ENGINE_REJECTED) },
    });
    const policy = aPolicy((json) => {
      json.capabilities["tools.lookup"].deadlineShare = 0.5;
    });
    const { engines, metrics } = resilientEnginesOver(registry, policy, () => clock);
    await engines.call(LOOKUP, "invoke", lookupRequest(), { deadline: clock + 2000, correlationId: "c" });
    await reasonOf(engines.call(CALC, "invoke", lookupRequest(), { deadline: clock + 2000, correlationId: "c" }));
    expect(metrics.overruns.get("tools")).to.deep.equal([200]);
    expect(metrics.overruns.get("calc")!.length).to.equal(1);
    expect(metrics.overruns.get("calc")![0]).to.be.below(0);
  });

  it("never retries a refusal of the request", async () => {
    const registry = fakeEngineRegistry({ tools: { invoke: failing(ReasonCode.ENGINE_REJECTED) } });
    const { engines } = resilientEnginesOver(registry);
    expect(await reasonOf(engines.call(TIME, "invoke", lookupRequest(), options()))).to.equal(
      ReasonCode.ENGINE_REJECTED,
    );
    expect(registry.calls.length).to.equal(1);
  });

  it("keeps attempts to a failing engine within 1.1x of the calls, plus the budget's floor", async () => {
    // No breaker in the way: the budget alone must hold the retries.
    const policy = aPolicy((p) => {
      p.engines.tools.breaker.failureRatio = 0.99;
      p.engines.tools.breaker.minimumRps = 10_000;
      p.engines.tools.tenantBreaker = null;
    });
    const registry = fakeEngineRegistry({ tools: { invoke: failing() } });
    const { engines, metrics } = resilientEnginesOver(registry, policy);
    const calls = 200;
    for (let i = 0; i < calls; i++) await reasonOf(engines.call(TIME, "invoke", lookupRequest(), options()));
    const floor = policy.engines.tools!.retryBudget.floor;
    expect(registry.calls.length).to.be.at.most(Math.floor(calls * 1.1) + floor);
    expect(registry.calls.length).to.be.greaterThan(calls); // it did retry, within the budget
    expect(metrics.counts.get("budget:tools")).to.be.greaterThan(0);
  });

  it("opens the engine's breaker on a failing engine, fails fast with ENGINE_CIRCUIT_OPEN, and closes after a good probe", async () => {
    const policy = aPolicy((p) => {
      p.engines.calc.breaker = { failureRatio: 0.5, windowMs: 1000, minimumRps: 5, halfOpenAfterMs: 50 };
      p.engines.calc.tenantBreaker = null;
    });
    let healthy = false;
    const registry = fakeEngineRegistry({
      calc: { invoke: () => (healthy ? aReadResponse() : failing()()) },
    });
    const { engines, changes } = resilientEnginesOver(registry, policy);
    const request = { ...lookupRequest(), capability: "calc.evaluate" };
    let open: ReasonCode | undefined;
    for (let i = 0; i < 40 && open !== ReasonCode.ENGINE_CIRCUIT_OPEN; i++) {
      open = await reasonOf(engines.call(CALC, "invoke", request, options()));
    }
    expect(open).to.equal(ReasonCode.ENGINE_CIRCUIT_OPEN);
    const before = registry.calls.length;
    const error = await engines.call(CALC, "invoke", request, options()).catch((e: SeleneError) => e);
    expect(registry.calls.length).to.equal(before); // fails fast: the engine is not called
    expect((error as SeleneError).retryAfterMs).to.equal(50);
    healthy = true;
    await new Promise((resolve) => setTimeout(resolve, 60));
    await engines.call(CALC, "invoke", request, options()); // the probe
    expect(changes.filter((c) => c.tenant === undefined).map((c) => [c.from, c.to])).to.deep.equal([
      ["closed", "open"],
      ["open", "half_open"],
      ["half_open", "closed"],
    ]);
    expect(changes.find((c) => c.to === "open")!.reason).to.equal(ReasonCode.ENGINE_UNAVAILABLE);
  });

  it("sends a half-open breaker's probe once the engine's channel says it is connected, and no other call", async () => {
    const policy = aPolicy((p) => {
      p.engines.calc.breaker = { failureRatio: 0.5, windowMs: 1000, minimumRps: 5, halfOpenAfterMs: 20 };
      p.engines.calc.tenantBreaker = null;
    });
    const inner = fakeEngineRegistry({ calc: { invoke: failing() } });
    const waited: number[] = [];
    const registry: EngineRegistry = {
      ...inner,
      client: (engine) => ({
        ...inner.client(engine),
        ready: async (deadline: number) => {
          waited.push(deadline);
          return true;
        },
      }),
    };
    const { engines } = resilientEnginesOver(registry, policy);
    const request = { ...lookupRequest(), capability: "calc.evaluate" };
    for (
      let i = 0;
      i < 40 && (await reasonOf(engines.call(CALC, "invoke", request, options()))) !== ReasonCode.ENGINE_CIRCUIT_OPEN;
      i++
    );
    expect(waited).to.deep.equal([]); // a closed breaker's calls never wait
    await new Promise((resolve) => setTimeout(resolve, 30));
    await reasonOf(engines.call(CALC, "invoke", request, options()));
    expect(waited.length).to.equal(1);
  });

  it("opens a tenant's breaker when only that tenant's calls fail, leaving the others served", async () => {
    const policy = aPolicy((p) => {
      p.engines.tools.tenantBreaker = { failureRatio: 0.5, windowMs: 1000, minimumRps: 5, halfOpenAfterMs: 5000 };
      p.engines.tools.breaker.minimumRps = 10_000;
    });
    const registry = fakeEngineRegistry({
      tools: {
        invoke: (r) => {
          if (r.envelope?.tenantId === "acme") throw new SeleneError(ReasonCode.ENGINE_FAILED, "acme's data is broken");
          return aReadResponse();
        },
      },
    });
    const { engines, changes } = resilientEnginesOver(registry, policy);
    let acme: ReasonCode | undefined;
    for (let i = 0; i < 40 && acme !== ReasonCode.ENGINE_CIRCUIT_OPEN; i++) {
      acme = await reasonOf(engines.call(TIME, "invoke", lookupRequest("acme"), options()));
      await engines.call(TIME, "invoke", lookupRequest("demo"), options());
    }
    expect(acme).to.equal(ReasonCode.ENGINE_CIRCUIT_OPEN);
    expect(await reasonOf(engines.call(TIME, "invoke", lookupRequest("demo"), options()))).to.equal(undefined);
    expect(changes.map((c) => [c.tenant, c.to])).to.deep.equal([["acme", "open"]]);
  });

  it("refuses a call past the engine's bulkhead at once with ENGINE_BUSY and a retry hint", async () => {
    const policy = aPolicy((p) => {
      p.engines.tools.bulkhead = { maxInFlight: 2, retryAfterMs: 40 };
    });
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const slow: EngineRegistry = {
      ...fakeEngineRegistry({}),
      client: () =>
        ({
          call: async () => {
            await gate;
            return aReadResponse();
          },
          ready: async () => true,
          close() {},
        }) as unknown as EngineClient,
    };
    const { engines, metrics } = resilientEnginesOver(slow, policy);
    const held = [1, 2].map(() => engines.call(TIME, "invoke", lookupRequest(), options()));
    const busy = await engines.call(TIME, "invoke", lookupRequest(), options()).catch((e: SeleneError) => e);
    expect((busy as SeleneError).reason).to.equal(ReasonCode.ENGINE_BUSY);
    expect((busy as SeleneError).retryAfterMs).to.equal(40);
    expect(metrics.counts.get("bulkhead:tools")).to.equal(1);
    release();
    await Promise.all(held);
  });

  it("hedges a slow read: a second attempt starts, the first answer wins and the other is cancelled", async () => {
    const policy = aPolicy((p) => {
      p.capabilities["tools.lookup"].hedgeAfterMs = 20;
    });
    const signals: AbortSignal[] = [];
    const hedged: EngineRegistry = {
      ...fakeEngineRegistry({}),
      client: () =>
        ({
          call: (_method: string, _request: unknown, o: { signal: AbortSignal }) => {
            signals.push(o.signal);
            // The first attempt hangs until cancelled; the hedge answers.
            if (signals.length === 1) {
              return new Promise((_, reject) =>
                o.signal.addEventListener("abort", () => reject(new Error("cancelled"))),
              );
            }
            return Promise.resolve(aReadResponse());
          },
          ready: async () => true,
          close() {},
        }) as unknown as EngineClient,
    };
    const { engines, metrics, changes } = resilientEnginesOver(hedged, policy);
    const answer = await engines.read(LOOKUP, lookupRequest(), options());
    expect(answer.response.result.case).to.equal("readResult");
    expect(metrics.counts.get("attempt:tools:hedge")).to.equal(1);
    expect(signals.map((s) => s.aborted)).to.deep.equal([true, false]);
    expect(changes).to.deep.equal([]); // the cancelled attempt is no failure of the engine
  });

  it("answers a read its engine cannot give with the last good answer, marked stale with its age", async () => {
    let clock = 1_000_000;
    let up = true;
    const registry = fakeEngineRegistry({ tools: { invoke: () => (up ? aReadResponse() : failing()()) } });
    // Breakers out of the way: what is asserted is which reads the last good answer may serve.
    const policy = aPolicy((p) => {
      p.engines.tools.breaker.minimumRps = 10_000;
      p.engines.tools.tenantBreaker = null;
    });
    const { engines, metrics } = resilientEnginesOver(registry, policy, () => clock);
    const fresh = await engines.read(LOOKUP, lookupRequest(), { deadline: clock + 2000, correlationId: "c" });
    expect(fresh.fallback).to.equal(undefined);
    up = false;
    clock += 1500;
    const stale = await engines.read(LOOKUP, lookupRequest(), { deadline: clock + 2000, correlationId: "c" });
    expect(stale.fallback).to.deep.equal({ kind: "last_good", ageMs: 1500 });
    const provenance =
      stale.response.result.case === "readResult" ? stale.response.result.value.provenance! : undefined;
    expect(provenance!.freshness!.state).to.equal(FreshnessState.STALE);
    expect(provenance!.sources.at(-1)).to.deep.include({
      id: LAST_GOOD_SOURCE,
      uri: "selene://router/last-good-answer?age_ms=1500",
    });
    expect(metrics.counts.get("fallback:tools.lookup:last_good")).to.equal(1);
    // Another tenant, or other arguments, never get it.
    expect(
      await reasonOf(engines.read(LOOKUP, lookupRequest("demo"), { deadline: clock + 2000, correlationId: "c" })),
    ).to.equal(ReasonCode.ENGINE_UNAVAILABLE);
    expect(
      await reasonOf(
        engines.read(LOOKUP, lookupRequest("acme", "capital of Spain"), { deadline: clock + 2000, correlationId: "c" }),
      ),
    ).to.equal(ReasonCode.ENGINE_UNAVAILABLE);
  });

  it("answers from another engine when the read's declared fallback is that engine's read", async () => {
    const policy = aPolicy((p) => {
      p.capabilities["tools.convert"].fallback = { capability: "calc.evaluate" };
    });
    const registry = fakeEngineRegistry({ tools: { invoke: failing() }, calc: { invoke: () => aReadResponse() } }, [
      { name: "tools.convert", engine: "tools", kind: CapabilityKind.READ, requiredFields: [] },
      CALC,
    ]);
    const { engines } = resilientEnginesOver(registry, policy);
    const convert = registry.lookup("tools.convert")!;
    const answer = await engines.read(convert, { ...lookupRequest(), capability: "tools.convert" }, options());
    expect(answer).to.deep.include({ engine: "calc", fallback: { kind: "engine", capability: "calc.evaluate" } });
    expect(registry.calls.at(-1)!.request).to.deep.include({ capability: "calc.evaluate" });
  });

  it("never lets a read fall back when the engine refused the request itself", async () => {
    const registry = fakeEngineRegistry({ tools: { invoke: () => aReadResponse() } });
    const { engines } = resilientEnginesOver(registry);
    await engines.read(LOOKUP, lookupRequest(), options());
    registry.calls.length = 0;
    const refusing = fakeEngineRegistry({ tools: { invoke: failing(ReasonCode.ENGINE_REJECTED) } });
    const { engines: again, lastGood } = resilientEnginesOver(refusing);
    lastGood.remember("acme", "tools.lookup", { query: "capital of France" }, aReadResponse());
    expect(await reasonOf(again.read(LOOKUP, lookupRequest(), options()))).to.equal(ReasonCode.ENGINE_REJECTED);
  });
});

describe("commit retries", () => {
  /** A registry whose reminders engine fails every commit `failures` times, then commits; it records each commit's key. */
  function committing(failures: number) {
    const keys: string[] = [];
    const registry: EngineRegistry = {
      ...fakeEngineRegistry({}),
      client: (_engine: string) =>
        ({
          call: async (method: string, request: { envelope?: { idempotencyKey?: string } }) => {
            expect(method).to.equal("commit");
            keys.push(create(CommitRequestSchema, request as never).envelope?.idempotencyKey ?? "");
            if (keys.length <= failures) throw new SeleneError(ReasonCode.ENGINE_UNAVAILABLE, "down");
            return create(CommitResponseSchema, { effectId: "r-1" });
          },
          ready: async () => true,
          close() {},
        }) as unknown as EngineClient,
    };
    return { registry, keys };
  }
  const commitRequest = (key: string) => ({
    envelope: anEnvelope({ idempotencyKey: key }),
    capability: "reminders.create",
  });

  it("retries a commit only with its idempotency key, the same key on every attempt", async () => {
    const { registry, keys } = committing(1);
    const { engines } = resilientEnginesOver(registry);
    await engines.call(REMIND, "commit", commitRequest("effect-1"), options());
    expect(keys).to.deep.equal(["effect-1", "effect-1"]);
  });

  it("no retry path commits an effect without its key, whatever the policy and the failures", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 0, max: 6 }),
        fc.constantFrom("", "effect-7"),
        async (commitAttempts, retryAttempts, failures, key) => {
          const policy = aPolicy((p) => {
            p.capabilities["reminders.create"].commit.maxAttempts = commitAttempts;
            p.capabilities["reminders.create"].retry.maxAttempts = retryAttempts;
            p.capabilities["reminders.create"].retry.initialBackoffMs = 0;
            p.engines.reminders.retryBudget.floor = 100;
            p.engines.reminders.breaker.minimumRps = 10_000;
            p.engines.reminders.tenantBreaker = null;
          });
          const { registry, keys } = committing(failures);
          const { engines } = resilientEnginesOver(registry, policy);
          await engines.call(REMIND, "commit", commitRequest(key), options()).catch(() => undefined);
          if (key === "")
            expect(keys).to.deep.equal([""]); // sent once, never again
          else {
            expect(keys.length).to.equal(Math.min(failures + 1, commitAttempts));
            expect(new Set(keys)).to.deep.equal(new Set([key]));
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it("waits out an open breaker for a commit within its deadline, without spending an attempt; a dry run fails fast", async () => {
    const policy = aPolicy((p) => {
      p.engines.reminders.breaker = { failureRatio: 0.5, windowMs: 1000, minimumRps: 5, halfOpenAfterMs: 60 };
      p.engines.reminders.tenantBreaker = null;
    });
    let healthy = false;
    const { registry, keys } = committing(Number.POSITIVE_INFINITY);
    const engineCalls = () => keys.length;
    const client = registry.client("reminders");
    const healing: EngineRegistry = {
      ...registry,
      client: () =>
        ({
          ...client,
          call: async (method: string, request: unknown, o: unknown) => {
            if (method === "simulate") throw new SeleneError(ReasonCode.ENGINE_UNAVAILABLE, "down");
            if (healthy) return create(CommitResponseSchema, { effectId: "r-1" });
            return (client.call as (m: string, r: unknown, o: unknown) => Promise<unknown>)(method, request, o);
          },
        }) as unknown as EngineClient,
    };
    const { engines, changes } = resilientEnginesOver(healing, policy);
    const simulate = () => simulateReminder(engines);
    for (let i = 0; i < 40 && (await simulate()) !== ReasonCode.ENGINE_CIRCUIT_OPEN; i++);
    expect(changes.at(-1)?.to).to.equal("open");
    const before = engineCalls();
    const started = Date.now();
    const commit = engines.call(REMIND, "commit", commitRequest("effect-9"), options());
    setTimeout(() => (healthy = true), 20);
    expect(await simulate()).to.equal(ReasonCode.ENGINE_CIRCUIT_OPEN); // a turn's call still fails fast
    expect((await commit).effectId).to.equal("r-1"); // the commit waited for the probe instead of failing
    expect(Date.now() - started).to.be.below(1000);
    expect(engineCalls()).to.equal(before); // it reached the engine only once healthy (the healthy path records no key)
    // Within its deadline only: a commit shed until its deadline fails with the breaker's reason.
    healthy = false;
    for (let i = 0; i < 40 && (await simulate()) !== ReasonCode.ENGINE_CIRCUIT_OPEN; i++);
    const shed = await reasonOf(engines.call(REMIND, "commit", commitRequest("effect-10"), options(40)));
    expect(shed).to.equal(ReasonCode.ENGINE_CIRCUIT_OPEN);
  });

  it("waits for the engine's channel to connect before a commit, within its deadline; a dry run does not wait", async () => {
    const { registry, keys } = committing(0);
    const client = registry.client("reminders");
    let connected = false;
    const waits: number[] = [];
    const reconnecting: EngineRegistry = {
      ...registry,
      client: () =>
        ({
          ...client,
          call: async (method: string, request: unknown, o: unknown) => {
            if (!connected) throw new SeleneError(ReasonCode.ENGINE_UNAVAILABLE, "reminders is unavailable");
            return (client.call as (m: string, r: unknown, o: unknown) => Promise<unknown>)(method, request, o);
          },
          // Resolves once the channel connects, or false at the deadline.
          ready: (deadline: number) => {
            waits.push(deadline);
            return new Promise<boolean>((resolve) => {
              const poll = setInterval(() => {
                if (connected || Date.now() >= deadline) {
                  clearInterval(poll);
                  resolve(connected);
                }
              }, 5);
            });
          },
        }) as unknown as EngineClient,
    };
    const { engines, metrics } = resilientEnginesOver(reconnecting);
    const simulate = () => simulateReminder(engines);
    expect(await simulate()).to.equal(ReasonCode.ENGINE_UNAVAILABLE); // a turn's call fails at once
    expect(waits).to.deep.equal([]);

    const attempts = () =>
      [...metrics.counts].filter(([k]) => k.startsWith("attempt:reminders:")).reduce((n, [, v]) => n + v, 0);
    const firsts = () => metrics.counts.get("attempt:reminders:first") ?? 0;
    const [attemptsBefore, firstsBefore] = [attempts(), firsts()];
    const commit = engines.call(REMIND, "commit", commitRequest("effect-11"), options());
    setTimeout(() => (connected = true), 50);
    expect((await commit).effectId).to.equal("r-1");
    expect(keys).to.deep.equal(["effect-11"]); // one attempt, sent once the channel was connected
    expect([attempts() - attemptsBefore, firsts() - firstsBefore]).to.deep.equal([1, 1]); // no retry

    // Not past its deadline: a commit whose channel never connects fails with the engine's reason.
    connected = false;
    const started = Date.now();
    expect(await reasonOf(engines.call(REMIND, "commit", commitRequest("effect-12"), options(100)))).to.equal(
      ReasonCode.ENGINE_UNAVAILABLE,
    );
    expect(Date.now() - started).to.be.below(500);
  });

  it("allows a commit one attempt without its key, and the policy's attempts with it", () => {
    const policy = shippedPolicy().capabilities.get("reminders.create")!;
    expect(maxAttemptsOf("commit", policy, "")).to.equal(1);
    expect(maxAttemptsOf("commit", policy, "k")).to.equal(policy.commit!.maxAttempts);
  });

  it("never falls back for an effect: a dry run that fails is the turn's fault", async () => {
    const registry = fakeEngineRegistry({ reminders: { simulate: failing(ReasonCode.ENGINE_FAILED) } });
    const { engines, metrics } = resilientEnginesOver(registry);
    const reason = await reasonOf(
      engines.call(
        REMIND,
        "simulate",
        { envelope: anEnvelope(), capability: "reminders.create", fields: {} },
        options(),
      ),
    );
    expect(reason).to.equal(ReasonCode.ENGINE_FAILED);
    expect([...metrics.counts.keys()].filter((k) => k.startsWith("fallback"))).to.deep.equal([]);
  });
});
