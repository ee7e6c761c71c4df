-- Every outbox state change reaches the audit ledger through a relay (services/outbox/audit-relay.ts)
-- that reads outbox.effect_events in commit-safe order: by the inserting transaction's id, and only
-- transactions older than every running one, so an event committed late is never skipped.

-- The correlation id of the request that enqueued the effect, so replay finds its changes.
alter table outbox.effects add column correlation_id text not null default '';

alter table outbox.effect_events add column tx xid8 not null default pg_current_xact_id();
create index effect_events_relay_idx on outbox.effect_events (tx, event_id);

-- How far the relay got: one row, locked by the relay that works (one at a time across replicas).
create table outbox.audit_relay (
  singleton boolean primary key default true check (singleton),
  tx xid8 not null,
  event_id bigint not null
);
insert into outbox.audit_relay (singleton, tx, event_id) values (true, '0', 0);
