-- The payload digest check without a bounded repetition, as audit/0003_digest_checks.sql: the
-- same strings accepted, in about a tenth of the regex engine's time per enqueue.
alter table outbox.effects
  drop constraint effects_payload_digest_check,
  add constraint effects_payload_digest_check check (
    length(payload_digest) = 71 and starts_with(payload_digest, 'sha256:') and substr(payload_digest, 8) !~ '[^0-9a-f]'
  );
