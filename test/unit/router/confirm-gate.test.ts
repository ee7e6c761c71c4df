import { expect } from "chai";
import { ReasonCode } from "../../../gen/es/selene/kernel/v1/reason_pb.js";
import { createConfirmGate, effectPayload } from "../../../services/router/gates/confirm-gate.js";
import { encodeStatusDetails, wireMessage } from "../../../services/runtime/error-status.js";
import type { SeleneError } from "../../../services/runtime/selene-error.js";
import { FIXED_MS } from "../../support/builders.js";
import { fakeSimulationStore } from "../../support/fake-simulation-store.js";
import { aTurn } from "../../support/turn-builder.js";
import { aSimulation } from "./a-simulation.js";

describe("confirm gate", () => {
  const alices = aSimulation({ userId: "alice" });

  /** The gate over a store holding `simulations`, and a confirmation turn by `userId`. */
  function confirming(
    userId: string,
    accept = true,
    simulationId = alices.simulationId,
    ...simulations: ReturnType<typeof aSimulation>[]
  ) {
    const store = fakeSimulationStore(...(simulations.length > 0 ? simulations : [alices]));
    const fixture = aTurn({ envelope: { userId }, confirmation: { simulationId, accept } });
    const gate = createConfirmGate({ simulations: store, now: () => FIXED_MS });
    return { store, ...fixture, run: () => gate(fixture.turn, fixture.turn.request.input.value as never) };
  }

  async function refusalOf(run: () => Promise<unknown>): Promise<SeleneError> {
    return run().then(
      () => {
        throw new Error("the gate passed");
      },
      (e: SeleneError) => e,
    );
  }

  it("passes the owner's confirmation of an active simulation, with its effect's payload, recorded before anything is queued", async () => {
    const { run, decisions, ledger } = confirming("alice");
    const confirmed = await run();
    expect(confirmed).to.deep.equal({ simulation: alices, payload: effectPayload(alices) });
    expect(ledger.appended, "flushed by the gate").to.have.length(1);
    expect(await decisions()).to.deep.equal(["CONFIRM PASS"]);
  });

  it("refuses another user's simulation exactly as one that does not exist, and records the owner", async () => {
    const missing = await refusalOf(confirming("mallory", true, "sim-000000000000000000000000").run);
    for (const accept of [true, false]) {
      const { run, decisions, ledger, store } = confirming("mallory", accept);
      const stolen = await refusalOf(run);
      expect(stolen.reason).to.equal(ReasonCode.SIMULATION_NOT_FOUND);
      expect(wireMessage(stolen)).to.equal(wireMessage(missing));
      expect(Buffer.from(encodeStatusDetails(stolen))).to.deep.equal(Buffer.from(encodeStatusDetails(missing)));
      expect(await decisions()).to.deep.equal(["CONFIRM DENY ACCESS_DENIED"]);
      expect(ledger.appended[0]!.event!.attributes).to.deep.equal({
        simulation_id: alices.simulationId,
        user_id: "mallory",
        owner_user_id: "alice",
      });
      expect(store.stored.get(alices.simulationId)?.status, "left as it was").to.equal("active");
    }
  });

  it("refuses a simulation that does not exist with SIMULATION_NOT_FOUND on confirmation.simulation_id", async () => {
    const { run, decisions } = confirming("alice", true, "sim-000000000000000000000000");
    const error = await refusalOf(run);
    expect(error).to.include({ reason: ReasonCode.SIMULATION_NOT_FOUND, fieldPath: "confirmation.simulation_id" });
    expect(await decisions()).to.deep.equal(["CONFIRM DENY SIMULATION_NOT_FOUND"]);
  });

  it("declines on the owner's word, and refuses what is declined, expired or past its time", async () => {
    const declining = confirming("alice", false);
    expect(await declining.run()).to.deep.equal({
      refused: {
        case: "refused",
        value: { reason: ReasonCode.SIMULATION_ALREADY_RESOLVED, message: "Declined: nothing was done." },
      },
    });
    expect(declining.store.stored.get(alices.simulationId)?.status).to.equal("declined");
    const cases = [
      [aSimulation({ status: "declined" }), ReasonCode.SIMULATION_ALREADY_RESOLVED],
      [aSimulation({ status: "expired" }), ReasonCode.SIMULATION_ALREADY_RESOLVED],
      [aSimulation({ expiresAt: new Date(FIXED_MS) }), ReasonCode.SIMULATION_EXPIRED],
    ] as const;
    for (const [simulation, reason] of cases) {
      const { run, decisions } = confirming("alice", true, simulation.simulationId, simulation);
      const outcome = await run();
      expect("refused" in outcome && outcome.refused.value).to.deep.include({ reason });
      expect(await decisions()).to.deep.equal([`CONFIRM DENY ${ReasonCode[reason]}`]);
    }
  });
});
