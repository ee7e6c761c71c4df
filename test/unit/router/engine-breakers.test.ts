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
});
