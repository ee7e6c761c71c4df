-- audit.events joins the other protected ledgers: one guard (break_glass.guard_ledger) refuses
-- UPDATE, DELETE and TRUNCATE for everyone, owner included, except UPDATE and DELETE inside an
-- open break-glass session, which it journals and audits.
drop trigger events_append_only on audit.events;
drop trigger events_no_truncate on audit.events;
drop function audit.refuse_change();

create trigger events_ledger_guard before update or delete on audit.events
  for each row execute function break_glass.guard_ledger();
create trigger events_ledger_no_truncate before truncate on audit.events
  for each statement execute function break_glass.guard_ledger();

-- The chain triggers run as the owner, so a writer needs INSERT on audit.events only: it neither
-- writes audit.chain_heads nor calls the hashing functions with its own privileges.
alter function audit.chain_event() security definer set search_path = pg_catalog, pg_temp;
alter function audit.advance_heads() security definer set search_path = pg_catalog, pg_temp;
