/** A builder of stored simulations: alice's active reminder of the acme tenant, unless overridden. */
import type { Simulation } from "../../../services/router/simulation-store.js";
import { A_DIGEST, FIXED_MS } from "../../support/builders.js";

/** A stored simulation. */
export function aSimulation(overrides: Partial<Simulation> = {}): Simulation {
  return {
    simulationId: "sim-aaaaaaaaaaaaaaaaaaaaaaaa",
    tenantId: "acme",
    userId: "alice",
    capability: "reminders.create",
    fields: { text: "feed the cat", when: "8am" },
    effectDigest: A_DIGEST,
    summary: "Remind you to feed the cat at 8am",
    status: "active",
    expiresAt: new Date(FIXED_MS + 60_000),
    ...overrides,
  };
}
