/**
 * The effects one executor holds, so that it performs each lease at most once. An effect reaches
 * the executor from its Lease loop or from Enqueue (adopt), and the same effect can reach it twice:
 * a replayed Enqueue hands back the lease the executor already holds (the first answer arrived
 * after all, or a concurrent confirmation of the same simulation enqueued it too), or the loop
 * leases again an effect whose lease lapsed while it was still being performed here. A second
 * arrival of an effect in progress is not performed: a newer lease replaces the older one, so the
 * attempt's ack or nack carries the token that holds the effect now. A lease whose outcome the
 * outbox has heard (acked or nacked) is remembered until it lapses, so a hand-back of it that
 * arrives late is not performed again either.
 */
import { timestampMs } from "@bufbuild/protobuf/wkt";
import type { LeasedEffect } from "../../gen/es/selene/outbox/v1/outbox_pb.js";

/** One effect being performed, under the newest lease the executor holds on it. */
export interface HeldEffect {
  readonly effectId: string;
  /** The newest lease: its token is the one an ack or nack must carry. */
  lease: LeasedEffect;
  /** Every lease it was performed under, oldest first. */
  readonly leases: LeasedEffect[];
}

/** The effects of one executor. */
export interface HeldEffects {
  /**
   * Takes `leased` to perform now, or undefined when this executor is performing that effect (a
   * newer lease then replaces the one it holds) or has performed it under this lease already.
   */
  take(leased: LeasedEffect, nowMs: number): HeldEffect | undefined;
  /**
   * The attempt ended. `reported`: the outbox got its ack or nack, so its leases are remembered
   * until they lapse; otherwise the lease may come back (handed back by a replayed Enqueue) and be
   * performed again, the engine deduplicating the commit by the effect's key.
   */
  release(held: HeldEffect, reported: boolean, nowMs: number): void;
}

/** Creates an empty set; `leaseMs` stands for the expiry of a lease that carries none. */
export function createHeldEffects(leaseMs: number): HeldEffects {
  const running = new Map<string, HeldEffect>();
  // "<effect id> <lease token>" -> when that lease lapses, ms; in the order the attempts ended.
  const performed = new Map<string, number>();
  const keyOf = (effectId: string, leased: LeasedEffect) => `${effectId} ${leased.leaseToken}`;
  const lapsesAt = (leased: LeasedEffect, nowMs: number) =>
    leased.leaseExpiresAt === undefined ? nowMs + leaseMs : timestampMs(leased.leaseExpiresAt);

  /** Forgets the oldest remembered leases once they lapsed (a lapsed lease is never handed back). */
  function forgetLapsed(nowMs: number): void {
    for (const [key, lapses] of performed) {
      if (lapses > nowMs) return;
      performed.delete(key);
    }
  }

  return {
    take(leased, nowMs) {
      forgetLapsed(nowMs);
      const effectId = leased.effect!.effectId;
      if (performed.has(keyOf(effectId, leased))) return undefined;
      const current = running.get(effectId);
      if (current !== undefined) {
        if (!current.leases.some((l) => l.leaseToken === leased.leaseToken)) current.leases.push(leased);
        if (lapsesAt(leased, nowMs) > lapsesAt(current.lease, nowMs)) current.lease = leased;
        return undefined;
      }
      const held: HeldEffect = { effectId, lease: leased, leases: [leased] };
      running.set(effectId, held);
      return held;
    },
    release(held, reported, nowMs) {
      if (running.get(held.effectId) === held) running.delete(held.effectId);
      if (!reported) return;
      for (const leased of held.leases) performed.set(keyOf(held.effectId, leased), lapsesAt(leased, nowMs));
    },
  };
}
