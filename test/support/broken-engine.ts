/**
 * A deliberately broken engine for the conformance suite's own test: it serves
 * EngineService (with health and reflection) over mTLS under the reminders
 * engine's certificate and keeps most of the contract, but it accepts unknown
 * fields, answers any CA-signed caller, and performs a new effect on every
 * Commit, whatever its idempotency key.
 */
import { randomUUID } from "node:crypto";
import { create, type DescMessage, fromBinary, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import type { ServerUnaryCall, sendUnaryData, UntypedServiceImplementation } from "@grpc/grpc-js";
import {
  CapabilityKind,
  type CommitRequest,
  EngineService,
  type SimulateRequest,
} from "../../gen/es/selene/engine/v1/engine_pb.js";
import { ReasonCode } from "../../gen/es/selene/kernel/v1/reason_pb.js";
import { createBoundaryValidator } from "../../services/runtime/boundary-validator.js";
import { canonicalJson, sha256Digest } from "../../services/runtime/content-digest.js";
import { describeEngine } from "../../services/runtime/engine-description.js";
import { notServed } from "../../services/runtime/engine-rejection.js";
import { toGrpcStatus } from "../../services/runtime/error-status.js";
import { startGrpcServer } from "../../services/runtime/grpc-server.js";
import { createLogger } from "../../services/runtime/logger.js";
import { SeleneError } from "../../services/runtime/selene-error.js";
import { serverCredentials } from "../../services/runtime/tls-credentials.js";

/** A running broken engine. */
export interface BrokenEngine {
  readonly address: string;
  stop(): Promise<void>;
}

const CAPABILITY = "reminders.create";
const validator = createBoundaryValidator();

/** The boundary with its one flaw: a message refused only for unknown fields is let through without them. */
function lenientAdmit<Desc extends DescMessage>(schema: Desc, bytes: Uint8Array) {
  const verdict = validator.validate(schema, bytes);
  if (verdict.ok || verdict.error.reason !== ReasonCode.UNKNOWN_FIELD) return verdict;
  const known = toBinary(schema, fromBinary(schema, bytes, { readUnknownFields: false }));
  return validator.validate(schema, known);
}

const digestOf = (request: SimulateRequest | CommitRequest) =>
  sha256Digest(canonicalJson({ capability: request.capability, fields: { ...request.fields } }));

/** The handlers, by method, over validated requests. */
const HANDLERS: Record<string, (request: never) => MessageInitShape<DescMessage>> = {
  Describe: () =>
    describeEngine("reminders", [
      {
        name: CAPABILITY,
        kind: CapabilityKind.EFFECT,
        requiredFields: ["text", "when"],
        sideEffects: [{ name: "reminder.created", reversible: true }],
      },
    ]),
  Invoke: () => {
    throw notServed("broken", "reads");
  },
  Simulate: (request: SimulateRequest) => ({
    preview: { capability: request.capability, summary: "Remind you", fields: request.fields },
    effectDigest: digestOf(request),
  }),
  Commit: (request: CommitRequest) => {
    if (request.effectDigest !== digestOf(request)) {
      throw new SeleneError(ReasonCode.SIMULATION_DIGEST_MISMATCH, "the fields do not match the simulated digest");
    }
    // The flaw: no record of the idempotency key, so a retry is a second effect.
    return { effectId: randomUUID(), deduplicated: false, committedAt: timestampNow(), summary: "Reminder set" };
  },
};

/** The raw-bytes implementation of every EngineService method. */
function implementation(): UntypedServiceImplementation {
  const methods: UntypedServiceImplementation = {};
  for (const method of EngineService.methods) {
    const handle = HANDLERS[method.name]!;
    methods[method.name] = (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => {
      const verdict = lenientAdmit(method.input, call.request);
      try {
        if (!verdict.ok) throw verdict.error;
        const response = toBinary(method.output, create(method.output, handle(verdict.message as never)));
        callback(null, Buffer.from(response));
      } catch (e) {
        const error = e instanceof SeleneError ? e : new SeleneError(ReasonCode.INTERNAL, "internal error");
        callback(toGrpcStatus(error) as never, null);
      }
    };
  }
  return methods;
}

/** Starts the broken engine on free local ports with `pkiDir`'s reminders certificate. */
export async function startBrokenEngine(pkiDir: string): Promise<BrokenEngine> {
  const server = await startGrpcServer({
    address: "127.0.0.1:0",
    healthAddress: "127.0.0.1:0",
    credentials: serverCredentials(pkiDir, "reminders"),
    services: [{ service: EngineService, implementation: implementation() }],
    logger: createLogger("broken-engine", "silent"),
  });
  return { address: `127.0.0.1:${server.port}`, stop: () => server.shutdown(0) };
}
