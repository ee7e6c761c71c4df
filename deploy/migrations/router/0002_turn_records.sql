-- Turn-level idempotency: one record per (tenant, idempotency key). The first request with a key
-- claims it (in_flight); its outcome is stored when it completes (done) and replayed to every
-- later request with the same key and the same request digest. A claim whose owner crashed
-- lapses at claimed_until and may be taken over. Records are purged after expires_at.

create table router.turn_records (
  tenant_id text not null check (tenant_id <> ''),
  idempotency_key text not null check (idempotency_key <> ''),
  request_digest text not null check (request_digest ~ '^sha256:[0-9a-f]{64}$'),
  state text not null check (state in ('in_flight', 'done')),
  -- The stored outcome: a serialized SubmitTurnResponse, or a serialized RpcStatus for an error.
  response bytea,
  error bytea,
  claimed_until timestamptz not null,
  created_at timestamptz not null default now(),
  completed_at timestamptz,
  expires_at timestamptz not null,
  primary key (tenant_id, idempotency_key),
  check (state = 'in_flight' or (completed_at is not null and (response is not null) <> (error is not null)))
);

-- The retention job deletes by expiry.
create index turn_records_expiry_idx on router.turn_records (expires_at);
