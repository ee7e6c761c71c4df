/**
 * The commit gate: a confirmed simulation becomes exactly one outbox effect,
 * keyed by the simulation (so any number of confirmations, concurrent or
 * retried, enqueue one effect); the router's executor performs it through the
 * engine (the enqueue hands a new effect back already leased to it, so it starts
 * at once), and the turn waits for it: EXECUTED with the effect's id once the
 * engine has committed it (the outbox's ack is awaited while the turn's outcome
 * is stored, before the answer goes out), or REFUSED when it was dead-lettered.
 * An effect still running at the deadline is DEADLINE_EXCEEDED, retryable with
 * the same key. The turn hears from the local executor as soon as it has
 * performed the effect (effect-watches.ts), and looks at the effect itself after
 * any other attempt and, unless its own executor holds the effect, from every
 * POLL_MS to every MAX_POLL_MS (another router's executor may have taken it; a
 * wait through an engine's outage must not turn into a stream of reads).
 */
import { create } from "@bufbuild/protobuf";
import { Decision, Gate } from "../../../gen/es/selene/audit/v1/audit_pb.js";
import { ReasonCode } from "../../../gen/es/selene/kernel/v1/reason_pb.js";
import { EffectState, LeasedEffectSchema } from "../../../gen/es/selene/outbox/v1/outbox_pb.js";
import { sha256Digest } from "../../runtime/content-digest.js";
import { SeleneError } from "../../runtime/selene-error.js";
import { inStepSpan } from "../../runtime/step-span.js";
import { type Outcome, refused } from "../../runtime/turn-decisions/turn-decisions.js";
import type { CrashHook } from "../crash-points.js";
import type { EffectExecutor } from "../effect-executor.js";
import type { EffectWatch } from "../effect-watches.js";
import type { OutboxClient } from "../outbox-client.js";
import type { SimulationStore } from "../simulation-store.js";
import type { Turn } from "../turn.js";
import { HOP_RESERVE_MS } from "../turn-deadline.js";
import { type Confirmed, effectKeyOf } from "./confirm-gate.js";

/** What the gate needs. */
export interface CommitGateDeps {
  readonly simulations: SimulationStore;
  readonly outbox: OutboxClient;
  readonly crash: CrashHook;
  /**
   * The local executor: asked to take the new effect straight from Enqueue (or woken after an
   * enqueue that did not lease it), and telling the turn when it performed the effect.
   */
  readonly executor: Pick<EffectExecutor, "poke" | "watch" | "enqueueLease" | "adopt">;
  readonly now?: () => number;
}

/** Commits a confirmed simulation: EXECUTED, or REFUSED when the effect was dead-lettered. */
export type CommitGate = (turn: Turn, confirmed: Confirmed) => Promise<Outcome>;

/**
 * How often the turn looks at its effect while the local executor has not reported on it, ms: first
 * after POLL_MS, then twice as long after each look that found it still queued or running, up to
 * MAX_POLL_MS. The local executor's report still wakes the turn at once, whoever queued the effect.
 */
const POLL_MS = 50;
const MAX_POLL_MS = 400;

/** What the turn learns of its effect once it is no longer queued or running. */
interface Settled {
  readonly state: EffectState;
  readonly effectId: string;
  readonly lastError: string;
  /** False when the engine has committed the effect and the outbox's ack is still on its way. */
  readonly acked: boolean;
}

/** What ends a wait: the engine's commit of the effect (its ack may still be on its way), or its ack. */
type Until = "committed" | "acked";

/** Creates the gate. */
export function createCommitGate(deps: CommitGateDeps): CommitGate {
  const now = deps.now ?? Date.now;
  // Whether Enqueue is asked to lease the new effect to this router's executor (an outbox that
  // does not know EnqueueRequest.lease turns it off).
  let leaseAsked = true;

  /**
   * Waits for the effect to reach `until`. `local`: this router's executor holds it and will report
   * how its attempt went, so the turn does not poll the outbox until it has heard of a failure.
   */
  async function waitForEffect(
    turn: Turn,
    effectId: string,
    watch: EffectWatch,
    until: Until,
    local: boolean,
  ): Promise<Settled> {
    let ours = local;
    let pollMs = POLL_MS;
    const notYet = () =>
      new SeleneError(ReasonCode.DEADLINE_EXCEEDED, "the effect is queued but not done yet; retry with the same key", {
        retryAfterMs: 500,
        metadata: { effect_id: effectId },
      });
    for (;;) {
      const left = turn.deadline - HOP_RESERVE_MS - now();
      if (left <= 0) throw notYet();
      const heard = await watch.next(ours ? left : Math.min(pollMs, left));
      if (heard === "done") return { state: EffectState.DONE, effectId, lastError: "", acked: true };
      if (heard === "committed") {
        if (until === "committed") return { state: EffectState.DONE, effectId, lastError: "", acked: false };
        continue; // its ack follows
      }
      // A failed attempt (or another router's executor): the effect may be anyone's now.
      ours = false;
      if (now() >= turn.deadline - HOP_RESERVE_MS) throw notYet();
      const { effect } = await deps.outbox.call("getEffect", { envelope: turn.envelope, effectId }, turn.hop());
      if (effect !== undefined && effect.state !== EffectState.PENDING && effect.state !== EffectState.LEASED)
        return { state: effect.state, effectId, lastError: effect.lastError, acked: true };
      pollMs = Math.min(pollMs * 2, MAX_POLL_MS);
    }
  }

  /**
   * The rest of the wait of an effect the engine has committed: its ack, which the answer waits for
   * while the turn's outcome and records are stored, so EXECUTED still goes out only once the outbox
   * has the effect done.
   */
  function awaitAck(turn: Turn, effectId: string, watch: EffectWatch): Promise<void> {
    // The executor that said "committed" reports its ack next.
    const acked = inStepSpan("effect ack wait", () => waitForEffect(turn, effectId, watch, "acked", true))
      .then((settled) => {
        if (settled.state !== EffectState.DONE) {
          throw new SeleneError(
            ReasonCode.INTERNAL,
            "the engine committed the effect but the outbox did not record it done",
          );
        }
      })
      .finally(() => watch.close());
    // Awaited with the turn's completion; a turn that fails before then must not leave it unhandled.
    acked.catch(() => {});
    return acked;
  }

  /**
   * Queues the effect, wakes the executor, and waits for the effect; the simulation is marked
   * confirmed meanwhile (the effect is what counts: a turn that stops after the enqueue has
   * queued it, and its retry finds it by the simulation's key).
   */
  async function enqueueAndWait(turn: Turn, { simulation, payload }: Confirmed, watch: EffectWatch): Promise<Settled> {
    const request = {
      envelope: { ...turn.envelope, idempotencyKey: effectKeyOf(simulation.simulationId) },
      effectType: simulation.capability,
      simulationId: simulation.simulationId,
      payload,
      payloadDigest: sha256Digest(payload),
    };
    const lease = leaseAsked ? deps.executor.enqueueLease() : undefined;
    const enqueued = await deps.outbox
      .call("enqueue", lease === undefined ? request : { ...request, lease }, turn.hop())
      .catch((e: unknown) => {
        // An outbox of the previous release refuses the field it does not know: queue as it knows how, from now on.
        if (lease === undefined || !(e instanceof SeleneError) || e.reason !== ReasonCode.UNKNOWN_FIELD) throw e;
        leaseAsked = false;
        return deps.outbox.call("enqueue", request, turn.hop());
      });
    const effect = enqueued.effect!;
    deps.crash("after-enqueue");
    const adopted = enqueued.leaseToken !== "" && enqueued.leaseExpiresAt !== undefined;
    if (adopted) {
      // Ours: performed at once, in the turn's trace, with no Lease call and no wake-up. A replay
      // whose first answer was lost gets the lease back too; one this executor performs already
      // is not performed twice (held-effects.ts), and the turn hears from that attempt.
      deps.executor.adopt(
        create(LeasedEffectSchema, {
          effect,
          leaseToken: enqueued.leaseToken,
          leaseExpiresAt: enqueued.leaseExpiresAt,
        }),
      );
    } else {
      // Queued by an earlier attempt and not under a live lease of this executor (another router's,
      // or lapsed, or not leased at all): the executor's loop, or another's, takes it.
      deps.executor.poke();
    }
    const [, done] = await Promise.all([
      deps.simulations.resolve(turn.envelope.tenantId, simulation.simulationId, "confirmed"),
      inStepSpan("effect wait", () => waitForEffect(turn, effect.effectId, watch, "committed", adopted)),
    ]);
    return done;
  }

  return async (turn, { simulation, payload }) => {
    deps.crash("before-enqueue");
    // Watching before the effect exists: the executor may perform it before the enqueue returns.
    const watch = deps.executor.watch(simulation.simulationId);
    let done: Settled;
    try {
      done = await enqueueAndWait(turn, { simulation, payload }, watch);
    } catch (e) {
      watch.close();
      throw e;
    }
    if (done.acked) watch.close();
    else turn.answerAfter.push(awaitAck(turn, done.effectId, watch));
    const attributes = { simulation_id: simulation.simulationId, effect_id: done.effectId };
    if (done.state === EffectState.DONE) {
      turn.trail.record(Gate.COMMIT, Decision.PASS, { attributes });
      return {
        case: "executed",
        value: { effectId: done.effectId, simulationId: simulation.simulationId, summary: simulation.summary },
      };
    }
    turn.trail.record(Gate.COMMIT, Decision.DENY, { reason: ReasonCode.EFFECT_DEAD_LETTERED, attributes });
    return refused(
      ReasonCode.EFFECT_DEAD_LETTERED,
      `The effect could not be performed: ${(done.lastError || "no detail").slice(0, 400)}`,
    );
  };
}
