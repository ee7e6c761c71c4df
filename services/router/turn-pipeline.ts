/**
 * One turn through the router's gates, in the order of ARCHITECTURE.md:
 * validate (done by the boundary) -> identity (mTLS peer -> tenant) ->
 * understand (nlp engine) -> clarify (one deterministic question) -> answer
 * (read-only capability, with provenance) or simulate (effect dry run) and
 * CONFIRM; a confirmation turn goes to the outbox (confirm-turn.ts). Policy outcomes (not understood, no engine for the intent, the
 * engine has no answer) are REFUSED outcomes with a reason code; faults (an
 * engine down or too slow, a bad response) are gRPC errors with a reason code.
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { CapabilityKind, type Understanding } from "../../gen/es/selene/engine/v1/engine_pb.js";
import type { Envelope } from "../../gen/es/selene/kernel/v1/envelope_pb.js";
import { ReasonCode } from "../../gen/es/selene/kernel/v1/reason_pb.js";
import type { SubmitTurnRequest, SubmitTurnResponseSchema } from "../../gen/es/selene/os/v1/turn_pb.js";
import { SeleneError } from "../runtime/selene-error.js";
import type { CallContext } from "../runtime/unary-service.js";
import { chooseClarify } from "./clarify-rule.js";
import type { ConfirmTurn } from "./confirm-turn.js";
import type { EngineRegistry, RegisteredCapability } from "./engine-registry.js";
import { type SimulationStore, simulationIdOf } from "./simulation-store.js";
import { hopDeadline } from "./turn-deadline.js";

type TurnResponse = MessageInitShape<typeof SubmitTurnResponseSchema>;
type Outcome = NonNullable<TurnResponse["outcome"]>;

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
  readonly now?: () => number;
}

/** Handles one SubmitTurn. */
export type TurnHandler = (request: SubmitTurnRequest, context: CallContext) => Promise<TurnResponse>;

function refused(reason: ReasonCode, message: string): Outcome {
  return { case: "refused", value: { reason, message } };
}

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

/** Creates the turn handler. */
export function createTurnPipeline(deps: TurnPipelineDeps): TurnHandler {
  const now = deps.now ?? Date.now;

  async function understand(envelope: Envelope, text: string, deadline: number, ctx: CallContext) {
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
      if (response.result.case !== "understanding") {
        throw new SeleneError(ReasonCode.ENGINE_INVALID_RESPONSE, "the nlp engine did not return an understanding");
      }
      return response.result.value;
    } catch (e) {
      if (e instanceof SeleneError && e.reason === ReasonCode.INTENT_NOT_UNDERSTOOD) return undefined;
      throw e;
    }
  }

  async function answer(
    envelope: Envelope,
    capability: RegisteredCapability,
    u: Understanding,
    deadline: number,
    ctx: CallContext,
  ): Promise<Outcome> {
    try {
      const response = await deps.registry
        .client(capability.engine)
        .call(
          "invoke",
          { envelope, capability: capability.name, input: { case: "read", value: { args: u.fields } } },
          { deadline: hopDeadline(deadline, now()), correlationId: ctx.correlationId },
        );
      if (response.result.case !== "readResult") {
        throw new SeleneError(ReasonCode.ENGINE_INVALID_RESPONSE, `${capability.engine} did not return a read result`);
      }
      const { text, data, provenance } = response.result.value;
      return { case: "answer", value: { intent: capability.name, text, data, provenance } };
    } catch (e) {
      if (
        e instanceof SeleneError &&
        (e.reason === ReasonCode.ENGINE_REJECTED || e.reason === ReasonCode.FIELD_INVALID)
      ) {
        return refused(e.reason, e.message.replace(/^\[[A-Z_]+\] /, ""));
      }
      throw e;
    }
  }

  async function simulate(
    envelope: Envelope,
    capability: RegisteredCapability,
    u: Understanding,
    deadline: number,
    ctx: CallContext,
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

  async function textTurn(envelope: Envelope, text: string, deadline: number, ctx: CallContext): Promise<Outcome> {
    const u = await understand(envelope, text, deadline, ctx);
    if (u === undefined) return refused(ReasonCode.INTENT_NOT_UNDERSTOOD, "I did not understand that.");
    const capability = deps.registry.lookup(u.intent);
    if (capability === undefined || capability.kind === CapabilityKind.UNDERSTAND) {
      return refused(ReasonCode.CAPABILITY_UNKNOWN, `No engine serves "${u.intent}".`);
    }
    const clarify = chooseClarify(u, capability.requiredFields);
    if (clarify !== undefined) return { case: "clarify", value: clarify };
    return capability.kind === CapabilityKind.EFFECT
      ? simulate(envelope, capability, u, deadline, ctx)
      : answer(envelope, capability, u, deadline, ctx);
  }

  return async (request, ctx) => {
    const envelope = request.envelope!;
    tenantOf(deps.clientTenants, ctx.caller, envelope);
    const deadline = ctx.deadline ?? now() + deps.defaultTurnDeadlineMs;
    const outcome =
      request.input.case === "confirmation"
        ? await deps.confirm(envelope, request.input.value, deadline, ctx)
        : await textTurn(envelope, request.input.value ?? "", deadline, ctx);
    const reason =
      outcome.case === "refused" ? ReasonCode[(outcome.value as { reason: ReasonCode }).reason] : undefined;
    ctx.logger.info({ outcome: outcome.case, reason, tenant_id: envelope.tenantId }, "turn decided");
    return { turnId: envelope.turnId, correlationId: envelope.correlationId, outcome };
  };
}
