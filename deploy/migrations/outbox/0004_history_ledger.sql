-- outbox.effect_events becomes a protected ledger: it keeps its rows when the retention job
-- deletes a finished effect (no more ON DELETE CASCADE), and one guard (break_glass.guard_ledger)
-- refuses UPDATE, DELETE and TRUNCATE for everyone, owner included, outside break-glass.
alter table outbox.effect_events drop constraint effect_events_effect_id_fkey;

drop trigger effect_events_append_only on outbox.effect_events;
drop function outbox.refuse_event_update();

create trigger effect_events_ledger_guard before update or delete on outbox.effect_events
  for each row execute function break_glass.guard_ledger();
create trigger effect_events_ledger_no_truncate before truncate on outbox.effect_events
  for each statement execute function break_glass.guard_ledger();
