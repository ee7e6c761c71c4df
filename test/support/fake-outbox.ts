/** The outbox in memory: one effect per idempotency key, which the test decides the fate of. */
import { create } from "@bufbuild/protobuf";
import {
  type Effect,
  EffectSchema,
  EffectState,
  type EnqueueRequest,
} from "../../gen/es/selene/outbox/v1/outbox_pb.js";
import type { OutboxClient } from "../../services/router/outbox-client.js";

/** The client, and the effects enqueued through it. */
export interface FakeOutbox extends OutboxClient {
  readonly effects: Map<string, Effect>;
}

/** An outbox whose effects are in `state` when the turn looks at them (DONE: the executor did its work). */
export function fakeOutbox(state: EffectState = EffectState.DONE, lastError = ""): FakeOutbox {
  const effects = new Map<string, Effect>();
  return {
    effects,
    async call(method: string, init: unknown) {
      if (method === "enqueue") {
        const request = init as EnqueueRequest;
        const key = request.envelope!.idempotencyKey;
        if (!effects.has(key)) {
          effects.set(
            key,
            create(EffectSchema, {
              effectId: `effect-${effects.size + 1}`,
              idempotencyKey: key,
              simulationId: request.simulationId,
              payload: request.payload,
              state: EffectState.PENDING,
            }),
          );
        }
        return { effect: effects.get(key) };
      }
      const { effectId } = init as { effectId: string };
      const effect = [...effects.values()].find((e) => e.effectId === effectId);
      return { effect: effect && create(EffectSchema, { ...effect, state, lastError }) };
    },
    close() {},
  } as unknown as FakeOutbox;
}
