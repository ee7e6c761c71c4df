/**
 * The audit ledger in PostgreSQL (schema `audit`). The database places each
 * record in its tenant's chain (a trigger under the head row's lock); this
 * module inserts (ledger-reads.ts reads and verifies). Appends are idempotent by event id: an
 * event id seen before returns the stored record when the content is the same
 * and AUDIT_EVENT_CONFLICT when it is not.
 */
import { equals } from "@bufbuild/protobuf";
import type pg from "pg";
import { type AuditEvent, AuditEventSchema } from "../../gen/es/selene/audit/v1/audit_pb.js";
import { ReasonCode } from "../../gen/es/selene/kernel/v1/reason_pb.js";
import { SeleneError } from "../runtime/selene-error.js";
import { COLUMNS, createLedgerReads, type LedgerReads, type Row } from "./ledger-reads.js";

/** One event to append. */
export interface LedgerEntry {
  readonly tenantId: string;
  readonly correlationId: string;
  readonly turnId: string;
  readonly event: AuditEvent;
  readonly contractVersion: string;
}

/** Where an appended entry is. */
export interface Appended {
  readonly tenantId: string;
  readonly eventId: string;
  readonly sequence: bigint;
  readonly hash: string;
}

/** The ledger: appends, and the reads of ledger-reads.ts. */
export interface AuditLedger extends LedgerReads {
  append(entries: readonly LedgerEntry[]): Promise<Appended[]>;
}

/** Microseconds since the epoch of a protobuf Timestamp, truncated as the database stores it. */
function micros(event: AuditEvent): bigint {
  const at = event.occurredAt;
  return at === undefined ? 0n : at.seconds * 1_000_000n + BigInt(Math.floor(at.nanos / 1000));
}

function isoOfMicros(us: bigint): string {
  const ms = us / 1000n;
  const rest = (((us % 1000n) + 1000n) % 1000n).toString().padStart(3, "0");
  return new Date(Number(ms)).toISOString().replace("Z", `${rest}Z`);
}

function sameContent(row: Row, entry: LedgerEntry): boolean {
  const e = entry.event;
  const attributes = (a: Record<string, string>) => JSON.stringify(Object.entries(a).sort());
  return (
    row.tenant_id === entry.tenantId &&
    row.correlation_id === entry.correlationId &&
    row.turn_id === entry.turnId &&
    row.gate === e.gate &&
    row.decision === e.decision &&
    row.reason === e.reason &&
    row.input_digest === e.inputDigest &&
    Buffer.compare(row.payload, Buffer.from(e.payload)) === 0 &&
    attributes(row.attributes) === attributes(e.attributes) &&
    row.actor === e.actor
  );
}

const INSERT = `insert into audit.events (tenant_id, sequence, event_id, correlation_id, turn_id, gate, decision,
    reason, input_digest, payload, attributes, actor, contract_version, occurred_at, recorded_at, prev_hash, hash)
  select t, 0, id, c, turn, g, d, r, dig, p, a::jsonb, act, v, o::timestamptz, now(), $14, $14
  from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::smallint[], $6::smallint[], $7::integer[],
              $8::text[], $9::bytea[], $10::text[], $11::text[], $12::text[], $13::text[])
       with ordinality as e(t, id, c, turn, g, d, r, dig, p, a, act, v, o, n)
  order by n
  returning tenant_id, sequence::text as sequence, event_id, hash`;

/** A placeholder the trigger overwrites (the column checks run after it). */
const PLACEHOLDER_HASH = `sha256:${"0".repeat(64)}`;

/** Entries written in one transaction at most (a group of concurrent appends). */
const MAX_GROUP = 1000;

/** One caller's append, waiting for its group's commit. */
interface Job {
  readonly entries: readonly LedgerEntry[];
  readonly resolve: (appended: Appended[]) => void;
  readonly reject: (error: unknown) => void;
}

/** What an insert returns of a new record. */
type InsertedRow = Pick<Row, "tenant_id" | "sequence" | "event_id" | "hash">;

/**
 * Inserts `entries` in one statement (one transaction). Returns the place of every new record, and the stored row
 * of every event id that was in the ledger before (to compare with what was sent).
 */
async function insertAll(
  pool: pg.Pool,
  entries: readonly LedgerEntry[],
): Promise<{ inserted: Map<string, InsertedRow>; earlier: Map<string, Row> }> {
  // Chains are independent: ordering by tenant (stably, so each chain keeps the callers' order)
  // makes concurrent transactions lock head rows in one order and never deadlock.
  const ordered = [...entries].sort((a, b) => (a.tenantId < b.tenantId ? -1 : a.tenantId > b.tenantId ? 1 : 0));
  // One statement is its own transaction: atomic, and committed (durably) before it returns, as a
  // BEGIN ... COMMIT around it was, with two round trips fewer. Named: parsed and planned once per
  // connection.
  const result = await pool.query<InsertedRow>({
    name: "audit-append",
    text: INSERT,
    values: [
      ordered.map((x) => x.tenantId),
      ordered.map((x) => x.event.eventId),
      ordered.map((x) => x.correlationId),
      ordered.map((x) => x.turnId),
      ordered.map((x) => x.event.gate),
      ordered.map((x) => x.event.decision),
      ordered.map((x) => x.event.reason),
      ordered.map((x) => x.event.inputDigest),
      ordered.map((x) => Buffer.from(x.event.payload)),
      ordered.map((x) => JSON.stringify(x.event.attributes)),
      ordered.map((x) => x.event.actor),
      ordered.map((x) => x.contractVersion),
      ordered.map((x) => isoOfMicros(micros(x.event))),
      PLACEHOLDER_HASH,
    ],
  });
  const inserted = new Map(result.rows.map((row) => [row.event_id, row]));
  const earlier = new Map<string, Row>();
  const missing = [...new Set(entries.map((x) => x.event.eventId))].filter((id) => !inserted.has(id));
  if (missing.length > 0) {
    // Records are never changed: read after the insert, they are what was there before it.
    const rows = await pool.query<Row>(`select ${COLUMNS} from audit.events where event_id = any($1)`, [missing]);
    for (const row of rows.rows) earlier.set(row.event_id, row);
  }
  return { inserted, earlier };
}

/**
 * Where one caller's entries are, or AUDIT_EVENT_CONFLICT for an id stored before with other
 * content. An id new in this group was inserted from the first entry that carried it: a later one
 * with the same id must carry the same content.
 */
function settle(
  entries: readonly LedgerEntry[],
  rows: { inserted: ReadonlyMap<string, InsertedRow>; earlier: ReadonlyMap<string, Row> },
  firstOf: ReadonlyMap<string, LedgerEntry>,
): Appended[] {
  return entries.map((entry) => {
    const id = entry.event.eventId;
    const inserted = rows.inserted.get(id);
    const earlier = rows.earlier.get(id);
    const same =
      inserted !== undefined
        ? firstOf.get(id) === entry || sameEntry(firstOf.get(id)!, entry)
        : earlier !== undefined && sameContent(earlier, entry);
    const row = inserted ?? earlier;
    if (row === undefined || !same) {
      throw new SeleneError(
        ReasonCode.AUDIT_EVENT_CONFLICT,
        `event ${entry.event.eventId} was appended before with different content`,
        { fieldPath: "entries.event.event_id" },
      );
    }
    return { tenantId: row.tenant_id, eventId: id, sequence: BigInt(row.sequence), hash: row.hash };
  });
}

function sameEntry(a: LedgerEntry, b: LedgerEntry): boolean {
  return (
    a.tenantId === b.tenantId &&
    a.correlationId === b.correlationId &&
    a.turnId === b.turnId &&
    equals(AuditEventSchema, a.event, b.event)
  );
}

/**
 * Creates the ledger over `pool`. Appends are group-committed: while one transaction is in
 * flight, the appends that arrive wait and then go together in the next one. A tenant's chain
 * is serialised by its head row's lock for as long as a transaction holds it, commit included,
 * so one commit per append would bound a tenant to one append per commit latency; a group
 * shares that cost.
 */
export function createAuditLedger(pool: pg.Pool): AuditLedger {
  const queue: Job[] = [];
  let writing = false;

  async function writeGroup(jobs: readonly Job[]): Promise<void> {
    try {
      const entries = jobs.flatMap((job) => job.entries);
      const rows = await insertAll(pool, entries);
      const firstOf = new Map<string, LedgerEntry>();
      for (const entry of entries) if (!firstOf.has(entry.event.eventId)) firstOf.set(entry.event.eventId, entry);
      for (const job of jobs) {
        try {
          job.resolve(settle(job.entries, rows, firstOf));
        } catch (error) {
          job.reject(error);
        }
      }
    } catch (error) {
      // One bad append must not fail its neighbours: alone, each gets its own verdict.
      if (jobs.length === 1) jobs[0]!.reject(error);
      else for (const job of jobs) await writeGroup([job]);
    }
  }

  async function drain(): Promise<void> {
    writing = true;
    try {
      while (queue.length > 0) {
        const group: Job[] = [];
        let size = 0;
        while (queue.length > 0 && (group.length === 0 || size + queue[0]!.entries.length <= MAX_GROUP)) {
          const job = queue.shift()!;
          group.push(job);
          size += job.entries.length;
        }
        await writeGroup(group);
      }
    } finally {
      writing = false;
    }
  }

  return {
    ...createLedgerReads(pool),
    append(entries) {
      return new Promise<Appended[]>((resolve, reject) => {
        queue.push({ entries, resolve, reject });
        if (!writing) void drain();
      });
    },
  };
}
