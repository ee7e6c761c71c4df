import { create, type DescField, getOption, toBinary } from "@bufbuild/protobuf";
import { field as fieldRules } from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";
import { expect } from "chai";
import {
  AppendEventsRequestSchema,
  AppendRequestSchema,
  AuditEntrySchema,
  type AuditEvent,
  AuditEventSchema,
  AuditRecordSchema,
  Decision,
  Gate,
} from "../../../gen/es/selene/audit/v1/audit_pb.js";
import { ReasonCode } from "../../../gen/es/selene/kernel/v1/reason_pb.js";
import {
  RECORD_GROWTH_BYTES,
  type RecordContent,
  requireServable,
  storedRecordBytes,
} from "../../../services/audit/record-size.js";
import { MAX_PAGE_ITEM_BYTES } from "../../../services/runtime/response-page.js";
import { SeleneError } from "../../../services/runtime/selene-error.js";

/** The max_len a field's rules declare in the contract. */
function maxLen(field: DescField): number {
  const rules = getOption(field, fieldRules).type;
  if (rules.case !== "string" && rules.case !== "bytes") throw new Error(`${field.name} has no length rule`);
  return Number(rules.value.maxLen);
}

/** Every field of an event at its longest but the attributes (whose sum no rule bounds). */
function longestContent(attributes: Record<string, string> = {}): RecordContent {
  const entry = AuditEntrySchema.field;
  const event = AuditEventSchema.field;
  return {
    tenantId: "t".repeat(maxLen(entry.tenantId)),
    correlationId: "c".repeat(maxLen(entry.correlationId)),
    turnId: "u".repeat(maxLen(entry.turnId)),
    contractVersion: "999.999",
    event: create(AuditEventSchema, {
      eventId: "e".repeat(maxLen(event.eventId)),
      gate: Gate.OPERATOR,
      decision: Decision.FAIL,
      reason: ReasonCode.INTERNAL,
      // A SPIFFE id: the caller's own, ASCII.
      actor: "a".repeat(maxLen(event.actor)),
      occurredAt: { seconds: 253402300799n, nanos: 999_999_999 },
      inputDigest: `sha256:${"0".repeat(64)}`,
      payload: new Uint8Array(maxLen(event.payload)),
      attributes,
    }),
  };
}

/** The size of an AppendEvents request carrying `content` (with `event` as the writer sent it). */
function appendEventsBytes(content: RecordContent, event: AuditEvent = content.event): number {
  const { tenantId, correlationId, turnId } = content;
  const request = create(AppendEventsRequestSchema, {
    envelope: { contractVersion: { major: 1, minor: 0 }, correlationId },
    entries: [{ tenantId, correlationId, turnId, event }],
  });
  return toBinary(AppendEventsRequestSchema, request).length;
}

function refusal(content: RecordContent): SeleneError | undefined {
  try {
    requireServable(content, "entries[3]", appendEventsBytes(content));
  } catch (e) {
    return e as SeleneError;
  }
  return undefined;
}

describe("audit record size", () => {
  it("keeps the payload bound consistent with a page: the longest event but for attributes fits, with room", () => {
    const size = storedRecordBytes(longestContent());
    expect(size).to.be.at.most(MAX_PAGE_ITEM_BYTES);
    // Room for the attributes a writer records (the router's handful, the outbox's error text).
    expect(MAX_PAGE_ITEM_BYTES - size).to.be.at.least(4096);
    expect(refusal(longestContent())).to.equal(undefined);
  });

  it("bounds the record the ledger stores: its sequence, hashes and time at their longest", () => {
    const content = longestContent();
    const stored = create(AuditRecordSchema, {
      ...content,
      sequence: 2n ** 63n - 1n,
      prevHash: `sha256:${"1".repeat(64)}`,
      hash: `sha256:${"2".repeat(64)}`,
      recordedAt: { seconds: 4102444800n, nanos: 123_456_000 },
    });
    expect(toBinary(AuditRecordSchema, stored).length).to.be.at.most(storedRecordBytes(content));
  });

  it("refuses with MESSAGE_TOO_LARGE at the entry an event whose attributes would push its record past a page", () => {
    const attributes: Record<string, string> = {};
    for (let i = 0; i < 8; i++) attributes[`k${i}`] = "v".repeat(1024);
    const error = refusal(longestContent(attributes));
    expect(error).to.be.instanceOf(SeleneError);
    expect(error!.reason).to.equal(ReasonCode.MESSAGE_TOO_LARGE);
    expect(error!.fieldPath).to.equal("entries[3]");
    expect(error!.metadata.limit_bytes).to.equal(String(MAX_PAGE_ITEM_BYTES));
    expect(Number(error!.metadata.size_bytes)).to.be.above(MAX_PAGE_ITEM_BYTES);
  });

  it("lets every event of the contract's size through when it fits, to the byte", () => {
    const base = longestContent();
    const room = MAX_PAGE_ITEM_BYTES - storedRecordBytes(base);
    // One attribute whose framing and bytes take exactly the room left, then one byte more.
    const fill = (extra: number): RecordContent => {
      const event: AuditEvent = create(AuditEventSchema, { ...base.event, attributes: { k: "" } });
      const overhead = storedRecordBytes({ ...base, event }) - storedRecordBytes(base);
      const value = "v".repeat(Math.max(0, room - overhead - 2 + extra));
      return { ...base, event: create(AuditEventSchema, { ...base.event, attributes: { k: value } }) };
    };
    const exact = fill(0);
    expect(storedRecordBytes(exact)).to.be.at.most(MAX_PAGE_ITEM_BYTES);
    expect(refusal(exact)).to.equal(undefined);
    const over = fill(3);
    expect(storedRecordBytes(over)).to.be.above(MAX_PAGE_ITEM_BYTES);
    expect(refusal(over)?.reason).to.equal(ReasonCode.MESSAGE_TOO_LARGE);
  });

  it("bounds a record by the request that carried it, an event sent without an id included", () => {
    const sent = longestContent({ k: "v".repeat(512) });
    const withoutId = create(AuditEventSchema, { ...sent.event, eventId: "" });
    // The ledger gives an event without an id a derived one.
    const stored: RecordContent = {
      ...sent,
      contractVersion: "4294967295.4294967295",
      event: create(AuditEventSchema, { ...sent.event, eventId: `derived:${"f".repeat(64)}` }),
    };
    const single = create(AppendRequestSchema, {
      envelope: {
        contractVersion: { major: 1, minor: 0 },
        tenantId: sent.tenantId,
        userId: "u",
        correlationId: sent.correlationId,
        turnId: sent.turnId,
        idempotencyKey: "k",
      },
      event: withoutId,
    });
    for (const requestBytes of [appendEventsBytes(sent, withoutId), toBinary(AppendRequestSchema, single).length]) {
      expect(storedRecordBytes(stored)).to.be.at.most(requestBytes + RECORD_GROWTH_BYTES);
    }
  });

  it("measures no record of a request well under a page, and each record of one near it", () => {
    const attributes: Record<string, string> = {};
    for (let i = 0; i < 8; i++) attributes[`k${i}`] = "v".repeat(1024);
    const tooLarge = longestContent(attributes);
    // Told the true size of its request, the record is measured and refused ...
    expect(refusal(tooLarge)?.reason).to.equal(ReasonCode.MESSAGE_TOO_LARGE);
    // ... while a size that leaves the growth's room in a page takes no measurement at all.
    expect(() => requireServable(tooLarge, "entries[0]", MAX_PAGE_ITEM_BYTES - RECORD_GROWTH_BYTES)).not.to.throw();
    expect(() => requireServable(tooLarge, "entries[0]", MAX_PAGE_ITEM_BYTES - RECORD_GROWTH_BYTES + 1)).to.throw(
      SeleneError,
    );
  });
});
