/**
 * The audit ledger in PostgreSQL (schema `audit`). The database places each
 * record in its tenant's chain (a trigger under the head row's lock); this
 * module inserts, reads and verifies. Appends are idempotent by event id: an
 * event id seen before returns the stored record when the content is the same
 * and AUDIT_EVENT_CONFLICT when it is not.
 */
import { create, equals } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type pg from "pg";
import {
  type AuditEvent,
  AuditEventSchema,
  type AuditRecord,
  AuditRecordSchema,
} from "../../gen/es/selene/audit/v1/audit_pb.js";
import { ReasonCode } from "../../gen/es/selene/kernel/v1/reason_pb.js";
import { type ChainVerdict, type StoredLink, verifyChain } from "../runtime/audit-chain/chain-hash.js";
import { inTransaction } from "../runtime/in-transaction.js";
import { SeleneError } from "../runtime/selene-error.js";

/** One event to append. */
export interface LedgerEntry {
  readonly tenantId: string;
  readonly correlationId: string;
  readonly turnId: string;
  readonly event: AuditEvent;
  readonly contractVersion: string;
}

/** A page query. */
export interface ListQuery {
  /** Empty: every tenant (then correlationId must be set). */
  readonly tenantId: string;
  readonly correlationId: string;
  readonly afterSequence: bigint;
  readonly pageSize: number;
}

/** Where an appended entry is. */
export interface Appended {
  readonly tenantId: string;
  readonly eventId: string;
  readonly sequence: bigint;
  readonly hash: string;
}

/** The ledger. */
export interface AuditLedger {
  append(entries: readonly LedgerEntry[]): Promise<Appended[]>;
  /** The stored record of an event id. */
  record(eventId: string): Promise<AuditRecord | undefined>;
  list(query: ListQuery): Promise<AuditRecord[]>;
  chains(): Promise<{ tenantId: string; sequence: bigint; hash: string }[]>;
  verify(tenantId: string, onProgress?: (checked: bigint) => void): Promise<ChainVerdict>;
}

interface Row {
  tenant_id: string;
  sequence: string;
  event_id: string;
  correlation_id: string;
  turn_id: string;
  gate: number;
  decision: number;
  reason: number;
  input_digest: string;
  payload: Buffer;
  attributes: Record<string, string>;
  actor: string;
  contract_version: string;
  occurred_us: string;
  recorded_us: string;
  prev_hash: string;
  hash: string;
}

const COLUMNS = `tenant_id, sequence::text as sequence, event_id, correlation_id, turn_id, gate, decision, reason,
  input_digest, payload, attributes, actor, contract_version,
  (extract(epoch from occurred_at) * 1000000)::bigint::text as occurred_us,
  (extract(epoch from recorded_at) * 1000000)::bigint::text as recorded_us, prev_hash, hash`;

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

function timestampOfMicros(us: bigint) {
  const ts = timestampFromMs(Number(us / 1000n));
  ts.nanos = Number(((us % 1_000_000n) + 1_000_000n) % 1_000_000n) * 1000;
  return ts;
}

function linkOf(row: Row): StoredLink {
  return {
    prevHash: row.prev_hash,
    tenantId: row.tenant_id,
    sequence: BigInt(row.sequence),
    eventId: row.event_id,
    correlationId: row.correlation_id,
    turnId: row.turn_id,
    gate: row.gate,
    decision: row.decision,
    reason: row.reason,
    inputDigest: row.input_digest,
    payload: row.payload,
    attributes: row.attributes,
    actor: row.actor,
    contractVersion: row.contract_version,
    occurredAtMicros: BigInt(row.occurred_us),
    recordedAtMicros: BigInt(row.recorded_us),
    hash: row.hash,
  };
}

function recordOf(row: Row): AuditRecord {
  return create(AuditRecordSchema, {
    tenantId: row.tenant_id,
    correlationId: row.correlation_id,
    turnId: row.turn_id,
    sequence: BigInt(row.sequence),
    event: {
      eventId: row.event_id,
      gate: row.gate,
      decision: row.decision,
      reason: row.reason,
      actor: row.actor,
      occurredAt: timestampOfMicros(BigInt(row.occurred_us)),
      attributes: row.attributes,
      inputDigest: row.input_digest,
      payload: new Uint8Array(row.payload),
    },
    prevHash: row.prev_hash,
    hash: row.hash,
    recordedAt: timestampOfMicros(BigInt(row.recorded_us)),
    contractVersion: row.contract_version,
  });
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

/** Records read per page when verifying. */
const VERIFY_PAGE = 1000;

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
 * Inserts `entries` in one transaction. Returns the place of every new record, and the stored row
 * of every event id that was in the ledger before (to compare with what was sent).
 */
async function insertAll(
  pool: pg.Pool,
  entries: readonly LedgerEntry[],
): Promise<{ inserted: Map<string, InsertedRow>; earlier: Map<string, Row> }> {
  // Chains are independent: ordering by tenant (stably, so each chain keeps the callers' order)
  // makes concurrent transactions lock head rows in one order and never deadlock.
  const ordered = [...entries].sort((a, b) => (a.tenantId < b.tenantId ? -1 : a.tenantId > b.tenantId ? 1 : 0));
  return inTransaction(pool, async (client) => {
    const result = await client.query<InsertedRow>(INSERT, [
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
    ]);
    const inserted = new Map(result.rows.map((row) => [row.event_id, row]));
    const earlier = new Map<string, Row>();
    const missing = [...new Set(entries.map((x) => x.event.eventId))].filter((id) => !inserted.has(id));
    if (missing.length > 0) {
      const rows = await client.query<Row>(`select ${COLUMNS} from audit.events where event_id = any($1)`, [missing]);
      for (const row of rows.rows) earlier.set(row.event_id, row);
    }
    return { inserted, earlier };
  });
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
    append(entries) {
      return new Promise<Appended[]>((resolve, reject) => {
        queue.push({ entries, resolve, reject });
        if (!writing) void drain();
      });
    },

    async record(eventId) {
      const rows = await pool.query<Row>(`select ${COLUMNS} from audit.events where event_id = $1`, [eventId]);
      return rows.rows[0] === undefined ? undefined : recordOf(rows.rows[0]);
    },

    async list(query) {
      const where: string[] = [];
      const params: unknown[] = [];
      if (query.tenantId !== "") {
        params.push(query.tenantId);
        where.push(`tenant_id = $${params.length}`);
        params.push(query.afterSequence.toString());
        where.push(`sequence > $${params.length}::bigint`);
      }
      if (query.correlationId !== "") {
        params.push(query.correlationId);
        where.push(`correlation_id = $${params.length}`);
      }
      params.push(query.pageSize);
      const sql = `select ${COLUMNS} from audit.events where ${where.join(" and ")}
        order by events.tenant_id collate "C", events.sequence limit $${params.length}`;
      return (await pool.query<Row>(sql, params)).rows.map(recordOf);
    },

    async chains() {
      const rows = await pool.query<{ tenant_id: string; sequence: string; hash: string }>(
        `select tenant_id, sequence::text as sequence, hash from audit.chain_heads order by tenant_id collate "C"`,
      );
      return rows.rows.map((r) => ({ tenantId: r.tenant_id, sequence: BigInt(r.sequence), hash: r.hash }));
    },

    async verify(tenantId, onProgress) {
      const heads = await pool.query<{ sequence: string; hash: string }>(
        "select sequence::text as sequence, hash from audit.chain_heads where tenant_id = $1",
        [tenantId],
      );
      const h = heads.rows[0];
      const head = h === undefined ? undefined : { sequence: BigInt(h.sequence), hash: h.hash };
      const readPage = async (after: bigint) =>
        (
          await pool.query<Row>(
            `select ${COLUMNS} from audit.events where tenant_id = $1 and events.sequence > $2::bigint order by events.sequence limit $3`,
            [tenantId, after.toString(), VERIFY_PAGE],
          )
        ).rows.map(linkOf);
      return verifyChain(tenantId, readPage, VERIFY_PAGE, head, onProgress);
    },
  };
}
