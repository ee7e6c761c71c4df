import { create, toBinary } from "@bufbuild/protobuf";
import { expect } from "chai";
import { CommitRequestSchema } from "../../../gen/es/selene/engine/v1/engine_pb.js";
import { EffectSchema, EffectState, LeasedEffectSchema } from "../../../gen/es/selene/outbox/v1/outbox_pb.js";
import { startEffectExecutor } from "../../../services/router/effect-executor.js";
import type { EngineRegistry } from "../../../services/router/engine-registry.js";
import type { OutboxClient } from "../../../services/router/outbox-client.js";
import type { ResilientEngines } from "../../../services/router/resilience/resilient-engines.js";
import { createLogger } from "../../../services/runtime/logger.js";
import { deferred } from "../../support/deferred.js";

const anEffect = (simulationId: string) =>
  create(LeasedEffectSchema, {
    leaseToken: "lease-1",
    effect: create(EffectSchema, {
      effectId: "effect-1",
      tenantId: "acme",
      simulationId,
      payload: toBinary(CommitRequestSchema, create(CommitRequestSchema, { capability: "reminders.create" })),
      state: EffectState.LEASED,
    }),
  });

/** An outbox whose lease calls the test answers one by one; acks say DONE. */
function scriptedOutbox() {
  const leases: Array<ReturnType<typeof deferred<unknown>>> = [];
  let leaseCalled = deferred<void>();
  const outbox = {
    async call(method: string) {
      if (method === "lease") {
        const answer = deferred<unknown>();
        leases.push(answer);
        leaseCalled.resolve();
        return answer.promise;
      }
      if (method === "ack") return { effect: create(EffectSchema, { effectId: "effect-1", state: EffectState.DONE }) };
      return {};
    },
    close() {},
  } as unknown as OutboxClient;
  return {
    outbox,
    leases,
    /** Resolves at the next lease call. */
    nextLease() {
      leaseCalled = deferred<void>();
      return leaseCalled.promise;
    },
  };
}

const registry = { lookup: () => ({ engine: "reminders" }) } as unknown as EngineRegistry;
const engines = { call: async () => ({ effectId: "r-1", deduplicated: false }) } as unknown as ResilientEngines;

const options = {
  executorId: "test",
  batchSize: 8,
  leaseMs: 30_000,
  idleMs: 60_000, // a lost poke would sleep a minute
  commitTimeoutMs: 1000,
  crash: () => {},
};
const within = <T>(promise: Promise<T>, ms: number) =>
  Promise.race([promise.then(() => "happened"), new Promise((r) => setTimeout(() => r("did not happen"), ms))]);

describe("effect executor", () => {
  const logger = createLogger("router", "silent");

  it("leases again at once when it was poked while a lease was out (the poke is not lost)", async () => {
    const { outbox, leases, nextLease } = scriptedOutbox();
    const first = nextLease();
    const executor = startEffectExecutor(outbox, registry, engines, logger, options);
    await first;
    executor.poke(); // an effect was queued after that lease was taken
    const second = nextLease();
    leases[0]!.resolve({ leases: [] });
    expect(await within(second, 1000)).to.equal("happened");
    leases[1]!.resolve({ leases: [] });
    await executor.stop();
  });

  it("tells the turn watching a simulation that its effect is done, once it is acked", async () => {
    const { outbox, leases, nextLease } = scriptedOutbox();
    const first = nextLease();
    const executor = startEffectExecutor(outbox, registry, engines, logger, options);
    const watch = executor.watch("sim-1");
    const other = executor.watch("sim-2");
    await first;
    leases[0]!.resolve({ leases: [anEffect("sim-1")] });
    expect(await watch.next(5000)).to.equal("done");
    expect(await other.next(1)).to.equal("timeout");
    watch.close();
    other.close();
    await executor.stop(); // it sleeps its idle time: stopping wakes it
  });
});
