/**
 * The confirmation turn: no simulation, no execution. An accepted, active
 * simulation becomes exactly one outbox effect, keyed by the simulation (so
 * any number of confirmations, concurrent or retried, enqueue one effect), and
 * the turn waits for the executor to report it DONE: EXECUTED with the effect's
 * id. The effect's payload is derived from the simulation alone, so it is the
 * same bytes whoever confirms it.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { Decision, Gate } from "../../gen/es/selene/audit/v1/audit_pb.js";
import { CommitRequestSchema } from "../../gen/es/selene/engine/v1/engine_pb.js";
import type { Envelope } from "../../gen/es/selene/kernel/v1/envelope_pb.js";
import { ReasonCode } from "../../gen/es/selene/kernel/v1/reason_pb.js";
import type { Confirmation } from "../../gen/es/selene/os/v1/turn_pb.js";
import { type Effect, EffectState } from "../../gen/es/selene/outbox/v1/outbox_pb.js";
import { sha256Digest } from "../runtime/content-digest.js";
import { SeleneError } from "../runtime/selene-error.js";
import type { CallContext } from "../runtime/unary-service.js";
import type { CrashHook } from "./crash-points.js";
import type { OutboxClient } from "./outbox-client.js";
import type { Simulation, SimulationStore } from "./simulation-store.js";
import { hopDeadline } from "./turn-deadline.js";
import { type Outcome, refused } from "../runtime/turn-decisions/turn-decisions.js";
import type { TurnTrail } from "./turn-trail.js";

/** What a confirmation needs. */
export interface ConfirmDeps {
  readonly simulations: SimulationStore;
  readonly outbox: OutboxClient;
  readonly crash: CrashHook;
  /** Wakes the local executor after an enqueue. */
  readonly pokeExecutor: () => void;
  readonly now?: () => number;
}

/** Handles one confirmation. */
export type ConfirmTurn = (
  envelope: Envelope,
  confirmation: Confirmation,
  deadline: number,
  ctx: CallContext,
  trail: TurnTrail,
) => Promise<Outcome>;

/** How often the turn looks at its effect while waiting, ms. */
const POLL_MS = 20;

/** The outbox idempotency key of a simulation's one effect. */
export function effectKeyOf(simulationId: string): string {
  return `effect:${simulationId}`;
}

/** The immutable commit request of a simulation: the effect's payload. */
export function effectPayload(simulation: Simulation): Uint8Array {
  return toBinary(
    CommitRequestSchema,
    create(CommitRequestSchema, {
      envelope: {
        contractVersion: { major: 1, minor: 0 },
        tenantId: simulation.tenantId,
        userId: simulation.userId,
        correlationId: simulation.simulationId,
        turnId: simulation.simulationId,
        idempotencyKey: effectKeyOf(simulation.simulationId),
      },
      capability: simulation.capability,
      simulationId: simulation.simulationId,
      fields: simulation.fields,
      effectDigest: simulation.effectDigest,
    }),
  );
}

/** Creates the confirmation handler. */
export function createConfirmTurn(deps: ConfirmDeps): ConfirmTurn {
  const now = deps.now ?? Date.now;

  async function waitForEffect(
    envelope: Envelope,
    effectId: string,
    deadline: number,
    ctx: CallContext,
  ): Promise<Effect> {
    for (;;) {
      const { effect } = await deps.outbox.call(
        "getEffect",
        { envelope, effectId },
        { deadline: hopDeadline(deadline, now()), correlationId: ctx.correlationId },
      );
      if (effect !== undefined && effect.state !== EffectState.PENDING && effect.state !== EffectState.LEASED)
        return effect;
      if (now() + POLL_MS >= deadline - 50) {
        throw new SeleneError(
          ReasonCode.DEADLINE_EXCEEDED,
          "the effect is queued but not done yet; retry with the same key",
          {
            retryAfterMs: 500,
            metadata: { effect_id: effectId },
          },
        );
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }

  /** The confirm gate's decision: refused (recorded), or the active simulation to perform. */
  function decline(trail: TurnTrail, simulation: Simulation, reason: ReasonCode, message: string): Outcome {
    trail.record(Gate.CONFIRM, Decision.DENY, {
      reason,
      attributes: { simulation_id: simulation.simulationId, status: simulation.status },
    });
    return refused(reason, message);
  }

  return async (
    envelope: Envelope,
    confirmation: Confirmation,
    deadline: number,
    ctx: CallContext,
    trail: TurnTrail,
  ): Promise<Outcome> => {
    const found = await deps.simulations.find(envelope.tenantId, confirmation.simulationId);
    if (found === undefined) {
      throw new SeleneError(ReasonCode.SIMULATION_NOT_FOUND, "no such simulation for this tenant", {
        fieldPath: "confirmation.simulation_id",
      });
    }
    if (!confirmation.accept) {
      const after = await deps.simulations.resolve(envelope.tenantId, found.simulationId, "declined");
      return after?.status === "declined"
        ? decline(trail, found, ReasonCode.SIMULATION_ALREADY_RESOLVED, "Declined: nothing was done.")
        : decline(trail, found, ReasonCode.SIMULATION_ALREADY_RESOLVED, `The simulation is already ${after?.status}.`);
    }
    if (found.status === "declined" || found.status === "expired") {
      return decline(
        trail,
        found,
        ReasonCode.SIMULATION_ALREADY_RESOLVED,
        `The simulation is already ${found.status}.`,
      );
    }
    if (found.status === "active" && found.expiresAt.getTime() <= now()) {
      return decline(trail, found, ReasonCode.SIMULATION_EXPIRED, "The simulation expired; ask again.");
    }
    const payload = effectPayload(found);
    trail.record(Gate.CONFIRM, Decision.PASS, {
      attributes: { simulation_id: found.simulationId, status: found.status, capability: found.capability },
      payload,
    });
    // No effect without its record: the confirmation is in the ledger before the effect is queued.
    await trail.flush(true, hopDeadline(deadline, now()));
    deps.crash("before-enqueue");
    const { effect } = await deps.outbox.call(
      "enqueue",
      {
        envelope: { ...envelope, idempotencyKey: effectKeyOf(found.simulationId) },
        effectType: found.capability,
        simulationId: found.simulationId,
        payload,
        payloadDigest: sha256Digest(payload),
      },
      { deadline: hopDeadline(deadline, now()), correlationId: ctx.correlationId },
    );
    deps.crash("after-enqueue");
    await deps.simulations.resolve(envelope.tenantId, found.simulationId, "confirmed");
    deps.pokeExecutor();
    const done = await waitForEffect(envelope, effect!.effectId, deadline, ctx);
    const attributes = { simulation_id: found.simulationId, effect_id: done.effectId };
    if (done.state === EffectState.DONE) {
      trail.record(Gate.COMMIT, Decision.PASS, { attributes });
      return {
        case: "executed",
        value: { effectId: done.effectId, simulationId: found.simulationId, summary: found.summary },
      };
    }
    trail.record(Gate.COMMIT, Decision.DENY, { reason: ReasonCode.EFFECT_DEAD_LETTERED, attributes });
    return refused(
      ReasonCode.EFFECT_DEAD_LETTERED,
      `The effect could not be performed: ${(done.lastError || "no detail").slice(0, 400)}`,
    );
  };
}
