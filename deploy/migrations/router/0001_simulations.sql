-- Simulations: the dry-run of an effectful intent that a confirmation turn may commit.
-- The schema and router.schema_migrations are created by deploy/migrate.ts.

create table router.simulations (
  simulation_id text primary key,
  tenant_id text not null check (tenant_id <> ''),
  user_id text not null check (user_id <> ''),
  capability text not null check (capability <> ''),
  fields jsonb not null check (jsonb_typeof(fields) = 'object'),
  effect_digest text not null check (effect_digest ~ '^sha256:[0-9a-f]{64}$'),
  preview jsonb not null,
  status text not null default 'active' check (status in ('active', 'confirmed', 'declined', 'expired')),
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  turn_correlation_id text not null,
  check (expires_at > created_at)
);

-- Every read is scoped by tenant.
create index simulations_tenant_simulation_idx on router.simulations (tenant_id, simulation_id);

-- The expiry sweep only looks at simulations still waiting for a confirmation.
create index simulations_active_expiry_idx on router.simulations (expires_at) where status = 'active';
