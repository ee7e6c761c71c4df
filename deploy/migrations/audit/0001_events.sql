-- The audit ledger: one append-only, hash-chained list of events per tenant. The chain is built
-- here, in the database, by a trigger that holds the tenant's head row locked: any number of audit
-- replicas (or a break-glass procedure written in SQL) append to one linear chain, and every
-- writer hashes the same way. Verifiers recompute the hashes outside the database
-- (services/audit/chain-hash.ts follows audit.event_hash below byte for byte).

-- The last record of each tenant's chain.
create table audit.chain_heads (
  tenant_id text primary key check (tenant_id <> ''),
  sequence bigint not null check (sequence >= 0),
  hash text not null check (hash ~ '^sha256:[0-9a-f]{64}$')
);

create table audit.events (
  tenant_id text not null check (tenant_id <> ''),
  -- Set by the trigger: 1, 2, 3... without gaps per tenant.
  sequence bigint not null check (sequence >= 1),
  -- Chosen by the writer, deterministic for the decision it records: an append is idempotent by it.
  event_id text not null unique check (event_id <> '' and length(event_id) <= 200),
  correlation_id text not null,
  turn_id text not null,
  -- selene.audit.v1.Gate and Decision, selene.kernel.v1.ReasonCode numbers.
  gate smallint not null check (gate > 0),
  decision smallint not null check (decision > 0),
  reason integer not null check (reason >= 0),
  -- sha256 of the decision's inputs ('' when it had none worth hashing).
  input_digest text not null check (input_digest = '' or input_digest ~ '^sha256:[0-9a-f]{64}$'),
  -- What replay needs: an engine's serialized response, the recorded request. Bounded.
  payload bytea not null check (octet_length(payload) <= 65536),
  attributes jsonb not null default '{}'::jsonb check (jsonb_typeof(attributes) = 'object'),
  -- The SPIFFE id of the workload (or the operator) that acted.
  actor text not null check (actor <> ''),
  contract_version text not null check (contract_version ~ '^[0-9]+\.[0-9]+$'),
  occurred_at timestamptz not null,
  -- Set by the trigger from the database's clock.
  recorded_at timestamptz not null,
  prev_hash text not null check (prev_hash ~ '^sha256:[0-9a-f]{64}$'),
  hash text not null check (hash ~ '^sha256:[0-9a-f]{64}$'),
  primary key (tenant_id, sequence)
);

-- Replay reads one correlation id's events.
create index events_correlation_idx on audit.events (correlation_id, tenant_id, sequence);

-- A length-prefixed field: four bytes of big-endian length, then the bytes.
create function audit.frame(value bytea) returns bytea
language sql immutable strict as $$ select int4send(octet_length(value)) || value $$;

create function audit.frame(value text) returns bytea
language sql immutable strict as $$ select audit.frame(convert_to(value, 'UTF8')) $$;

-- Microseconds since the Unix epoch, as eight big-endian bytes.
create function audit.micros(at timestamptz) returns bytea
language sql immutable strict as $$ select int8send((extract(epoch from at) * 1000000)::bigint) $$;

-- The hash a chain starts from.
create function audit.genesis_hash(tenant text) returns text
language sql immutable strict as $$
  select 'sha256:' || encode(sha256(convert_to('selene.audit.v1/genesis/' || tenant, 'UTF8')), 'hex')
$$;

-- The hash of a record: sha256 over the frames of its fields, in this order. Attributes are a
-- count, then key and value frames in byte order of the keys.
create function audit.event_hash(e audit.events) returns text
language sql immutable as $$
  select 'sha256:' || encode(sha256(
    audit.frame(e.prev_hash) || audit.frame(e.tenant_id) || int8send(e.sequence) || audit.frame(e.event_id)
    || audit.frame(e.correlation_id) || audit.frame(e.turn_id)
    || int4send(e.gate::integer) || int4send(e.decision::integer) || int4send(e.reason)
    || audit.frame(e.input_digest) || audit.frame(e.payload)
    || int4send((select count(*)::integer from jsonb_object_keys(e.attributes)))
    || coalesce((select string_agg(audit.frame(key) || audit.frame(value), ''::bytea order by key collate "C")
                 from jsonb_each_text(e.attributes)), ''::bytea)
    || audit.frame(e.actor) || audit.frame(e.contract_version)
    || audit.micros(e.occurred_at) || audit.micros(e.recorded_at)
  ), 'hex')
$$;

-- Places a new record at the end of its tenant's chain. The head row lock serialises appends per
-- tenant across every connection; a record whose event id is already in the ledger is skipped
-- (the writer compares it with what it sent).
create function audit.chain_event() returns trigger
language plpgsql as $$
declare
  head audit.chain_heads%rowtype;
begin
  insert into audit.chain_heads (tenant_id, sequence, hash)
    values (new.tenant_id, 0, audit.genesis_hash(new.tenant_id))
    on conflict (tenant_id) do nothing;
  select * into strict head from audit.chain_heads where tenant_id = new.tenant_id for update;
  if exists (select 1 from audit.events where event_id = new.event_id) then
    return null;
  end if;
  new.sequence := head.sequence + 1;
  new.prev_hash := head.hash;
  new.recorded_at := date_trunc('microseconds', clock_timestamp());
  new.occurred_at := date_trunc('microseconds', new.occurred_at);
  new.hash := audit.event_hash(new);
  update audit.chain_heads set sequence = new.sequence, hash = new.hash where tenant_id = new.tenant_id;
  return new;
end;
$$;

create trigger events_chain
  before insert on audit.events
  for each row execute function audit.chain_event();

-- Append-only: a record is never changed or removed.
create function audit.refuse_change() returns trigger
language plpgsql as $$
begin
  raise exception 'audit.% is append-only', tg_table_name using errcode = 'restrict_violation';
end;
$$;

create trigger events_append_only
  before update or delete on audit.events
  for each row execute function audit.refuse_change();

create trigger events_no_truncate
  before truncate on audit.events
  for each statement execute function audit.refuse_change();
