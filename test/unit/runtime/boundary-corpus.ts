/**
 * The table of bad inputs for the boundary validator: each entry is a byte
 * string, the schema it claims to be, and the verdict it must always get.
 */
import { create, type DescMessage, toBinary } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { status } from "@grpc/grpc-js";
import { bytes, lenField, tag, utf8, varint, varintField } from "../../../conformance/wire.js";
import { AuditEventSchema } from "../../../gen/es/selene/audit/v1/audit_pb.js";
import {
  CommitRequestSchema,
  DescribeRequestSchema,
  InvokeRequestSchema,
  InvokeResponseSchema,
  SimulateRequestSchema,
  UnderstandingSchema,
} from "../../../gen/es/selene/engine/v1/engine_pb.js";
import { EnvelopeSchema } from "../../../gen/es/selene/kernel/v1/envelope_pb.js";
import { ReasonCode } from "../../../gen/es/selene/kernel/v1/reason_pb.js";
import { ConfirmationSchema, RefusedSchema, SubmitTurnRequestSchema } from "../../../gen/es/selene/os/v1/turn_pb.js";
import { EnqueueRequestSchema, LeaseRequestSchema } from "../../../gen/es/selene/outbox/v1/outbox_pb.js";
import { A_DIGEST, anEnvelope, aReadResponse, aTurnRequest, type EnvelopeOverrides } from "../../support/builders.js";

/** One bad input and its expected verdict. */
export interface BadInput {
  readonly name: string;
  readonly schema: DescMessage;
  readonly bytes: Uint8Array;
  readonly status: status;
  readonly reason: ReasonCode;
  /** The expected ErrorDetail.field_path (the first sorted violation). */
  readonly fieldPath: string;
}

type EnvelopeInit = EnvelopeOverrides;

const turnBytes = (envelope: EnvelopeInit) =>
  toBinary(SubmitTurnRequestSchema, aTurnRequest({ envelope: anEnvelope(envelope) }));
const envBytes = (init: EnvelopeInit = {}) => toBinary(EnvelopeSchema, anEnvelope(init));
const validTurn = toBinary(SubmitTurnRequestSchema, aTurnRequest());
const textField = lenField(2, utf8("hi"));

const INVALID = status.INVALID_ARGUMENT;
const PRECONDITION = status.FAILED_PRECONDITION;

function field(name: string, schema: DescMessage, data: Uint8Array, fieldPath: string): BadInput {
  return { name, schema, bytes: data, status: INVALID, reason: ReasonCode.FIELD_INVALID, fieldPath };
}
function malformed(name: string, schema: DescMessage, data: Uint8Array, fieldPath: string): BadInput {
  return { name, schema, bytes: data, status: INVALID, reason: ReasonCode.MALFORMED_MESSAGE, fieldPath };
}
function unknown(name: string, schema: DescMessage, data: Uint8Array, fieldPath: string): BadInput {
  return { name, schema, bytes: data, status: INVALID, reason: ReasonCode.UNKNOWN_FIELD, fieldPath };
}
function version(name: string, major: number, minor: number): BadInput {
  return {
    name,
    schema: SubmitTurnRequestSchema,
    bytes: turnBytes({ contractVersion: { major, minor } }),
    status: PRECONDITION,
    reason: ReasonCode.UNSUPPORTED_CONTRACT_VERSION,
    fieldPath: "envelope.contract_version",
  };
}

const identifiers: Array<[keyof EnvelopeInit & string, string, number, string]> = [
  // [field, proto name, max length, a value with a forbidden character]
  ["tenantId", "tenant_id", 63, "Acme"],
  ["userId", "user_id", 128, "user 1"],
  ["correlationId", "correlation_id", 64, "corr/1"],
  ["turnId", "turn_id", 64, "turn#1"],
  ["idempotencyKey", "idempotency_key", 128, "key/1"],
];

function identifierCases(): BadInput[] {
  return identifiers.flatMap(([key, name, max, badChar]) => [
    field(`missing ${name}`, SubmitTurnRequestSchema, turnBytes({ [key]: "" }), `envelope.${name}`),
    field(`oversized ${name}`, SubmitTurnRequestSchema, turnBytes({ [key]: "a".repeat(max + 1) }), `envelope.${name}`),
    field(`wrong charset in ${name}`, SubmitTurnRequestSchema, turnBytes({ [key]: badChar }), `envelope.${name}`),
    field(`leading punctuation in ${name}`, SubmitTurnRequestSchema, turnBytes({ [key]: "-x" }), `envelope.${name}`),
  ]);
}

const manyStrings = (n: number) => Array.from({ length: n }, (_, i) => `s${i}`);
const manyPairs = (n: number) => Object.fromEntries(manyStrings(n).map((k) => [k, "v"]));

/** Every bad input, in a fixed order. */
export const badInputs: readonly BadInput[] = [
  ...identifierCases(),
  field("tenant id of unicode letters", SubmitTurnRequestSchema, turnBytes({ tenantId: "äcme" }), "envelope.tenant_id"),
  field("tenant id ending in a dash", SubmitTurnRequestSchema, turnBytes({ tenantId: "acme-" }), "envelope.tenant_id"),
  field(
    "every identifier empty",
    SubmitTurnRequestSchema,
    turnBytes({ tenantId: "", userId: "", correlationId: "", turnId: "", idempotencyKey: "" }),
    "envelope.correlation_id",
  ),

  // Structure.
  field("empty bytes (no envelope)", SubmitTurnRequestSchema, new Uint8Array(), "envelope"),
  field(
    "envelope without a contract version",
    SubmitTurnRequestSchema,
    toBinary(SubmitTurnRequestSchema, aTurnRequest({ envelope: anEnvelope({ contractVersion: undefined }) })),
    "envelope.contract_version",
  ),
  field("no input in the oneof", SubmitTurnRequestSchema, bytes(lenField(1, envBytes())), "input"),
  field("empty text", SubmitTurnRequestSchema, bytes(lenField(1, envBytes()), lenField(2, [])), "text"),
  field(
    "oversized text",
    SubmitTurnRequestSchema,
    bytes(lenField(1, envBytes()), lenField(2, utf8("x".repeat(4097)))),
    "text",
  ),
  field(
    "confirmation with a bad simulation id",
    SubmitTurnRequestSchema,
    toBinary(
      SubmitTurnRequestSchema,
      aTurnRequest({
        input: { case: "confirmation", value: create(ConfirmationSchema, { simulationId: "sim 1", accept: true }) },
      }),
    ),
    "confirmation.simulation_id",
  ),

  // Versions.
  version("old major version 0.9", 0, 9),
  version("future major version 2.0", 2, 0),
  version("future minor version 1.2", 1, 2),
  version("absurd version 1000.0", 1000, 0),
  {
    name: "unsupported version on a system envelope",
    schema: DescribeRequestSchema,
    bytes: toBinary(
      DescribeRequestSchema,
      create(DescribeRequestSchema, { envelope: { contractVersion: { major: 3, minor: 0 }, correlationId: "c" } }),
    ),
    status: PRECONDITION,
    reason: ReasonCode.UNSUPPORTED_CONTRACT_VERSION,
    fieldPath: "envelope.contract_version",
  },

  // Unknown fields at every depth.
  unknown("unknown field at the top", SubmitTurnRequestSchema, bytes(validTurn, varintField(31, 1)), "31"),
  unknown(
    "unknown field in the envelope",
    SubmitTurnRequestSchema,
    bytes(lenField(1, bytes(envBytes(), varintField(15, 7))), textField),
    "envelope.15",
  ),
  unknown(
    "unknown field in the contract version",
    SubmitTurnRequestSchema,
    bytes(
      lenField(
        1,
        bytes(lenField(1, bytes(varintField(1, 1), lenField(9, utf8("x")))), envBytes({ contractVersion: undefined })),
      ),
      textField,
    ),
    "envelope.contract_version.9",
  ),
  unknown(
    "unknown field in a confirmation",
    SubmitTurnRequestSchema,
    bytes(
      lenField(1, envBytes()),
      lenField(3, bytes(lenField(1, utf8("sim-1")), varintField(2, 1), varintField(40, 1))),
    ),
    "confirmation.40",
  ),
  unknown(
    "unknown field four levels deep",
    InvokeResponseSchema,
    bytes(
      lenField(
        2,
        bytes(
          lenField(1, utf8("Paris")),
          lenField(3, bytes(lenField(1, bytes(lenField(1, utf8("kb")), varintField(77, 1))))),
        ),
      ),
    ),
    "read_result.provenance.sources[0].77",
  ),
  unknown(
    "unknown fixed64 field",
    SubmitTurnRequestSchema,
    bytes(validTurn, tag(20, 1), [1, 2, 3, 4, 5, 6, 7, 8]),
    "20",
  ),
  unknown(
    "unknown field in a map entry",
    SimulateRequestSchema,
    bytes(
      lenField(1, envBytes()),
      lenField(2, utf8("reminders.create")),
      lenField(3, bytes(lenField(1, utf8("when")), lenField(2, utf8("9am")), varintField(3, 1))),
    ),
    "fields.3",
  ),
  unknown(
    "unknown field in a response",
    InvokeResponseSchema,
    bytes(toBinary(InvokeResponseSchema, aReadResponse()), varintField(9, 1)),
    "9",
  ),

  // Malformed bytes.
  malformed("truncated in the middle", SubmitTurnRequestSchema, validTurn.subarray(0, validTurn.length - 5), "text"),
  malformed("truncated length prefix", SubmitTurnRequestSchema, bytes(tag(1, 2), [0x80]), "envelope"),
  malformed("length past the end", SubmitTurnRequestSchema, bytes(tag(1, 2), varint(200), [1, 2, 3]), "envelope"),
  malformed(
    "text sent as a varint",
    SubmitTurnRequestSchema,
    bytes(lenField(1, envBytes()), varintField(2, 5)),
    "text",
  ),
  malformed("envelope sent as a varint", SubmitTurnRequestSchema, bytes(varintField(1, 5)), "envelope"),
  malformed(
    "major version sent as fixed32",
    SubmitTurnRequestSchema,
    bytes(lenField(1, bytes(lenField(1, bytes(tag(1, 5), [1, 0, 0, 0]))))),
    "envelope.contract_version.major",
  ),
  malformed(
    "tenant id of invalid UTF-8",
    SubmitTurnRequestSchema,
    bytes(lenField(1, bytes(lenField(2, [0x61, 0xff, 0xfe]))), textField),
    "envelope.tenant_id",
  ),
  malformed("field number zero", SubmitTurnRequestSchema, bytes([0x00, 0x01]), ""),
  malformed("wire type 7", SubmitTurnRequestSchema, bytes([0x0f]), ""),
  malformed("stray end-group tag", SubmitTurnRequestSchema, bytes(tag(30, 4)), ""),
  malformed(
    "varint longer than ten bytes",
    SubmitTurnRequestSchema,
    bytes(tag(30, 0), new Array(11).fill(0xff), [0x01]),
    "",
  ),
  malformed("double sent length-delimited", UnderstandingSchema, bytes(lenField(3, [1, 2, 3])), "confidence"),

  // Size and repetition.
  {
    name: "oversized message",
    schema: SubmitTurnRequestSchema,
    bytes: bytes(validTurn, lenField(30, new Uint8Array(70 * 1024))),
    status: INVALID,
    reason: ReasonCode.MESSAGE_TOO_LARGE,
    fieldPath: "",
  },
  field(
    "too many sources",
    InvokeResponseSchema,
    toBinary(InvokeResponseSchema, withSources(33)),
    "read_result.provenance.sources",
  ),
  field(
    "too many example answers",
    UnderstandingSchema,
    toBinary(
      UnderstandingSchema,
      create(UnderstandingSchema, {
        intent: "reminders.create",
        clarifications: [
          { intent: "reminders.create", missingField: "when", question: "When?", exampleAnswers: manyStrings(9) },
        ],
      }),
    ),
    "clarifications[0].example_answers",
  ),
  field(
    "too many missing fields",
    UnderstandingSchema,
    toBinary(
      UnderstandingSchema,
      create(UnderstandingSchema, { intent: "reminders.create", missingFields: manyStrings(33) }),
    ),
    "missing_fields",
  ),
  field(
    "too many map pairs",
    SimulateRequestSchema,
    toBinary(
      SimulateRequestSchema,
      create(SimulateRequestSchema, { envelope: anEnvelope(), capability: "reminders.create", fields: manyPairs(33) }),
    ),
    "fields",
  ),

  // Values.
  field("undefined reason number", RefusedSchema, bytes(varintField(1, 99999), lenField(2, utf8("no"))), "reason"),
  field("unspecified reason", RefusedSchema, bytes(lenField(2, utf8("no"))), "reason"),
  field(
    "confidence above one",
    UnderstandingSchema,
    toBinary(UnderstandingSchema, create(UnderstandingSchema, { intent: "reminders.create", confidence: 1.5 })),
    "confidence",
  ),
  field(
    "capability in upper case",
    InvokeRequestSchema,
    toBinary(
      InvokeRequestSchema,
      create(InvokeRequestSchema, {
        envelope: anEnvelope(),
        capability: "Tools.Lookup",
        input: { case: "utterance", value: "hi" },
      }),
    ),
    "capability",
  ),
  field(
    "commit without a digest",
    CommitRequestSchema,
    toBinary(
      CommitRequestSchema,
      create(CommitRequestSchema, { envelope: anEnvelope(), capability: "reminders.create", simulationId: "sim-1" }),
    ),
    "effect_digest",
  ),
  field(
    "provenance digest of the wrong shape",
    InvokeResponseSchema,
    toBinary(InvokeResponseSchema, withDigest("md5:abc")),
    "read_result.provenance.content_digest",
  ),
  field(
    "lease of zero effects",
    LeaseRequestSchema,
    toBinary(
      LeaseRequestSchema,
      create(LeaseRequestSchema, {
        envelope: { contractVersion: { major: 1, minor: 0 }, correlationId: "c" },
        executorId: "router-0",
        maxEffects: 0,
        leaseDuration: durationFromMs(30_000),
      }),
    ),
    "max_effects",
  ),
  field(
    "lease without a duration",
    LeaseRequestSchema,
    toBinary(
      LeaseRequestSchema,
      create(LeaseRequestSchema, {
        envelope: { contractVersion: { major: 1, minor: 0 }, correlationId: "c" },
        executorId: "router-0",
        maxEffects: 10,
      }),
    ),
    "lease_duration",
  ),
  field(
    "enqueue of an empty payload",
    EnqueueRequestSchema,
    toBinary(
      EnqueueRequestSchema,
      create(EnqueueRequestSchema, {
        envelope: anEnvelope(),
        effectType: "reminders.create",
        simulationId: "sim-1",
        payloadDigest: A_DIGEST,
      }),
    ),
    "payload",
  ),
  field(
    "audit event at no gate",
    AuditEventSchema,
    toBinary(
      AuditEventSchema,
      create(AuditEventSchema, {
        eventId: "demo/turn-1/a1/1",
        decision: 1,
        actor: "spiffe://selene.local/ns/selene/sa/router",
        occurredAt: { seconds: 1n },
      }),
    ),
    "gate",
  ),
];

function withSources(n: number) {
  const response = aReadResponse();
  if (response.result.case !== "readResult") throw new Error("fixture");
  const provenance = response.result.value.provenance!;
  provenance.sources = Array.from({ length: n }, () => provenance.sources[0]!);
  return response;
}

function withDigest(digest: string) {
  const response = aReadResponse();
  if (response.result.case !== "readResult") throw new Error("fixture");
  response.result.value.provenance!.contentDigest = digest;
  return response;
}
