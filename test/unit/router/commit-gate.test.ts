import { expect } from "chai";
import { ReasonCode } from "../../../gen/es/selene/kernel/v1/reason_pb.js";
import { EffectState } from "../../../gen/es/selene/outbox/v1/outbox_pb.js";
import { createCommitGate } from "../../../services/router/gates/commit-gate.js";
import { effectKeyOf, effectPayload } from "../../../services/router/gates/confirm-gate.js";
import { HOP_RESERVE_MS } from "../../../services/router/turn-deadline.js";
import type { SeleneError } from "../../../services/runtime/selene-error.js";
import { FIXED_MS } from "../../support/builders.js";
import { FAKE_EXECUTOR_ID, fakeExecutor } from "../../support/fake-executor.js";
import { type FakeLeasing, fakeOutbox } from "../../support/fake-outbox.js";
import { fakeSimulationStore } from "../../support/fake-simulation-store.js";
import { aTurn, DEFAULT_DEADLINE_MS } from "../../support/turn-builder.js";
import { aSimulation } from "./a-simulation.js";

describe("commit gate", () => {
  const simulation = aSimulation();
  const confirmed = { simulation, payload: effectPayload(simulation) };

  function committing(
    state: EffectState,
    lastError = "",
    now = () => FIXED_MS,
    executor = fakeExecutor(),
    leasing: FakeLeasing = "ignore",
  ) {
    const outbox = fakeOutbox(state, lastError, leasing);
    const simulations = fakeSimulationStore(simulation);
    const gate = createCommitGate({ simulations, outbox, crash: () => {}, executor, now });
    const fixture = aTurn({ confirmation: { simulationId: simulation.simulationId }, now });
    return { outbox, simulations, pokes: executor.pokes, ...fixture, run: () => gate(fixture.turn, confirmed) };
  }

  /** An executor that reports an effect done as soon as it is handed one leased. */
  const performingAdopted = () =>
    fakeExecutor(
      () => {},
      (e, leased) => setImmediate(() => e.settle(leased.effect!.simulationId, "done")),
    );

  it("queues one effect keyed by the simulation and answers EXECUTED once it is done", async () => {
    const { run, decisions, outbox, simulations, pokes } = committing(EffectState.DONE);
    const outcome = await run();
    expect(outcome).to.deep.equal({
      case: "executed",
      value: { effectId: "effect-1", simulationId: simulation.simulationId, summary: simulation.summary },
    });
    expect([...outbox.effects.keys()]).to.deep.equal([effectKeyOf(simulation.simulationId)]);
    expect(simulations.stored.get(simulation.simulationId)?.status).to.equal("confirmed");
    expect(pokes).to.have.length(1);
    expect(await decisions()).to.deep.equal(["COMMIT PASS"]);
  });

  it("answers EXECUTED as soon as the local executor reports the effect done, without looking at it", async () => {
    // The outbox would still say PENDING: only the executor's report can end the wait.
    const executor = fakeExecutor((e) => setImmediate(() => e.settle(simulation.simulationId, "done")));
    const { run, outbox } = committing(EffectState.PENDING, "", () => FIXED_MS, executor);
    const looked: string[] = [];
    const call = outbox.call.bind(outbox);
    (outbox as { call: typeof call }).call = ((method: string, init: unknown, options: unknown) => {
      looked.push(method);
      return call(method as "enqueue", init as never, options as never);
    }) as typeof call;
    expect(await run()).to.deep.include({ case: "executed" });
    expect(looked).to.deep.equal(["enqueue"]);
  });

  it("asks for the new effect leased to the local executor and hands it over, with no wake-up of the loop", async () => {
    const executor = performingAdopted();
    const { run, outbox, pokes } = committing(EffectState.PENDING, "", () => FIXED_MS, executor, "grant");
    expect(await run()).to.deep.include({ case: "executed" });
    expect(outbox.enqueues.map((r) => r.lease?.executorId)).to.deep.equal([FAKE_EXECUTOR_ID]);
    expect(executor.adopted.map((l) => [l.effect?.effectId, l.leaseToken])).to.deep.equal([
      ["effect-1", "lease-of-effect-1"],
    ]);
    expect(pokes).to.have.length(0);
  });

  it("does not poll the outbox while its own executor holds the effect, however long the engine takes", async () => {
    const executor = fakeExecutor(
      () => {},
      (e, leased) => setTimeout(() => e.settle(leased.effect!.simulationId, "done"), 130),
    );
    const { run, outbox } = committing(EffectState.LEASED, "", Date.now, executor, "grant");
    const looked: string[] = [];
    const call = outbox.call.bind(outbox);
    (outbox as { call: typeof call }).call = ((method: string, init: unknown, options: unknown) => {
      looked.push(method);
      return call(method as "enqueue", init as never, options as never);
    }) as typeof call;
    expect(await run()).to.deep.include({ case: "executed" });
    expect(looked).to.deep.equal(["enqueue"]);
  });

  it("wakes the executor's loop for an effect an earlier attempt queued (Enqueue leases only a new one)", async () => {
    const executor = performingAdopted();
    const { run, outbox, pokes } = committing(EffectState.DONE, "", () => FIXED_MS, executor, "grant");
    await run();
    expect(await run()).to.deep.include({ case: "executed" });
    expect(outbox.enqueues).to.have.length(2);
    expect(executor.adopted).to.have.length(1);
    expect(pokes).to.have.length(1);
  });

  it("queues without a lease, from then on, through an outbox that refuses the lease field as unknown", async () => {
    const { run, outbox, pokes } = committing(EffectState.DONE, "", () => FIXED_MS, fakeExecutor(), "refuse");
    expect(await run()).to.deep.include({ case: "executed" });
    expect(await run()).to.deep.include({ case: "executed" });
    expect(outbox.enqueues.map((r) => r.lease !== undefined)).to.deep.equal([true, false, false]);
    expect(pokes).to.have.length(2);
  });

  it("answers EXECUTED on the engine's commit, and leaves the ack for the answer to wait for", async () => {
    const executor = fakeExecutor(
      () => {},
      (e, leased) => setImmediate(() => e.settle(leased.effect!.simulationId, "committed")),
    );
    const { run, turn, decisions } = committing(EffectState.LEASED, "", () => FIXED_MS, executor, "grant");
    expect(await run()).to.deep.include({ case: "executed" });
    expect(await decisions()).to.deep.equal(["COMMIT PASS"]);
    expect(turn.answerAfter).to.have.length(1);
    const acked = Promise.race([
      turn.answerAfter[0]!.then(() => "acked"),
      new Promise((resolve) => setTimeout(() => resolve("waiting"), 20)),
    ]);
    expect(await acked).to.equal("waiting");
    executor.settle(simulation.simulationId, "done");
    await turn.answerAfter[0];
  });

  it("fails the answer's wait when the effect the engine committed is not done in the outbox", async () => {
    const executor = fakeExecutor(
      () => {},
      (e, leased) => setImmediate(() => e.settle(leased.effect!.simulationId, "committed")),
    );
    const { run, turn } = committing(EffectState.DEAD_LETTER, "lost", () => FIXED_MS, executor, "grant");
    expect(await run()).to.deep.include({ case: "executed" });
    executor.settle(simulation.simulationId, "attempted");
    const error = await turn.answerAfter[0]!.then(
      () => undefined,
      (e: SeleneError) => e,
    );
    expect(error?.reason).to.equal(ReasonCode.INTERNAL);
  });

  it("looks at the effect again after the executor reports a failed attempt", async () => {
    const executor = fakeExecutor((e) => setImmediate(() => e.settle(simulation.simulationId, "attempted")));
    const { run, decisions } = committing(EffectState.DEAD_LETTER, "engine said no", () => FIXED_MS, executor);
    expect(await run()).to.deep.include({ case: "refused" });
    expect(await decisions()).to.deep.equal(["COMMIT DENY EFFECT_DEAD_LETTERED"]);
  });

  it("looks at an effect someone else holds less and less often: from every 50 ms to every 400 ms", async () => {
    // The turn is built at FIXED_MS; then 1.2 s of its budget are left, in real time: it looks at
    // 50, 150, 350, 750 and 1150 ms.
    let skew = 0;
    const started = Date.now();
    const now = () => FIXED_MS + skew + (Date.now() - started);
    const { run, outbox } = committing(EffectState.LEASED, "", now);
    skew = DEFAULT_DEADLINE_MS - HOP_RESERVE_MS - 1200;
    let looks = 0;
    const call = outbox.call.bind(outbox);
    outbox.call = ((method: string, init: unknown, options: unknown) => {
      if (method === "getEffect") looks += 1;
      return (call as (m: string, i: unknown, o: unknown) => Promise<unknown>)(method, init, options);
    }) as typeof outbox.call;
    const error = await run().then(
      () => undefined,
      (e: SeleneError) => e,
    );
    expect(error).to.include({ reason: ReasonCode.DEADLINE_EXCEEDED, retryable: true });
    expect(looks).to.be.within(4, 6); // every 50 ms would be about 24
  });

  it("refuses with EFFECT_DEAD_LETTERED when the effect could not be performed", async () => {
    const { run, decisions } = committing(EffectState.DEAD_LETTER, "reminder not found");
    expect(await run()).to.deep.equal({
      case: "refused",
      value: {
        reason: ReasonCode.EFFECT_DEAD_LETTERED,
        message: "The effect could not be performed: reminder not found",
      },
    });
    expect(await decisions()).to.deep.equal(["COMMIT DENY EFFECT_DEAD_LETTERED"]);
  });

  it("answers DEADLINE_EXCEEDED, retryable with the same key, when the effect is not done in time", async () => {
    let now = FIXED_MS;
    const { run, decisions } = committing(EffectState.PENDING, "", () => (now += 1000));
    const error = await run().then(
      () => undefined,
      (e: SeleneError) => e,
    );
    expect(error).to.include({ reason: ReasonCode.DEADLINE_EXCEEDED, retryable: true });
    expect(error?.metadata).to.deep.equal({ effect_id: "effect-1" });
    expect(await decisions()).to.deep.equal([]);
  });
});
