import { expect } from "chai";
import { backoffMs, runAttempts } from "../../../services/router/resilience/attempts.js";
import { createRetryBudget } from "../../../services/router/resilience/retry-budget.js";

const RETRY = { maxAttempts: 5, initialBackoffMs: 10, maxBackoffMs: 40, multiplier: 2 };
const generous = () => createRetryBudget({ ratio: 0.1, windowMs: 10_000, floor: 100 });

describe("attempts of one call", () => {
  it("backs off exponentially up to the maximum", () => {
    expect([1, 2, 3, 4, 5].map((n) => backoffMs(RETRY, n))).to.deep.equal([10, 20, 40, 40, 40]);
  });

  it("starts no retry whose backoff would end past the call's deadline", async () => {
    // A clock that jumps 30 ms per look: after the first failure, 10 ms of backoff would end past
    // a deadline 35 ms away.
    let clock = 0;
    const now = () => (clock += 30);
    let attempts = 0;
    const result = await runAttempts(
      { retry: RETRY, hedgeAfterMs: undefined, deadline: 35, budget: generous(), retryable: () => true, now },
      async () => {
        attempts += 1;
        throw new Error("down");
      },
    ).catch((e: Error) => e.message);
    expect(result).to.equal("down");
    expect(attempts).to.equal(1);
  });

  it("stops at maxAttempts, and retries nothing the predicate calls final", async () => {
    let attempts = 0;
    const fail = async () => {
      attempts += 1;
      throw new Error("down");
    };
    const plan = {
      retry: { ...RETRY, initialBackoffMs: 0 },
      hedgeAfterMs: undefined,
      deadline: Date.now() + 5000,
      budget: generous(),
    };
    await runAttempts({ ...plan, retryable: () => true }, fail).catch(() => undefined);
    expect(attempts).to.equal(5);
    attempts = 0;
    await runAttempts({ ...plan, retryable: () => false }, fail).catch(() => undefined);
    expect(attempts).to.equal(1);
  });

  it("takes every retry from the budget and says when it is spent", async () => {
    const budget = createRetryBudget({ ratio: 0, windowMs: 10_000, floor: 1 });
    let spent = 0;
    let attempts = 0;
    await runAttempts(
      {
        retry: { ...RETRY, initialBackoffMs: 0 },
        hedgeAfterMs: undefined,
        deadline: Date.now() + 5000,
        budget,
        retryable: () => true,
        onBudgetSpent: () => (spent += 1),
      },
      async () => {
        attempts += 1;
        throw new Error("down");
      },
    ).catch(() => undefined);
    expect(attempts).to.equal(2); // the first, and the floor's one retry
    expect(spent).to.equal(1);
  });
});
