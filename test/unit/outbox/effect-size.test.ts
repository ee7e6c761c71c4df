import { create, type DescField, getOption, toBinary } from "@bufbuild/protobuf";
import { field as fieldRules } from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";
import { expect } from "chai";
import { ReasonCode } from "../../../gen/es/selene/kernel/v1/reason_pb.js";
import {
  AckRequestSchema,
  EffectState,
  EnqueueRequestSchema,
  LeasedEffectSchema,
  NackRequestSchema,
} from "../../../gen/es/selene/outbox/v1/outbox_pb.js";
import { MAX_PAGE_ITEM_BYTES } from "../../../services/runtime/response-page.js";

/** The max_len a field's rules declare in the contract. */
function maxLen(field: DescField): number {
  const rules = getOption(field, fieldRules).type;
  if (rules.case !== "string" && rules.case !== "bytes") throw new Error(`${field.name} has no length rule`);
  return Number(rules.value.maxLen);
}

/** The longest UTF-8 a string rule of `n` characters admits: four bytes a character. */
const widest = (n: number) => "😀".repeat(n);
const LATEST = { seconds: 253402300799n, nanos: 999_999_999 };

describe("outbox effect size", () => {
  it("keeps every field at its contract bound inside one response: a leased effect fits a page alone", () => {
    const enqueue = EnqueueRequestSchema.field;
    const leased = create(LeasedEffectSchema, {
      effect: {
        effectId: "00000000-0000-4000-8000-000000000000",
        tenantId: "t".repeat(63),
        // Patterned ASCII fields at their longest.
        idempotencyKey: "k".repeat(128),
        effectType: "e".repeat(maxLen(enqueue.effectType)),
        simulationId: widest(maxLen(enqueue.simulationId)),
        payload: new Uint8Array(maxLen(enqueue.payload)),
        payloadDigest: `sha256:${"0".repeat(64)}`,
        state: EffectState.DISCARDED,
        attempts: 2 ** 31 - 1,
        nextAttemptAt: LATEST,
        lastError: widest(maxLen(NackRequestSchema.field.error)),
        lastReason: ReasonCode.INTERNAL,
        resultId: widest(maxLen(AckRequestSchema.field.resultId)),
        createdAt: LATEST,
        updatedAt: LATEST,
      },
      leaseToken: "00000000-0000-4000-8000-000000000000",
      leaseExpiresAt: LATEST,
    });
    expect(toBinary(LeasedEffectSchema, leased).length).to.be.at.most(MAX_PAGE_ITEM_BYTES);
  });
});
