/**
 * The effect store as the OutboxService uses it, telling the audit relay after every call that
 * wrote a change to outbox.effect_events (an enqueue that leased the new effect to its caller, a
 * lease that leased something, an ack, a nack, an operator's retry or discard), so the relay reads
 * at once instead of polling an idle outbox. A plain enqueue writes no change (an effect's creation
 * is recorded with its first lease).
 */
import type { EffectStore } from "./effect-store.js";

/** `store`, with `poke` called after each call that wrote a change. */
export function pokingAfterWrites(store: EffectStore, poke: () => void): EffectStore {
  const after =
    <A extends unknown[], R>(write: (...args: A) => Promise<R>, wrote: (result: R) => boolean = () => true) =>
    async (...args: A): Promise<R> => {
      const result = await write(...args);
      if (wrote(result)) poke();
      return result;
    };
  return {
    ...store,
    enqueue: after(store.enqueue, (enqueued) => enqueued.lease !== undefined),
    lease: after(store.lease, (leases) => leases.length > 0),
    ack: after(store.ack),
    nack: after(store.nack),
    retryDeadLetter: after(store.retryDeadLetter),
    discardDeadLetter: after(store.discardDeadLetter),
  };
}
