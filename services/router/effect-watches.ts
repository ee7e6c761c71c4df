/**
 * What the router's executor tells the turns waiting on their effects: a turn that confirmed a
 * simulation watches it before it queues the effect, and hears at once when this router's
 * executor has performed it (or has tried and failed), instead of finding out at its next poll.
 * Another router's executor performs effects too: the waiting turn still polls, less often.
 */

/**
 * How an attempt on an effect went: committed by its engine (the outbox's ack on its way), performed
 * and acknowledged, or anything else (look again).
 */
export type Settlement = "committed" | "done" | "attempted";

/** One turn's watch on the effect of one simulation. */
export interface EffectWatch {
  /** The next settlement of the effect, or "timeout" after `ms`. */
  next(ms: number): Promise<Settlement | "timeout">;
  /** Stops watching. */
  close(): void;
}

/** The watches of a router. */
export interface EffectWatches {
  watch(simulationId: string): EffectWatch;
  /** The executor reports how an attempt on the effect of `simulationId` ended. */
  settle(simulationId: string, settlement: Settlement): void;
}

interface Listener {
  readonly heard: Settlement[];
  wake: (() => void) | undefined;
}

/** Creates an empty set of watches. */
export function createEffectWatches(): EffectWatches {
  const listeners = new Map<string, Set<Listener>>();
  return {
    watch(simulationId) {
      const listener: Listener = { heard: [], wake: undefined };
      const set = listeners.get(simulationId) ?? new Set<Listener>();
      listeners.set(simulationId, set);
      set.add(listener);
      return {
        async next(ms) {
          if (listener.heard.length === 0) {
            await new Promise<void>((resolve) => {
              const timer = setTimeout(resolve, ms);
              listener.wake = () => {
                clearTimeout(timer);
                resolve();
              };
            });
            listener.wake = undefined;
          }
          return listener.heard.shift() ?? "timeout";
        },
        close() {
          set.delete(listener);
          if (set.size === 0 && listeners.get(simulationId) === set) listeners.delete(simulationId);
        },
      };
    },
    settle(simulationId, settlement) {
      for (const listener of listeners.get(simulationId) ?? []) {
        listener.heard.push(settlement);
        listener.wake?.();
      }
    },
  };
}
