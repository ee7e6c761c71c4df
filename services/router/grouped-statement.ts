/**
 * One statement's calls sent together: while `maxInFlight` statements of its kind are out, the
 * calls that arrive wait and go in the next one (up to `maxGroup` of them), so a busy router makes
 * one round trip and one commit for several turns and an idle one adds no wait (the audit batcher
 * does the same with the ledger's appends). Each call still hears its own verdict: a shared
 * statement that failed for anything but the database being out of reach (a check one of its rows
 * breaks, say) is run again for each call alone, so one call's bad row cannot fail its neighbours;
 * the database down or too slow fails every call it carried, as it would have failed each alone.
 */
import { isDependencyFault } from "../runtime/boundary/to-selene-error.js";

/** How one statement is grouped. */
export interface GroupOptions {
  /** Statements of this kind in flight at most. */
  readonly maxInFlight: number;
  /** Calls in one statement at most. */
  readonly maxGroup: number;
}

interface Pending<I, O> {
  readonly item: I;
  readonly resolve: (value: O) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Makes a call of `run` per item grouped: `run` gets the items of one statement and answers one
 * result per item, in their order.
 */
export function groupedStatement<I, O>(
  run: (items: readonly I[]) => Promise<readonly O[]>,
  options: GroupOptions,
): (item: I) => Promise<O> {
  const queue: Array<Pending<I, O>> = [];
  let inFlight = 0;

  async function send(group: ReadonlyArray<Pending<I, O>>): Promise<void> {
    try {
      const results = await run(group.map((p) => p.item));
      group.forEach((p, i) => {
        p.resolve(results[i]!);
      });
    } catch (error) {
      if (group.length > 1 && !isDependencyFault(error)) {
        await Promise.all(group.map((p) => send([p])));
        return;
      }
      for (const p of group) p.reject(error);
    }
  }

  function drain(): void {
    while (queue.length > 0 && inFlight < options.maxInFlight) {
      const group = queue.splice(0, options.maxGroup);
      inFlight++;
      void send(group).finally(() => {
        inFlight--;
        drain();
      });
    }
  }

  return (item) =>
    new Promise<O>((resolve, reject) => {
      queue.push({ item, resolve, reject });
      drain();
    });
}
