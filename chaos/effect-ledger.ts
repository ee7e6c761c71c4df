/**
 * Counts effects in the database against what the load saw acknowledged: every EXECUTED outcome
 * must be a `done` outbox effect whose reminder exists (else it is lost), and no effect may exist
 * twice (two reminders with the same text, every text being unique to one confirmed sequence, or
 * two outbox effects for one simulation).
 */
import pg from "pg";
import type { AcknowledgedEffect } from "../bench/load/load-runner.js";

/** What the database holds, against the load's acknowledgements. */
export interface EffectLedger {
  readonly acknowledged: number;
  /** Outbox effects in state done, whether or not the load saw them acknowledged. */
  readonly performed: number;
  /** Acknowledged effect ids that are not done, or whose reminder is missing. */
  readonly lost: readonly string[];
  readonly duplicates: number;
  /** Effects still pending or leased when the drain wait ended. */
  readonly undrained: number;
  /** Performed effects the load never saw acknowledged (its confirmation failed): allowed, reported. */
  readonly performedUnacknowledged: number;
}

async function pendingEffects(pool: pg.Pool): Promise<number> {
  const { rows } = await pool.query(
    "select count(*)::int as n from outbox.effects where state in ('pending', 'leased')",
  );
  return rows[0].n as number;
}

/** Waits until no effect is pending or leased (the executor has caught up), or the timeout. */
export async function waitForDrain(pool: pg.Pool, timeoutMs: number): Promise<number> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const pending = await pendingEffects(pool);
    if (pending === 0 || Date.now() > until) return pending;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Reads the ledger from the database at `databaseUrl`. */
export async function readEffectLedger(
  databaseUrl: string,
  acknowledged: readonly AcknowledgedEffect[],
  drainTimeoutMs: number,
): Promise<EffectLedger> {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 1 });
  try {
    const undrained = await waitForDrain(pool, drainTimeoutMs);
    const ids = [...new Set(acknowledged.map((a) => a.effectId))];
    const found = await pool.query(
      `select e.effect_id from outbox.effects e join reminders.reminders r on r.id = e.result_id
       where e.state = 'done' and e.effect_id = any($1)`,
      [ids],
    );
    const present = new Set(found.rows.map((r) => r.effect_id as string));
    const duplicates = await pool.query(
      `select coalesce(sum(n - 1), 0)::int as n from (
         select count(*) as n from reminders.reminders group by tenant_id, user_id, text having count(*) > 1
         union all
         select count(*) as n from outbox.effects group by tenant_id, simulation_id having count(*) > 1) d`,
    );
    const performed = await pool.query("select count(*)::int as n from outbox.effects where state = 'done'");
    const performedCount = performed.rows[0].n as number;
    return {
      acknowledged: ids.length,
      performed: performedCount,
      lost: ids.filter((id) => !present.has(id)),
      duplicates: duplicates.rows[0].n as number,
      undrained,
      performedUnacknowledged: Math.max(0, performedCount - present.size),
    };
  } finally {
    await pool.end();
  }
}
