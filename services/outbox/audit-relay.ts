/**
 * The relay of outbox state changes to the audit ledger. It reads
 * outbox.effect_events after its cursor, in the order of the transactions
 * that wrote them and only from transactions older than every running one
 * (an event that commits late is never passed over), appends them in one
 * idempotent batch, then moves the cursor in the same database transaction:
 * a crash between the append and the commit sends the batch again, and the
 * ledger stores each event id once. An effect's creation is recorded with its
 * first lease (the creation itself writes no event, to keep Enqueue to one
 * INSERT).
 */
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type pg from "pg";
import { type AuditEntry, AuditEntrySchema, Decision, Gate } from "../../gen/es/selene/audit/v1/audit_pb.js";
import { ReasonCode } from "../../gen/es/selene/kernel/v1/reason_pb.js";
import type { AuditClient } from "../runtime/audit-client.js";
import { CURRENT_CONTRACT_VERSION } from "../runtime/contract-version.js";
import { createIdleBackoff } from "../runtime/idle-backoff.js";
import { inTransaction } from "../runtime/in-transaction.js";
import type { Logger } from "../runtime/logger.js";

/** One relayed change. */
interface EventRow {
  event_id: string;
  tx: string;
  effect_id: string;
  from_state: string | null;
  to_state: string;
  attempt: number;
  reason: number;
  error: string;
  at: Date;
  tenant_id: string;
  correlation_id: string;
  effect_type: string;
  simulation_id: string;
  created_at: Date;
}

const BATCH = 30; // two records for a first lease: stays within AppendEvents' 64

const READ = `
select ev.event_id::text as event_id, ev.tx::text as tx, ev.effect_id, ev.from_state, ev.to_state, ev.attempt,
       ev.reason, ev.error, ev.at, e.tenant_id, e.correlation_id, e.effect_type, e.simulation_id, e.created_at
from outbox.effect_events ev
join outbox.effects e using (effect_id)
where (ev.tx, ev.event_id) > ($1::xid8, $2::bigint)
  and ev.tx < pg_snapshot_xmin(pg_current_snapshot())
order by ev.tx, ev.event_id
limit $3`;

/** The audit records of one change. */
export function entriesOf(row: EventRow, actor: string): AuditEntry[] {
  const correlationId = row.correlation_id || row.effect_id;
  const idBase = `outbox/${row.tenant_id}/${row.effect_id}`;
  const common = {
    effect_id: row.effect_id,
    effect_type: row.effect_type,
    simulation_id: row.simulation_id,
  };
  const entry = (
    eventId: string,
    gate: Gate,
    decision: Decision,
    reason: number,
    at: Date,
    attributes: Record<string, string>,
  ) =>
    create(AuditEntrySchema, {
      tenantId: row.tenant_id,
      correlationId,
      turnId: "",
      event: { eventId, gate, decision, reason, actor, occurredAt: timestampFromDate(at), attributes },
    });
  const entries: AuditEntry[] = [];
  if (row.from_state === "pending" && row.to_state === "leased" && row.attempt === 1) {
    entries.push(
      entry(`${idBase}/enqueued`, Gate.COMMIT, Decision.PASS, ReasonCode.UNSPECIFIED, row.created_at, {
        ...common,
        to_state: "pending",
      }),
    );
  }
  const operator = row.from_state === "dead_letter" || row.to_state === "discarded";
  const failed = row.to_state === "dead_letter" || (row.from_state === "leased" && row.to_state === "pending");
  entries.push(
    entry(
      `${idBase}/${row.event_id}`,
      operator ? Gate.OPERATOR : Gate.COMMIT,
      failed ? Decision.FAIL : Decision.PASS,
      row.reason,
      row.at,
      {
        ...common,
        from_state: row.from_state ?? "",
        to_state: row.to_state,
        attempt: String(row.attempt),
        ...(row.error === "" ? {} : { error: row.error.slice(0, 1024) }),
      },
    ),
  );
  return entries;
}

/**
 * Relays one batch of what is due now, in one database transaction holding the cursor; resolves
 * with the number of changes relayed.
 */
export async function relayOnce(
  pool: pg.Pool,
  audit: AuditClient,
  options: Pick<AuditRelayOptions, "actor" | "callTimeoutMs">,
): Promise<number> {
  return inTransaction(pool, async (client) => {
    const cursor = await client.query<{ tx: string; event_id: string }>(
      "select tx::text as tx, event_id::text as event_id from outbox.audit_relay for update",
    );
    const { tx, event_id } = cursor.rows[0]!;
    const rows = await client.query<EventRow>(READ, [tx, event_id, BATCH]);
    if (rows.rows.length === 0) return 0;
    await audit.call(
      "appendEvents",
      {
        envelope: { contractVersion: CURRENT_CONTRACT_VERSION, correlationId: "outbox-audit-relay" },
        entries: rows.rows.flatMap((row) => entriesOf(row, options.actor)),
      },
      { deadline: Date.now() + options.callTimeoutMs, correlationId: "outbox-audit-relay" },
    );
    const last = rows.rows[rows.rows.length - 1]!;
    await client.query("update outbox.audit_relay set tx = $1::xid8, event_id = $2::bigint", [last.tx, last.event_id]);
    return rows.rows.length;
  });
}

/** The running relay. */
export interface AuditRelay {
  /** Relays now instead of at the end of the idle pause: this process has just written changes. */
  poke(): void;
  stop(): Promise<void>;
}

/** Options of the relay. */
export interface AuditRelayOptions {
  /** The outbox's SPIFFE id: the actor of every record. */
  readonly actor: string;
  /** The pause after a batch or a poke, ms; empty reads after it double the pause up to maxIdleMs. */
  readonly idleMs: number;
  readonly maxIdleMs: number;
  readonly callTimeoutMs: number;
}

/**
 * Starts relaying: at once again after a full batch; when poked, `idleMs` after the last read at
 * the latest; else after a pause of `idleMs` that doubles with every empty read up to `maxIdleMs`.
 * A poke comes from this process's own writes; a change a read cannot see yet (its transaction is
 * newer than one still running) or another replica's comes with a later read, at most `maxIdleMs`
 * after the last.
 */
export function startAuditRelay(
  pool: pg.Pool,
  audit: AuditClient,
  logger: Logger,
  options: AuditRelayOptions,
): AuditRelay {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> = Promise.resolve();
  let failures = 0;
  let relaying = false;
  /** When the pending timer fires, and when the last read ended (performance.now()). */
  let dueAt = 0;
  let lastEnded = 0;
  const idle = createIdleBackoff({ minMs: options.idleMs, maxMs: options.maxIdleMs });

  function schedule(delay: number): void {
    if (stopped) return;
    dueAt = performance.now() + delay;
    timer = setTimeout(() => {
      relaying = true;
      running = relayOnce(pool, audit, options).then(
        (n) => {
          relaying = false;
          lastEnded = performance.now();
          if (failures > 0) logger.info({ after_failures: failures }, "audit relay recovered");
          failures = 0;
          // After a poke during the read (the backoff was reset), the next read is idleMs away.
          schedule(n === BATCH ? 0 : idle.next(n));
        },
        (err: unknown) => {
          relaying = false;
          lastEnded = performance.now();
          failures += 1;
          // Said once per outage, then every 50th try; the changes wait in the outbox meanwhile.
          if (failures === 1 || failures % 50 === 0)
            logger.warn({ err, failures }, "audit relay cannot append; will retry");
          schedule(Math.min(options.idleMs * 2 ** Math.min(failures, 5), 5000));
        },
      );
    }, delay);
  }
  schedule(0);

  return {
    poke() {
      idle.reset();
      // Reading: the next read comes idleMs after it. Failing: its backoff stands.
      if (relaying || failures > 0 || stopped) return;
      // Waiting: read idleMs after the last read at the latest, so a busy outbox reads no more
      // often than it did before pokes (every idleMs) and an idle one reads as soon as it writes.
      const target = Math.max(performance.now(), lastEnded + options.idleMs);
      if (target >= dueAt) return;
      clearTimeout(timer);
      schedule(target - performance.now());
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
