/**
 * The outbox's durable state: effects stored once per (tenant, idempotency key), leased to
 * executors with `FOR UPDATE SKIP LOCKED` so that concurrent executors never share one, and moved
 * through PENDING -> LEASED -> DONE (or DEAD_LETTER) with every change appended to
 * outbox.effect_events in the change's own transaction. Time comes from the injected clock and
 * is passed to SQL as a parameter, so tests can move it.
 */

import { randomUUID } from "node:crypto";
import { create, toBinary } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { Pool } from "pg";
import { ReasonCode } from "../../gen/es/selene/kernel/v1/reason_pb.js";
import {
  type Effect,
  EffectSchema,
  type LeasedEffect,
  LeasedEffectSchema,
} from "../../gen/es/selene/outbox/v1/outbox_pb.js";
import { sha256Digest } from "../runtime/content-digest.js";
import { inTransaction } from "../runtime/in-transaction.js";
import { decodePageToken, encodePageToken, invalidPageToken } from "../runtime/page-token.js";
import { fitPage, PAGE_ITEMS_BYTES } from "../runtime/response-page.js";
import { SeleneError } from "../runtime/selene-error.js";
import {
  EFFECT_BYTES_SQL,
  EFFECT_COLUMNS,
  type EffectRow,
  ENQUEUE_LEASED_SQL,
  effectOf,
  LAPSED_SQL,
  LEASE_SQL,
} from "./effect-sql.js";
import { nextDelayMs, policyFor, type RetryPolicies } from "./retry-policy.js";

/** An effect to store, as the router enqueues it after a confirmation. */
export interface EnqueueInput {
  readonly tenantId: string;
  /** Unique within the tenant; a second enqueue with it must carry the same payload. */
  readonly idempotencyKey: string;
  /** The EFFECT capability, such as "reminders.create"; selects the retry policy. */
  readonly effectType: string;
  readonly simulationId: string;
  /** The serialized engine CommitRequest. */
  readonly payload: Uint8Array;
  /** "sha256:" digest of the payload bytes. */
  readonly payloadDigest: string;
  /** The request chain that enqueued it (its audit records carry it). */
  readonly correlationId?: string;
  /**
   * Lease a newly stored effect to this executor at once (its first attempt). An existing one is
   * never leased here: its live lease comes back only to the executor that holds it.
   */
  readonly lease?: { readonly executorId: string; readonly leaseMs: number };
}

/** What Enqueue returns: the effect, whether this call stored it, and its lease when it asked for one. */
export interface Enqueued {
  readonly effect: Effect;
  readonly created: boolean;
  /**
   * Set only when the input asked for a lease and the effect is leased to the asking executor, live:
   * the lease this call took, or the one an earlier enqueue of the key took (its answer lost).
   */
  readonly lease?: { readonly token: string; readonly expiresAt: Date };
}

/** What one executor asks of Lease. */
export interface LeaseInput {
  readonly executorId: string;
  readonly maxEffects: number;
  /** How long the executor holds each effect, ms. */
  readonly leaseMs: number;
}

/** A lease holder's report of success. */
export interface AckInput {
  readonly effectId: string;
  readonly leaseToken: string;
  /** The engine's effect id. */
  readonly resultId: string;
}

/** A lease holder's report of a failed attempt. */
export interface NackInput {
  readonly effectId: string;
  readonly leaseToken: string;
  readonly error: string;
  readonly reason: ReasonCode;
  /** False dead-letters the effect at once. */
  readonly retryable: boolean;
}

/** Which dead letters to list. */
export interface DeadLetterQuery {
  /** Only this tenant's; undefined or "" for all. */
  readonly tenantId?: string;
  /** At most this many; 0 means the default of 50. */
  readonly pageSize: number;
  /** "" for the first page, else a previous page's nextPageToken. */
  readonly pageToken: string;
}

/** One page of dead letters, newest first. */
export interface DeadLetterPage {
  readonly effects: Effect[];
  /** "" on the last page. */
  readonly nextPageToken: string;
}

/** The outbox's store over one Postgres pool. */
export interface EffectStore {
  /**
   * Stores the effect, leased to `input.lease`'s executor when it asks, or returns the one stored
   * under its key (created false, never leased here) when the payload matches; a stored effect
   * comes back with its lease only to the executor that holds that lease, before it lapses.
   */
  enqueue(input: EnqueueInput): Promise<Enqueued>;
  /**
   * Leases up to maxEffects due effects (pending and due, or leased with a lapsed lease), oldest due
   * first, fewer when more would not fit one response.
   */
  lease(input: LeaseInput): Promise<LeasedEffect[]>;
  /** Marks a leased effect done; a replay with the same result id returns it unchanged. */
  ack(input: AckInput): Promise<Effect>;
  /** Schedules the next attempt with backoff, or dead-letters the effect when it may not retry. */
  nack(input: NackInput): Promise<Effect>;
  /** One effect of a tenant; EFFECT_NOT_FOUND for another tenant's. */
  get(tenantId: string, effectId: string): Promise<Effect>;
  /** Dead letters, newest first, by keyset pages bounded by count and by response size. */
  listDeadLetters(query: DeadLetterQuery): Promise<DeadLetterPage>;
  /** Gives a dead letter a new round of attempts. */
  retryDeadLetter(effectId: string): Promise<Effect>;
  /** Closes a dead letter for good; `reason` is recorded in its history. */
  discardDeadLetter(effectId: string, reason: string): Promise<Effect>;
  /** Deletes done and discarded effects final for longer than `olderThanMs` (their history stays); returns how many. */
  purgeDone(olderThanMs: number): Promise<number>;
}

/** Test seams of the store. */
export interface EffectStoreOptions {
  /** The clock; defaults to the current time. */
  readonly now?: () => Date;
  /** The backoff jitter source, values in [0, 1); defaults to Math.random. */
  readonly random?: () => number;
}

/** A decided change: the mutable columns to set and what the history records. */
interface Change {
  readonly set: Partial<EffectRow>;
  readonly reason?: number;
  readonly error?: string;
}

const DEFAULT_PAGE_SIZE = 50;
const PURGE_BATCH = 1000;

function notFound(effectId: string): SeleneError {
  return new SeleneError(ReasonCode.EFFECT_NOT_FOUND, `no effect ${effectId}`, { fieldPath: "effect_id" });
}

function stateConflict(row: EffectRow, operation: string): SeleneError {
  return new SeleneError(ReasonCode.EFFECT_STATE_CONFLICT, `cannot ${operation} an effect in state ${row.state}`, {
    fieldPath: "effect_id",
    metadata: { state: row.state },
  });
}

/**
 * The live lease `holder` holds on the effect, if any: what Enqueue hands back to the executor it
 * leased the effect to, so an executor whose enqueue's answer was lost (and that retried it) gets
 * the same lease, token and expiry, and performs the effect at once instead of after the lease
 * lapsed. The same token, not a fresh one: the holder may have received the first answer after all
 * (a concurrent confirmation, on the same router, of the same simulation), and one token is one
 * lease, so only one ack can ever land whichever answer the executor acts on (it performs one
 * token once). Nothing is written: the replay answers what the lost answer said. A lapsed lease
 * is not renewed: the effect is due for any executor's Lease, with a new token and attempt.
 */
function leaseHeldBy(row: EffectRow, holder: string, at: Date): Enqueued["lease"] {
  const live = row.state === "leased" && row.lease_expires_at !== null && row.lease_expires_at > at;
  return live && row.lease_owner === holder && row.lease_token !== null
    ? { token: row.lease_token, expiresAt: row.lease_expires_at! }
    : undefined;
}

function leaseNotHeld(row: EffectRow): SeleneError {
  return new SeleneError(ReasonCode.LEASE_NOT_HELD, "the lease token does not hold this effect's lease", {
    fieldPath: "lease_token",
    metadata: { state: row.state },
  });
}

/** Creates the store; the pool must reach a database migrated with deploy/migrations/outbox. */
export function createEffectStore(pool: Pool, policies: RetryPolicies, options: EffectStoreOptions = {}): EffectStore {
  const now = options.now ?? (() => new Date());
  const random = options.random ?? Math.random;

  /** Locks one effect, lets `decide` choose a change (undefined: none), writes it and its event. */
  function transition(effectId: string, decide: (row: EffectRow, at: Date) => Change | undefined): Promise<Effect> {
    return inTransaction(pool, async (client) => {
      const found = await client.query<EffectRow>(
        `select ${EFFECT_COLUMNS} from outbox.effects where effect_id = $1 for update`,
        [effectId],
      );
      const row = found.rows[0];
      if (row === undefined) throw notFound(effectId);
      const at = now();
      const change = decide(row, at);
      if (change === undefined) return effectOf(row);
      const next: EffectRow = { ...row, ...change.set, updated_at: at };
      const updated = await client.query<EffectRow>(
        `update outbox.effects set state = $2, attempts = $3, max_attempts = $4, next_attempt_at = $5,
           lease_token = $6, lease_owner = $7, lease_expires_at = $8, last_error = $9, last_reason = $10,
           result_id = $11, updated_at = $12, done_at = $13
         where effect_id = $1 returning ${EFFECT_COLUMNS}`,
        [
          effectId,
          next.state,
          next.attempts,
          next.max_attempts,
          next.next_attempt_at,
          next.lease_token,
          next.lease_owner,
          next.lease_expires_at,
          next.last_error,
          next.last_reason,
          next.result_id,
          next.updated_at,
          next.done_at,
        ],
      );
      await client.query(
        `insert into outbox.effect_events (effect_id, at, from_state, to_state, attempt, reason, error)
         values ($1, $2, $3, $4, $5, $6, $7)`,
        [effectId, at, row.state, next.state, next.attempts, change.reason ?? 0, change.error ?? ""],
      );
      return effectOf(updated.rows[0]!);
    });
  }

  async function insertOrFind(input: EnqueueInput): Promise<{ row: EffectRow; created: boolean } | undefined> {
    const at = now();
    const lease = input.lease;
    const row: EffectRow = {
      effect_id: randomUUID(),
      tenant_id: input.tenantId,
      idempotency_key: input.idempotencyKey,
      effect_type: input.effectType,
      simulation_id: input.simulationId,
      payload: Buffer.from(input.payload.buffer, input.payload.byteOffset, input.payload.byteLength),
      payload_digest: input.payloadDigest,
      state: lease === undefined ? "pending" : "leased",
      attempts: lease === undefined ? 0 : 1,
      max_attempts: policyFor(policies, input.effectType).maxAttempts,
      next_attempt_at: at,
      lease_token: lease === undefined ? null : randomUUID(),
      lease_owner: lease?.executorId ?? null,
      lease_expires_at: lease === undefined ? null : new Date(at.getTime() + lease.leaseMs),
      last_error: "",
      last_reason: 0,
      result_id: null,
      created_at: at,
      updated_at: at,
      done_at: null,
    };
    // The creation is recorded by the row itself (created_at); effect_events records the
    // transitions after it. One narrow INSERT per enqueue keeps it close to a plain INSERT: the
    // new row is known here, so only its id comes back.
    // A named (prepared) statement: parsed and planned once per connection, not per enqueue.
    const insertValues = [
      row.effect_id,
      row.tenant_id,
      row.idempotency_key,
      row.effect_type,
      row.simulation_id,
      row.payload,
      row.payload_digest,
      row.max_attempts,
      at,
      input.correlationId ?? "",
    ];
    const inserted = await pool.query(
      lease === undefined
        ? {
            name: "outbox-enqueue",
            text: `insert into outbox.effects (effect_id, tenant_id, idempotency_key, effect_type, simulation_id, payload,
         payload_digest, state, attempts, max_attempts, next_attempt_at, created_at, updated_at, correlation_id)
       values ($1, $2, $3, $4, $5, $6, $7, 'pending', 0, $8, $9::timestamptz, $9::timestamptz, $9::timestamptz, $10)
       on conflict (tenant_id, idempotency_key) do nothing
       returning effect_id`,
            values: insertValues,
          }
        : {
            name: "outbox-enqueue-leased",
            text: ENQUEUE_LEASED_SQL,
            values: [...insertValues, row.lease_owner, row.lease_token, row.lease_expires_at],
          },
    );
    if (inserted.rowCount === 1) return { row, created: true };
    // The key is taken: ON CONFLICT waited for its holder to commit, so this read sees its row.
    const stored = await pool.query<EffectRow>(
      `select ${EFFECT_COLUMNS} from outbox.effects where tenant_id = $1 and idempotency_key = $2`,
      [input.tenantId, input.idempotencyKey],
    );
    return stored.rows[0] === undefined ? undefined : { row: stored.rows[0], created: false };
  }

  return {
    async enqueue(input) {
      if (sha256Digest(input.payload) !== input.payloadDigest) {
        throw new SeleneError(ReasonCode.FIELD_INVALID, "payload_digest is not the sha256 digest of the payload", {
          violations: [{ fieldPath: "payload_digest", ruleId: "payload_digest.sha256", message: "digest mismatch" }],
        });
      }
      // A stored effect purged between the insert and the read frees the key: insert again.
      for (let round = 0; round < 3; round++) {
        const found = await insertOrFind(input);
        if (found === undefined) continue;
        const { row, created } = found;
        const same =
          row.payload_digest === input.payloadDigest &&
          row.effect_type === input.effectType &&
          row.simulation_id === input.simulationId;
        if (!same) {
          throw new SeleneError(
            ReasonCode.IDEMPOTENCY_KEY_REUSED,
            "this idempotency key already holds a different effect",
            { fieldPath: "envelope.idempotency_key" },
          );
        }
        const lease = input.lease === undefined ? undefined : leaseHeldBy(row, input.lease.executorId, now());
        return lease === undefined ? { effect: effectOf(row), created } : { effect: effectOf(row), created, lease };
      }
      throw new Error("an effect's idempotency key was taken and freed three times in a row");
    },

    async lease(input) {
      const at = now();
      await pool.query(LAPSED_SQL, [at]);
      const rows = await pool.query<EffectRow>(LEASE_SQL, [
        at,
        input.maxEffects,
        input.executorId,
        new Date(at.getTime() + input.leaseMs),
        PAGE_ITEMS_BYTES,
      ]);
      return rows.rows.map((row) =>
        create(LeasedEffectSchema, {
          effect: effectOf(row),
          leaseToken: row.lease_token!,
          leaseExpiresAt: timestampFromDate(row.lease_expires_at!),
        }),
      );
    },

    async ack(input) {
      // The common case in one statement: the holder of a live lease marks the effect done.
      const at = now();
      const fast = await pool.query<EffectRow>(
        `with done as (
           update outbox.effects set state = 'done', result_id = $3, done_at = $4::timestamptz,
             updated_at = $4::timestamptz
           where effect_id = $1 and state = 'leased' and lease_token = $2
           returning ${EFFECT_COLUMNS}
         ), event as (
           insert into outbox.effect_events (effect_id, at, from_state, to_state, attempt, reason, error)
           select effect_id, $4::timestamptz, 'leased', 'done', attempts, 0, '' from done
         )
         select ${EFFECT_COLUMNS} from done`,
        [input.effectId, input.leaseToken, input.resultId, at],
      );
      if (fast.rows[0] !== undefined) return effectOf(fast.rows[0]);
      // Replays and refusals: decide on the locked row.
      return transition(input.effectId, (row, at) => {
        if (row.state === "done" && row.result_id === input.resultId) return undefined; // a replayed ack
        if (row.state !== "leased" || row.lease_token !== input.leaseToken) throw leaseNotHeld(row);
        return { set: { state: "done", result_id: input.resultId, done_at: at } };
      });
    },

    nack(input) {
      return transition(input.effectId, (row, at) => {
        if (row.state !== "leased" || row.lease_token !== input.leaseToken) {
          // A replayed nack: its lease ended with it and nobody has leased the effect since.
          const replay =
            (row.state === "pending" || row.state === "dead_letter") && row.lease_token === input.leaseToken;
          if (replay) return undefined;
          throw leaseNotHeld(row);
        }
        const failure = { last_error: input.error, last_reason: input.reason };
        const event = { reason: input.reason, error: input.error };
        if (input.retryable && row.attempts < row.max_attempts) {
          const delayMs = nextDelayMs(policyFor(policies, row.effect_type), row.attempts, random);
          return { set: { state: "pending", next_attempt_at: new Date(at.getTime() + delayMs), ...failure }, ...event };
        }
        return { set: { state: "dead_letter", ...failure }, ...event };
      });
    },

    async get(tenantId, effectId) {
      const rows = await pool.query<EffectRow>(
        `select ${EFFECT_COLUMNS} from outbox.effects where tenant_id = $1 and effect_id = $2`,
        [tenantId, effectId],
      );
      const row = rows.rows[0];
      if (row === undefined) throw notFound(effectId);
      return effectOf(row);
    },

    async listDeadLetters(query) {
      const size = query.pageSize === 0 ? DEFAULT_PAGE_SIZE : query.pageSize;
      const after = query.pageToken === "" ? undefined : deadLetterCursor(query.pageToken);
      // One more than the page, to know whether another follows; candidates past twice a page by
      // the bound the lease uses are not even read (fitPage makes the exact cut).
      const rows = await pool.query<EffectRow & { cursor_at: string; fetched: string }>(
        `with candidates as (
           select ${EFFECT_COLUMNS},
                  to_char(updated_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as cursor_at,
                  ${EFFECT_BYTES_SQL} as bytes
           from outbox.effects
           where state = 'dead_letter' and ($1::text = '' or tenant_id = $1::text)
             and ($2::timestamptz is null or (updated_at, effect_id) < ($2::timestamptz, $3::text))
           order by updated_at desc, effect_id desc
           limit $4
         )
         select * from (
           select *, count(*) over () as fetched,
                  sum(bytes) over (order by updated_at desc, effect_id desc rows unbounded preceding) - bytes as before
           from candidates
         ) c
         where before < $5::bigint
         order by updated_at desc, effect_id desc`,
        [query.tenantId ?? "", after?.at ?? null, after?.id ?? "", size + 1, 2 * PAGE_ITEMS_BYTES],
      );
      const effects = rows.rows.map((row) => ({ row, effect: effectOf(row) }));
      const page = fitPage(effects, (e) => toBinary(EffectSchema, e.effect).length, size);
      const last = page.items.at(-1)?.row;
      // More follow when a candidate (of page size + 1) was left out, by count or by size.
      const more = last !== undefined && Number(last.fetched) > page.items.length;
      return {
        effects: page.items.map((e) => e.effect),
        nextPageToken: more ? encodePageToken([last.cursor_at, last.effect_id]) : "",
      };
    },

    retryDeadLetter(effectId) {
      return transition(effectId, (row, at) => {
        if (row.state !== "dead_letter") throw stateConflict(row, "retry");
        return {
          set: {
            state: "pending",
            attempts: 0,
            max_attempts: policyFor(policies, row.effect_type).maxAttempts,
            next_attempt_at: at,
            lease_token: null,
            lease_owner: null,
            lease_expires_at: null,
          },
        };
      });
    },

    discardDeadLetter(effectId, reason) {
      return transition(effectId, (row, at) => {
        if (row.state === "discarded") return undefined; // a replayed discard
        if (row.state !== "dead_letter") throw stateConflict(row, "discard");
        return { set: { state: "discarded", done_at: at }, error: reason };
      });
    },

    async purgeDone(olderThanMs) {
      const cutoff = new Date(now().getTime() - olderThanMs);
      let purged = 0;
      // In batches, so one run never holds many row locks at once. outbox.effect_events is a protected
      // ledger: an effect's history outlives the effect (effect ids are random UUIDs, never reused).
      for (;;) {
        const deleted = await pool.query(
          `with doomed as materialized (
             select effect_id from outbox.effects
             where state in ('done', 'discarded') and done_at <= $1::timestamptz
             order by done_at limit $2
             for update skip locked
           )
           delete from outbox.effects e using doomed where e.effect_id = doomed.effect_id`,
          [cutoff, PURGE_BATCH],
        );
        purged += deleted.rowCount ?? 0;
        if ((deleted.rowCount ?? 0) < PURGE_BATCH) return purged;
      }
    },
  };
}

/** The position of a dead-letter page token: the last effect's update time and id. */
function deadLetterCursor(token: string): { at: string; id: string } {
  const [at, id] = decodePageToken(token, 2) as [string, string];
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/.test(at)) throw invalidPageToken();
  return { at, id };
}
