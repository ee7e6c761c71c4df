/**
 * One turn through the router's gates, in the order of ARCHITECTURE.md:
 * validate (done by the boundary) -> identity (mTLS peer -> tenant) ->
 * understand (nlp engine) -> clarify (one deterministic question) -> answer
 * (read-only capability, with provenance) or simulate (effect dry run) and
 * CONFIRM; a confirmation turn goes to the outbox (confirm-turn.ts). Policy outcomes (not understood, no engine for the intent, the
 * engine has no answer) are REFUSED outcomes with a reason code; faults (an
 * engine down or too slow, a bad response) are gRPC errors with a reason code.
 */
import { type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { status } from "@grpc/grpc-js";
import { Decision, Gate } from "../../gen/es/selene/audit/v1/audit_pb.js";
import {
  CapabilityKind,
  InvokeResponseSchema,
  SimulateResponseSchema,
  type Understanding,
} from "../../gen/es/selene/engine/v1/engine_pb.js";
import { ClarifySchema } from "../../gen/es/selene/kernel/v1/clarify_pb.js";
import type { Envelope } from "../../gen/es/selene/kernel/v1/envelope_pb.js";
import { ReasonCode } from "../../gen/es/selene/kernel/v1/reason_pb.js";
import {
  type SubmitTurnRequest,
  SubmitTurnRequestSchema,
  type SubmitTurnResponseSchema,
} from "../../gen/es/selene/os/v1/turn_pb.js";
import { SeleneError } from "../runtime/selene-error.js";
import type { CallContext } from "../runtime/unary-service.js";
import type { ConfirmTurn } from "./confirm-turn.js";
import type { EngineRegistry, RegisteredCapability } from "./engine-registry.js";
import { type SimulationStore, simulationIdOf } from "./simulation-store.js";
import { hopDeadline } from "./turn-deadline.js";
import {
  answerOutcome,
  type Outcome,
  outcomeDigest,
  readRefusal,
  refused,
  routeUnderstanding,
  understandingOf,
} from "../runtime/turn-decisions/turn-decisions.js";
import { startTurnTrail, type TrailSink, type TurnTrail } from "./turn-trail.js";

type TurnResponse = MessageInitShape<typeof SubmitTurnResponseSchema>;

/** What the pipeline needs. */
export interface TurnPipelineDeps {
  readonly registry: EngineRegistry;
  readonly simulations: SimulationStore;
  /** Client SPIFFE id -> tenant. */
  readonly clientTenants: ReadonlyMap<string, string>;
  readonly defaultTurnDeadlineMs: number;
  readonly simulationTtlMs: number;
  /** Handles confirmation turns (outbox -> executor -> engine). */
  readonly confirm: ConfirmTurn;
  /** Where every turn's gate decisions go. */
  readonly audit: Omit<TrailSink, "logger">;
  readonly now?: () => number;
}

/** Handles one SubmitTurn. */
export type TurnHandler = (request: SubmitTurnRequest, context: CallContext) => Promise<TurnResponse>;

/** The identity gate: the tenant comes from the caller's certificate, never from the payload alone. */
export function tenantOf(clientTenants: ReadonlyMap<string, string>, caller: string, envelope: Envelope): string {
  const tenant = clientTenants.get(caller);
  if (tenant === undefined) {
    throw new SeleneError(ReasonCode.CALLER_NOT_ALLOWED, `caller ${caller} is not bound to a tenant`);
  }
  if (envelope.tenantId !== tenant) {
    throw new SeleneError(ReasonCode.TENANT_MISMATCH, "the envelope's tenant is not the caller's tenant", {
      fieldPath: "envelope.tenant_id",
    });
  }
  return tenant;
}

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

/** The gate a fault surfaced at: the first of the turn's steps that has no decision yet. */
function failedGate(trail: TurnTrail, confirmation: boolean): Gate {
  const steps = confirmation
    ? [Gate.IDENTITY, Gate.CONFIRM, Gate.COMMIT]
    : [Gate.IDENTITY, Gate.UNDERSTAND, Gate.ACCESS, Gate.CLARIFY, Gate.ANSWER];
  return steps.find((gate) => !trail.has(gate)) ?? steps[steps.length - 1]!;
}

/** Creates the turn handler. */
export function createTurnPipeline(deps: TurnPipelineDeps): TurnHandler {
  const now = deps.now ?? Date.now;

  async function understand(envelope: Envelope, text: string, deadline: number, ctx: CallContext, trail: TurnTrail) {
    const nlp = deps.registry.lookup("nlp.understand");
    if (nlp === undefined) throw new SeleneError(ReasonCode.CAPABILITY_UNKNOWN, "no engine understands utterances");
    try {
      const response = await deps.registry
        .client(nlp.engine)
        .call(
          "invoke",
          { envelope, capability: nlp.name, input: { case: "utterance", value: text } },
          { deadline: hopDeadline(deadline, now()), correlationId: ctx.correlationId },
        );
      const u = understandingOf(response);
      trail.record(Gate.UNDERSTAND, Decision.PASS, {
        attributes: { engine: nlp.engine, intent: u.intent },
        payload: toBinary(InvokeResponseSchema, response),
      });
      return u;
    } catch (e) {
      if (e instanceof SeleneError && e.reason === ReasonCode.INTENT_NOT_UNDERSTOOD) {
        trail.record(Gate.UNDERSTAND, Decision.DENY, { reason: e.reason, attributes: { engine: nlp.engine } });
        return undefined;
      }
      throw e;
    }
  }

  async function answer(
    envelope: Envelope,
    capability: RegisteredCapability,
    u: Understanding,
    deadline: number,
    ctx: CallContext,
    trail: TurnTrail,
  ): Promise<Outcome> {
    const attributes = { engine: capability.engine, capability: capability.name };
    try {
      const response = await deps.registry
        .client(capability.engine)
        .call(
          "invoke",
          { envelope, capability: capability.name, input: { case: "read", value: { args: u.fields } } },
          { deadline: hopDeadline(deadline, now()), correlationId: ctx.correlationId },
        );
      const outcome = answerOutcome(capability.name, capability.engine, response);
      trail.record(Gate.ANSWER, Decision.PASS, {
        attributes: { ...attributes, outcome_digest: outcomeDigest(outcome) },
        payload: toBinary(InvokeResponseSchema, response),
      });
      return outcome;
    } catch (e) {
      const outcome = e instanceof SeleneError ? readRefusal(e) : undefined;
      if (outcome === undefined) throw e;
      trail.record(Gate.ANSWER, Decision.DENY, {
        reason: (e as SeleneError).reason,
        attributes: { ...attributes, outcome_digest: outcomeDigest(outcome) },
      });
      return outcome;
    }
  }

  async function simulate(
    envelope: Envelope,
    capability: RegisteredCapability,
    u: Understanding,
    deadline: number,
    ctx: CallContext,
    trail: TurnTrail,
  ): Promise<Outcome> {
    const response = await deps.registry
      .client(capability.engine)
      .call(
        "simulate",
        { envelope, capability: capability.name, fields: u.fields },
        { deadline: hopDeadline(deadline, now()), correlationId: ctx.correlationId },
      );
    const simulation = await deps.simulations.save(
      {
        simulationId: simulationIdOf(envelope.tenantId, envelope.idempotencyKey),
        tenantId: envelope.tenantId,
        userId: envelope.userId,
        capability: capability.name,
        fields: response.preview?.fields ?? u.fields,
        effectDigest: response.effectDigest,
        summary: response.preview?.summary ?? capability.name,
        expiresAt: new Date(now() + deps.simulationTtlMs),
      },
      ctx.correlationId,
    );
    trail.record(Gate.SIMULATE, Decision.ASK, {
      reason: ReasonCode.SIMULATION_REQUIRED,
      attributes: {
        engine: capability.engine,
        capability: capability.name,
        simulation_id: simulation.simulationId,
        effect_digest: simulation.effectDigest,
      },
      payload: toBinary(SimulateResponseSchema, response),
    });
    // The simulation is the first step of an effect: it is not offered without its record.
    await trail.flush(true, hopDeadline(deadline, now()));
    return {
      case: "confirm",
      value: {
        simulationId: simulation.simulationId,
        preview: { capability: simulation.capability, summary: simulation.summary, fields: simulation.fields },
        effectDigest: simulation.effectDigest,
        expiresAt: timestampFromDate(simulation.expiresAt),
      },
    };
  }

  async function textTurn(
    envelope: Envelope,
    text: string,
    deadline: number,
    ctx: CallContext,
    trail: TurnTrail,
  ): Promise<Outcome> {
    const u = await understand(envelope, text, deadline, ctx, trail);
    const capability = u === undefined ? undefined : deps.registry.lookup(u.intent);
    const route = routeUnderstanding(u, capability);
    if (u !== undefined) {
      trail.record(
        Gate.ACCESS,
        route.kind === "refuse" ? Decision.DENY : Decision.PASS,
        route.kind === "refuse"
          ? { reason: route.reason, attributes: { capability: u.intent } }
          : {
              attributes: {
                capability: capability!.name,
                engine: capability!.engine,
                kind: CapabilityKind[capability!.kind],
                required_fields: capability!.requiredFields.join(","),
              },
            },
      );
    }
    switch (route.kind) {
      case "refuse":
        return refused(route.reason, route.message);
      case "clarify":
        trail.record(Gate.CLARIFY, Decision.ASK, {
          reason: ReasonCode.CLARIFY_REQUIRED,
          attributes: { missing_field: route.clarify.missingField },
          payload: toBinary(ClarifySchema, route.clarify),
        });
        return { case: "clarify", value: route.clarify };
      case "answer":
        trail.record(Gate.CLARIFY, Decision.PASS);
        return answer(envelope, capability!, u!, deadline, ctx, trail);
      case "simulate":
        trail.record(Gate.CLARIFY, Decision.PASS);
        return simulate(envelope, capability!, u!, deadline, ctx, trail);
    }
  }

  return async (request, ctx) => {
    const envelope = request.envelope!;
    const deadline = ctx.deadline ?? now() + deps.defaultTurnDeadlineMs;
    const trail = startTurnTrail({ ...deps.audit, logger: ctx.logger }, envelope);
    const confirmation = request.input.case === "confirmation";
    trail.record(Gate.VALIDATE, Decision.PASS, { payload: toBinary(SubmitTurnRequestSchema, request) });
    let outcome: Outcome;
    try {
      try {
        tenantOf(deps.clientTenants, ctx.caller, envelope);
      } catch (e) {
        trail.untrusted();
        throw e;
      }
      trail.record(Gate.IDENTITY, Decision.PASS, { attributes: { caller: ctx.caller } });
      outcome =
        request.input.case === "confirmation"
          ? await deps.confirm(envelope, request.input.value, deadline, ctx, trail)
          : await textTurn(envelope, request.input.value ?? "", deadline, ctx, trail);
    } catch (e) {
      const error = e instanceof SeleneError ? e : undefined;
      // A refusal of the request is a decision of the gate; anything else is a fault at it.
      const policy = error !== undefined && REFUSALS.has(error.status);
      trail.record(failedGate(trail, confirmation), policy ? Decision.DENY : Decision.FAIL, {
        reason: error?.reason ?? ReasonCode.INTERNAL,
        attributes: { caller: ctx.caller },
      });
      // The error goes back at once; its record follows on its own time (a fault is often a
      // deadline that has already passed).
      void trail.flush(false, now() + FAILURE_AUDIT_MS);
      throw e;
    }
    // Effectful steps flushed before they acted (simulate, confirm): what is left is best effort,
    // within what is left of the turn.
    await trail.flush(false, Math.max(deadline - FLUSH_RESERVE_MS, now() + 1));
    const reason =
      outcome.case === "refused" ? ReasonCode[(outcome.value as { reason: ReasonCode }).reason] : undefined;
    ctx.logger.info({ outcome: outcome.case, reason, tenant_id: envelope.tenantId }, "turn decided");
    return { turnId: envelope.turnId, correlationId: envelope.correlationId, outcome };
  };
}
