/**
 * The requests the suite sends: a well-formed request of each EngineService
 * method, and the ways to spoil one (an unknown field at the top or inside the
 * envelope, an oversized message, truncated bytes, a wrong wire type, invalid
 * UTF-8, an unsupported contract version, a rule violation), each with the
 * refusal the contract prescribes: status, reason code and field path.
 */
import { create, type DescMessage, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { status } from "@grpc/grpc-js";
import {
  CommitRequestSchema,
  DescribeRequestSchema,
  InvokeRequestSchema,
  SimulateRequestSchema,
} from "../gen/es/selene/engine/v1/engine_pb.js";
import { EnvelopeSchema, SystemEnvelopeSchema } from "../gen/es/selene/kernel/v1/envelope_pb.js";
import { ReasonCode } from "../gen/es/selene/kernel/v1/reason_pb.js";
import { DEFAULT_MAX_MESSAGE_BYTES } from "../services/runtime/boundary-validator.js";
import { CURRENT_CONTRACT_VERSION } from "../services/runtime/contract-version.js";
import { bytes, lenField, tag, utf8, varint, varintField } from "./wire.js";

/** The EngineService methods. */
export const ENGINE_METHODS = ["Describe", "Invoke", "Simulate", "Commit"] as const;
/** One EngineService method. */
export type EngineMethod = (typeof ENGINE_METHODS)[number];

/** A capability name no engine serves: the boundary refuses before any handler looks at it. */
export const PROBE_CAPABILITY = "conformance.probe";
/** A digest of the right shape that matches no effect. */
export const UNMATCHED_DIGEST = `sha256:${"0".repeat(64)}`;

/** The envelope of a turn-scoped request; `key` is its idempotency key. */
export function anEnvelope(key: string, version = CURRENT_CONTRACT_VERSION): MessageInitShape<typeof EnvelopeSchema> {
  return {
    contractVersion: { major: version.major, minor: version.minor },
    tenantId: "conformance",
    userId: "conformance-user",
    correlationId: "conformance",
    turnId: "conformance-turn",
    idempotencyKey: key,
  };
}

/** The schema and a well-formed request of each method (whose envelope carries `version`). */
function wellFormed(
  method: EngineMethod,
  version = CURRENT_CONTRACT_VERSION,
): { schema: DescMessage; bytes: Uint8Array } {
  const envelope = anEnvelope("conformance-boundary", version);
  const contractVersion = { major: version.major, minor: version.minor };
  switch (method) {
    case "Describe":
      return {
        schema: DescribeRequestSchema,
        bytes: toBinary(
          DescribeRequestSchema,
          create(DescribeRequestSchema, { envelope: { contractVersion, correlationId: "conformance" } }),
        ),
      };
    case "Invoke":
      return {
        schema: InvokeRequestSchema,
        bytes: toBinary(
          InvokeRequestSchema,
          create(InvokeRequestSchema, {
            envelope,
            capability: PROBE_CAPABILITY,
            input: { case: "utterance", value: "conformance" },
          }),
        ),
      };
    case "Simulate":
      return {
        schema: SimulateRequestSchema,
        bytes: toBinary(
          SimulateRequestSchema,
          create(SimulateRequestSchema, { envelope, capability: PROBE_CAPABILITY, fields: { a: "b" } }),
        ),
      };
    case "Commit":
      return {
        schema: CommitRequestSchema,
        bytes: toBinary(
          CommitRequestSchema,
          create(CommitRequestSchema, {
            envelope,
            capability: PROBE_CAPABILITY,
            simulationId: "conformance-simulation",
            fields: { a: "b" },
            effectDigest: UNMATCHED_DIGEST,
          }),
        ),
      };
  }
}

/** A well-formed request of `method`. */
export function wellFormedRequest(method: EngineMethod): Uint8Array {
  return wellFormed(method).bytes;
}

/** The refusal the contract prescribes for a spoiled request. */
export interface ExpectedRefusal {
  readonly status: status;
  readonly reason: ReasonCode;
  /** The field path the ErrorDetail names, in its field_path or first violation ("" for the whole message). */
  readonly fieldPath: string;
  /** The rule id of that violation, when the refusal lists violations. */
  readonly ruleId?: string;
}

/** A spoiled request and the refusal it must get. */
export interface SpoiledRequest {
  /** What is wrong with it, as a case name ends: "an unknown field inside the envelope". */
  readonly what: string;
  readonly bytes: Uint8Array;
  readonly expected: ExpectedRefusal;
}

/** The envelope's bytes inside a well-formed request of `method` (field 1). */
function envelopeBytes(method: EngineMethod): Uint8Array {
  const envelope = anEnvelope("conformance-boundary");
  return method === "Describe"
    ? toBinary(
        SystemEnvelopeSchema,
        create(SystemEnvelopeSchema, {
          contractVersion: envelope.contractVersion,
          correlationId: "conformance",
        }),
      )
    : toBinary(EnvelopeSchema, create(EnvelopeSchema, envelope));
}

/** The request of `method` with its envelope (field 1) replaced by `envelope`. */
function withEnvelope(method: EngineMethod, envelope: ArrayLike<number>): Uint8Array {
  const { bytes: whole } = wellFormed(method);
  const own = lenField(1, envelopeBytes(method));
  // The encoder writes field 1 first: what follows it is the rest of the request.
  return bytes(lenField(1, envelope), whole.subarray(own.length));
}

/** The rule violation of each method: a field its rules refuse. */
const RULE_VIOLATIONS: Record<EngineMethod, SpoiledRequest> = {
  Describe: {
    what: "a request without its envelope",
    bytes: new Uint8Array(0),
    expected: {
      status: status.INVALID_ARGUMENT,
      reason: ReasonCode.FIELD_INVALID,
      fieldPath: "envelope",
      ruleId: "required",
    },
  },
  Invoke: {
    what: "a capability name that breaks its pattern",
    bytes: bytes(wellFormed("Invoke").bytes, lenField(2, utf8("Not A Capability"))),
    expected: {
      status: status.INVALID_ARGUMENT,
      reason: ReasonCode.FIELD_INVALID,
      fieldPath: "capability",
      ruleId: "string.pattern",
    },
  },
  Simulate: {
    what: "a capability name that breaks its pattern",
    bytes: bytes(wellFormed("Simulate").bytes, lenField(2, utf8("Not A Capability"))),
    expected: {
      status: status.INVALID_ARGUMENT,
      reason: ReasonCode.FIELD_INVALID,
      fieldPath: "capability",
      ruleId: "string.pattern",
    },
  },
  Commit: {
    what: "an effect digest that breaks its pattern",
    bytes: bytes(wellFormed("Commit").bytes, lenField(5, utf8("md5:0"))),
    expected: {
      status: status.INVALID_ARGUMENT,
      reason: ReasonCode.FIELD_INVALID,
      fieldPath: "effect_digest",
      ruleId: "string.pattern",
    },
  },
};

/** Every spoiled request of `method`, in the order the boundary checks them. */
export function spoiledRequests(method: EngineMethod): SpoiledRequest[] {
  const good = wellFormed(method).bytes;
  const invalid = (reason: ReasonCode, fieldPath: string, ruleId: string): ExpectedRefusal => ({
    status: status.INVALID_ARGUMENT,
    reason,
    fieldPath,
    ruleId,
  });
  // A length-delimited field of the message's own numbering, padded past the size limit.
  const padding = new Uint8Array(DEFAULT_MAX_MESSAGE_BYTES);
  const unsupported = { major: CURRENT_CONTRACT_VERSION.major + 1, minor: 0 };
  return [
    {
      what: "a message over the 64 KiB limit",
      bytes: bytes(good, lenField(15, padding)),
      expected: { status: status.INVALID_ARGUMENT, reason: ReasonCode.MESSAGE_TOO_LARGE, fieldPath: "" },
    },
    {
      what: "truncated bytes",
      bytes: bytes(good, tag(15, 2), varint(50), [1, 2]),
      expected: invalid(ReasonCode.MALFORMED_MESSAGE, "", "truncated"),
    },
    {
      what: "the envelope sent with a wrong wire type",
      bytes: bytes(varintField(1, 5), good.subarray(lenField(1, envelopeBytes(method)).length)),
      expected: invalid(ReasonCode.MALFORMED_MESSAGE, "envelope", "wire_type"),
    },
    {
      what: "invalid UTF-8 in the correlation id",
      bytes: withEnvelope(method, bytes(envelopeBytes(method), lenField(method === "Describe" ? 2 : 4, [0xc3, 0x28]))),
      expected: invalid(ReasonCode.MALFORMED_MESSAGE, "envelope.correlation_id", "utf8"),
    },
    {
      what: "an unknown field at the top level",
      bytes: bytes(good, varintField(999, 1)),
      expected: invalid(ReasonCode.UNKNOWN_FIELD, "999", "unknown_field"),
    },
    {
      what: "an unknown field inside the envelope",
      bytes: withEnvelope(method, bytes(envelopeBytes(method), varintField(99, 1))),
      expected: invalid(ReasonCode.UNKNOWN_FIELD, "envelope.99", "unknown_field"),
    },
    {
      what: `an unsupported contract version (${unsupported.major}.${unsupported.minor})`,
      bytes: wellFormed(method, unsupported).bytes,
      expected: {
        status: status.FAILED_PRECONDITION,
        reason: ReasonCode.UNSUPPORTED_CONTRACT_VERSION,
        fieldPath: "envelope.contract_version",
      },
    },
    RULE_VIOLATIONS[method],
  ];
}
