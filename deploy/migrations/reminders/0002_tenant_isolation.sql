-- Row-level security on a tenant table, keyed on the per-transaction setting selene.tenant_id
-- (services/runtime/in-tenant-transaction.ts): the reminders role sees and writes only the rows of
-- the tenant its transaction is set for, and none when it set none. The owner (migrations) is not
-- subject to it; read-only operators (selene_sre) read every tenant.
alter table reminders.reminders enable row level security;

create policy reminders_tenant_isolation on reminders.reminders
  using (tenant_id = current_setting('selene.tenant_id', true))
  with check (tenant_id = current_setting('selene.tenant_id', true));

create policy reminders_operators_read on reminders.reminders
  for select to selene_sre
  using (true);
