import { readFileSync } from "node:fs";
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { expect } from "chai";
import { AuditRecordSchema, Decision, Gate } from "../../../gen/es/selene/audit/v1/audit_pb.js";
import { ReasonCode, ReasonCodeSchema } from "../../../gen/es/selene/kernel/v1/reason_pb.js";
import {
  genesisHash,
  linkOfRecord,
  recordHash,
  verifyLinks,
} from "../../../services/runtime/audit-chain/chain-hash.js";
import { imageRegistry } from "../../../services/runtime/release-surface.js";

const V1_1_REASONS = imageRegistry(readFileSync("proto/releases/v1.1.binpb")).getEnum(ReasonCodeSchema.typeName)!;
const GENESIS = { sequence: 0n, hash: genesisHash("_system") };

/** The first record of the _system chain, hashed with `stored` as its reason, read with `shown`. */
function aRecord(stored: ReasonCode, shown: ReasonCode) {
  const record = create(AuditRecordSchema, {
    tenantId: "_system",
    sequence: 1n,
    event: {
      gate: Gate.ANSWER,
      decision: Decision.DENY,
      reason: stored,
      actor: "spiffe://selene.local/ns/selene/sa/router",
      eventId: "e-1",
      occurredAt: timestampFromMs(1_700_000_000_000),
    },
    prevHash: GENESIS.hash,
    recordedAt: timestampFromMs(1_700_000_000_001),
    contractVersion: "1.1",
  });
  record.hash = recordHash(linkOfRecord(record));
  record.event!.reason = shown;
  return record;
}

describe("audit chain links read shaped for an earlier release", () => {
  it("verifies a record whose reason came as its stand-in, the hash naming the stored value", () => {
    const record = aRecord(ReasonCode.ENGINE_CIRCUIT_OPEN, ReasonCode.ENGINE_UNAVAILABLE);
    expect(verifyLinks([linkOfRecord(record)], GENESIS)).to.deep.equal({ sequence: 1n, problem: "hash" });
    expect(verifyLinks([linkOfRecord(record, V1_1_REASONS)], GENESIS)).to.deep.equal({
      sequence: 1n,
      hash: record.hash,
    });
  });

  it("still finds a record whose stored reason is not one its shown value stands in for", () => {
    const record = aRecord(ReasonCode.ENGINE_FAILED, ReasonCode.ENGINE_UNAVAILABLE);
    expect(verifyLinks([linkOfRecord(record, V1_1_REASONS)], GENESIS)).to.deep.equal({
      sequence: 1n,
      problem: "hash",
    });
  });
});
