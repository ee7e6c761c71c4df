/**
 * The confirm gate: no simulation, no execution. A confirmation names a
 * simulation of the caller's tenant offered to the same user; another user's
 * simulation is answered exactly as one that does not exist (same status,
 * reason, message and detail bytes, so ids cannot be probed), and the ledger
 * records which it was. A declined, expired or resolved simulation is
 * REFUSED. An accepted, active one passes with its effect's payload, derived
 * from the simulation alone (the same bytes whoever confirms it), recorded in
 * the ledger before anything is queued.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { Decision, Gate } from "../../../gen/es/selene/audit/v1/audit_pb.js";
import { CommitRequestSchema } from "../../../gen/es/selene/engine/v1/engine_pb.js";
import { ReasonCode } from "../../../gen/es/selene/kernel/v1/reason_pb.js";
import type { Confirmation } from "../../../gen/es/selene/os/v1/turn_pb.js";
import { CURRENT_CONTRACT_VERSION } from "../../runtime/contract-version.js";
import { SeleneError } from "../../runtime/selene-error.js";
import { type Outcome, refused } from "../../runtime/turn-decisions/turn-decisions.js";
import type { Simulation, SimulationStore } from "../simulation-store.js";
import type { Turn } from "../turn.js";

/** What the gate needs. */
export interface ConfirmGateDeps {
  readonly simulations: SimulationStore;
  readonly now?: () => number;
}

/** A confirmed simulation and the payload of its one effect. */
export interface Confirmed {
  readonly simulation: Simulation;
  readonly payload: Uint8Array;
}

/** Decides a confirmation: the simulation to commit, or the refusal that ends the turn. */
export type ConfirmGate = (
  turn: Turn,
  confirmation: Confirmation,
) => Promise<Confirmed | { readonly refused: Outcome }>;

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
        contractVersion: CURRENT_CONTRACT_VERSION,
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

/** The one answer to a simulation the user may not see: built afresh, the same bytes every time. */
function noSuchSimulation(): SeleneError {
  return new SeleneError(ReasonCode.SIMULATION_NOT_FOUND, "no such simulation for this user", {
    fieldPath: "confirmation.simulation_id",
  });
}

/** Creates the gate. */
export function createConfirmGate(deps: ConfirmGateDeps): ConfirmGate {
  const now = deps.now ?? Date.now;

  /** The gate's refusal of a simulation the user may see: recorded, and REFUSED. */
  function decline(turn: Turn, simulation: Simulation, reason: ReasonCode, message: string) {
    turn.trail.record(Gate.CONFIRM, Decision.DENY, {
      reason,
      attributes: { simulation_id: simulation.simulationId, status: simulation.status },
    });
    return { refused: refused(reason, message) };
  }

  return async (turn, confirmation) => {
    const { tenantId, userId } = turn.envelope;
    const found = await deps.simulations.find(tenantId, confirmation.simulationId);
    if (found === undefined || found.userId !== userId) {
      // The user asserted by the client app is the only one who may confirm: the ledger names the
      // owner (ACCESS_DENIED), the caller is told nothing it could probe with.
      turn.trail.record(Gate.CONFIRM, Decision.DENY, {
        reason: found === undefined ? ReasonCode.SIMULATION_NOT_FOUND : ReasonCode.ACCESS_DENIED,
        attributes:
          found === undefined
            ? { simulation_id: confirmation.simulationId, user_id: userId }
            : { simulation_id: confirmation.simulationId, user_id: userId, owner_user_id: found.userId },
      });
      throw noSuchSimulation();
    }
    if (!confirmation.accept) {
      const after = await deps.simulations.resolve(tenantId, found.simulationId, "declined");
      return after?.status === "declined"
        ? decline(turn, found, ReasonCode.SIMULATION_ALREADY_RESOLVED, "Declined: nothing was done.")
        : decline(turn, found, ReasonCode.SIMULATION_ALREADY_RESOLVED, `The simulation is already ${after?.status}.`);
    }
    if (found.status === "declined" || found.status === "expired") {
      return decline(turn, found, ReasonCode.SIMULATION_ALREADY_RESOLVED, `The simulation is already ${found.status}.`);
    }
    if (found.status === "active" && found.expiresAt.getTime() <= now()) {
      return decline(turn, found, ReasonCode.SIMULATION_EXPIRED, "The simulation expired; ask again.");
    }
    const payload = effectPayload(found);
    turn.trail.record(Gate.CONFIRM, Decision.PASS, {
      attributes: { simulation_id: found.simulationId, status: found.status, capability: found.capability },
      payload,
    });
    // No effect without its record: the confirmation is in the ledger before the effect is queued.
    await turn.trail.flush(true, turn.hop().deadline);
    return { simulation: found, payload };
  };
}
