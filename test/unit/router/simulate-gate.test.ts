import { expect } from "chai";
import { ReasonCode } from "../../../gen/es/selene/kernel/v1/reason_pb.js";
import { createSimulateGate } from "../../../services/router/gates/simulate-gate.js";
import type { Understood } from "../../../services/router/gates/understand-gate.js";
import { simulationIdOf } from "../../../services/router/simulation-store.js";
import type { SeleneError } from "../../../services/runtime/selene-error.js";
import { A_DIGEST, anUnderstandingResponse, aSimulateResponse, FIXED_MS } from "../../support/builders.js";
import { FAKE_CAPABILITIES, fakeEngineRegistry } from "../../support/fake-engine-registry.js";
import { fakeSimulationStore } from "../../support/fake-simulation-store.js";
import { resilientEnginesOver } from "../../support/test-resilience.js";
import { aRecordingLedger, aTurn } from "../../support/turn-builder.js";

function aReminder(): Understood {
  const response = anUnderstandingResponse();
  if (response.result.case !== "understanding") throw new Error("not an understanding");
  return { understanding: response.result.value, capability: FAKE_CAPABILITIES[2]! };
}

describe("simulate gate", () => {
  const registry = fakeEngineRegistry({ reminders: { simulate: () => aSimulateResponse() } });
  const deps = (simulations = fakeSimulationStore()) => ({
    registry,
    engines: resilientEnginesOver(registry).engines,
    simulations,
    simulationTtlMs: 60_000,
    now: () => FIXED_MS,
  });

  it("stores the simulation for the user who asked, records it, and offers it for confirmation", async () => {
    const simulations = fakeSimulationStore();
    const { turn, decisions, ledger } = aTurn({ envelope: { userId: "alice", idempotencyKey: "k-7" } });
    const outcome = await createSimulateGate(deps(simulations))(turn, aReminder());
    const simulationId = simulationIdOf("acme", "k-7");
    expect(outcome.case).to.equal("confirm");
    expect(outcome.value).to.deep.include({ simulationId, effectDigest: A_DIGEST });
    expect(simulations.stored.get(simulationId)).to.deep.include({
      userId: "alice",
      status: "active",
      expiresAt: new Date(FIXED_MS + 60_000),
    });
    // Appended before the offer went out: the flush was the gate's, not the test's.
    expect(ledger.appended).to.have.length(1);
    expect(await decisions()).to.deep.equal(["SIMULATE ASK SIMULATION_REQUIRED"]);
    expect(ledger.appended[0]!.event!.attributes).to.deep.include({ simulation_id: simulationId });
  });

  it("offers nothing when the ledger cannot record the simulation (AUDIT_UNAVAILABLE)", async () => {
    const { turn } = aTurn({ ledger: aRecordingLedger({ failing: true }) });
    const reason = await createSimulateGate(deps())(turn, aReminder()).then(
      () => undefined,
      (e: SeleneError) => e.reason,
    );
    expect(reason).to.equal(ReasonCode.AUDIT_UNAVAILABLE);
  });
});
