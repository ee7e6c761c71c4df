/** The router's simulation store in memory, with the same rules as the PostgreSQL one. */
import type { Simulation, SimulationStore } from "../../services/router/simulation-store.js";

/** The store, and its simulations by id. */
export interface FakeSimulationStore extends SimulationStore {
  readonly stored: Map<string, Simulation>;
}

/** An empty store, or one holding `simulations`. */
export function fakeSimulationStore(...simulations: Simulation[]): FakeSimulationStore {
  const stored = new Map(simulations.map((s) => [s.simulationId, s]));
  const find = async (tenantId: string, simulationId: string) => {
    const found = stored.get(simulationId);
    return found?.tenantId === tenantId ? found : undefined;
  };
  return {
    stored,
    find,
    async save(simulation) {
      if (!stored.has(simulation.simulationId))
        stored.set(simulation.simulationId, { ...simulation, status: "active" });
      return stored.get(simulation.simulationId)!;
    },
    async resolve(tenantId, simulationId, status) {
      const found = await find(tenantId, simulationId);
      if (found?.status === "active") stored.set(simulationId, { ...found, status });
      return find(tenantId, simulationId);
    },
  };
}
