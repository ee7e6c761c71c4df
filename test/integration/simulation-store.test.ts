import { expect } from "chai";
import pg from "pg";
import { ROLES } from "../../deploy/grants-matrix.js";
import { createSimulationStore, type SimulationStore } from "../../services/router/simulation-store.js";
import { NOT_DIGESTS } from "../support/builders.js";
import { createMigratedTestDatabase, type MigratedTestDatabase } from "../support/test-database.js";
import { aSimulation } from "../unit/router/a-simulation.js";

describe("simulation store (PostgreSQL)", () => {
  let database: MigratedTestDatabase;
  let pool: pg.Pool;
  let store: SimulationStore;

  before(async () => {
    database = await createMigratedTestDatabase(["router"]);
    pool = new pg.Pool({ connectionString: database.roleUrl(ROLES.router), max: 4 });
    store = createSimulationStore(pool);
  });
  after(async () => {
    await pool?.end();
    await database?.drop();
  });

  it("stores a simulation and answers it as stored; a retry with the same id gets the first one", async () => {
    const { status: _, ...first } = aSimulation({
      simulationId: "sim-save-1",
      expiresAt: new Date(Date.now() + 60_000),
    });
    const saved = await store.save(first, "corr-1");
    expect(saved).to.deep.include({ simulationId: "sim-save-1", tenantId: "acme", status: "active" });
    expect(saved.fields).to.deep.equal(first.fields);
    expect(saved.summary).to.equal(first.summary);
    const again = await store.save({ ...first, summary: "something else" }, "corr-2");
    expect(again.summary).to.equal(first.summary);
    expect(await store.find("acme", "sim-save-1")).to.deep.equal(saved);
  });

  it("does not answer another tenant's simulation under the same id", async () => {
    const { status: _, ...first } = aSimulation({
      simulationId: "sim-save-2",
      expiresAt: new Date(Date.now() + 60_000),
    });
    await store.save(first, "corr-1");
    const error = await store.save({ ...first, tenantId: "globex" }, "corr-2").then(
      () => undefined,
      (e: Error) => e,
    );
    expect(error?.message).to.match(/vanished/);
    expect(await store.find("globex", "sim-save-2")).to.equal(undefined);
  });

  it("moves an active simulation once, and answers what is stored afterwards", async () => {
    const { status: _, ...first } = aSimulation({
      simulationId: "sim-resolve-1",
      expiresAt: new Date(Date.now() + 60_000),
    });
    await store.save(first, "corr-1");
    expect((await store.resolve("acme", "sim-resolve-1", "confirmed"))?.status).to.equal("confirmed");
    expect((await store.resolve("acme", "sim-resolve-1", "declined"))?.status).to.equal("confirmed");
    expect(await store.resolve("acme", "sim-unknown", "declined")).to.equal(undefined);
  });

  it("stores an effect digest only as sha256: and 64 lower-case hex digits (the database's check)", async () => {
    const { status: _, ...simulation } = aSimulation({
      simulationId: "sim-digest",
      expiresAt: new Date(Date.now() + 60_000),
    });
    for (const effectDigest of NOT_DIGESTS) {
      const error = await store.save({ ...simulation, effectDigest }, "corr-1").catch((e: unknown) => e);
      expect((error as { code?: string }).code, effectDigest).to.equal("23514"); // check_violation
    }
    expect((await store.save(simulation, "corr-1")).status).to.equal("active");
  });
});
