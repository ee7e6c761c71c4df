import { readFileSync } from "node:fs";
import {
  create,
  type DescMessage,
  type FileRegistry,
  fromBinary,
  type MessageShape,
  toBinary,
} from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { createValidator } from "@bufbuild/protovalidate";
import { expect } from "chai";
import { Decision, Gate, ListEventsResponseSchema } from "../../../gen/es/selene/audit/v1/audit_pb.js";
import { ConflictRule, FreshnessState } from "../../../gen/es/selene/kernel/v1/provenance_pb.js";
import { ReasonCode } from "../../../gen/es/selene/kernel/v1/reason_pb.js";
import { SubmitTurnResponseSchema } from "../../../gen/es/selene/os/v1/turn_pb.js";
import { imageRegistry, shapeForRelease } from "../../../services/runtime/release-surface.js";
import { spiffeIdOf } from "../../../services/runtime/workload-identities.js";

const V1_0 = imageRegistry(readFileSync("proto/releases/v1.0.binpb"));
const V1_1 = imageRegistry(readFileSync("proto/releases/v1.1.binpb"));
const RELEASES: ReadonlyArray<readonly [string, FileRegistry]> = [
  ["1.0", V1_0],
  ["1.1", V1_1],
];

/** Whether `bytes` pass the protovalidate rules of `surface`'s release, as a client of it validates them. */
function releaseVerdict(surface: FileRegistry, schema: DescMessage, bytes: Uint8Array): string {
  const old = surface.getMessage(schema.typeName)!;
  const result = createValidator().validate(old, fromBinary(old, bytes));
  return result.kind === "valid" ? "valid" : result.error.message;
}

function refusedWith(reason: ReasonCode) {
  return create(SubmitTurnResponseSchema, {
    turnId: "t-1",
    correlationId: "c-1",
    outcome: { case: "refused", value: { reason, message: "not now" } },
  });
}

const digest = `sha256:${"a".repeat(64)}`;
const at = timestampFromMs(1_700_000_000_000);

/** An answer whose second conflict was settled by the rule added after 1.1. */
function answerWithTie() {
  return create(SubmitTurnResponseSchema, {
    turnId: "t-2",
    correlationId: "c-2",
    outcome: {
      case: "answer",
      value: {
        intent: "tools.lookup",
        text: "Paris",
        data: { capital: "Paris" },
        provenance: {
          sources: [
            { id: "kb:a", trust: 50, retrievedAt: at, contentDigest: digest },
            { id: "kb:b", trust: 50, retrievedAt: at, contentDigest: digest },
          ],
          retrievedAt: at,
          contentDigest: digest,
          freshness: { state: FreshnessState.FRESH },
          conflicts: [
            { field: "capital", sourceIds: ["kb:a", "kb:b"], chosenSourceId: "kb:a", rule: ConflictRule.TRUST },
            { field: "city", sourceIds: ["kb:a", "kb:b"], chosenSourceId: "kb:a", rule: ConflictRule.SOURCE_ID },
          ],
        },
      },
    },
  });
}

function shaped<Desc extends DescMessage>(schema: Desc, message: MessageShape<Desc>, surface: FileRegistry) {
  return shapeForRelease(schema, message, surface);
}

describe("shapeForRelease: enum values a release lacks", () => {
  for (const [name, surface] of RELEASES) {
    it(`gives a ${name} caller ENGINE_UNAVAILABLE for ENGINE_CIRCUIT_OPEN, which its release's validator accepts`, () => {
      const message = refusedWith(ReasonCode.ENGINE_CIRCUIT_OPEN);
      const today = toBinary(SubmitTurnResponseSchema, message);
      expect(releaseVerdict(surface, SubmitTurnResponseSchema, today)).to.contain("refused.reason");
      const out = shaped(SubmitTurnResponseSchema, message, surface);
      expect(releaseVerdict(surface, SubmitTurnResponseSchema, out.bytes)).to.equal("valid");
      const back = fromBinary(SubmitTurnResponseSchema, out.bytes);
      expect(back.outcome.case === "refused" && back.outcome.value.reason).to.equal(ReasonCode.ENGINE_UNAVAILABLE);
      expect(out.message).to.deep.equal(back);
      // The caller's message is not touched: a stored answer replayed to a caller at N stays true.
      expect(message.outcome.case === "refused" && message.outcome.value.reason).to.equal(
        ReasonCode.ENGINE_CIRCUIT_OPEN,
      );
    });

    it(`replaces a ConflictRule deep in a ${name} answer (a oneof, a list), and only that value`, () => {
      const message = answerWithTie();
      const out = shaped(SubmitTurnResponseSchema, message, surface);
      expect(releaseVerdict(surface, SubmitTurnResponseSchema, out.bytes)).to.equal("valid");
      const expected = answerWithTie();
      if (expected.outcome.case !== "answer") throw new Error("an answer");
      expected.outcome.value.provenance!.conflicts[1]!.rule = ConflictRule.FRESHNESS;
      expect(fromBinary(SubmitTurnResponseSchema, out.bytes)).to.deep.equal(expected);
    });

    it(`gives a ${name} caller the same bytes for the same answer, every time`, () => {
      const first = shaped(SubmitTurnResponseSchema, answerWithTie(), surface).bytes;
      for (let i = 0; i < 3; i++)
        expect(Buffer.from(shaped(SubmitTurnResponseSchema, answerWithTie(), surface).bytes)).to.deep.equal(
          Buffer.from(first),
        );
    });
  }

  it("returns a message with nothing to change as it is, without a copy", () => {
    const message = refusedWith(ReasonCode.ENGINE_UNAVAILABLE);
    const bytes = toBinary(SubmitTurnResponseSchema, message);
    const out = shapeForRelease(SubmitTurnResponseSchema, message, V1_1, bytes);
    expect(out.message).to.equal(message);
    expect(out.bytes).to.equal(bytes);
  });

  it("drops 1.0's missing fields and maps its missing values in one audit read", () => {
    const response = create(ListEventsResponseSchema, {
      records: [
        {
          tenantId: "_system",
          sequence: 1n,
          event: {
            gate: Gate.ANSWER,
            decision: Decision.DENY,
            reason: ReasonCode.ENGINE_CIRCUIT_OPEN,
            actor: spiffeIdOf("router"),
            eventId: "e-1",
            occurredAt: at,
          },
          prevHash: "0".repeat(64),
          hash: "1".repeat(64),
          contractVersion: "1.1",
        },
        {
          tenantId: "_system",
          sequence: 2n,
          event: {
            gate: Gate.ANSWER,
            decision: Decision.DENY,
            reason: ReasonCode.AUDIT_EVENT_CONFLICT,
            occurredAt: at,
          },
        },
      ],
      nextPageToken: "next",
    });
    const v10 = fromBinary(ListEventsResponseSchema, shaped(ListEventsResponseSchema, response, V1_0).bytes);
    expect(v10.records.map((r) => r.event!.reason)).to.deep.equal([
      ReasonCode.ENGINE_UNAVAILABLE,
      ReasonCode.IDEMPOTENCY_KEY_REUSED,
    ]);
    expect(v10.nextPageToken).to.equal("");
    expect(v10.records[0]!.event!.eventId).to.equal("");
    const v11 = fromBinary(ListEventsResponseSchema, shaped(ListEventsResponseSchema, response, V1_1).bytes);
    expect(v11.records.map((r) => r.event!.reason)).to.deep.equal([
      ReasonCode.ENGINE_UNAVAILABLE,
      ReasonCode.AUDIT_EVENT_CONFLICT,
    ]);
    expect(v11.nextPageToken).to.equal("next");
    expect(v11.records[0]!.event!.eventId).to.equal("e-1");
  });
});
