import { create, toBinary } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { expect } from "chai";
import fc from "fast-check";
import {
  type AuditRecord,
  AuditRecordSchema,
  Decision,
  Gate,
  ListEventsResponseSchema,
} from "../../../gen/es/selene/audit/v1/audit_pb.js";
import { ReasonCode } from "../../../gen/es/selene/kernel/v1/reason_pb.js";
import { createBoundaryValidator } from "../../../services/runtime/boundary-validator.js";
import {
  fitPage,
  framedBytes,
  MAX_PAGE_ITEM_BYTES,
  PAGE_ITEMS_BYTES,
  RESPONSE_LIMIT_BYTES,
} from "../../../services/runtime/response-page.js";
import { SeleneError } from "../../../services/runtime/selene-error.js";

/** A stored record whose payload has `payloadBytes` bytes. */
function aRecord(sequence: number, payloadBytes: number): AuditRecord {
  return create(AuditRecordSchema, {
    tenantId: "_system",
    correlationId: `fuzz-${sequence}`,
    sequence: BigInt(sequence),
    event: {
      eventId: `nlp/refused/abcdef/${sequence}`,
      gate: Gate.VALIDATE,
      decision: Decision.DENY,
      reason: ReasonCode.MALFORMED_MESSAGE,
      actor: "spiffe://selene.local/ns/selene/sa/nlp",
      occurredAt: timestampFromMs(1_900_000_000_000 + sequence),
      attributes: {
        caller: "spiffe://selene.local/ns/selene/sa/router",
        method: "/selene.engine.v1.EngineService/Invoke",
      },
      payload: new Uint8Array(payloadBytes).fill(7),
    },
    prevHash: `sha256:${"a".repeat(64)}`,
    hash: `sha256:${"b".repeat(64)}`,
    recordedAt: timestampFromMs(1_900_000_000_000 + sequence),
    contractVersion: "1.1",
  });
}

describe("response pages", () => {
  it("never take more than PAGE_ITEMS_BYTES, stop only when the next item would not fit, and keep order", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: MAX_PAGE_ITEM_BYTES }), { maxLength: 400 }),
        fc.integer({ min: 1, max: 1000 }),
        (sizes, maxItems) => {
          const page = fitPage(sizes, (size) => size, maxItems);
          const used = page.items.reduce((sum, size) => sum + framedBytes(size), 0);
          expect(used).to.be.at.most(PAGE_ITEMS_BYTES);
          expect(page.items).to.deep.equal(sizes.slice(0, page.items.length));
          expect(page.more).to.equal(page.items.length < sizes.length);
          const next = sizes[page.items.length];
          if (next !== undefined && page.items.length < maxItems) {
            expect(used + framedBytes(next)).to.be.above(PAGE_ITEMS_BYTES);
          }
          if (sizes.length > 0) expect(page.items.length).to.be.at.least(1);
        },
      ),
      { numRuns: 500 },
    );
  });

  it("hold one item of MAX_PAGE_ITEM_BYTES alone, and refuse a larger one as an internal fault", () => {
    expect(fitPage([MAX_PAGE_ITEM_BYTES, 1], (size) => size, 10)).to.deep.equal({
      items: [MAX_PAGE_ITEM_BYTES],
      more: true,
    });
    expect(framedBytes(MAX_PAGE_ITEM_BYTES)).to.be.at.most(PAGE_ITEMS_BYTES);
    const error = (() => {
      try {
        fitPage([MAX_PAGE_ITEM_BYTES + 1], (size) => size, 10);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).to.be.instanceOf(SeleneError);
    expect((error as SeleneError).reason).to.equal(ReasonCode.INTERNAL);
  });

  it("make ListEvents responses that the boundary validator accepts, whatever the records hold", () => {
    const validator = createBoundaryValidator();
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 57_344 }), { minLength: 1, maxLength: 60 }),
        fc.integer({ min: 1, max: 1000 }),
        (payloads, pageSize) => {
          const records = payloads.map((bytes, i) => aRecord(i + 1, bytes));
          const page = fitPage(records, (r) => toBinary(AuditRecordSchema, r).length, pageSize);
          // The longest token a page can carry (the field's own bound on requests).
          const response = create(ListEventsResponseSchema, { records: page.items, nextPageToken: "x".repeat(256) });
          const bytes = toBinary(ListEventsResponseSchema, response);
          expect(bytes.length).to.be.at.most(RESPONSE_LIMIT_BYTES);
          expect(validator.validate(ListEventsResponseSchema, bytes).ok).to.equal(true);
        },
      ),
      { numRuns: 60 },
    );
  });

  it("fill a page of small records to near the limit, not to a count (the fuzzer's _system chain)", () => {
    const records = Array.from({ length: 1001 }, (_, i) => aRecord(i + 1, 0));
    const page = fitPage(records, (r) => toBinary(AuditRecordSchema, r).length, 1000);
    const bytes = toBinary(ListEventsResponseSchema, create(ListEventsResponseSchema, { records: page.items }));
    expect(page.more).to.equal(true);
    expect(page.items.length).to.be.below(1000);
    expect(bytes.length).to.be.within(RESPONSE_LIMIT_BYTES - 1024, RESPONSE_LIMIT_BYTES);
  });
});
