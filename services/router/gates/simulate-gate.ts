/**
 * The simulate gate: an effectful capability's engine dry-runs the effect; the
 * simulation is stored for the user who asked (schema `router`) under an id
 * derived from the turn's idempotency key, and offered for confirmation. The
 * offer is the first step of an effect, so it is not made before its record
 * is in the ledger (fails closed with AUDIT_UNAVAILABLE).
 */
import { toBinary } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Decision, Gate } from "../../../gen/es/selene/audit/v1/audit_pb.js";
import { SimulateResponseSchema } from "../../../gen/es/selene/engine/v1/engine_pb.js";
import { ReasonCode } from "../../../gen/es/selene/kernel/v1/reason_pb.js";
import type { Outcome } from "../../runtime/turn-decisions/turn-decisions.js";
import type { ResilientEngines } from "../resilience/resilient-engines.js";
import { type SimulationStore, simulationIdOf } from "../simulation-store.js";
import type { Turn } from "../turn.js";
import type { Understood } from "./understand-gate.js";

/** What the gate needs. */
export interface SimulateGateDeps {
  /** The engine calls, under their resilience policy (a dry run may be retried: it changes nothing). */
  readonly engines: ResilientEngines;
  readonly simulations: SimulationStore;
  /** How long a simulation may be confirmed, ms. */
  readonly simulationTtlMs: number;
  readonly now?: () => number;
}

/** Simulates an effect: CONFIRM with the simulation to accept. */
export type SimulateGate = (turn: Turn, understood: Understood) => Promise<Outcome>;

/** Creates the gate. */
export function createSimulateGate(deps: SimulateGateDeps): SimulateGate {
  const now = deps.now ?? Date.now;
  return async (turn, { understanding, capability }) => {
    const { envelope } = turn;
    const response = await deps.engines.call(
      capability,
      "simulate",
      { envelope, capability: capability.name, fields: understanding.fields },
      turn.hop(),
    );
    const simulation = await deps.simulations.save(
      {
        simulationId: simulationIdOf(envelope.tenantId, envelope.idempotencyKey),
        tenantId: envelope.tenantId,
        userId: envelope.userId,
        capability: capability.name,
        fields: response.preview?.fields ?? understanding.fields,
        effectDigest: response.effectDigest,
        summary: response.preview?.summary ?? capability.name,
        expiresAt: new Date(now() + deps.simulationTtlMs),
      },
      turn.correlationId,
    );
    turn.trail.record(Gate.SIMULATE, Decision.ASK, {
      reason: ReasonCode.SIMULATION_REQUIRED,
      attributes: {
        engine: capability.engine,
        capability: capability.name,
        simulation_id: simulation.simulationId,
        effect_digest: simulation.effectDigest,
      },
      payload: toBinary(SimulateResponseSchema, response),
    });
    await turn.trail.flush(true, turn.hop().deadline);
    return {
      case: "confirm",
      value: {
        simulationId: simulation.simulationId,
        preview: { capability: simulation.capability, summary: simulation.summary, fields: simulation.fields },
        effectDigest: simulation.effectDigest,
        expiresAt: timestampFromDate(simulation.expiresAt),
      },
    };
  };
}
