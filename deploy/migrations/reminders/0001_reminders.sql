-- The reminders engine's state: the reminders themselves and the idempotency keys of every commit.
-- The schema and reminders.schema_migrations are created by deploy/migrate.ts.

create table reminders.reminders (
  -- 'r-' + the first 12 hex digits of sha256(tenant_id || '\n' || idempotency_key): a replay gets the same id.
  id text primary key check (id ~ '^r-[0-9a-f]{12}$'),
  tenant_id text not null check (tenant_id <> ''),
  user_id text not null check (user_id <> ''),
  text text not null check (text <> ''),
  -- The normalised `when` expression, such as 'tomorrow 17:00' or '+PT20M'.
  due text not null check (due <> ''),
  status text not null default 'active' check (status in ('active', 'cancelled')),
  created_at timestamptz not null default now(),
  cancelled_at timestamptz,
  check ((status = 'cancelled') = (cancelled_at is not null))
);

create index reminders_tenant_user_idx on reminders.reminders (tenant_id, user_id, created_at, id);

-- One row per (tenant, idempotency key) that produced an effect, written in the effect's own
-- transaction: a replay returns the stored result instead of acting twice.
create table reminders.processed_keys (
  tenant_id text not null check (tenant_id <> ''),
  idempotency_key text not null check (idempotency_key <> ''),
  -- Digest of the request (user and effect digest): the same key with another request is refused.
  request_digest text not null,
  effect_id text not null,
  result jsonb not null,
  committed_at timestamptz,
  primary key (tenant_id, idempotency_key)
);
