/**
 * Retries a database step until it succeeds or a deadline passes: in a cluster the Job and the
 * waiters start before PostgreSQL accepts connections, and the waiters before the Job has run.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "pino";

/** Runs `attempt` every `intervalMs` until it returns true; throws the last error at the deadline. */
export async function retryUntil(
  what: string,
  attempt: () => Promise<boolean>,
  options: { readonly deadlineMs: number; readonly intervalMs?: number; readonly logger: Logger },
): Promise<void> {
  const deadline = Date.now() + options.deadlineMs;
  let tries = 0;
  for (;;) {
    let last: unknown;
    try {
      if (await attempt()) return;
    } catch (err) {
      last = err;
    }
    tries++;
    if (Date.now() >= deadline) {
      throw new Error(`${what}: gave up after ${tries} tries: ${last instanceof Error ? last.message : "not yet"}`);
    }
    // One line now and then, not one per try.
    if (tries % 10 === 1) {
      options.logger.info({ what, tries, err: last instanceof Error ? last.message : undefined }, "waiting");
    }
    await sleep(options.intervalMs ?? 1000);
  }
}
