/** The outbox in memory: one effect per idempotency key, which the test decides the fate of. */
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { ReasonCode } from "../../gen/es/selene/kernel/v1/reason_pb.js";
import {
  type Effect,
  EffectSchema,
  EffectState,
  type EnqueueRequest,
} from "../../gen/es/selene/outbox/v1/outbox_pb.js";
import type { OutboxClient } from "../../services/router/outbox-client.js";
import { SeleneError } from "../../services/runtime/selene-error.js";

/**
 * What the fake does with EnqueueRequest.lease: "ignore" it (never leases), "grant" it to a new
 * effect as the outbox does, or "refuse" the request as an outbox that does not know the field.
 */
export type FakeLeasing = "ignore" | "grant" | "refuse";

/** The client, the effects enqueued through it, and the Enqueue requests it was sent. */
export interface FakeOutbox extends OutboxClient {
  readonly effects: Map<string, Effect>;
  readonly enqueues: EnqueueRequest[];
}

/** An outbox whose effects are in `state` when the turn looks at them (DONE: the executor did its work). */
export function fakeOutbox(
  state: EffectState = EffectState.DONE,
  lastError = "",
  leasing: FakeLeasing = "ignore",
): FakeOutbox {
  const effects = new Map<string, Effect>();
  const enqueues: EnqueueRequest[] = [];
  return {
    effects,
    enqueues,
    async call(method: string, init: unknown) {
      if (method === "enqueue") {
        const request = init as EnqueueRequest;
        enqueues.push(request);
        if (request.lease !== undefined && leasing === "refuse") {
          throw new SeleneError(ReasonCode.UNKNOWN_FIELD, "unknown field", { fieldPath: "lease" });
        }
        const key = request.envelope!.idempotencyKey;
        if (effects.has(key)) return { effect: effects.get(key), created: false, leaseToken: "" };
        const leased = request.lease !== undefined && leasing === "grant";
        const effect = create(EffectSchema, {
          effectId: `effect-${effects.size + 1}`,
          idempotencyKey: key,
          simulationId: request.simulationId,
          payload: request.payload,
          state: leased ? EffectState.LEASED : EffectState.PENDING,
          attempts: leased ? 1 : 0,
        });
        effects.set(key, effect);
        return leased
          ? { effect, created: true, leaseToken: `lease-of-${effect.effectId}`, leaseExpiresAt: timestampFromMs(0) }
          : { effect, created: true, leaseToken: "" };
      }
      const { effectId } = init as { effectId: string };
      const effect = [...effects.values()].find((e) => e.effectId === effectId);
      return { effect: effect && create(EffectSchema, { ...effect, state, lastError }) };
    },
    close() {},
  } as unknown as FakeOutbox;
}
