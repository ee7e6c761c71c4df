/** Audit records written the way the audit service writes them, for tests of the ledger's protection. */

const ZERO_HASH = `sha256:${"0".repeat(64)}`;

/** An audit record for `tenant` (the trigger chains it). */
export const INSERT_AUDIT_EVENT = `insert into audit.events (tenant_id, sequence, event_id, correlation_id, turn_id,
  gate, decision, reason, input_digest, payload, attributes, actor, contract_version, occurred_at, recorded_at,
  prev_hash, hash)
  values ($1, 0, $2, 'c-1', 't-1', 1, 1, 0, '', '\\x01'::bytea, '{}', 'spiffe://selene.test/router', '1.0', now(),
  now(), '${ZERO_HASH}', '${ZERO_HASH}')`;
