import { expect } from "chai";
import { createRetryBudget } from "../../../services/router/resilience/retry-budget.js";

describe("retry budget", () => {
  it("allows retries up to the ratio of calls in the window, and the floor when calls are few", () => {
    let clock = 0;
    const budget = createRetryBudget({ ratio: 0.1, windowMs: 10_000, floor: 2, now: () => clock });
    for (let i = 0; i < 100; i++) budget.recordCall();
    let granted = 0;
    while (budget.tryRetry()) granted += 1;
    expect(granted).to.equal(10);
    clock += 10_000; // the window slid past every call and retry
    expect(budget.snapshot()).to.deep.equal({ calls: 0, retries: 0 });
    granted = 0;
    while (budget.tryRetry()) granted += 1;
    expect(granted).to.equal(2);
  });

  it("slides: calls older than the window stop paying for retries", () => {
    let clock = 0;
    const budget = createRetryBudget({ ratio: 0.1, windowMs: 1000, floor: 0, now: () => clock });
    for (let i = 0; i < 50; i++) budget.recordCall();
    clock = 500;
    for (let i = 0; i < 50; i++) budget.recordCall();
    clock = 1050; // the first 50 left the window
    expect(budget.snapshot().calls).to.equal(50);
    let granted = 0;
    while (budget.tryRetry()) granted += 1;
    expect(granted).to.equal(5);
  });
});
