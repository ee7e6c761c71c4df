/**
 * When an open breaker is due its half-open probe: `halfOpenAfterMs` after it
 * opened, or at once once released. Given to cockatiel as the breaker's
 * `halfOpenAfter` backoff, so cockatiel's own check and the router's (which
 * refuses a tenant's call before the engine's breaker sees it) read the same
 * clock: cockatiel lets a call through an open breaker when the time since it
 * opened is not under `duration`, and `duration` is 0 exactly when `due()`.
 */
import type { IBackoff, IBackoffFactory, IHalfOpenAfterBackoffContext } from "cockatiel";

/** The half-open clock of one breaker. */
export interface HalfOpenTimer {
  /** The backoff factory to give cockatiel as `halfOpenAfter`. */
  readonly backoff: IBackoffFactory<IHalfOpenAfterBackoffContext>;
  /** When the breaker last opened, epoch ms (0: never). */
  openedAt(): number;
  /** Whether an open breaker lets its probe through now. */
  due(): boolean;
  /** Makes the current opening due at once; the next opening waits `halfOpenAfterMs` again. */
  release(): void;
}

/** Creates the half-open clock of a breaker that probes `halfOpenAfterMs` after it opens. */
export function createHalfOpenTimer(halfOpenAfterMs: number, now: () => number = Date.now): HalfOpenTimer {
  let openedAt = 0;
  let released = false;
  const due = () => released || now() - openedAt >= halfOpenAfterMs;
  const current: IBackoff<IHalfOpenAfterBackoffContext> = {
    get duration() {
      return due() ? 0 : halfOpenAfterMs;
    },
    next: () => opened(),
  };
  // cockatiel asks for the next backoff each time the breaker opens (from closed or from half-open).
  function opened() {
    openedAt = now();
    released = false;
    return current;
  }
  return {
    backoff: { next: () => opened() },
    openedAt: () => openedAt,
    due,
    release() {
      released = true;
    },
  };
}
