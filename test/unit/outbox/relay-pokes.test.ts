import { create } from "@bufbuild/protobuf";
import { expect } from "chai";
import { EffectSchema, LeasedEffectSchema } from "../../../gen/es/selene/outbox/v1/outbox_pb.js";
import type { EffectStore } from "../../../services/outbox/effect-store.js";
import { pokingAfterWrites } from "../../../services/outbox/relay-pokes.js";

/** A store whose every method resolves at once; lease finds `due` effects. */
function fakeStore(due: number): EffectStore {
  const effect = create(EffectSchema, { effectId: "e-1" });
  return {
    enqueue: async () => ({ effect, created: true }),
    lease: async () => Array.from({ length: due }, () => create(LeasedEffectSchema, { effect })),
    ack: async () => effect,
    nack: async () => effect,
    get: async () => effect,
    listDeadLetters: async () => ({ effects: [], nextPageToken: "" }) as never,
    retryDeadLetter: async () => effect,
    discardDeadLetter: async () => effect,
    purgeDone: async () => 0,
  };
}

describe("relay pokes", () => {
  it("pokes the relay after every call that wrote a change, and after no other", async () => {
    let pokes = 0;
    const store = pokingAfterWrites(fakeStore(1), () => pokes++);
    const leasing = pokingAfterWrites(
      {
        ...fakeStore(1),
        enqueue: async () => ({
          effect: create(EffectSchema, { effectId: "e-2" }),
          created: true,
          lease: { token: "t", expiresAt: new Date(0) },
        }),
      } as EffectStore,
      () => pokes++,
    );
    const lease = { executorId: "x", maxEffects: 1, leaseMs: 1000 } as never;
    const byCall: Record<string, number> = {};
    const count = async (name: string, call: () => Promise<unknown>) => {
      const before = pokes;
      await call();
      byCall[name] = pokes - before;
    };
    await count("enqueue", () => store.enqueue({} as never));
    await count("enqueue and lease", () => leasing.enqueue({} as never));
    await count("lease", () => store.lease(lease));
    await count("ack", () => store.ack({} as never));
    await count("nack", () => store.nack({} as never));
    await count("get", () => store.get("t", "e-1"));
    await count("listDeadLetters", () => store.listDeadLetters({} as never));
    await count("retryDeadLetter", () => store.retryDeadLetter("e-1"));
    await count("discardDeadLetter", () => store.discardDeadLetter("e-1", "r"));
    await count("purgeDone", () => store.purgeDone(1));
    expect(byCall).to.deep.equal({
      enqueue: 0,
      "enqueue and lease": 1,
      lease: 1,
      ack: 1,
      nack: 1,
      get: 0,
      listDeadLetters: 0,
      retryDeadLetter: 1,
      discardDeadLetter: 1,
      purgeDone: 0,
    });
  });

  it("does not poke after a lease that found nothing due", async () => {
    let pokes = 0;
    const store = pokingAfterWrites(fakeStore(0), () => pokes++);
    await store.lease({ executorId: "x", maxEffects: 1, leaseMs: 1000 } as never);
    expect(pokes).to.equal(0);
  });
});
