-- The audit ledger: one append-only, hash-chained list of events per tenant. The chain is built
-- here, in the database, by a trigger that holds the tenant's chain lock until commit: any number
-- of audit replicas (or a break-glass procedure written in SQL) append to one linear chain, and
-- every writer hashes the same way. Verifiers recompute the hashes outside the database
-- (services/audit/chain-hash.ts follows audit.event_hash below byte for byte).

-- The last record of each tenant's chain, kept by the statement trigger below: a verifier compares
-- the end of the chain with it, so removing the newest records shows.
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

-- The hash a chain starts from.
create function audit.genesis_hash(tenant text) returns text
language sql immutable strict as $$
  select 'sha256:' || encode(sha256(convert_to('selene.audit.v1/genesis/' || tenant, 'UTF8')), 'hex')
$$;

-- The hash of a record: sha256 over its fields in this order, each text or bytes field framed as
-- four bytes of big-endian length then the bytes (text as UTF-8), numbers big-endian (sequence
-- eight bytes; gate, decision, reason four), times as eight bytes of microseconds since the Unix
-- epoch. Attributes are a four-byte count, then each key's and value's frames in byte order of
-- the keys. (Written out inline: helper functions per field cost more than the hash.)
create function audit.event_hash(e audit.events) returns text
language plpgsql immutable as $$
declare
  prev bytea := convert_to(e.prev_hash, 'UTF8');
  tenant bytea := convert_to(e.tenant_id, 'UTF8');
  event_id bytea := convert_to(e.event_id, 'UTF8');
  correlation bytea := convert_to(e.correlation_id, 'UTF8');
  turn bytea := convert_to(e.turn_id, 'UTF8');
  digest bytea := convert_to(e.input_digest, 'UTF8');
  actor bytea := convert_to(e.actor, 'UTF8');
  version bytea := convert_to(e.contract_version, 'UTF8');
  attrs bytea := ''::bytea;
  attr_count integer := 0;
  k bytea;
  v bytea;
  pair record;
begin
  for pair in select key, value from jsonb_each_text(e.attributes) order by key collate "C" loop
    k := convert_to(pair.key, 'UTF8');
    v := convert_to(pair.value, 'UTF8');
    attrs := attrs || int4send(octet_length(k)) || k || int4send(octet_length(v)) || v;
    attr_count := attr_count + 1;
  end loop;
  return 'sha256:' || encode(sha256(
    int4send(octet_length(prev)) || prev || int4send(octet_length(tenant)) || tenant || int8send(e.sequence)
    || int4send(octet_length(event_id)) || event_id || int4send(octet_length(correlation)) || correlation
    || int4send(octet_length(turn)) || turn
    || int4send(e.gate::integer) || int4send(e.decision::integer) || int4send(e.reason)
    || int4send(octet_length(digest)) || digest || int4send(octet_length(e.payload)) || e.payload
    || int4send(attr_count) || attrs
    || int4send(octet_length(actor)) || actor || int4send(octet_length(version)) || version
    || int8send((extract(epoch from e.occurred_at) * 1000000)::bigint)
    || int8send((extract(epoch from e.recorded_at) * 1000000)::bigint)
  ), 'hex');
end;
$$;

-- Places a new record at the end of its tenant's chain. A transaction-scoped advisory lock per
-- tenant serialises appends to one chain across every connection until commit; the chain's end is
-- read from the primary key (rows inserted earlier by the same statement are visible here), so a
-- record costs no update of a shared row. A record whose event id is already in the ledger is
-- skipped (the writer compares it with what it sent).
create function audit.chain_event() returns trigger
language plpgsql as $$
declare
  last_sequence bigint;
  last_hash text;
begin
  perform pg_advisory_xact_lock(hashtextextended('selene.audit.chain/' || new.tenant_id, 0));
  if exists (select 1 from audit.events where event_id = new.event_id) then
    return null;
  end if;
  select e.sequence, e.hash into last_sequence, last_hash
    from audit.events e where e.tenant_id = new.tenant_id order by e.sequence desc limit 1;
  new.sequence := coalesce(last_sequence, 0) + 1;
  new.prev_hash := coalesce(last_hash, audit.genesis_hash(new.tenant_id));
  new.recorded_at := date_trunc('microseconds', clock_timestamp());
  new.occurred_at := date_trunc('microseconds', new.occurred_at);
  new.hash := audit.event_hash(new);
  return new;
end;
$$;

create trigger events_chain
  before insert on audit.events
  for each row execute function audit.chain_event();

-- Moves each touched chain's head to its last record, once per statement.
create function audit.advance_heads() returns trigger
language plpgsql as $$
begin
  insert into audit.chain_heads (tenant_id, sequence, hash)
    select distinct on (tenant_id) tenant_id, sequence, hash
    from inserted order by tenant_id, sequence desc
  on conflict (tenant_id) do update set sequence = excluded.sequence, hash = excluded.hash;
  return null;
end;
$$;

create trigger events_heads
  after insert on audit.events
  referencing new table as inserted
  for each statement execute function audit.advance_heads();

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
