/**
 * The commit gate: a confirmed simulation becomes exactly one outbox effect,
 * keyed by the simulation (so any number of confirmations, concurrent or
 * retried, enqueue one effect); the router's executor performs it through the
 * engine, and the turn waits for it: EXECUTED with the effect's id, or REFUSED
 * when it was dead-lettered. An effect still running at the deadline is
 * DEADLINE_EXCEEDED, retryable with the same key.
 */
import { Decision, Gate } from "../../../gen/es/selene/audit/v1/audit_pb.js";
import { ReasonCode } from "../../../gen/es/selene/kernel/v1/reason_pb.js";
import { type Effect, EffectState } from "../../../gen/es/selene/outbox/v1/outbox_pb.js";
import { sha256Digest } from "../../runtime/content-digest.js";
import { SeleneError } from "../../runtime/selene-error.js";
import { inStepSpan } from "../../runtime/step-span.js";
import { type Outcome, refused } from "../../runtime/turn-decisions/turn-decisions.js";
import type { CrashHook } from "../crash-points.js";
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
  /** Wakes the local executor after an enqueue. */
  readonly pokeExecutor: () => void;
  readonly now?: () => number;
}

/** Commits a confirmed simulation: EXECUTED, or REFUSED when the effect was dead-lettered. */
export type CommitGate = (turn: Turn, confirmed: Confirmed) => Promise<Outcome>;

/** How often the turn looks at its effect while waiting, ms. */
const POLL_MS = 20;

/** Creates the gate. */
export function createCommitGate(deps: CommitGateDeps): CommitGate {
  const now = deps.now ?? Date.now;

  async function waitForEffect(turn: Turn, effectId: string): Promise<Effect> {
    for (;;) {
      const { effect } = await deps.outbox.call("getEffect", { envelope: turn.envelope, effectId }, turn.hop());
      if (effect !== undefined && effect.state !== EffectState.PENDING && effect.state !== EffectState.LEASED)
        return effect;
      if (now() + POLL_MS >= turn.deadline - HOP_RESERVE_MS) {
        throw new SeleneError(
          ReasonCode.DEADLINE_EXCEEDED,
          "the effect is queued but not done yet; retry with the same key",
          { retryAfterMs: 500, metadata: { effect_id: effectId } },
        );
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }

  return async (turn, { simulation, payload }) => {
    deps.crash("before-enqueue");
    const { effect } = await deps.outbox.call(
      "enqueue",
      {
        envelope: { ...turn.envelope, idempotencyKey: effectKeyOf(simulation.simulationId) },
        effectType: simulation.capability,
        simulationId: simulation.simulationId,
        payload,
        payloadDigest: sha256Digest(payload),
      },
      turn.hop(),
    );
    deps.crash("after-enqueue");
    await deps.simulations.resolve(turn.envelope.tenantId, simulation.simulationId, "confirmed");
    deps.pokeExecutor();
    const done = await inStepSpan("effect wait", () => waitForEffect(turn, effect!.effectId));
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
