/**
 * The attempts of one engine call: a retry after a retryable failure, with
 * exponential backoff, and for reads a hedge (a second attempt started while
 * the first is still out, the first answer wins and the other is cancelled).
 * Bounded twice: per call by `maxAttempts` and by the call's deadline (no
 * attempt starts, and no backoff sleeps, past it), and per engine by its
 * retry budget (every retry and every hedge takes one from it).
 */
import type { RetryPolicy } from "./resilience-policy.js";
import type { RetryBudget } from "./retry-budget.js";

/** Why an attempt was made. */
export type AttemptKind = "first" | "retry" | "hedge";

/**
 * One attempt: `signal` aborts it when another attempt has answered; undefined when the call
 * cannot hedge (attempts then never overlap, so none is ever cancelled).
 */
export type Attempt<T> = (kind: AttemptKind, signal: AbortSignal | undefined) => Promise<T>;

/** What the attempts of one call need. */
export interface AttemptsPlan {
  readonly retry: RetryPolicy;
  /** Start a hedge when no attempt answered after this long, ms; undefined: no hedging. */
  readonly hedgeAfterMs: number | undefined;
  /** The call's deadline, epoch ms. */
  readonly deadline: number;
  readonly budget: RetryBudget;
  /** Whether a failed attempt may be retried. */
  readonly retryable: (error: unknown) => boolean;
  /** Told when the budget refused a retry or a hedge. */
  readonly onBudgetSpent?: () => void;
  readonly now?: () => number;
}

/** Time an attempt needs at least to be worth starting, ms. */
export const MIN_ATTEMPT_MS = 5;

/** The backoff before retry `n` (1 = the first retry), ms. */
export function backoffMs(policy: RetryPolicy, n: number): number {
  return Math.min(policy.maxBackoffMs, policy.initialBackoffMs * policy.multiplier ** (n - 1));
}

/** Runs the attempts of one call; resolves with the first answer, or rejects with the last failure. */
export function runAttempts<T>(plan: AttemptsPlan, attempt: Attempt<T>): Promise<T> {
  const now = plan.now ?? Date.now;
  plan.budget.recordCall();
  return new Promise<T>((resolve, reject) => {
    const aborts: AbortController[] = [];
    const hedges = plan.hedgeAfterMs !== undefined && plan.retry.maxAttempts > 1;
    let started = 0;
    let inFlight = 0;
    let retries = 0;
    let settled = false;
    let hedgeTimer: NodeJS.Timeout | undefined;

    /** Settles the call once; every attempt still out but `winner` is cancelled. */
    const finish = (fn: () => void, winner: AbortController | undefined) => {
      if (settled) return;
      settled = true;
      clearTimeout(hedgeTimer);
      for (const a of aborts) if (a !== winner) a.abort();
      fn();
    };
    const timeLeft = () => plan.deadline - now() > MIN_ATTEMPT_MS;

    function start(kind: AttemptKind): void {
      // A controller (and its listener on the call) only where an attempt can be beaten by another.
      const abort = hedges ? new AbortController() : undefined;
      if (abort !== undefined) aborts.push(abort);
      started += 1;
      inFlight += 1;
      attempt(kind, abort?.signal).then(
        (value) => finish(() => resolve(value), abort),
        (error: unknown) => {
          inFlight -= 1;
          if (settled) return;
          if (inFlight > 0) return; // a hedge is still out: its answer decides
          retryOrFail(error);
        },
      );
    }

    function retryOrFail(error: unknown): void {
      const wait = backoffMs(plan.retry, retries + 1);
      const worth =
        started < plan.retry.maxAttempts && plan.retryable(error) && now() + wait < plan.deadline - MIN_ATTEMPT_MS;
      if (!worth) {
        finish(() => reject(error), undefined);
        return;
      }
      if (!plan.budget.tryRetry()) {
        plan.onBudgetSpent?.();
        finish(() => reject(error), undefined);
        return;
      }
      retries += 1;
      setTimeout(() => {
        if (!settled) start("retry");
      }, wait);
    }

    if (hedges) {
      hedgeTimer = setTimeout(() => {
        if (settled || inFlight === 0 || started >= plan.retry.maxAttempts || !timeLeft()) return;
        if (!plan.budget.tryRetry()) {
          plan.onBudgetSpent?.();
          return;
        }
        start("hedge");
      }, plan.hedgeAfterMs);
    }
    start("first");
  });
}
