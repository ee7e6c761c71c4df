/**
 * The outbox's table as the store sees it: the shape of an outbox.effects row, its wire form,
 * and the two statements that hand out leases. Every timestamp is a parameter ($1 is "now"),
 * never the database's now(), so that the store's clock decides what is due.
 */
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { ReasonCode } from "../../gen/es/selene/kernel/v1/reason_pb.js";
import { type Effect, EffectSchema, EffectState } from "../../gen/es/selene/outbox/v1/outbox_pb.js";

/** The text states of outbox.effects.state. */
export type StateName = "pending" | "leased" | "done" | "dead_letter" | "discarded";

/** One row of outbox.effects, as pg returns it. */
export interface EffectRow {
  effect_id: string;
  tenant_id: string;
  idempotency_key: string;
  effect_type: string;
  simulation_id: string;
  payload: Buffer;
  payload_digest: string;
  state: StateName;
  attempts: number;
  max_attempts: number;
  next_attempt_at: Date;
  lease_token: string | null;
  lease_owner: string | null;
  lease_expires_at: Date | null;
  last_error: string;
  last_reason: number;
  result_id: string | null;
  created_at: Date;
  updated_at: Date;
  done_at: Date | null;
}

/** Text state -> wire state. */
const STATES: Readonly<Record<StateName, EffectState>> = {
  pending: EffectState.PENDING,
  leased: EffectState.LEASED,
  done: EffectState.DONE,
  dead_letter: EffectState.DEAD_LETTER,
  discarded: EffectState.DISCARDED,
};

/** Every column of outbox.effects, in table order. */
export const EFFECT_COLUMNS = `effect_id, tenant_id, idempotency_key, effect_type, simulation_id, payload, payload_digest, state,
  attempts, max_attempts, next_attempt_at, lease_token, lease_owner, lease_expires_at, last_error, last_reason,
  result_id, created_at, updated_at, done_at`;

/**
 * An upper bound of the bytes an outbox.effects row takes as a LeasedEffect in a repeated field
 * (and so as an Effect): its variable-length columns, plus 256 for everything else (framing of
 * every field, the enums and counters, four timestamps, a lease token), which takes at most 172.
 */
export const EFFECT_BYTES_SQL = `(octet_length(effect_id) + octet_length(tenant_id) + octet_length(idempotency_key)
  + octet_length(effect_type) + octet_length(simulation_id) + octet_length(payload) + octet_length(payload_digest)
  + octet_length(last_error) + coalesce(octet_length(result_id), 0) + 256)`;

/**
 * Hands out due effects: pending ones whose next attempt is due and leased ones whose lease
 * lapsed (a crashed executor's), oldest due first, as many as the limit and the response size
 * allow: the effects taken, in order, fit $5 bytes by EFFECT_BYTES_SQL. SKIP LOCKED lets
 * concurrent executors each take different rows without waiting on one another; a candidate
 * left out stays as it was. $1 now, $2 limit, $3 owner, $4 expiry, $5 bytes.
 */
export const LEASE_SQL = `
with candidates as materialized (
  select effect_id, state as from_state,
         case when state = 'pending' then next_attempt_at else lease_expires_at end as due_at,
         ${EFFECT_BYTES_SQL} as bytes
  from outbox.effects
  where (state = 'pending' and next_attempt_at <= $1::timestamptz)
     or (state = 'leased' and lease_expires_at <= $1::timestamptz and attempts < max_attempts)
  order by due_at, effect_id
  limit $2
  for update skip locked
), due as (
  select effect_id, from_state, due_at
  from (select *, sum(bytes) over (order by due_at, effect_id rows unbounded preceding) as running from candidates) c
  where running <= $5::bigint
), leased as (
  update outbox.effects e
  set state = 'leased', attempts = e.attempts + 1, lease_owner = $3::text,
      lease_token = gen_random_uuid()::text, lease_expires_at = $4::timestamptz, updated_at = $1::timestamptz
  from due
  where e.effect_id = due.effect_id
  returning e.*, due.from_state, due.due_at
), events as (
  insert into outbox.effect_events (effect_id, at, from_state, to_state, attempt, reason, error)
  select effect_id, $1::timestamptz, from_state, 'leased', attempts,
         case when from_state = 'leased' then ${ReasonCode.LEASE_NOT_HELD} else 0 end,
         case when from_state = 'leased' then 'the previous lease lapsed' else '' end
  from leased
)
select * from leased order by due_at, effect_id`;

/**
 * Stores a new effect already leased to the enqueuing executor (its first attempt) and records that
 * lease in its history as Lease would (pending -> leased, attempt 1), in one statement; an effect
 * already stored under the key is left as it is (no row comes back). $1-$10 as the plain enqueue
 * ($9 now), $11 owner, $12 lease token, $13 expiry.
 */
export const ENQUEUE_LEASED_SQL = `
with inserted as (
  insert into outbox.effects (effect_id, tenant_id, idempotency_key, effect_type, simulation_id, payload,
    payload_digest, state, attempts, max_attempts, next_attempt_at, created_at, updated_at, correlation_id,
    lease_owner, lease_token, lease_expires_at)
  values ($1, $2, $3, $4, $5, $6, $7, 'leased', 1, $8, $9::timestamptz, $9::timestamptz, $9::timestamptz, $10,
    $11::text, $12::text, $13::timestamptz)
  on conflict (tenant_id, idempotency_key) do nothing
  returning effect_id
)
insert into outbox.effect_events (effect_id, at, from_state, to_state, attempt, reason, error)
select effect_id, $9::timestamptz, 'pending', 'leased', 1, 0, '' from inserted
returning effect_id`;

/** Dead-letters effects whose lease lapsed on their last allowed attempt. $1 now. */
export const LAPSED_SQL = `
with lapsed as materialized (
  select effect_id from outbox.effects
  where state = 'leased' and lease_expires_at <= $1::timestamptz and attempts >= max_attempts
  for update skip locked
), dead as (
  update outbox.effects e
  set state = 'dead_letter', lease_token = null, updated_at = $1::timestamptz,
      last_error = 'the lease lapsed on the last allowed attempt', last_reason = ${ReasonCode.LEASE_NOT_HELD}
  from lapsed
  where e.effect_id = lapsed.effect_id
  returning e.effect_id, e.attempts, e.last_reason, e.last_error
)
insert into outbox.effect_events (effect_id, at, from_state, to_state, attempt, reason, error)
select effect_id, $1::timestamptz, 'leased', 'dead_letter', attempts, last_reason, last_error from dead`;

/** The wire form of a stored effect. */
export function effectOf(row: EffectRow): Effect {
  return create(EffectSchema, {
    effectId: row.effect_id,
    tenantId: row.tenant_id,
    idempotencyKey: row.idempotency_key,
    effectType: row.effect_type,
    simulationId: row.simulation_id,
    payload: row.payload,
    payloadDigest: row.payload_digest,
    state: STATES[row.state],
    attempts: row.attempts,
    nextAttemptAt: timestampFromDate(row.next_attempt_at),
    lastError: row.last_error,
    lastReason: row.last_reason,
    resultId: row.result_id ?? "",
    createdAt: timestampFromDate(row.created_at),
    updatedAt: timestampFromDate(row.updated_at),
  });
}
