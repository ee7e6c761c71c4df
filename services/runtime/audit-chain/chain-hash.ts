/**
 * The audit chain's hash, computed outside the database: the same bytes as
 * audit.event_hash in deploy/migrations/audit/0001_events.sql, so a verifier
 * that trusts neither the ledger's server nor its triggers can recompute every
 * link. Each field is framed (four bytes of big-endian length, then the bytes);
 * numbers are big-endian; times are microseconds since the Unix epoch.
 */
import { createHash } from "node:crypto";
import type { AuditRecord } from "../../../gen/es/selene/audit/v1/audit_pb.js";

/** The stored fields of one record, as the hash reads them. */
export interface ChainedFields {
  readonly prevHash: string;
  readonly tenantId: string;
  readonly sequence: bigint;
  readonly eventId: string;
  readonly correlationId: string;
  readonly turnId: string;
  readonly gate: number;
  readonly decision: number;
  readonly reason: number;
  readonly inputDigest: string;
  readonly payload: Uint8Array;
  readonly attributes: Readonly<Record<string, string>>;
  readonly actor: string;
  readonly contractVersion: string;
  readonly occurredAtMicros: bigint;
  readonly recordedAtMicros: bigint;
}

const PREFIX = "sha256:";

function int32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(value);
  return b;
}

function int64(value: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(value);
  return b;
}

function frame(value: string | Uint8Array): Buffer[] {
  const bytes = typeof value === "string" ? Buffer.from(value, "utf8") : Buffer.from(value);
  return [int32(bytes.length), bytes];
}

/** The hash a tenant's chain starts from. */
export function genesisHash(tenantId: string): string {
  return PREFIX + createHash("sha256").update(`selene.audit.v1/genesis/${tenantId}`, "utf8").digest("hex");
}

/** The hash of one record. */
export function recordHash(f: ChainedFields): string {
  // Keys in byte order of their UTF-8 encoding, as the database's "C" collation sorts them.
  const keys = Object.keys(f.attributes).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  const parts: Buffer[] = [
    ...frame(f.prevHash),
    ...frame(f.tenantId),
    int64(f.sequence),
    ...frame(f.eventId),
    ...frame(f.correlationId),
    ...frame(f.turnId),
    int32(f.gate),
    int32(f.decision),
    int32(f.reason),
    ...frame(f.inputDigest),
    ...frame(f.payload),
    int32(keys.length),
    ...keys.flatMap((key) => [...frame(key), ...frame(f.attributes[key]!)]),
    ...frame(f.actor),
    ...frame(f.contractVersion),
    int64(f.occurredAtMicros),
    int64(f.recordedAtMicros),
  ];
  return PREFIX + createHash("sha256").update(Buffer.concat(parts)).digest("hex");
}

/** A record as stored: its fields and the hash the ledger gave it. */
export interface StoredLink extends ChainedFields {
  readonly hash: string;
}

/** Where a chain first goes wrong. */
export interface ChainBreak {
  readonly sequence: bigint;
  readonly problem: "gap" | "prev_hash" | "hash";
}

/**
 * Checks records of one tenant in sequence order, continuing from `previous` (the genesis hash
 * and sequence 0 for a chain's first page); returns the first break, or the last hash checked.
 */
export function verifyLinks(
  records: readonly StoredLink[],
  previous: { readonly sequence: bigint; readonly hash: string },
): ChainBreak | { readonly sequence: bigint; readonly hash: string } {
  let { sequence, hash } = previous;
  for (const r of records) {
    if (r.sequence !== sequence + 1n) return { sequence: sequence + 1n, problem: "gap" };
    if (r.prevHash !== hash) return { sequence: r.sequence, problem: "prev_hash" };
    const computed = recordHash(r);
    if (computed !== r.hash) return { sequence: r.sequence, problem: "hash" };
    sequence = r.sequence;
    hash = computed;
  }
  return { sequence, hash };
}

/** The verdict on one chain. */
export interface ChainVerdict {
  readonly intact: boolean;
  readonly recordsChecked: bigint;
  /** 0 when intact. */
  readonly firstBadSequence: bigint;
  /** "" when intact; otherwise gap, prev_hash, hash or head (the head does not match the last record). */
  readonly problem: string;
}

/**
 * Walks a whole chain page by page from its genesis (the pages of one chain in sequence order,
 * read lazily, so memory holds one page whatever the chain's length) and compares the end with
 * the chain's head (undefined when the reader cannot see it), so a removed tail is found as well
 * as a changed row.
 */
export async function verifyChain(
  tenantId: string,
  pages: AsyncIterable<readonly StoredLink[]>,
  head: { readonly sequence: bigint; readonly hash: string } | undefined,
  onProgress?: (checked: bigint) => void,
): Promise<ChainVerdict> {
  let previous = { sequence: 0n, hash: genesisHash(tenantId) };
  for await (const page of pages) {
    const result = verifyLinks(page, previous);
    if ("problem" in result) {
      return { intact: false, recordsChecked: result.sequence - 1n, firstBadSequence: result.sequence, ...result };
    }
    previous = result;
    onProgress?.(previous.sequence);
  }
  if (head !== undefined && (head.sequence !== previous.sequence || head.hash !== previous.hash)) {
    const bad = previous.sequence + 1n;
    return { intact: false, recordsChecked: previous.sequence, firstBadSequence: bad, problem: "head" };
  }
  return { intact: true, recordsChecked: previous.sequence, firstBadSequence: 0n, problem: "" };
}

/** The link of a record read over the API (selene.audit.v1.AuditRecord). */
export function linkOfRecord(record: AuditRecord): StoredLink {
  const e = record.event;
  const micros = (t: { seconds: bigint; nanos: number } | undefined) =>
    t === undefined ? 0n : t.seconds * 1_000_000n + BigInt(Math.floor(t.nanos / 1000));
  return {
    prevHash: record.prevHash,
    tenantId: record.tenantId,
    sequence: record.sequence,
    eventId: e?.eventId ?? "",
    correlationId: record.correlationId,
    turnId: record.turnId,
    gate: e?.gate ?? 0,
    decision: e?.decision ?? 0,
    reason: e?.reason ?? 0,
    inputDigest: e?.inputDigest ?? "",
    payload: e?.payload ?? new Uint8Array(),
    attributes: e?.attributes ?? {},
    actor: e?.actor ?? "",
    contractVersion: record.contractVersion,
    occurredAtMicros: micros(e?.occurredAt),
    recordedAtMicros: micros(record.recordedAt),
    hash: record.hash,
  };
}
