/** Builders of valid contract messages for tests: override only what a test is about. */
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import {
  type InvokeResponse,
  InvokeResponseSchema,
  type SimulateResponse,
  SimulateResponseSchema,
} from "../../gen/es/selene/engine/v1/engine_pb.js";
import { ContractVersionSchema, type Envelope, EnvelopeSchema } from "../../gen/es/selene/kernel/v1/envelope_pb.js";
import { FreshnessState } from "../../gen/es/selene/kernel/v1/provenance_pb.js";
import { type SubmitTurnRequest, SubmitTurnRequestSchema } from "../../gen/es/selene/os/v1/turn_pb.js";
import { CURRENT_CONTRACT_VERSION } from "../../services/runtime/contract-version.js";
import { readContentDigest } from "../../services/runtime/turn-decisions/provenance-check.js";

/** A fixed instant, so fixtures encode to the same bytes every run. */
export const FIXED_MS = Date.UTC(2026, 0, 1, 12, 0, 0);

/** A sha256 digest string of the right shape. */
export const A_DIGEST = `sha256:${"ab".repeat(32)}`;

const HEX = "0123456789abcdef".repeat(4);
/** Strings a digest column's check refuses: upper case, 63 and 65 digits, a non-hex letter, a multibyte character, a newline, another prefix, a leading space. */
export const NOT_DIGESTS: readonly string[] = Object.freeze([
  `sha256:${HEX.toUpperCase()}`,
  `sha256:${HEX.slice(1)}`,
  `sha256:${HEX}0`,
  `sha256:${HEX.slice(1)}g`,
  `sha256:${HEX.slice(1)}é`,
  `sha256:${HEX.slice(1)}\n`,
  `sha512:${HEX}`,
  ` sha256:${HEX.slice(1)}`,
]);

/** Fields of an envelope a test may override; `contractVersion: undefined` removes it. */
export interface EnvelopeOverrides {
  contractVersion?: { major: number; minor: number } | undefined;
  tenantId?: string;
  userId?: string;
  correlationId?: string;
  turnId?: string;
  idempotencyKey?: string;
}

/** A valid envelope at contract version 1.0. */
export function anEnvelope(overrides: EnvelopeOverrides = {}): Envelope {
  const { contractVersion, ...ids } = overrides;
  const envelope = create(EnvelopeSchema, {
    contractVersion: CURRENT_CONTRACT_VERSION,
    tenantId: "acme",
    userId: "user-1",
    correlationId: "corr-1",
    turnId: "turn-1",
    idempotencyKey: "key-1",
    ...ids,
  });
  if ("contractVersion" in overrides) {
    envelope.contractVersion = contractVersion && create(ContractVersionSchema, contractVersion);
  }
  return envelope;
}

/** A valid text turn. */
export function aTurnRequest(
  overrides: { envelope?: Envelope; input?: SubmitTurnRequest["input"] } = {},
): SubmitTurnRequest {
  return create(SubmitTurnRequestSchema, {
    envelope: overrides.envelope ?? anEnvelope(),
    input: overrides.input ?? { case: "text", value: "what is the capital of France?" },
  });
}

/** A valid read result with one source of provenance. */
export function aReadResponse(): InvokeResponse {
  // The content digest is the real one: the router checks it.
  return create(InvokeResponseSchema, {
    result: {
      case: "readResult",
      value: {
        text: "Paris",
        data: { capital: "Paris" },
        provenance: {
          sources: [{ id: "kb:capitals", trust: 90, retrievedAt: timestampFromMs(FIXED_MS), contentDigest: A_DIGEST }],
          retrievedAt: timestampFromMs(FIXED_MS),
          contentDigest: readContentDigest("Paris", { capital: "Paris" }),
          freshness: { state: FreshnessState.FRESH },
        },
      },
    },
  });
}

/** What an nlp engine's understanding may say. */
export interface UnderstandingOverrides {
  intent?: string;
  fields?: Record<string, string>;
  missingFields?: string[];
  clarifications?: { missingField: string; question: string }[];
}

/** An nlp engine's response: a reminder with its text and time, unless overridden. */
export function anUnderstandingResponse(overrides: UnderstandingOverrides = {}): InvokeResponse {
  return create(InvokeResponseSchema, {
    result: {
      case: "understanding",
      value: {
        intent: overrides.intent ?? "reminders.create",
        fields: overrides.fields ?? { text: "feed the cat", when: "8am" },
        missingFields: overrides.missingFields ?? [],
        clarifications: overrides.clarifications ?? [],
        confidence: 1,
      },
    },
  });
}

/** An engine's simulation of a reminder. */
export function aSimulateResponse(): SimulateResponse {
  return create(SimulateResponseSchema, {
    preview: {
      capability: "reminders.create",
      summary: "Remind you to feed the cat at 8am",
      fields: { text: "feed the cat" },
    },
    effectDigest: A_DIGEST,
  });
}
