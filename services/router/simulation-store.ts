/**
 * The router's simulations (schema `router`, table simulations): a simulated
 * effect waiting for the user's confirmation. The id is derived from the tenant
 * and the turn's idempotency key, so a replayed turn finds its first simulation.
 */
import type pg from "pg";
import { sha256Digest } from "../runtime/content-digest.js";
import { inStepSpan } from "../runtime/step-span.js";

/** A stored simulation. */
export interface Simulation {
  readonly simulationId: string;
  readonly tenantId: string;
  readonly userId: string;
  readonly capability: string;
  readonly fields: Readonly<Record<string, string>>;
  readonly effectDigest: string;
  readonly summary: string;
  readonly status: "active" | "confirmed" | "declined" | "expired";
  readonly expiresAt: Date;
}

/** The store. */
export interface SimulationStore {
  /** Stores a simulation, or returns the one already stored under the same id. */
  save(simulation: Omit<Simulation, "status">, correlationId: string): Promise<Simulation>;
  /** The tenant's simulation, or undefined. */
  find(tenantId: string, simulationId: string): Promise<Simulation | undefined>;
  /** Moves an active simulation to `status`; returns the simulation as it is afterwards. */
  resolve(tenantId: string, simulationId: string, status: "confirmed" | "declined"): Promise<Simulation | undefined>;
}

/** The deterministic simulation id of a turn. */
export function simulationIdOf(tenantId: string, idempotencyKey: string): string {
  return `sim-${sha256Digest(`${tenantId}\n${idempotencyKey}`).slice("sha256:".length, "sha256:".length + 24)}`;
}

interface Row {
  simulation_id: string;
  tenant_id: string;
  user_id: string;
  capability: string;
  fields: Record<string, string>;
  effect_digest: string;
  preview: { summary: string };
  status: Simulation["status"];
  expires_at: Date;
}

function fromRow(row: Row): Simulation {
  return {
    simulationId: row.simulation_id,
    tenantId: row.tenant_id,
    userId: row.user_id,
    capability: row.capability,
    fields: row.fields,
    effectDigest: row.effect_digest,
    summary: row.preview.summary,
    status: row.status,
    expiresAt: row.expires_at,
  };
}

const COLUMNS = "simulation_id, tenant_id, user_id, capability, fields, effect_digest, preview, status, expires_at";

/** Creates the store over a pool. */
export function createSimulationStore(pool: pg.Pool): SimulationStore {
  const store: SimulationStore = {
    async save(s, correlationId) {
      // One round trip: the inserted row, or the one stored before under this id (a retry).
      const result = await pool.query<Row>(
        `WITH inserted AS (
           INSERT INTO router.simulations (simulation_id, tenant_id, user_id, capability, fields, effect_digest,
             preview, status, created_at, expires_at, turn_correlation_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, 'active', now(), $8, $9)
           ON CONFLICT (simulation_id) DO NOTHING
           RETURNING ${COLUMNS})
         SELECT ${COLUMNS} FROM inserted
         UNION ALL
         SELECT ${COLUMNS} FROM router.simulations
          WHERE tenant_id = $2 AND simulation_id = $1 AND NOT EXISTS (SELECT 1 FROM inserted)`,
        [
          s.simulationId,
          s.tenantId,
          s.userId,
          s.capability,
          JSON.stringify(s.fields),
          s.effectDigest,
          JSON.stringify({ summary: s.summary }),
          s.expiresAt,
          correlationId,
        ],
      );
      const stored = result.rows[0];
      if (stored === undefined) throw new Error(`simulation ${s.simulationId} vanished after insert`);
      return fromRow(stored);
    },
    async resolve(tenantId, simulationId, status) {
      const result = await pool.query<Row>(
        `UPDATE router.simulations SET status = $3 WHERE tenant_id = $1 AND simulation_id = $2 AND status = 'active'
         RETURNING ${COLUMNS}`,
        [tenantId, simulationId, status],
      );
      const row = result.rows[0];
      // Not active any more (resolved before, or unknown): what is stored, as it is.
      return row === undefined ? this.find(tenantId, simulationId) : fromRow(row);
    },
    async find(tenantId, simulationId) {
      const result = await pool.query<Row>(
        `SELECT ${COLUMNS} FROM router.simulations WHERE tenant_id = $1 AND simulation_id = $2`,
        [tenantId, simulationId],
      );
      const row = result.rows[0];
      return row === undefined ? undefined : fromRow(row);
    },
  };
  return {
    save: (s, correlationId) => inStepSpan("db simulation save", () => store.save(s, correlationId)),
    resolve: (tenantId, id, status) => inStepSpan("db simulation resolve", () => store.resolve(tenantId, id, status)),
    find: (tenantId, id) => inStepSpan("db simulation find", () => store.find(tenantId, id)),
  };
}
