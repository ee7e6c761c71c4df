-- Protected ledgers and the one way around their protection. A ledger (audit.events,
-- outbox.effect_events, and these tables) is append-only for everyone, its owner included: the
-- guard trigger below refuses UPDATE and DELETE unless the session user holds an open, unexpired
-- break-glass session, and refuses TRUNCATE always. Inside a session every changed row is written
-- to break_glass.journal (before and after) and appended to the audit chain of '_system'; opening
-- and closing a session are audited by triggers on sessions and closures, whoever inserts them.
-- The schema and break_glass.schema_migrations are created by deploy/migrate.ts, which runs this
-- as selene_owner: every function here is owned by it. Role names are those of deploy/grants-matrix.ts.

-- One row per session, never changed: open until its closure row exists or expires_at passes.
create table break_glass.sessions (
  session_id text primary key default gen_random_uuid()::text,
  -- The login (session_user) that opened it: only that login may write through it.
  operator text not null check (operator <> ''),
  reason text not null check (length(btrim(reason)) >= 10),
  ticket text not null check (btrim(ticket) <> ''),
  opened_at timestamptz not null,
  expires_at timestamptz not null,
  check (expires_at > opened_at)
);

create index sessions_operator_idx on break_glass.sessions (operator, expires_at);

-- How a session ended: closed by its operator, or found expired by a later sweep.
create table break_glass.closures (
  session_id text primary key references break_glass.sessions (session_id),
  closed_at timestamptz not null,
  closed_by text not null check (closed_by <> ''),
  how text not null check (how in ('closed', 'expired'))
);

-- Every row a session changed in a protected ledger.
create table break_glass.journal (
  journal_id bigint generated always as identity primary key,
  session_id text not null references break_glass.sessions (session_id),
  at timestamptz not null,
  operator text not null,
  -- The role the operator had set (SET ROLE), 'none' when none.
  db_role text not null,
  ledger text not null,
  operation text not null check (operation in ('UPDATE', 'DELETE')),
  before jsonb not null,
  -- Null for a DELETE.
  after jsonb
);

create index journal_session_idx on break_glass.journal (session_id, journal_id);

-- The open session of `login`, if any. clock_timestamp(): a transaction that began before the
-- expiry still loses the right at the expiry.
create function break_glass.open_session_of(login text) returns break_glass.sessions
language sql stable security definer set search_path = pg_catalog, pg_temp as $$
  select s.* from break_glass.sessions s
  where s.operator = login and s.expires_at > clock_timestamp()
    and not exists (select 1 from break_glass.closures c where c.session_id = s.session_id)
  order by s.opened_at desc
  limit 1
$$;

-- Appends an operator record to the '_system' audit chain (gate OPERATOR = 12, decision PASS = 1).
create function break_glass.audit(event_id text, session_id text, attributes jsonb, payload bytea)
returns void
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
begin
  insert into audit.events (tenant_id, sequence, event_id, correlation_id, turn_id, gate, decision, reason,
                            input_digest, payload, attributes, actor, contract_version, occurred_at, recorded_at,
                            prev_hash, hash)
  values ('_system', 0, event_id, 'break-glass/' || session_id, '', 12, 1, 0,
          'sha256:' || encode(sha256(payload), 'hex'), payload, attributes, session_user, '1.0',
          clock_timestamp(), clock_timestamp(), 'sha256:' || repeat('0', 64), 'sha256:' || repeat('0', 64));
end;
$$;

-- The guard of every protected ledger. With the argument 'sealed' (the break-glass tables
-- themselves) there is no exception at all: no session may rewrite the record of what sessions did.
create function break_glass.guard_ledger() returns trigger
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  ledger text := tg_table_schema || '.' || tg_table_name;
  session break_glass.sessions;
  entry bigint;
  after_row jsonb;
begin
  if tg_op = 'TRUNCATE' then
    raise exception '% is a protected ledger (append-only): TRUNCATE is never allowed', ledger
      using errcode = 'restrict_violation';
  end if;
  if tg_nargs = 0 or tg_argv[0] <> 'sealed' then
    session := break_glass.open_session_of(session_user);
  end if;
  if session.session_id is null then
    raise exception '% is a protected ledger (append-only): % needs an open break-glass session', ledger, tg_op
      using errcode = 'restrict_violation', hint = 'see deploy/runbooks/break-glass.md';
  end if;
  after_row := case when tg_op = 'UPDATE' then to_jsonb(new) end;
  insert into break_glass.journal (session_id, at, operator, db_role, ledger, operation, before, after)
  values (session.session_id, clock_timestamp(), session_user, current_setting('role'), ledger, tg_op,
          to_jsonb(old), after_row)
  returning journal_id into entry;
  perform break_glass.audit(
    'break-glass/' || session.session_id || '/row/' || entry, session.session_id,
    jsonb_build_object('action', 'row_changed', 'session_id', session.session_id, 'ticket', session.ticket,
                       'ledger', ledger, 'operation', tg_op, 'journal_id', entry::text),
    convert_to(jsonb_build_object('before', to_jsonb(old), 'after', after_row)::text, 'UTF8'));
  return case when tg_op = 'DELETE' then old else new end;
end;
$$;

create function break_glass.audit_opened() returns trigger
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
begin
  perform break_glass.audit(
    'break-glass/' || new.session_id || '/opened', new.session_id,
    jsonb_build_object('action', 'opened', 'session_id', new.session_id, 'ticket', new.ticket,
                       'reason', new.reason, 'operator', new.operator,
                       'expires_at', to_char(new.expires_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')),
    convert_to(to_jsonb(new)::text, 'UTF8'));
  return null;
end;
$$;

create function break_glass.audit_closed() returns trigger
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  changed bigint;
begin
  select count(*) into changed from break_glass.journal where session_id = new.session_id;
  perform break_glass.audit(
    'break-glass/' || new.session_id || '/' || new.how, new.session_id,
    jsonb_build_object('action', new.how, 'session_id', new.session_id, 'closed_by', new.closed_by,
                       'rows_changed', changed::text),
    convert_to(to_jsonb(new)::text, 'UTF8'));
  return null;
end;
$$;

create trigger sessions_audit_opened after insert on break_glass.sessions
  for each row execute function break_glass.audit_opened();
create trigger closures_audit_closed after insert on break_glass.closures
  for each row execute function break_glass.audit_closed();

create trigger sessions_ledger_guard before update or delete on break_glass.sessions
  for each row execute function break_glass.guard_ledger('sealed');
create trigger sessions_ledger_no_truncate before truncate on break_glass.sessions
  for each statement execute function break_glass.guard_ledger('sealed');
create trigger closures_ledger_guard before update or delete on break_glass.closures
  for each row execute function break_glass.guard_ledger('sealed');
create trigger closures_ledger_no_truncate before truncate on break_glass.closures
  for each statement execute function break_glass.guard_ledger('sealed');
create trigger journal_ledger_guard before update or delete on break_glass.journal
  for each row execute function break_glass.guard_ledger('sealed');
create trigger journal_ledger_no_truncate before truncate on break_glass.journal
  for each statement execute function break_glass.guard_ledger('sealed');

-- Membership of selene_break_glass is what a session lends its operator; it is taken back at
-- close and by every sweep once no session of that operator is open. The guard does not rely on
-- it: a write after expires_at is refused even while the membership lingers.
create function break_glass.take_back(login text) returns void
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
begin
  if break_glass.open_session_of(login) is null
     and exists (select 1 from pg_auth_members m
                 where m.roleid = 'selene_break_glass'::regrole and m.member = (select oid from pg_roles where rolname = login)) then
    execute format('revoke selene_break_glass from %I', login);
  end if;
end;
$$;

-- Records the expiry of sessions that ran out without being closed, and takes memberships back.
create function break_glass.sweep() returns integer
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  expired record;
  swept integer := 0;
begin
  for expired in
    select s.session_id, s.operator, s.expires_at from break_glass.sessions s
    where s.expires_at <= clock_timestamp()
      and not exists (select 1 from break_glass.closures c where c.session_id = s.session_id)
    order by s.expires_at
    for update of s
  loop
    insert into break_glass.closures (session_id, closed_at, closed_by, how)
    values (expired.session_id, expired.expires_at, session_user, 'expired')
    on conflict (session_id) do nothing;
    perform break_glass.take_back(expired.operator);
    swept := swept + 1;
  end loop;
  return swept;
end;
$$;

-- Opens a session for the calling login: audited (by the trigger on sessions), at most one open
-- session per login, a TTL of at most four hours.
create function break_glass.open(reason text, ticket text, ttl interval) returns text
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  id text;
begin
  perform break_glass.sweep();
  if ttl is null or ttl <= interval '0' or ttl > interval '4 hours' then
    raise exception 'break-glass ttl must be more than 0 and at most 4 hours, got %', ttl
      using errcode = 'invalid_parameter_value';
  end if;
  if reason is null or length(btrim(reason)) < 10 then
    raise exception 'break-glass reason must say why in at least 10 characters' using errcode = 'invalid_parameter_value';
  end if;
  if ticket is null or btrim(ticket) = '' then
    raise exception 'break-glass needs a ticket' using errcode = 'invalid_parameter_value';
  end if;
  if (break_glass.open_session_of(session_user)).session_id is not null then
    raise exception 'login % already has an open break-glass session', session_user
      using errcode = 'object_in_use';
  end if;
  insert into break_glass.sessions (operator, reason, ticket, opened_at, expires_at)
  values (session_user, btrim(reason), btrim(ticket), clock_timestamp(), clock_timestamp() + ttl)
  returning session_id into id;
  if not (select rolsuper from pg_roles where rolname = session_user) then
    execute format('grant selene_break_glass to %I', session_user);
  end if;
  return id;
end;
$$;

-- Closes the calling login's open session (audited by the trigger on closures); returns its id,
-- or null when it had none open.
create function break_glass.close() returns text
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  session break_glass.sessions;
begin
  perform break_glass.sweep();
  session := break_glass.open_session_of(session_user);
  if session.session_id is null then
    return null;
  end if;
  insert into break_glass.closures (session_id, closed_at, closed_by, how)
  values (session.session_id, clock_timestamp(), session_user, 'closed');
  perform break_glass.take_back(session_user);
  return session.session_id;
end;
$$;

-- The sessions still open and the most recent closed ones, newest first.
create function break_glass.status()
returns table (session_id text, operator text, ticket text, reason text, opened_at timestamptz,
               expires_at timestamptz, closed_at timestamptz, state text, rows_changed bigint)
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
begin
  perform break_glass.sweep();
  return query
    select s.session_id, s.operator, s.ticket, s.reason, s.opened_at, s.expires_at, c.closed_at,
           coalesce(c.how, 'open'),
           (select count(*) from break_glass.journal j where j.session_id = s.session_id)
    from break_glass.sessions s left join break_glass.closures c on c.session_id = s.session_id
    order by s.opened_at desc
    limit 20;
end;
$$;
