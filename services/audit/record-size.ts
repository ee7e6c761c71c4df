/**
 * The size bound of a stored audit record. The contract bounds each field of
 * an event, but not their sum (32 attributes of 1024 characters alone pass
 * 64 KiB), so the ledger refuses, at append, an event whose record could not
 * be served alone in one ListEvents page: what it accepts, it can always read
 * back and verify.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { type AuditEvent, AuditEventSchema, AuditRecordSchema } from "../../gen/es/selene/audit/v1/audit_pb.js";
import { ReasonCode } from "../../gen/es/selene/kernel/v1/reason_pb.js";
import { MAX_PAGE_ITEM_BYTES } from "../runtime/response-page.js";
import { SeleneError } from "../runtime/selene-error.js";

/** What an append sends of a record; the ledger adds its place, hashes and time. */
export interface RecordContent {
  readonly tenantId: string;
  readonly correlationId: string;
  readonly turnId: string;
  readonly event: AuditEvent;
  readonly contractVersion: string;
}

/** The longest of each field the ledger adds: the last sequence, a hash, the latest timestamp. */
const LARGEST_SEQUENCE = 2n ** 64n - 1n;
const A_HASH = `sha256:${"f".repeat(64)}`;
const LATEST_TIME = { seconds: 253402300799n, nanos: 999_999_000 };

/** The most bytes the stored record of `content` can take, encoded as an AuditRecord. */
export function storedRecordBytes(content: RecordContent): number {
  const record = create(AuditRecordSchema, {
    ...content,
    sequence: LARGEST_SEQUENCE,
    prevHash: A_HASH,
    hash: A_HASH,
    recordedAt: LATEST_TIME,
  });
  return toBinary(AuditRecordSchema, record).length;
}

/**
 * The most bytes a stored record takes beyond the request that carried its content. The request
 * holds the record's tenant, correlation and turn ids and its event, encoded alike (an
 * AppendRequest's envelope carries the ids); the record adds a sequence, two hashes, a time and
 * the contract version ("major.minor" of two uint32), and gives an event sent without an id one
 * ("derived:" and 64 hex digits), which can also lengthen the event's length prefix by 2 bytes.
 */
export const RECORD_GROWTH_BYTES =
  storedRecordBytes({
    tenantId: "",
    correlationId: "",
    turnId: "",
    event: create(AuditEventSchema, { eventId: `derived:${"f".repeat(64)}` }),
    contractVersion: "4294967295.4294967295",
  }) + 2;

/**
 * Refuses `content` with MESSAGE_TOO_LARGE at `fieldPath` when its record could not fit a page
 * alone. `requestBytes`, the size of the request that carried it, bounds the record without
 * encoding it: only a request near the page's size has its records measured one by one.
 */
export function requireServable(content: RecordContent, fieldPath: string, requestBytes: number): void {
  if (requestBytes + RECORD_GROWTH_BYTES <= MAX_PAGE_ITEM_BYTES) return;
  const size = storedRecordBytes(content);
  if (size <= MAX_PAGE_ITEM_BYTES) return;
  throw new SeleneError(
    ReasonCode.MESSAGE_TOO_LARGE,
    `the stored record would take ${size} bytes, more than the ${MAX_PAGE_ITEM_BYTES} one ListEvents page can hold`,
    { fieldPath, metadata: { limit_bytes: String(MAX_PAGE_ITEM_BYTES), size_bytes: String(size) } },
  );
}
