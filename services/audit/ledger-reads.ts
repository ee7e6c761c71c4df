/**
 * The audit ledger's reads: one record, pages of a tenant's or a correlation
 * id's records and of chain heads (each bounded by count and by response
 * size, services/runtime/response-page.ts), and the verification of a chain
 * from the rows themselves.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type pg from "pg";
import { type AuditRecord, AuditRecordSchema, ChainHeadSchema } from "../../gen/es/selene/audit/v1/audit_pb.js";
import { type ChainVerdict, type StoredLink, verifyChain } from "../runtime/audit-chain/chain-hash.js";
import { fitPage, PAGE_ITEMS_BYTES } from "../runtime/response-page.js";

/** A place in the ledger's order (tenant id in byte order, then sequence). */
export interface LedgerPosition {
  readonly tenantId: string;
  readonly sequence: bigint;
}

/** A page query. */
export interface ListQuery {
  /** Empty: every tenant (then correlationId must be set). */
  readonly tenantId: string;
  readonly correlationId: string;
  /** Records after this place; undefined: from the start. */
  readonly after: LedgerPosition | undefined;
  readonly pageSize: number;
}

/** One page of records: at most the page size, and no more than fit one response. */
export interface RecordPage {
  readonly records: AuditRecord[];
  /** Where the next page starts; undefined when this is the last. */
  readonly next: LedgerPosition | undefined;
}

/** The head of one chain. */
export interface ChainHeadRow {
  readonly tenantId: string;
  readonly sequence: bigint;
  readonly hash: string;
}

/** One page of chain heads. */
export interface ChainPage {
  readonly chains: ChainHeadRow[];
  /** The tenant the next page starts after; undefined when this is the last. */
  readonly next: string | undefined;
}

/** The reads. */
export interface LedgerReads {
  /** The stored record of an event id. */
  record(eventId: string): Promise<AuditRecord | undefined>;
  list(query: ListQuery): Promise<RecordPage>;
  /** Chains after `afterTenant` ("" for the first page), in byte order of tenant id. */
  chains(afterTenant: string, pageSize: number): Promise<ChainPage>;
  verify(tenantId: string, onProgress?: (checked: bigint) => void): Promise<ChainVerdict>;
}

/** A row of audit.events as COLUMNS selects it. */
export interface Row {
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

/** The columns of a record, times as microseconds since the epoch. */
export const COLUMNS = `tenant_id, sequence::text as sequence, event_id, correlation_id, turn_id, gate, decision, reason,
  input_digest, payload, attributes, actor, contract_version,
  (extract(epoch from occurred_at) * 1000000)::bigint::text as occurred_us,
  (extract(epoch from recorded_at) * 1000000)::bigint::text as recorded_us, prev_hash, hash`;

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

/** The wire form of a row. */
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

/** Records read per page when verifying. */
const VERIFY_PAGE = 1000;

/** Creates the reads over `pool`. */
export function createLedgerReads(pool: pg.Pool): LedgerReads {
  return {
    async record(eventId) {
      const rows = await pool.query<Row>(`select ${COLUMNS} from audit.events where event_id = $1`, [eventId]);
      return rows.rows[0] === undefined ? undefined : recordOf(rows.rows[0]);
    },

    async list(query) {
      const where: string[] = [];
      const params: unknown[] = [];
      const param = (value: unknown) => {
        params.push(value);
        return `$${params.length}`;
      };
      if (query.tenantId !== "") {
        where.push(`tenant_id = ${param(query.tenantId)}`);
        where.push(`sequence > ${param((query.after?.sequence ?? 0n).toString())}::bigint`);
      } else if (query.after !== undefined) {
        const tenant = param(query.after.tenantId);
        const sequence = param(query.after.sequence.toString());
        where.push(
          `(tenant_id collate "C" > ${tenant} collate "C" or (tenant_id = ${tenant} and sequence > ${sequence}::bigint))`,
        );
      }
      if (query.correlationId !== "") where.push(`correlation_id = ${param(query.correlationId)}`);
      // One tenant's records in its chain's index order; several tenants' in byte order of tenant id.
      const order = query.tenantId !== "" ? "position" : `tenant_id collate "C", position`;
      // One more than the page, to know whether another follows. The size is estimated from the
      // stored lengths, roughly: candidates past twice a page by the estimate are not even read, and
      // fitPage makes the exact cut.
      const sql = `
        with candidates as (
          select ${COLUMNS}, events.sequence as position,
                 octet_length(payload) + octet_length(attributes::text) + octet_length(actor) + octet_length(event_id)
                   + octet_length(correlation_id) + octet_length(turn_id) + octet_length(tenant_id) + 256 as bytes
          from audit.events where ${where.join(" and ")}
          order by ${order.replace("position", "events.sequence")} limit ${param(query.pageSize + 1)}
        )
        select * from (
          select *, count(*) over () as fetched, sum(bytes) over (order by ${order} rows unbounded preceding) - bytes as before
          from candidates
        ) c
        where before < ${param(2 * PAGE_ITEMS_BYTES)}::bigint
        order by ${order}`;
      const rows = (await pool.query<Row & { fetched: string }>(sql, params)).rows;
      const page = fitPage(rows.map(recordOf), (r) => toBinary(AuditRecordSchema, r).length, query.pageSize);
      const last = page.items.at(-1);
      const more = last !== undefined && Number(rows[0]!.fetched) > page.items.length;
      return { records: page.items, next: more ? { tenantId: last.tenantId, sequence: last.sequence } : undefined };
    },

    async chains(afterTenant, pageSize) {
      const rows = await pool.query<{ tenant_id: string; sequence: string; hash: string }>(
        `select tenant_id, sequence::text as sequence, hash from audit.chain_heads
         where tenant_id collate "C" > $1 collate "C" order by tenant_id collate "C" limit $2`,
        [afterTenant, pageSize + 1],
      );
      const heads = rows.rows.map((r) => ({ tenantId: r.tenant_id, sequence: BigInt(r.sequence), hash: r.hash }));
      const page = fitPage(heads, (h) => toBinary(ChainHeadSchema, create(ChainHeadSchema, h)).length, pageSize);
      const last = page.items.at(-1);
      return { chains: page.items, next: page.more && last !== undefined ? last.tenantId : undefined };
    },

    async verify(tenantId, onProgress) {
      const heads = await pool.query<{ sequence: string; hash: string }>(
        "select sequence::text as sequence, hash from audit.chain_heads where tenant_id = $1",
        [tenantId],
      );
      const h = heads.rows[0];
      const head = h === undefined ? undefined : { sequence: BigInt(h.sequence), hash: h.hash };
      async function* pages() {
        for (let after = 0n; ; ) {
          const { rows } = await pool.query<Row>(
            `select ${COLUMNS} from audit.events where tenant_id = $1 and events.sequence > $2::bigint order by events.sequence limit $3`,
            [tenantId, after.toString(), VERIFY_PAGE],
          );
          const links = rows.map(linkOf);
          if (links.length > 0) yield links;
          if (links.length < VERIFY_PAGE) return;
          after = links.at(-1)!.sequence;
        }
      }
      return verifyChain(tenantId, pages(), head, onProgress);
    },
  };
}
