/**
 * The pause of a poller between empty polls: short while there is work (a poll that found some, or
 * a wake-up), doubling with every empty poll after that up to a ceiling, so an idle mesh polls a
 * few times a second at most instead of ten, and a busy one as often as before. Work that arrives
 * with a wake-up (a poke) is taken at once whatever the pause; work that arrives without one (a
 * retry falling due, a lapsed lease, another replica's write) waits at most the ceiling.
 */

/** The bounds of the pause, ms. */
export interface IdleBackoffOptions {
  /** The pause after a poll that found work, or after a wake-up. */
  readonly minMs: number;
  /** The longest pause. */
  readonly maxMs: number;
}

/** The pause of one poller. */
export interface IdleBackoff {
  /** The pause after a poll that found `found` items: minMs after work, then doubling up to maxMs. */
  next(found: number): number;
  /** Starts again from minMs (a wake-up: work is likely to follow). */
  reset(): void;
}

/** Creates the pause of one poller. */
export function createIdleBackoff(options: IdleBackoffOptions): IdleBackoff {
  if (!(options.minMs > 0 && options.maxMs >= options.minMs)) {
    throw new Error(`idle backoff needs 0 < minMs <= maxMs, got ${options.minMs} and ${options.maxMs}`);
  }
  let pauseMs = options.minMs;
  let emptyPolls = 0;
  return {
    next(found) {
      if (found > 0) {
        emptyPolls = 0;
        pauseMs = options.minMs;
        return pauseMs;
      }
      // The first empty poll after work still waits minMs: a change may be a moment behind.
      pauseMs = emptyPolls === 0 ? options.minMs : Math.min(pauseMs * 2, options.maxMs);
      emptyPolls += 1;
      return pauseMs;
    },
    reset() {
      emptyPolls = 0;
      pauseMs = options.minMs;
    },
  };
}
