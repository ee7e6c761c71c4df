/**
 * The boundary validator: the one function every server and client boundary
 * calls on the bytes of every request and response. It rejects, in this order:
 * oversized messages, malformed bytes (truncation, wrong wire types, bad UTF-8),
 * unsupported contract versions, unknown fields at any depth, and protovalidate
 * rule violations. Verdicts are deterministic: the same bytes always give the
 * same status, reason code and sorted violation list. It never throws.
 */
import { type DescMessage, fromBinary, type MessageShape } from "@bufbuild/protobuf";
import { pathToString } from "@bufbuild/protobuf/reflect";
import { createValidator, type Validator } from "@bufbuild/protovalidate";
import type { ContractVersion } from "../../gen/es/selene/kernel/v1/envelope_pb.js";
import { ReasonCode } from "../../gen/es/selene/kernel/v1/reason_pb.js";
import { contractRegexMatch } from "./contract-regex.js";
import { formatRange, formatVersion, isSupported, supportedRange, type VersionRange } from "./contract-version.js";
import { SeleneError, sortViolations, type Violation } from "./selene-error.js";
import { MalformedWireError, scanWire, wireTypeName } from "./wire-scan.js";

/** Default size limit of one message at a boundary. */
export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024;

/** Settings of a boundary validator. */
export interface BoundaryOptions {
  /** Messages larger than this are rejected before decoding. */
  readonly maxMessageBytes?: number;
  /** Contract versions accepted in request envelopes. */
  readonly versions?: VersionRange;
}

/** The outcome of validating one message. */
export type Verdict<T> =
  | { readonly ok: true; readonly message: T }
  | { readonly ok: false; readonly error: SeleneError };

/** Validates messages at a boundary. */
export interface BoundaryValidator {
  /**
   * Decodes and validates `bytes` as `schema`; never throws. `unknownOutside` lists unknown fields
   * the bytes cannot show (the members of a JSON request that name no field), reported as the
   * bytes' own unknown fields are.
   */
  validate<Desc extends DescMessage>(
    schema: Desc,
    bytes: Uint8Array,
    unknownOutside?: readonly Violation[],
  ): Verdict<MessageShape<Desc>>;
  /**
   * Validates a message this process built, given with its encoding `bytes`: the same checks and
   * verdicts as `validate` on those bytes, without decoding them again (decoding one's own
   * encoding gives back the message). A server's response takes this path.
   */
  validateBuilt<Desc extends DescMessage>(
    schema: Desc,
    message: MessageShape<Desc>,
    bytes: Uint8Array,
  ): Verdict<MessageShape<Desc>>;
  /** The size limit in force. */
  readonly maxMessageBytes: number;
  /** The contract versions accepted. */
  readonly versions: VersionRange;
}

/** Creates a boundary validator. One instance per process is enough; it caches per schema. */
export function createBoundaryValidator(options: BoundaryOptions = {}): BoundaryValidator {
  const maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  const versions = options.versions ?? supportedRange();
  const rules = createValidator({ regexMatch: contractRegexMatch });

  function validate<Desc extends DescMessage>(
    schema: Desc,
    bytes: Uint8Array,
    unknownOutside: readonly Violation[] = [],
  ): Verdict<MessageShape<Desc>> {
    return verdictOf(() => check(schema, bytes, unknownOutside, () => decode(schema, bytes)));
  }

  function validateBuilt<Desc extends DescMessage>(
    schema: Desc,
    message: MessageShape<Desc>,
    bytes: Uint8Array,
  ): Verdict<MessageShape<Desc>> {
    return verdictOf(() => check(schema, bytes, [], () => message));
  }

  /** `decoded` gives the message of `bytes`: decoded from them, or the one they were encoded from. */
  function check<Desc extends DescMessage>(
    schema: Desc,
    bytes: Uint8Array,
    unknownOutside: readonly Violation[],
    decoded: () => MessageShape<Desc>,
  ): MessageShape<Desc> {
    if (bytes.length > maxMessageBytes) {
      throw new SeleneError(
        ReasonCode.MESSAGE_TOO_LARGE,
        `message of ${bytes.length} bytes exceeds the limit of ${maxMessageBytes} bytes`,
        { metadata: { limit_bytes: String(maxMessageBytes), size_bytes: String(bytes.length) } },
      );
    }
    const unknown = scan(schema, bytes);
    const message = decoded();
    checkVersion(schema, message, versions);
    if (unknown.length > 0 || unknownOutside.length > 0) {
      const violations = unknown.map((u) => ({
        fieldPath: u.path,
        ruleId: "unknown_field",
        message: `unknown field number ${u.fieldNumber} (${wireTypeName(u.wireType)})`,
      }));
      throw violationError(ReasonCode.UNKNOWN_FIELD, [...violations, ...unknownOutside]);
    }
    checkRules(rules, schema, message);
    return message;
  }

  return { validate, validateBuilt, maxMessageBytes, versions };
}

function verdictOf<T>(check: () => T): Verdict<T> {
  try {
    return { ok: true, message: check() };
  } catch (e) {
    if (e instanceof SeleneError) return { ok: false, error: e };
    // A fault in the validator itself: say nothing about internals on the wire.
    return {
      ok: false,
      error: new SeleneError(ReasonCode.INTERNAL, "internal error while validating the message", { cause: e }),
    };
  }
}

function scan(schema: DescMessage, bytes: Uint8Array) {
  try {
    return scanWire(schema, bytes);
  } catch (e) {
    if (!(e instanceof MalformedWireError)) throw e;
    const where = e.path === "" ? "" : `${e.path}: `;
    throw new SeleneError(ReasonCode.MALFORMED_MESSAGE, `malformed ${schema.typeName}: ${where}${e.message}`, {
      violations: [{ fieldPath: e.path, ruleId: e.ruleId, message: e.message }],
    });
  }
}

function decode<Desc extends DescMessage>(schema: Desc, bytes: Uint8Array): MessageShape<Desc> {
  try {
    // Unknown fields were already found by the scan; no need to keep them.
    return fromBinary(schema, bytes, { readUnknownFields: false });
  } catch (e) {
    throw new SeleneError(ReasonCode.MALFORMED_MESSAGE, `malformed ${schema.typeName}: invalid protobuf encoding`, {
      cause: e,
    });
  }
}

/** Requests carry `envelope.contract_version` as field 1; responses carry no envelope. */
function checkVersion(schema: DescMessage, message: unknown, versions: VersionRange): void {
  const envelopeField = schema.fields[0];
  if (envelopeField?.name !== "envelope" || envelopeField.message?.fields[0]?.name !== "contract_version") return;
  const version = (message as { envelope?: { contractVersion?: ContractVersion } }).envelope?.contractVersion;
  if (version === undefined) return; // a missing version is a rule violation, reported by checkRules
  if (isSupported(version, versions)) return;
  const range = formatRange(versions);
  throw new SeleneError(
    ReasonCode.UNSUPPORTED_CONTRACT_VERSION,
    `contract version ${formatVersion(version)} is not supported; supported versions: ${range}`,
    {
      fieldPath: "envelope.contract_version",
      metadata: {
        received_version: formatVersion(version),
        supported_min: formatVersion(versions.min),
        supported_max: formatVersion(versions.max),
      },
    },
  );
}

function checkRules(rules: Validator, schema: DescMessage, message: MessageShape<DescMessage>): void {
  const result = rules.validate(schema, message);
  if (result.kind === "valid") return;
  if (result.kind === "error") throw result.error; // a rule that cannot be evaluated: internal
  throw violationError(
    ReasonCode.FIELD_INVALID,
    result.violations.map((v) => ({
      fieldPath: pathToString(v.field),
      ruleId: v.ruleId,
      message: v.message,
    })),
  );
}

function violationError(reason: ReasonCode, violations: Violation[]): SeleneError {
  const sorted = sortViolations(violations);
  const first = sorted[0];
  const more = sorted.length > 1 ? ` (and ${sorted.length - 1} more)` : "";
  const text = first === undefined ? "invalid message" : `${first.fieldPath || "message"}: ${first.message}${more}`;
  return new SeleneError(reason, text, { violations: sorted });
}
