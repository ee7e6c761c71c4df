/**
 * One turn through the router's gates, in the order of ARCHITECTURE.md; each
 * gate is a unit of its own under gates/, and this file is the one place
 * that orders them. A call starts its turn (turn.ts: the one deadline, the
 * audit trail), turn-level idempotency replays a key already decided, then:
 *
 *   validate -> identity -> [governance, budget: to come]
 *   text:          understand -> clarify -> [access policy: to come] -> answer (read) | simulate (effect)
 *   confirmation:  confirm -> commit
 *
 * Two steps overlap to save round trips: a text turn's understanding call is sent while its
 * idempotency claim is written (the gates, which record and act, run once the claim is the
 * turn's), and its last records are appended while its outcome is stored.
 *
 * Each gate records its own decisions. Policy outcomes are REFUSED outcomes
 * with a reason code; faults (an engine down or too slow, a bad response) are
 * gRPC errors with a reason code, recorded here as FAIL at the gate they
 * surfaced at.
 */
import { status } from "@grpc/grpc-js";
import { Decision, Gate } from "../../gen/es/selene/audit/v1/audit_pb.js";
import { CapabilityKind } from "../../gen/es/selene/engine/v1/engine_pb.js";
import { ReasonCode } from "../../gen/es/selene/kernel/v1/reason_pb.js";
import type { SubmitTurnRequest } from "../../gen/es/selene/os/v1/turn_pb.js";
import { toSeleneError } from "../runtime/boundary/to-selene-error.js";
import type { ClarifyPolicy } from "../runtime/policy/clarify-policy.js";
import type { ReadPolicies } from "../runtime/turn-decisions/read-decision.js";
import type { Outcome } from "../runtime/turn-decisions/turn-decisions.js";
import type { CallContext } from "../runtime/unary-service.js";
import type { CrashHook } from "./crash-points.js";
import type { CapabilityRoutes } from "./engine-registry.js";
import { createAnswerGate } from "./gates/answer-gate.js";
import { createClarifyGate } from "./gates/clarify-gate.js";
import { type CommitGateDeps, createCommitGate } from "./gates/commit-gate.js";
import { createConfirmGate } from "./gates/confirm-gate.js";
import { createIdentityGate } from "./gates/identity-gate.js";
import { createSimulateGate } from "./gates/simulate-gate.js";
import { type Asked, askUnderstanding, createUnderstandGate } from "./gates/understand-gate.js";
import { validateGate } from "./gates/validate-gate.js";
import type { OutboxClient } from "./outbox-client.js";
import type { ResilientEngines } from "./resilience/resilient-engines.js";
import type { SimulationStore } from "./simulation-store.js";
import { startTurn, type Turn, type TurnResponse, type TurnStart } from "./turn.js";
import { type TurnIdempotencyOptions, withTurnIdempotency } from "./turn-idempotency.js";
import type { TurnRecords } from "./turn-records.js";

/** What the pipeline needs. */
export interface TurnPipelineDeps {
  readonly registry: CapabilityRoutes;
  /** The clarify policy (policy/clarify.json), read at start. */
  readonly clarifyPolicy: ClarifyPolicy;
  /** The freshness and conflict policies of read results (policy/freshness.json, policy/conflicts.json). */
  readonly readPolicies: ReadPolicies;
  /** Engine calls under the resilience policy. */
  readonly engines: ResilientEngines;
  readonly simulations: SimulationStore;
  /** Client SPIFFE id -> tenant. */
  readonly clientTenants: ReadonlyMap<string, string>;
  readonly defaultTurnDeadlineMs: number;
  readonly simulationTtlMs: number;
  /** Where confirmed effects are queued for the executor. */
  readonly outbox: OutboxClient;
  readonly crash: CrashHook;
  /** The local executor: woken after an enqueue, telling a confirmation when it performed the effect. */
  readonly executor: CommitGateDeps["executor"];
  /** Where every turn's gate decisions go. */
  readonly audit: TurnStart["audit"];
  /** Turn-level idempotency: the records and how long a duplicate waits. */
  readonly idempotency: { readonly records: TurnRecords } & TurnIdempotencyOptions;
  readonly now?: () => number;
}

/** Handles one SubmitTurn. */
export type TurnHandler = (request: SubmitTurnRequest, context: CallContext) => Promise<TurnResponse>;

/** How long the record of a failed turn may take to reach the ledger, ms. */
const FAILURE_AUDIT_MS = 2000;
/** Time kept back after the final append for the response to go out, ms. */
const FLUSH_RESERVE_MS = 10;

/** Statuses of errors that refuse the request itself (not a fault on the way). */
const REFUSALS = new Set<number>([
  status.INVALID_ARGUMENT,
  status.PERMISSION_DENIED,
  status.NOT_FOUND,
  status.FAILED_PRECONDITION,
]);

/** Creates the turn handler. */
export function createTurnPipeline(deps: TurnPipelineDeps): TurnHandler {
  const now = deps.now ?? Date.now;
  const identity = createIdentityGate(deps.clientTenants);
  const understand = createUnderstandGate(deps.registry, deps.engines);
  const ask = askUnderstanding(deps.registry, deps.engines);
  const clarify = createClarifyGate(deps.clarifyPolicy);
  const answer = createAnswerGate(deps.engines, deps.readPolicies, now);
  const simulate = createSimulateGate(deps);
  const confirm = createConfirmGate(deps);
  const commit = createCommitGate(deps);

  /**
   * Runs one gate. An error it did not decide itself (a fault, or a refusal thrown from deeper
   * down) is recorded at it: DENY for a refusal of the request, FAIL for anything else.
   */
  async function at<T>(turn: Turn, gate: Gate, run: () => T | Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (e) {
      const decided = turn.trail.decisionAt(gate);
      // A gate that recorded its own refusal or failure (with what caused it) is not recorded twice.
      if (decided !== Decision.DENY && decided !== Decision.FAIL) {
        // The reason the caller is told (the boundary's one mapping), so the ledger and the wire agree.
        const error = toSeleneError(e);
        turn.trail.record(gate, REFUSALS.has(error.status) ? Decision.DENY : Decision.FAIL, {
          reason: error.reason,
          attributes: { caller: turn.caller },
        });
      }
      // The error goes back at once; its record follows on its own time (a fault is often a
      // deadline that has already passed).
      void turn.trail.flush(false, now() + FAILURE_AUDIT_MS);
      throw e;
    }
  }

  /**
   * The understanding engine's call of a text turn whose tenant claim holds, sent while the turn's
   * claim is being written: it reads nothing the claim guards, and what it answers is recorded
   * and acted on only by the gates, which run once the claim is the turn's.
   */
  function askAhead(turn: Turn): Promise<Asked> | undefined {
    const input = turn.request.input;
    if (input.case !== "text" || !identity.holds(turn)) return undefined;
    return ask(turn, input.value);
  }

  /** The gates, in order; `asked`: the understanding engine's answer, asked ahead. */
  async function decide(turn: Turn, asked: Promise<Asked> | undefined): Promise<Outcome> {
    await at(turn, Gate.VALIDATE, () => validateGate(turn));
    await at(turn, Gate.IDENTITY, () => identity(turn));
    const input = turn.request.input;
    if (input.case === "confirmation") {
      const confirmed = await at(turn, Gate.CONFIRM, () => confirm(turn, input.value));
      if ("refused" in confirmed) return confirmed.refused;
      return at(turn, Gate.COMMIT, () => commit(turn, confirmed));
    }
    const understood = await at(turn, Gate.UNDERSTAND, () => understand(turn, input.value ?? "", asked));
    if ("refused" in understood) return understood.refused;
    const question = await at(turn, Gate.CLARIFY, () => clarify(turn, understood));
    if (question !== undefined) return question;
    return understood.capability.kind === CapabilityKind.EFFECT
      ? at(turn, Gate.SIMULATE, () => simulate(turn, understood))
      : at(turn, Gate.ANSWER, () => answer(turn, understood));
  }

  /** A claimed turn: its gates, then its log line; its records are appended alongside its outcome. */
  async function respond(turn: Turn, asked: Promise<Asked> | undefined): Promise<TurnResponse> {
    const outcome = await decide(turn, asked);
    const reason = outcome.case === "refused" ? ReasonCode[outcome.value.reason ?? 0] : undefined;
    turn.logger.info({ outcome: outcome.case, reason, tenant_id: turn.envelope.tenantId }, "turn decided");
    return { turnId: turn.envelope.turnId, correlationId: turn.envelope.correlationId, outcome };
  }

  const idempotency: TurnIdempotencyOptions = {
    ...deps.idempotency,
    // Effectful steps flushed before they acted (simulate, confirm): what is left is best effort,
    // within what is left of the turn, written while the turn's outcome is stored.
    alongside: (turn) => turn.trail.flush(false, Math.max(turn.deadline - FLUSH_RESERVE_MS, now() + 1)),
  };
  const start: TurnStart = { defaultDeadlineMs: deps.defaultTurnDeadlineMs, audit: deps.audit, now: deps.now };
  return (request, call) => {
    const turn = startTurn(request, call, start);
    const asked = askAhead(turn);
    return withTurnIdempotency((claimed) => respond(claimed, asked), deps.idempotency.records, idempotency)(turn);
  };
}
