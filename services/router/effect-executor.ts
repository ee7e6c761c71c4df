/**
 * The router's effect executor: leases due effects from the outbox and commits
 * each through its engine, so the router stays the sole client of every engine
 * and the outbox never calls one. An effect this router has just queued comes
 * back from Enqueue already leased to it and is performed at once (adopt), with
 * no Lease call and no wake-up of the loop; the loop takes the rest: effects
 * of other routers, retries, and leases that lapsed when their holder died. The engine dedupes by the effect's
 * idempotency key, so a commit that is retried after a crash (the lease lapses
 * and the effect comes back) returns the first result; the executor then acks.
 * A retryable failure is nacked for a later attempt; a permanent one
 * dead-letters the effect. Each lease is performed at most once
 * (held-effects.ts), however often it reaches the executor.
 */
import { fromBinary } from "@bufbuild/protobuf";
import { type Duration, durationFromMs, timestampMs } from "@bufbuild/protobuf/wkt";
import { CommitRequestSchema } from "../../gen/es/selene/engine/v1/engine_pb.js";
import { ReasonCode } from "../../gen/es/selene/kernel/v1/reason_pb.js";
import { EffectState, type LeasedEffect } from "../../gen/es/selene/outbox/v1/outbox_pb.js";
import { toSeleneError } from "../runtime/boundary/to-selene-error.js";
import { CURRENT_CONTRACT_VERSION } from "../runtime/contract-version.js";
import { createIdleBackoff } from "../runtime/idle-backoff.js";
import type { Logger } from "../runtime/logger.js";
import { SeleneError } from "../runtime/selene-error.js";
import type { CrashHook } from "./crash-points.js";
import { createEffectWatches, type EffectWatch } from "./effect-watches.js";
import type { CapabilityRoutes } from "./engine-registry.js";
import { createHeldEffects, type HeldEffect } from "./held-effects.js";
import { leaseHolderOf } from "./lease-holder.js";
import type { OutboxClient } from "./outbox-client.js";
import type { ResilientEngines } from "./resilience/resilient-engines.js";

/** Settings of the executor. */
export interface ExecutorOptions {
  /** The router replica's executor name (at most EXECUTOR_NAME_MAX characters, lease-holder.ts); the process adds its own instance. */
  readonly executorId: string;
  readonly batchSize: number;
  readonly leaseMs: number;
  /** How long to wait before polling again when nothing was due, ms: the first pause after work. */
  readonly idleMs: number;
  /** The longest pause when lease after lease finds nothing (the pause doubles up to it), ms. */
  readonly maxIdleMs: number;
  /** The deadline of one engine commit, ms. */
  readonly commitTimeoutMs: number;
  /** Fault injection for the crash tests. */
  readonly crash: CrashHook;
}

/** What an Enqueue carries to have its new effect leased to this executor (EnqueueRequest.lease). */
export interface EnqueueLeaseAsk {
  readonly executorId: string;
  readonly leaseDuration: Duration;
}

/** A running executor. */
export interface EffectExecutor {
  /** Lets the current batch and every adopted effect finish, then stops. */
  stop(): Promise<void>;
  /** Polls now instead of waiting for the idle timer (after an enqueue). */
  poke(): void;
  /** Watches the effect of a simulation: hears when this executor has performed it or tried to. */
  watch(simulationId: string): EffectWatch;
  /** The lease an Enqueue may ask for on this executor's behalf; undefined once it is stopping. */
  enqueueLease(): EnqueueLeaseAsk | undefined;
  /**
   * Performs an effect that Enqueue handed back already leased to this executor, at once and
   * without a Lease call; its outcome reaches the watches as any other. An effect this executor
   * performs already is not performed twice: a newer lease replaces the one the attempt acks with.
   */
  adopt(leased: LeasedEffect): void;
}

/** The pause before an ack is sent again, doubling up to the second figure, ms. */
const ACK_RETRY_FIRST_MS = 50;
const ACK_RETRY_MAX_MS = 1000;

/** How long the executor waits at most for an unreachable outbox before leasing again, ms. */
const OUTBOX_WAIT_MS = 1000;

/** Starts the executor loop. */
export function startEffectExecutor(
  outbox: OutboxClient,
  registry: CapabilityRoutes,
  engines: ResilientEngines,
  logger: Logger,
  options: ExecutorOptions,
): EffectExecutor {
  let running = true;
  let wake: (() => void) | undefined;
  // A poke that arrives while a lease is in flight must not be lost: that lease may have been
  // taken before the poked effect was queued, so the loop leases again before it sleeps.
  let poked = false;
  // An idle router leases a few times a second at most; a poke (an enqueue here) leases at once.
  const idle = createIdleBackoff({ minMs: options.idleMs, maxMs: options.maxIdleMs });
  const watches = createEffectWatches();
  // Effects handed over by Enqueue, still being performed: stop() waits for them.
  const adopted = new Set<Promise<void>>();
  const held = createHeldEffects(options.leaseMs);
  const holder = leaseHolderOf(options.executorId);
  const leaseAsk: EnqueueLeaseAsk = { executorId: holder, leaseDuration: durationFromMs(options.leaseMs) };
  const system = (correlationId: string) => ({ contractVersion: CURRENT_CONTRACT_VERSION, correlationId });
  const callOptions = (correlationId: string) => ({ deadline: Date.now() + options.commitTimeoutMs, correlationId });

  /**
   * Acks a performed effect. An ack the outbox did not get (unreachable, after grpc-js's own retries,
   * or no answer in time) is sent again as soon as the channel is connected, until the lease lapses,
   * so the effect's outcome reaches the outbox, and the turns waiting on it, within moments of the
   * outbox coming back instead of after the lease (30 s), when the effect would run again only for
   * the engine to dedupe it by its key. The token of the newest lease held on the effect every time
   * (the same one, unless a newer lease on it reached the executor meanwhile): the outbox acks it once.
   */
  async function acknowledge(effect: HeldEffect, resultId: string, correlationId: string, log: Logger) {
    for (let retry = 0; ; retry++) {
      const leased = effect.lease;
      const lapsesAt =
        leased.leaseExpiresAt === undefined ? Date.now() + options.leaseMs : timestampMs(leased.leaseExpiresAt);
      try {
        return await outbox.call(
          "ack",
          {
            envelope: system(correlationId),
            effectId: effect.effectId,
            leaseToken: leased.leaseToken,
            resultId,
          },
          { ...callOptions(correlationId), deadline: Math.min(Date.now() + options.commitTimeoutMs, lapsesAt) },
        );
      } catch (e) {
        if (effect.lease !== leased) continue; // a newer lease came while the ack was out: ack with it
        const pause = Math.min(ACK_RETRY_MAX_MS, ACK_RETRY_FIRST_MS * 2 ** retry);
        if (!toSeleneError(e).retryable || !running || Date.now() + pause >= lapsesAt) throw e;
        log.warn({ retry: retry + 1 }, "the outbox did not get the ack; sending it again once it is reachable");
        // Waits for the channel to connect (at once when it is), then at least the backoff.
        const waited = Date.now();
        await outbox.ready(Math.min(lapsesAt, waited + ACK_RETRY_MAX_MS));
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, pause - (Date.now() - waited))));
      }
    }
  }

  /** Performs `leased` unless this executor performs or performed it already (held-effects.ts). */
  function take(leased: LeasedEffect): Promise<void> | undefined {
    const effect = held.take(leased, Date.now());
    if (effect === undefined) return undefined;
    return perform(effect).then((reported) => held.release(effect, reported, Date.now()));
  }

  /** One attempt; resolves true once the outbox has its ack or nack. */
  async function perform(holding: HeldEffect): Promise<boolean> {
    const effect = holding.lease.effect!;
    const correlationId = `effect-${effect.effectId}`.slice(0, 64);
    const log = logger.child({ correlation_id: correlationId, effect_id: effect.effectId, tenant_id: effect.tenantId });
    options.crash("while-leased");
    try {
      const request = fromBinary(CommitRequestSchema, effect.payload);
      const capability = registry.lookup(request.capability);
      if (capability === undefined) throw new SeleneError(ReasonCode.CAPABILITY_UNKNOWN, "no engine serves the effect");
      // Under the capability's policy: retried only with the effect's idempotency key, never a fallback.
      const result = await engines.call(capability, "commit", request, callOptions(correlationId));
      options.crash("after-commit");
      // The effect is performed: a waiting turn may record it and store its outcome while the ack goes out.
      watches.settle(effect.simulationId, "committed");
      const acked = await acknowledge(holding, result.effectId, correlationId, log);
      log.info({ attempt: effect.attempts, deduplicated: result.deduplicated }, "effect done");
      watches.settle(effect.simulationId, acked.effect?.state === EffectState.DONE ? "done" : "attempted");
      return true;
    } catch (e) {
      const error = toSeleneError(e);
      log.warn(
        { reason: error.reasonName, retryable: error.retryable, attempt: effect.attempts },
        "effect attempt failed",
      );
      const reported = await outbox
        .call(
          "nack",
          {
            envelope: system(correlationId),
            effectId: effect.effectId,
            leaseToken: holding.lease.leaseToken,
            error: error.message.slice(0, 2048),
            reason: error.reason,
            retryable: error.retryable,
          },
          callOptions(correlationId),
        )
        .then(
          () => true,
          (err: unknown) => {
            log.warn({ err }, "nack failed; the lease will lapse and the effect come back");
            return false;
          },
        );
      watches.settle(effect.simulationId, "attempted");
      return reported;
    }
  }

  async function loop(): Promise<void> {
    while (running) {
      let leases: LeasedEffect[] = [];
      let pauseMs: number;
      poked = false;
      try {
        const response = await outbox.call(
          "lease",
          {
            envelope: system(`lease-${options.executorId}`.slice(0, 64)),
            executorId: holder,
            maxEffects: options.batchSize,
            leaseDuration: durationFromMs(options.leaseMs),
          },
          callOptions(`lease-${options.executorId}`.slice(0, 64)),
        );
        leases = response.leases;
        pauseMs = idle.next(leases.length);
      } catch (e) {
        logger.warn({ err: e }, "lease failed");
        // The outbox is unreachable: wait for the channel to connect again (its own reconnect
        // backoff, at most 0.5 s apart), not for a fixed pause, so a restarted outbox is used at once.
        await outbox.ready(Date.now() + OUTBOX_WAIT_MS);
        pauseMs = 0;
      }
      await Promise.all(leases.map(take));
      if (leases.length < options.batchSize && running && !poked) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, pauseMs);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = undefined;
      }
    }
  }

  const done = loop();
  return {
    async stop() {
      running = false;
      wake?.();
      await done;
      await Promise.all(adopted);
    },
    poke() {
      idle.reset();
      poked = true;
      wake?.();
    },
    watch: (simulationId) => watches.watch(simulationId),
    enqueueLease: () => (running ? leaseAsk : undefined),
    adopt(leased) {
      // Performed or being performed here already: its watchers hear from that attempt.
      const taken = take(leased);
      if (taken === undefined) return;
      const performing = taken.finally(() => adopted.delete(performing));
      adopted.add(performing);
    },
  };
}
