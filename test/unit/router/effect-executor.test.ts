import { create, toBinary } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { expect } from "chai";
import { CommitRequestSchema } from "../../../gen/es/selene/engine/v1/engine_pb.js";
import { ReasonCode } from "../../../gen/es/selene/kernel/v1/reason_pb.js";
import { EffectSchema, EffectState, LeasedEffectSchema } from "../../../gen/es/selene/outbox/v1/outbox_pb.js";
import { startEffectExecutor } from "../../../services/router/effect-executor.js";
import type { EngineRegistry } from "../../../services/router/engine-registry.js";
import type { OutboxClient } from "../../../services/router/outbox-client.js";
import type { ResilientEngines } from "../../../services/router/resilience/resilient-engines.js";
import { createLogger } from "../../../services/runtime/logger.js";
import { SeleneError } from "../../../services/runtime/selene-error.js";
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
  maxIdleMs: 60_000,
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

  it("tells the turn watching a simulation that its engine committed the effect, then that it is acked", async () => {
    const { outbox, leases, nextLease } = scriptedOutbox();
    const first = nextLease();
    const executor = startEffectExecutor(outbox, registry, engines, logger, options);
    const watch = executor.watch("sim-1");
    const other = executor.watch("sim-2");
    await first;
    leases[0]!.resolve({ leases: [anEffect("sim-1")] });
    expect(await watch.next(5000)).to.equal("committed");
    expect(await watch.next(5000)).to.equal("done");
    expect(await other.next(1)).to.equal("timeout");
    watch.close();
    other.close();
    await executor.stop(); // it sleeps its idle time: stopping wakes it
  });

  it("sends an ack the outbox did not get again once the outbox is reachable, well before the lease lapses, and never nacks it", async () => {
    const calls: string[] = [];
    let unreachable = true;
    let readyWaits = 0;
    let leased = false;
    const outbox = {
      async call(method: string) {
        calls.push(method);
        if (method === "lease") {
          if (leased) return { leases: [] };
          leased = true;
          return { leases: [anEffect("sim-1")] };
        }
        if (method === "ack" && unreachable) {
          throw new SeleneError(ReasonCode.DEPENDENCY_UNAVAILABLE, "127.0.0.1:1 is unavailable");
        }
        if (method === "ack")
          return { effect: create(EffectSchema, { effectId: "effect-1", state: EffectState.DONE }) };
        return {};
      },
      // The channel connects again after the second wait.
      async ready() {
        readyWaits += 1;
        if (readyWaits === 2) unreachable = false;
        return !unreachable;
      },
      close() {},
    } as unknown as OutboxClient;
    let commits = 0;
    const counting = {
      call: async () => ({ effectId: "r-1", deduplicated: ++commits > 1 }),
    } as unknown as ResilientEngines;
    const executor = startEffectExecutor(outbox, registry, counting, logger, options);
    const watch = executor.watch("sim-1");
    const started = Date.now();
    expect(await watch.next(5000)).to.equal("committed");
    expect(await watch.next(5000)).to.equal("done");
    expect(Date.now() - started).to.be.below(2000); // the lease is 30 s
    expect(commits).to.equal(1);
    expect(calls.filter((m) => m === "ack")).to.have.length(3);
    expect(calls).to.not.include("nack");
    watch.close();
    await executor.stop();
  });

  it("performs an effect Enqueue handed it leased at once, with no Lease call, and stop() waits for it", async () => {
    const { outbox, leases, nextLease } = scriptedOutbox();
    const first = nextLease();
    const committing = deferred<{ effectId: string; deduplicated: boolean }>();
    const slowEngines = { call: () => committing.promise } as unknown as ResilientEngines;
    const executor = startEffectExecutor(outbox, registry, slowEngines, logger, options);
    await first;
    leases[0]!.resolve({ leases: [] }); // the loop now sleeps its idle minute
    const watch = executor.watch("sim-9");
    executor.adopt(anEffect("sim-9"));
    expect(executor.enqueueLease()?.executorId).to.match(/^test~[0-9a-f]{12}$/);
    const stopped = executor.stop();
    expect(executor.enqueueLease(), "no lease is asked for once stopping").to.equal(undefined);
    expect(await within(stopped, 50)).to.equal("did not happen");
    committing.resolve({ effectId: "r-9", deduplicated: false });
    expect(await watch.next(1000)).to.equal("committed");
    expect(await watch.next(1000)).to.equal("done");
    expect(await within(stopped, 1000)).to.equal("happened");
    expect(leases).to.have.length(1); // the adopted effect needed no lease of its own
    watch.close();
  });

  describe("performs each lease once, however often it arrives", () => {
    /** The effect under one lease: `token`, lapsing `inMs` from now. */
    const underLease = (token: string, inMs: number) =>
      create(LeasedEffectSchema, {
        ...anEffect("sim-7"),
        leaseToken: token,
        leaseExpiresAt: timestampFromMs(Date.now() + inMs),
      });

    /**
     * An outbox that leases nothing (or `leased`, once) and records every ack and nack;
     * `leasedAgain` resolves at the lease after that one (the loop has taken its batch).
     */
    function recordingOutbox(leased?: () => unknown) {
      const reports: Array<{ method: string; leaseToken: string }> = [];
      const leasedAgain = deferred<void>();
      let leasedOnce = false;
      const outbox = {
        async call(method: string, request: { leaseToken?: string }) {
          if (method === "lease") {
            if (leasedOnce) leasedAgain.resolve();
            if (leased === undefined || leasedOnce) return { leases: [] };
            leasedOnce = true;
            return { leases: [leased()] };
          }
          reports.push({ method, leaseToken: request.leaseToken ?? "" });
          return { effect: create(EffectSchema, { effectId: "effect-1", state: EffectState.DONE }) };
        },
        async ready() {
          return true;
        },
        close() {},
      } as unknown as OutboxClient;
      return { outbox, reports, leasedAgain: leasedAgain.promise };
    }

    function gatedEngines() {
      const gate = deferred<void>();
      let commits = 0;
      const engines = {
        call: async () => {
          commits += 1;
          await gate.promise;
          return { effectId: "r-7", deduplicated: false };
        },
      } as unknown as ResilientEngines;
      return { engines, open: () => gate.resolve(), commits: () => commits };
    }

    it("adopts a lease handed to it twice (a replayed Enqueue's, a concurrent confirmation's) once, during and after the attempt", async () => {
      const { outbox, reports } = recordingOutbox();
      const gated = gatedEngines();
      const executor = startEffectExecutor(outbox, registry, gated.engines, logger, options);
      const watch = executor.watch("sim-7");
      const lease = underLease("lease-a", 30_000);
      executor.adopt(lease);
      executor.adopt(create(LeasedEffectSchema, lease)); // the replay's answer: the same lease
      gated.open();
      expect(await watch.next(1000)).to.equal("committed");
      expect(await watch.next(1000)).to.equal("done");
      executor.adopt(create(LeasedEffectSchema, lease)); // a hand-back read before the ack landed
      await executor.stop();
      expect(gated.commits()).to.equal(1);
      expect(reports).to.deep.equal([{ method: "ack", leaseToken: "lease-a" }]);
      watch.close();
    });

    it("lets a newer lease of an effect in progress replace the older one: one attempt, acked with the newer token", async () => {
      // The loop leases the effect again (its first lease lapsed) while the adopted attempt is still out.
      const { outbox, reports, leasedAgain } = recordingOutbox(() => underLease("lease-new", 60_000));
      const gated = gatedEngines();
      const executor = startEffectExecutor(outbox, registry, gated.engines, logger, { ...options, idleMs: 10 });
      const watch = executor.watch("sim-7");
      executor.adopt(underLease("lease-old", 30_000));
      executor.poke();
      await leasedAgain; // the loop has taken (and not performed) the effect it leased
      executor.adopt(underLease("lease-older", 20_000)); // a stale hand-back does not replace it
      gated.open();
      expect(await watch.next(1000)).to.equal("committed");
      expect(await watch.next(1000)).to.equal("done");
      await executor.stop();
      expect(gated.commits()).to.equal(1);
      expect(reports).to.deep.equal([{ method: "ack", leaseToken: "lease-new" }]);
      watch.close();
    });

    it("performs again a lease whose attempt's ack and nack never reached the outbox, when it is handed back", async () => {
      let reachable = false;
      const reports: string[] = [];
      const outbox = {
        async call(method: string, request: { leaseToken?: string }) {
          if (method === "lease") return { leases: [] };
          if (!reachable) throw new SeleneError(ReasonCode.LEASE_NOT_HELD, "refused");
          reports.push(`${method} ${request.leaseToken}`);
          return { effect: create(EffectSchema, { effectId: "effect-1", state: EffectState.DONE }) };
        },
        async ready() {
          return true;
        },
        close() {},
      } as unknown as OutboxClient;
      let commits = 0;
      const counting = {
        call: async () => ({ effectId: "r-7", deduplicated: ++commits > 1 }),
      } as unknown as ResilientEngines;
      const executor = startEffectExecutor(outbox, registry, counting, logger, options);
      const watch = executor.watch("sim-7");
      const lease = underLease("lease-a", 30_000);
      executor.adopt(lease);
      expect(await watch.next(1000)).to.equal("committed");
      expect(await watch.next(1000)).to.equal("attempted"); // neither the ack nor the nack got through
      reachable = true;
      executor.adopt(create(LeasedEffectSchema, lease));
      expect(await watch.next(1000)).to.equal("committed");
      expect(await watch.next(1000)).to.equal("done");
      await executor.stop();
      expect(commits).to.equal(2); // the engine deduplicated the second
      expect(reports).to.deep.equal(["ack lease-a"]);
      watch.close();
    });
  });
});
