/**
 * Turn-level idempotency records (schema `router`): the first request with a
 * (tenant, idempotency key) claims it; its outcome is stored and replayed to
 * every later request with the same key and the same request; a different
 * request with the key is refused. docs/IDEMPOTENCY.md is the specification.
 */
import type pg from "pg";
import { inStepSpan } from "../runtime/step-span.js";

/** What a claim found. */
export type Claim =
  | { readonly kind: "claimed" }
  | { readonly kind: "replay"; readonly response: Uint8Array | null; readonly error: Uint8Array | null }
  | { readonly kind: "mismatch" }
  | { readonly kind: "in_flight"; readonly claimedUntil: Date };

/** The store. */
export interface TurnRecords {
  /** Claims the key for `claimMs`, or reports the stored outcome, a digest mismatch, or a live claim. */
  claim(tenantId: string, key: string, digest: string, claimMs: number): Promise<Claim>;
  /** Stores the outcome of a claimed turn: response bytes, or error (RpcStatus) bytes. */
  complete(tenantId: string, key: string, outcome: { response: Uint8Array } | { error: Uint8Array }): Promise<void>;
  /** Drops a claim without an outcome, so that a retry runs the turn again (retryable failures). */
  release(tenantId: string, key: string): Promise<void>;
  /** Deletes records past their retention; returns how many. */
  purgeExpired(): Promise<number>;
}

interface Row {
  request_digest: string;
  state: "in_flight" | "done";
  response: Buffer | null;
  error: Buffer | null;
  claimed_until: Date;
}

/** Creates the store; records are kept `retentionMs` after they are created. */
export function createTurnRecords(pool: pg.Pool, retentionMs: number): TurnRecords {
  const records: TurnRecords = {
    async claim(tenantId, key, digest, claimMs) {
      // Named statements: every turn runs these two, so they are parsed and planned once per connection.
      const inserted = await pool.query({
        name: "turn-claim",
        text: `INSERT INTO router.turn_records (tenant_id, idempotency_key, request_digest, state, claimed_until, expires_at)
         VALUES ($1, $2, $3, 'in_flight', now() + make_interval(secs => $4::float8 / 1000),
                 now() + make_interval(secs => $5::float8 / 1000))
         ON CONFLICT (tenant_id, idempotency_key) DO NOTHING`,
        values: [tenantId, key, digest, claimMs, retentionMs],
      });
      if (inserted.rowCount === 1) return { kind: "claimed" };
      // Take over a claim whose owner stopped renewing it (a crash): only one taker wins.
      const taken = await pool.query(
        `UPDATE router.turn_records SET claimed_until = now() + make_interval(secs => $4::float8 / 1000)
         WHERE tenant_id = $1 AND idempotency_key = $2 AND request_digest = $3
           AND state = 'in_flight' AND claimed_until < now()`,
        [tenantId, key, digest, claimMs],
      );
      if (taken.rowCount === 1) return { kind: "claimed" };
      const { rows } = await pool.query<Row>(
        `SELECT request_digest, state, response, error, claimed_until FROM router.turn_records
         WHERE tenant_id = $1 AND idempotency_key = $2`,
        [tenantId, key],
      );
      const row = rows[0];
      if (row === undefined) return this.claim(tenantId, key, digest, claimMs); // released meanwhile
      if (row.request_digest !== digest) return { kind: "mismatch" };
      if (row.state === "done") return { kind: "replay", response: row.response, error: row.error };
      return { kind: "in_flight", claimedUntil: row.claimed_until };
    },
    async complete(tenantId, key, outcome) {
      const response = "response" in outcome ? Buffer.from(outcome.response) : null;
      const error = "error" in outcome ? Buffer.from(outcome.error) : null;
      await pool.query({
        name: "turn-complete",
        text: `UPDATE router.turn_records SET state = 'done', response = $3, error = $4, completed_at = now()
         WHERE tenant_id = $1 AND idempotency_key = $2 AND state = 'in_flight'`,
        values: [tenantId, key, response, error],
      });
    },
    async release(tenantId, key) {
      await pool.query(
        `DELETE FROM router.turn_records WHERE tenant_id = $1 AND idempotency_key = $2 AND state = 'in_flight'`,
        [tenantId, key],
      );
    },
    async purgeExpired() {
      const result = await pool.query("DELETE FROM router.turn_records WHERE expires_at < now()");
      return result.rowCount ?? 0;
    },
  };
  return {
    claim: (tenantId, key, digest, claimMs) =>
      inStepSpan("db turn claim", () => records.claim(tenantId, key, digest, claimMs)),
    complete: (tenantId, key, outcome) =>
      inStepSpan("db turn complete", () => records.complete(tenantId, key, outcome)),
    release: (tenantId, key) => inStepSpan("db turn release", () => records.release(tenantId, key)),
    purgeExpired: () => records.purgeExpired(),
  };
}
