-- The outbox's state: confirmed effects waiting to be performed exactly once, and the history of
-- every state change. The schema and outbox.schema_migrations are created by deploy/migrate.ts.
-- Every timestamp is written by the service from its own clock (never now()), so that tests can
-- move time.

create table outbox.effects (
  effect_id text primary key check (effect_id <> ''),
  tenant_id text not null check (tenant_id <> ''),
  idempotency_key text not null check (idempotency_key <> ''),
  -- The EFFECT capability that performs it, such as 'reminders.create'.
  effect_type text not null check (effect_type <> ''),
  simulation_id text not null check (simulation_id <> ''),
  -- The serialized engine CommitRequest; with its digest, never changed (see the trigger below).
  payload bytea not null,
  payload_digest text not null check (payload_digest ~ '^sha256:[0-9a-f]{64}$'),
  state text not null default 'pending'
    check (state in ('pending', 'leased', 'done', 'dead_letter', 'discarded')),
  -- Attempts started so far: a lease starts one.
  attempts integer not null default 0 check (attempts >= 0),
  -- The bound from the effect type's retry policy, fixed at enqueue (and at an operator's retry).
  max_attempts integer not null check (max_attempts >= 1),
  next_attempt_at timestamptz not null,
  -- The last lease, kept after it ends so that a replayed Ack or Nack of it can be recognised.
  lease_token text,
  lease_owner text,
  lease_expires_at timestamptz,
  last_error text not null default '',
  -- A selene.kernel.v1.ReasonCode number; 0 when there was no failure.
  last_reason integer not null default 0,
  -- The engine's effect id, once done.
  result_id text,
  created_at timestamptz not null,
  updated_at timestamptz not null,
  -- When the effect reached a final state (done or discarded); the retention job counts from it.
  done_at timestamptz,
  unique (tenant_id, idempotency_key),
  check (state <> 'leased' or (lease_token is not null and lease_owner is not null and lease_expires_at is not null)),
  check ((state = 'done') = (result_id is not null)),
  check ((state in ('done', 'discarded')) = (done_at is not null))
);

-- The lease query reads pending effects by due time and leased effects by lease expiry; partial
-- indexes keep done effects (the bulk of the table) out of both.
create index effects_pending_due_idx on outbox.effects (next_attempt_at, effect_id) where state = 'pending';
create index effects_lease_expiry_idx on outbox.effects (lease_expires_at, effect_id) where state = 'leased';
-- Operators list dead letters newest first.
create index effects_dead_letter_idx on outbox.effects (updated_at desc, effect_id desc) where state = 'dead_letter';
-- The retention job deletes final effects by age.
create index effects_done_at_idx on outbox.effects (done_at) where done_at is not null;

-- Payload, digest and identity are immutable: a retried Enqueue compares against them, and the
-- executor must perform exactly what was confirmed.
create function outbox.refuse_effect_identity_change() returns trigger
language plpgsql as $$
begin
  raise exception 'outbox.effects: payload, digest and identity of effect % are immutable', old.effect_id
    using errcode = 'restrict_violation';
end;
$$;

create trigger effects_immutable_identity
  before update on outbox.effects
  for each row
  when (
    old.payload is distinct from new.payload
    or old.payload_digest is distinct from new.payload_digest
    or old.tenant_id is distinct from new.tenant_id
    or old.idempotency_key is distinct from new.idempotency_key
    or old.effect_type is distinct from new.effect_type
    or old.effect_id is distinct from new.effect_id
    or old.simulation_id is distinct from new.simulation_id
  )
  execute function outbox.refuse_effect_identity_change();

-- One row per state change, written by the store in the transaction of the change. Append-only:
-- rows are never updated, and leave only with their effect when the retention job deletes it.
create table outbox.effect_events (
  event_id bigint generated always as identity primary key,
  effect_id text not null references outbox.effects (effect_id) on delete cascade,
  at timestamptz not null,
  -- Null for the enqueue that created the effect.
  from_state text,
  to_state text not null,
  -- The effect's attempt count after the change.
  attempt integer not null,
  -- A selene.kernel.v1.ReasonCode number; 0 when none.
  reason integer not null default 0,
  error text not null default ''
);

create index effect_events_effect_idx on outbox.effect_events (effect_id, event_id);

create function outbox.refuse_event_update() returns trigger
language plpgsql as $$
begin
  raise exception 'outbox.effect_events is append-only' using errcode = 'restrict_violation';
end;
$$;

create trigger effect_events_append_only
  before update on outbox.effect_events
  for each row execute function outbox.refuse_event_update();
