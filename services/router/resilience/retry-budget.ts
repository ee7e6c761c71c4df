/**
 * A retry budget per engine: over a sliding window, retries (hedges count as
 * retries) may be at most `ratio` of the calls made, and at least `floor`, so
 * a failing engine never sees a retry storm while a quiet one can still retry
 * its rare failure. The window is ten buckets wide, so it slides in steps of a
 * tenth of its length.
 */

/** The budget of one engine. */
export interface RetryBudget {
  /** Counts a call (its first attempt). */
  recordCall(): void;
  /** Takes one retry from the budget; false when it is spent. */
  tryRetry(): boolean;
  /** Calls and retries in the window now. */
  snapshot(): { readonly calls: number; readonly retries: number };
}

/** Settings of a budget. */
export interface RetryBudgetOptions {
  readonly ratio: number;
  readonly windowMs: number;
  readonly floor: number;
  readonly now?: () => number;
}

const BUCKETS = 10;

/** Creates a budget. */
export function createRetryBudget(options: RetryBudgetOptions): RetryBudget {
  const now = options.now ?? Date.now;
  const width = options.windowMs / BUCKETS;
  const calls = new Array<number>(BUCKETS).fill(0);
  const retries = new Array<number>(BUCKETS).fill(0);
  let current = Math.floor(now() / width);

  /** Moves the window to now, emptying the buckets it slid past. */
  function slide(): number {
    const bucket = Math.floor(now() / width);
    for (let b = current + 1; b <= Math.min(bucket, current + BUCKETS); b++) {
      calls[b % BUCKETS] = 0;
      retries[b % BUCKETS] = 0;
    }
    current = Math.max(current, bucket);
    return current % BUCKETS;
  }
  const sum = (a: number[]) => a.reduce((x, y) => x + y, 0);

  return {
    recordCall() {
      calls[slide()]! += 1;
    },
    tryRetry() {
      const at = slide();
      const allowed = Math.max(options.floor, Math.floor(options.ratio * sum(calls)));
      if (sum(retries) >= allowed) return false;
      retries[at]! += 1;
      return true;
    },
    snapshot() {
      slide();
      return { calls: sum(calls), retries: sum(retries) };
    },
  };
}
