/**
 * Turn-level idempotency records (schema `router`): the first request with a
 * (tenant, idempotency key) claims it; its outcome is stored and replayed to
 * every later request with the same key and the same request; a different
 * request with the key is refused. docs/IDEMPOTENCY.md is the specification.
 */
import type pg from "pg";
import { inStepSpan } from "../runtime/step-span.js";
import { groupedStatement } from "./grouped-statement.js";

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

/** Claims and completions in flight at most, each; more wait and go together in the next statement. */
const MAX_IN_FLIGHT = 2;
/** Claims or completions in one statement at most. */
const MAX_GROUP = 32;

interface ClaimCall {
  readonly tenantId: string;
  readonly key: string;
  readonly digest: string;
  readonly claimMs: number;
}

interface CompleteCall {
  readonly tenantId: string;
  readonly key: string;
  readonly response: Buffer | null;
  readonly error: Buffer | null;
}

/** A record's primary key as one string. */
const idOf = (tenantId: string, key: string) => JSON.stringify([tenantId, key]);

/** Creates the store; records are kept `retentionMs` after they are created. */
export function createTurnRecords(pool: pg.Pool, retentionMs: number): TurnRecords {
  const groups = { maxInFlight: MAX_IN_FLIGHT, maxGroup: MAX_GROUP };
  /**
   * Inserts the claims of new keys, several turns' in one statement; answers for each call whether
   * its insert claimed the key. Of calls with the same key in one statement only the first is
   * inserted, so exactly one of them can hold the claim.
   */
  const insertClaims = groupedStatement<ClaimCall, boolean>(async (calls) => {
    const first = new Map<string, number>();
    calls.forEach((c, i) => {
      const id = idOf(c.tenantId, c.key);
      if (!first.has(id)) first.set(id, i);
    });
    // In key order, so that two statements waiting on each other's rows cannot deadlock.
    const sent = [...first].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, i]) => calls[i]!);
    // Named statements: every turn runs these two, so they are parsed and planned once per connection.
    const { rows } = await pool.query<{ tenant_id: string; idempotency_key: string }>({
      name: "turn-claims",
      text: `INSERT INTO router.turn_records (tenant_id, idempotency_key, request_digest, state, claimed_until, expires_at)
         SELECT c.tenant_id, c.idempotency_key, c.request_digest, 'in_flight',
                now() + make_interval(secs => c.claim_ms / 1000), now() + make_interval(secs => $5::float8 / 1000)
         FROM unnest($1::text[], $2::text[], $3::text[], $4::float8[])
           AS c (tenant_id, idempotency_key, request_digest, claim_ms)
         ON CONFLICT (tenant_id, idempotency_key) DO NOTHING
         RETURNING tenant_id, idempotency_key`,
      values: [
        sent.map((c) => c.tenantId),
        sent.map((c) => c.key),
        sent.map((c) => c.digest),
        sent.map((c) => c.claimMs),
        retentionMs,
      ],
    });
    const inserted = new Set(rows.map((r) => idOf(r.tenant_id, r.idempotency_key)));
    return calls.map((c, i) => {
      const id = idOf(c.tenantId, c.key);
      return first.get(id) === i && inserted.has(id);
    });
  }, groups);
  /** Stores the outcomes of claimed turns, several in one statement. */
  const storeOutcomes = groupedStatement<CompleteCall, void>(async (calls) => {
    await pool.query({
      name: "turn-completions",
      text: `UPDATE router.turn_records AS r
         SET state = 'done', response = c.response, error = c.error, completed_at = now()
         FROM unnest($1::text[], $2::text[], $3::bytea[], $4::bytea[]) AS c (tenant_id, idempotency_key, response, error)
         WHERE r.tenant_id = c.tenant_id AND r.idempotency_key = c.idempotency_key AND r.state = 'in_flight'`,
      values: [
        calls.map((c) => c.tenantId),
        calls.map((c) => c.key),
        calls.map((c) => c.response),
        calls.map((c) => c.error),
      ],
    });
    return calls.map(() => undefined);
  }, groups);
  const records: TurnRecords = {
    async claim(tenantId, key, digest, claimMs) {
      if (await insertClaims({ tenantId, key, digest, claimMs })) return { kind: "claimed" };
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
      await storeOutcomes({ tenantId, key, response, error });
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
