/**
 * The OutboxService handlers over the effect store. Two callers are admitted, each to its own
 * methods: the router (its executor and its confirmations) to Enqueue (which may lease the new
 * effect to the router's executor at once, and hands a replay from that executor its live lease
 * back), Lease, Ack, Nack and GetEffect; the operator to the
 * dead-letter methods. The shared allow-list admits both; each handler then checks that the caller
 * is the one its method is for.
 */
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { UntypedServiceImplementation } from "@grpc/grpc-js";
import { ReasonCode } from "../../gen/es/selene/kernel/v1/reason_pb.js";
import { OutboxService } from "../../gen/es/selene/outbox/v1/outbox_pb.js";
import { implementService } from "../runtime/boundary/grpc-adapter.js";
import type { BoundaryValidator } from "../runtime/boundary-validator.js";
import type { Logger } from "../runtime/logger.js";
import { SeleneError } from "../runtime/selene-error.js";
import { allowOnly, type BoundaryRefusal, type CallContext, type ServiceHandlers } from "../runtime/unary-service.js";
import { spiffeIdOf } from "../runtime/workload-identities.js";
import type { EffectStore } from "./effect-store.js";

/** The handlers of OutboxService. */
export type OutboxHandlers = ServiceHandlers<(typeof OutboxService)["method"]>;

/** Settings of the served implementation. */
export interface OutboxServiceOptions {
  readonly validator: BoundaryValidator;
  readonly logger: Logger;
  /** Told of every call refused at the boundary, to record it in the audit ledger. */
  readonly onRefused?: (refusal: BoundaryRefusal) => void;
}

/** Refuses a caller that the shared allow-list admitted but this method is not for. */
function requireCaller(context: CallContext, allowed: string): void {
  if (context.caller === allowed) return;
  throw new SeleneError(ReasonCode.CALLER_NOT_ALLOWED, `caller ${context.caller} is not allowed to call this method`);
}

/** A lease duration in ms; the boundary validator has already bounded it to 1 s .. 1 h. */
function durationMs(duration: { seconds: bigint; nanos: number } | undefined): number {
  return duration === undefined ? 0 : Number(duration.seconds) * 1000 + Math.floor(duration.nanos / 1e6);
}

/** Creates the handlers over `store`. */
export function createOutboxHandlers(store: EffectStore): OutboxHandlers {
  const router = spiffeIdOf("router");
  const operator = spiffeIdOf("operator");
  return {
    async enqueue(request, context) {
      requireCaller(context, router);
      const envelope = request.envelope!;
      // The lease travels back only in an answer the caller receives as built: one shaped to an
      // older release (another build, or a request declaring an older version) drops the lease
      // token, and a lease the caller cannot use would hold the effect until it lapsed. Such a
      // caller gets the effect PENDING, for any executor's Lease.
      const lease = context.answeredAsBuilt ? request.lease : undefined;
      const {
        effect,
        created,
        lease: held,
      } = await store.enqueue({
        tenantId: envelope.tenantId,
        idempotencyKey: envelope.idempotencyKey,
        effectType: request.effectType,
        simulationId: request.simulationId,
        payload: request.payload,
        payloadDigest: request.payloadDigest,
        correlationId: envelope.correlationId,
        ...(lease === undefined
          ? {}
          : { lease: { executorId: lease.executorId, leaseMs: durationMs(lease.leaseDuration) } }),
      });
      return held === undefined
        ? { effect, created }
        : { effect, created, leaseToken: held.token, leaseExpiresAt: timestampFromDate(held.expiresAt) };
    },
    async lease(request, context) {
      requireCaller(context, router);
      const leases = await store.lease({
        executorId: request.executorId,
        maxEffects: request.maxEffects,
        leaseMs: durationMs(request.leaseDuration),
      });
      return { leases };
    },
    async ack(request, context) {
      requireCaller(context, router);
      const { effectId, leaseToken, resultId } = request;
      return { effect: await store.ack({ effectId, leaseToken, resultId }) };
    },
    async nack(request, context) {
      requireCaller(context, router);
      const { effectId, leaseToken, error, reason, retryable } = request;
      return { effect: await store.nack({ effectId, leaseToken, error, reason, retryable }) };
    },
    async getEffect(request, context) {
      requireCaller(context, router);
      return { effect: await store.get(request.envelope!.tenantId, request.effectId) };
    },
    async listDeadLetters(request, context) {
      requireCaller(context, operator);
      const page = await store.listDeadLetters({
        tenantId: request.tenantId,
        pageSize: request.pageSize,
        pageToken: request.pageToken,
      });
      return { effects: page.effects, nextPageToken: page.nextPageToken };
    },
    async retryDeadLetter(request, context) {
      requireCaller(context, operator);
      return { effect: await store.retryDeadLetter(request.effectId) };
    },
    async discardDeadLetter(request, context) {
      requireCaller(context, operator);
      return { effect: await store.discardDeadLetter(request.effectId, request.reason) };
    },
  };
}

/** The grpc-js implementation of OutboxService: the router and the operator admitted, per method as above. */
export function outboxServiceImplementation(
  store: EffectStore,
  options: OutboxServiceOptions,
): UntypedServiceImplementation {
  return implementService(OutboxService, createOutboxHandlers(store), {
    validator: options.validator,
    logger: options.logger,
    authorize: allowOnly([spiffeIdOf("router"), spiffeIdOf("operator")]),
    self: spiffeIdOf("outbox"),
    ...(options.onRefused === undefined ? {} : { onRefused: options.onRefused }),
  });
}
