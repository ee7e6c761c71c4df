import { expect } from "chai";
import { ReasonCode } from "../../../gen/es/selene/kernel/v1/reason_pb.js";
import { type BreakerChange, createEngineBreakers } from "../../../services/router/resilience/engine-breakers.js";
import type { EnginePolicy } from "../../../services/router/resilience/resilience-policy.js";
import { SeleneError } from "../../../services/runtime/selene-error.js";

const ENGINE_HALF_OPEN_MS = 30;

/** One engine whose breaker probes after 30 ms, and tenant breakers that stay open for a minute. */
const POLICY: EnginePolicy = {
  bulkhead: { maxInFlight: 64, retryAfterMs: 50 },
  breaker: { failureRatio: 0.5, windowMs: 5000, minimumRps: 1, halfOpenAfterMs: ENGINE_HALF_OPEN_MS },
  tenantBreaker: { failureRatio: 0.5, windowMs: 5000, minimumRps: 1, halfOpenAfterMs: 60_000 },
  retryBudget: { ratio: 0.1, windowMs: 10_000, floor: 3 },
};

const unavailable = () => Promise.reject(new SeleneError(ReasonCode.ENGINE_UNAVAILABLE, "tools is unavailable"));
const answered = () => Promise.resolve("answered");
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function reasonOf(call: Promise<unknown>): Promise<{ reason: ReasonCode; scope: string | undefined }> {
  try {
    await call;
  } catch (e) {
    if (e instanceof SeleneError) return { reason: e.reason, scope: e.metadata.scope };
    throw e;
  }
  throw new Error("the call was expected to fail");
}

describe("engine breakers", () => {
  /** Opens the engine's breaker and tenant acme's with acme's failing calls. */
  async function openedByAcme() {
    const changes: BreakerChange[] = [];
    const breakers = createEngineBreakers({ tools: POLICY }, (change) => changes.push(change));
    for (let i = 0; i < 10 && breakers.state("tools") !== "open"; i++) {
      await breakers.execute("tools", "acme", unavailable).catch(() => undefined);
    }
    expect(breakers.state("tools")).to.equal("open");
    expect(breakers.state("tools", "acme")).to.equal("open");
    await sleep(ENGINE_HALF_OPEN_MS + 10);
    return { breakers, changes };
  }

  it("never closes the engine's breaker on a probe its tenant's breaker refused", async () => {
    const { breakers, changes } = await openedByAcme();
    let reached = 0;
    // The engine's breaker is due a probe; acme's is not: acme's call is refused by acme's breaker,
    // and that is no evidence about the engine.
    const refusal = await reasonOf(
      breakers.execute("tools", "acme", (probe) => {
        reached += 1;
        return probe ? answered() : unavailable();
      }),
    );
    expect(refusal).to.deep.equal({ reason: ReasonCode.ENGINE_CIRCUIT_OPEN, scope: "tenant" });
    expect(reached).to.equal(0);
    expect(breakers.state("tools")).to.equal("open");
    expect(changes.filter((c) => c.tenant === undefined).map((c) => c.to)).to.deep.equal(["open"]);

    // The probe is the next call that reaches the engine, and its real outcome decides.
    const probes: boolean[] = [];
    const failed = await reasonOf(
      breakers.execute("tools", "globex", (probe) => {
        probes.push(probe);
        return unavailable();
      }),
    );
    expect(failed.reason).to.equal(ReasonCode.ENGINE_UNAVAILABLE);
    expect(probes).to.deep.equal([true]);
    expect(breakers.state("tools")).to.equal("open");
    await sleep(ENGINE_HALF_OPEN_MS + 10);
    expect(await breakers.execute("tools", "globex", answered)).to.equal("answered");
    expect(breakers.state("tools")).to.equal("closed");
    expect(breakers.state("tools", "acme")).to.equal("open");
    expect(changes.filter((c) => c.tenant === undefined).map((c) => c.to)).to.deep.equal([
      "open",
      "half_open",
      "open",
      "half_open",
      "closed",
    ]);
  });

  it("lets a call through when the tenant's breaker is due its own probe, and the engine's outcome decides both", async () => {
    const changes: BreakerChange[] = [];
    const breakers = createEngineBreakers(
      { tools: { ...POLICY, tenantBreaker: { ...POLICY.tenantBreaker!, halfOpenAfterMs: ENGINE_HALF_OPEN_MS } } },
      (change) => changes.push(change),
    );
    for (let i = 0; i < 10 && breakers.state("tools") !== "open"; i++) {
      await breakers.execute("tools", "acme", unavailable).catch(() => undefined);
    }
    await sleep(ENGINE_HALF_OPEN_MS + 10);
    expect(await breakers.execute("tools", "acme", answered)).to.equal("answered");
    expect(breakers.state("tools")).to.equal("closed");
    expect(breakers.state("tools", "acme")).to.equal("closed");
  });
  describe("when the engine's breaker closes", () => {
    /** Tenant breakers that open on a tenant's first failed call and stay open for a minute. */
    const EAGER_TENANTS = { ...POLICY.tenantBreaker!, minimumRps: 0.2 };

    /** Fails calls of tenants t0, t1, ... (each opening its own breaker) until the engine's breaker opens. */
    async function engineFault(breakers: ReturnType<typeof createEngineBreakers>): Promise<string[]> {
      const failed: string[] = [];
      for (let i = 0; i < 20 && breakers.state("tools") !== "open"; i++) {
        await breakers.execute("tools", `t${i}`, unavailable).catch(() => undefined);
        failed.push(`t${i}`);
      }
      expect(breakers.state("tools")).to.equal("open");
      for (const tenant of failed) expect(breakers.state("tools", tenant)).to.equal("open");
      return failed;
    }

    /** The engine answers again: after its half-open time, a call of a tenant with no breaker open closes it. */
    async function engineServes(breakers: ReturnType<typeof createEngineBreakers>) {
      await sleep(ENGINE_HALF_OPEN_MS + 10);
      expect(await breakers.execute("tools", "initech", answered)).to.equal("answered");
      expect(breakers.state("tools")).to.equal("closed");
    }

    it("gives every tenant breaker that opened during the engine's fault its own probe at once, and its outcome decides", async () => {
      const changes: BreakerChange[] = [];
      const breakers = createEngineBreakers({ tools: { ...POLICY, tenantBreaker: EAGER_TENANTS } }, (change) =>
        changes.push(change),
      );
      const [first, second, ...others] = await engineFault(breakers);
      await engineServes(breakers);

      // Each tenant's next call is its breaker's probe, a minute before its own timer would allow one.
      const probes: boolean[] = [];
      expect(
        await breakers.execute("tools", first!, (probe) => {
          probes.push(probe);
          return answered();
        }),
      ).to.equal("answered");
      expect(probes).to.deep.equal([true]);
      expect(breakers.state("tools", first)).to.equal("closed");
      expect(changes.filter((c) => c.tenant === first).map((c) => c.to)).to.deep.equal(["open", "half_open", "closed"]);

      // A tenant whose probe fails is open again, on its own timer: its next call is refused unsent.
      const failed = await reasonOf(breakers.execute("tools", second!, unavailable));
      expect(failed.reason).to.equal(ReasonCode.ENGINE_UNAVAILABLE);
      expect(breakers.state("tools", second)).to.equal("open");
      let reached = 0;
      const refused = await reasonOf(
        breakers.execute("tools", second!, () => {
          reached += 1;
          return answered();
        }),
      );
      expect(refused).to.deep.equal({ reason: ReasonCode.ENGINE_CIRCUIT_OPEN, scope: "tenant" });
      expect(reached).to.equal(0);
      // The engine's breaker saw that tenant's failure as one failed call among answered ones: still closed.
      expect(breakers.state("tools")).to.equal("closed");

      for (const tenant of others) {
        expect(await breakers.execute("tools", tenant, answered)).to.equal("answered");
        expect(breakers.state("tools", tenant)).to.equal("closed");
      }
    });

    it("leaves a tenant breaker that opened before the engine's fault on its own timer", async () => {
      const ENGINE_WINDOW_MS = 100;
      const breakers = createEngineBreakers(
        {
          tools: {
            ...POLICY,
            breaker: { ...POLICY.breaker, windowMs: ENGINE_WINDOW_MS },
            tenantBreaker: EAGER_TENANTS,
          },
        },
        () => undefined,
      );
      // acme fails alone: its breaker opens, the engine's (two answered calls of three) does not.
      await breakers.execute("tools", "globex", answered);
      await breakers.execute("tools", "globex", answered);
      await breakers.execute("tools", "acme", unavailable).catch(() => undefined);
      expect(breakers.state("tools", "acme")).to.equal("open");
      expect(breakers.state("tools")).to.equal("closed");

      // Later than the engine's window, the engine fails for everyone, then serves again.
      await sleep(ENGINE_WINDOW_MS + 50);
      const [withEngine] = await engineFault(breakers);
      await engineServes(breakers);

      expect(await breakers.execute("tools", withEngine!, answered)).to.equal("answered");
      let reached = 0;
      const refused = await reasonOf(
        breakers.execute("tools", "acme", () => {
          reached += 1;
          return answered();
        }),
      );
      expect(refused).to.deep.equal({ reason: ReasonCode.ENGINE_CIRCUIT_OPEN, scope: "tenant" });
      expect(reached).to.equal(0);
      expect(breakers.state("tools", "acme")).to.equal("open");
    });
  });
});
