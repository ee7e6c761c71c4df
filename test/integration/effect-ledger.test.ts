import { expect } from "chai";
import pg from "pg";
import { pino } from "pino";
import { readEffectLedger } from "../../chaos/effect-ledger.js";
import { MIGRATED_SERVICES } from "../../deploy/mesh-processes.js";
import { migrateAll } from "../../deploy/migrate.js";
import { createTestDatabase, type TestDatabase } from "../support/test-database.js";

const DIGEST = `sha256:${"0".repeat(64)}`;

describe("effect ledger: duplicates and lost effects counted in PostgreSQL", () => {
  let db: TestDatabase;
  let pool: pg.Pool;

  async function reminder(id: string, text: string, tenant = "demo"): Promise<void> {
    await pool.query(
      "insert into reminders.reminders (id, tenant_id, user_id, text, due) values ($1, $2, 'u1', $3, 'tomorrow 17:00')",
      [id, tenant, text],
    );
  }

  async function effect(id: string, state: "done" | "pending", resultId: string | null, simulation = `sim-${id}`) {
    const done = state === "done";
    await pool.query(
      `insert into outbox.effects (effect_id, tenant_id, idempotency_key, effect_type, simulation_id, payload,
         payload_digest, state, attempts, max_attempts, next_attempt_at, result_id, created_at, updated_at, done_at)
       values ($1, 'demo', $2, 'reminders.create', $3, '\\x00', $4, $5, 1, 5, now(), $6, now(), now(), $7)`,
      [id, `effect:${id}`, simulation, DIGEST, state, resultId, done ? new Date() : null],
    );
  }

  beforeEach(async () => {
    db = await createTestDatabase();
    await migrateAll(db.url, MIGRATED_SERVICES, pino({ level: "silent" }));
    pool = new pg.Pool({ connectionString: db.url, max: 2 });
  });
  afterEach(async () => {
    await pool.end();
    await db.drop();
  });

  it("finds every acknowledged effect done with its reminder: nothing lost, nothing twice", async () => {
    await reminder("r-000000000001", "water plant a");
    await reminder("r-000000000002", "water plant b");
    await effect("e1", "done", "r-000000000001");
    await effect("e2", "done", "r-000000000002");
    const ledger = await readEffectLedger(db.url, [{ tenant: "demo", effectId: "e1", simulationId: "sim-e1" }], 1000);
    expect(ledger).to.deep.equal({
      acknowledged: 1,
      performed: 2,
      lost: [],
      duplicates: 0,
      undrained: 0,
      performedUnacknowledged: 1,
    });
  });

  it("counts an acknowledged effect that is missing, not done, or without its reminder as lost", async () => {
    await effect("e1", "done", "r-00000000000f"); // its reminder is gone
    const acked = ["e1", "e2"].map((effectId) => ({ tenant: "demo", effectId, simulationId: `sim-${effectId}` }));
    const ledger = await readEffectLedger(db.url, acked, 1000);
    expect(ledger.lost).to.deep.equal(["e1", "e2"]);
  });

  it("counts two reminders with one text, and two effects of one simulation, as duplicates", async () => {
    await reminder("r-000000000001", "water plant a");
    await reminder("r-000000000002", "water plant a");
    await reminder("r-000000000003", "water plant a", "acme"); // another tenant: not a duplicate
    await effect("e1", "done", "r-000000000001", "sim-1");
    await effect("e2", "done", "r-000000000002", "sim-1");
    const ledger = await readEffectLedger(db.url, [], 1000);
    expect(ledger.duplicates).to.equal(2);
  });

  it("reports effects still pending when the drain wait ends", async () => {
    await effect("e1", "pending", null);
    const ledger = await readEffectLedger(db.url, [], 300);
    expect(ledger.undrained).to.equal(1);
  });
});
