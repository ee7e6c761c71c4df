import { readFileSync } from "node:fs";
import { create, createFileRegistry, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  FieldDescriptorProto_Label,
  FieldDescriptorProto_Type,
  FileDescriptorProtoSchema,
  timestampFromMs,
} from "@bufbuild/protobuf/wkt";
import { expect } from "chai";
import { pino } from "pino";
import {
  AuditService,
  Decision,
  Gate,
  ListEventsRequestSchema,
  ListEventsResponseSchema,
} from "../../../gen/es/selene/audit/v1/audit_pb.js";
import { ReasonCode } from "../../../gen/es/selene/kernel/v1/reason_pb.js";
import { deprecatedFieldsSet } from "../../../services/runtime/boundary/contract-negotiation.js";
import { type CallOutcome, createServiceBoundary } from "../../../services/runtime/boundary/service-boundary.js";
import { createBoundaryValidator } from "../../../services/runtime/boundary-validator.js";
import { CONTRACT_SURFACE, CONTRACT_SURFACE_KEY } from "../../../services/runtime/contract-surface.js";
import { CURRENT_CONTRACT_VERSION, type Version } from "../../../services/runtime/contract-version.js";
import { decodeStatusDetails, STATUS_DETAILS_KEY, toGrpcStatus } from "../../../services/runtime/error-status.js";
import { metricsRegistry } from "../../../services/runtime/metrics-registry.js";
import { imageRegistry } from "../../../services/runtime/release-surface.js";
import { SeleneError } from "../../../services/runtime/selene-error.js";
import { allowOnly } from "../../../services/runtime/unary-service.js";
import { spiffeIdOf } from "../../../services/runtime/workload-identities.js";

const OPERATOR = spiffeIdOf("operator");
const V1_0 = imageRegistry(readFileSync("proto/releases/v1.0.binpb"));

/** A ListEvents answer with what 1.1 added: an event id, payload, digest, recorded_at, a page token. */
function answer() {
  return {
    records: [
      {
        tenantId: "acme",
        correlationId: "c-1",
        turnId: "t-1",
        sequence: 1n,
        event: {
          gate: Gate.ANSWER,
          decision: Decision.PASS,
          actor: spiffeIdOf("router"),
          eventId: "e-1",
          occurredAt: timestampFromMs(1_700_000_000_000),
          payload: new Uint8Array([1, 2, 3]),
        },
        prevHash: "0".repeat(64),
        hash: "1".repeat(64),
        recordedAt: timestampFromMs(1_700_000_000_000),
        contractVersion: "1.1",
      },
    ],
    nextPageToken: "next",
  };
}

const unused = async () => {
  throw new Error("not called");
};

const boundary = createServiceBoundary(
  AuditService,
  {
    append: unused,
    appendEvents: unused,
    listChains: unused,
    verifyChain: unused,
    async listEvents(request) {
      if (request.tenantId === "open")
        throw new SeleneError(ReasonCode.ENGINE_CIRCUIT_OPEN, "the breaker of engine tools is open", {
          retryAfterMs: 100,
        });
      return answer();
    },
  },
  {
    validator: createBoundaryValidator(),
    logger: pino({ level: "silent" }),
    authorize: allowOnly([OPERATOR]),
    self: spiffeIdOf("audit"),
  },
);
const listEvents = boundary.methods.get("/selene.audit.v1.AuditService/ListEvents")!;

function call(version: Version, tenantId = "acme", headers: Record<string, string> = {}): Promise<CallOutcome> {
  const request = create(ListEventsRequestSchema, {
    envelope: { contractVersion: version, correlationId: "negotiation" },
    tenantId,
  });
  return listEvents.serve({
    protocol: "grpc",
    caller: OPERATOR,
    callerSerial: undefined,
    body: { format: "binary", bytes: toBinary(ListEventsRequestSchema, request) },
    deadline: undefined,
    metadata: {
      get: (key) => (headers[key] === undefined ? [] : [headers[key]]),
      keys: () => Object.keys(headers),
    },
  });
}

async function deprecatedCount(name: string): Promise<number> {
  const metric = await metricsRegistry().getSingleMetric("selene_contract_deprecated_total")?.get();
  return metric?.values.find((v) => v.labels.kind === "version" && v.labels.name === name)?.value ?? 0;
}

describe("contract version negotiation at the call boundary", () => {
  it("answers a caller at N as it is, without a warning", async () => {
    const outcome = await call(CURRENT_CONTRACT_VERSION);
    if (!outcome.ok) throw outcome.error;
    expect(outcome.warnings).to.deep.equal([]);
    expect(fromBinary(ListEventsResponseSchema, outcome.bytes).nextPageToken).to.equal("next");
  });

  it("shapes the answer to a 1.0 caller to the 1.0 release: every field 1.0 lacks is gone, at every depth", async () => {
    const outcome = await call({ major: 1, minor: 0 });
    if (!outcome.ok) throw outcome.error;
    const old = V1_0.getMessage("selene.audit.v1.ListEventsResponse")!;
    const decoded = fromBinary(old, outcome.bytes) as unknown as {
      $unknown?: unknown[];
      records: Array<{ $unknown?: unknown[]; event: { $unknown?: unknown[]; gate: number } }>;
    };
    expect(decoded.$unknown ?? [], "no field 1.0 does not know").to.deep.equal([]);
    expect(decoded.records[0]!.$unknown ?? []).to.deep.equal([]);
    expect(decoded.records[0]!.event.$unknown ?? []).to.deep.equal([]);
    expect(decoded.records[0]!.event.gate).to.equal(Gate.ANSWER);
    const today = fromBinary(ListEventsResponseSchema, outcome.bytes);
    expect(today.nextPageToken).to.equal("");
    expect(today.records[0]!.event!.eventId).to.equal("");
    expect(today.records[0]!.recordedAt).to.equal(undefined);
    expect(today.records[0]!.hash).to.equal("1".repeat(64));
    expect(outcome.message).to.deep.equal(today);
  });

  it("hands the adapter the caller's release for an error: a reason added after it goes out as its stand-in", async () => {
    for (const version of [
      { major: 1, minor: 0 },
      { major: 1, minor: 1 },
    ]) {
      const outcome = await call(version, "open");
      if (outcome.ok) throw new Error("expected a refusal");
      // The error itself (logs, metrics, spans) keeps the true reason.
      expect(outcome.error.reason).to.equal(ReasonCode.ENGINE_CIRCUIT_OPEN);
      expect(outcome.surface).to.not.equal(undefined);
      const wire = toGrpcStatus(outcome.error, outcome.surface);
      expect(wire.code).to.equal(14); // UNAVAILABLE
      expect(decodeStatusDetails(wire.metadata?.get(STATUS_DETAILS_KEY)[0] as Buffer)?.reason).to.equal(
        ReasonCode.ENGINE_UNAVAILABLE,
      );
    }
  });

  it("answers a caller naming this build's contract surface with the true value, at the current version only", async () => {
    const same = { [CONTRACT_SURFACE_KEY]: CONTRACT_SURFACE };
    const reasonFor = async (version: Version, headers: Record<string, string>) => {
      const outcome = await call(version, "open", headers);
      if (outcome.ok) throw new Error("expected a refusal");
      const wire = toGrpcStatus(outcome.error, outcome.surface);
      return decodeStatusDetails(wire.metadata?.get(STATUS_DETAILS_KEY)[0] as Buffer)?.reason;
    };
    expect(await reasonFor(CURRENT_CONTRACT_VERSION, same)).to.equal(ReasonCode.ENGINE_CIRCUIT_OPEN);
    expect(await reasonFor(CURRENT_CONTRACT_VERSION, { [CONTRACT_SURFACE_KEY]: "sha256:other-build" })).to.equal(
      ReasonCode.ENGINE_UNAVAILABLE,
    );
    expect(await reasonFor({ major: 1, minor: 0 }, same)).to.equal(ReasonCode.ENGINE_UNAVAILABLE);
  });

  it("warns a caller at a deprecated version in the response and counts it", async () => {
    const before = await deprecatedCount("1.0");
    const outcome = await call({ major: 1, minor: 0 });
    if (!outcome.ok) throw outcome.error;
    expect(outcome.warnings).to.deep.equal(["contract 1.0 is deprecated; current is 1.1"]);
    expect(await deprecatedCount("1.0")).to.equal(before + 1);
  });

  it("refuses a version past the window with UNSUPPORTED_CONTRACT_VERSION naming the range", async () => {
    for (const version of [
      { major: 1, minor: 2 },
      { major: 0, minor: 9 },
      { major: 2, minor: 0 },
    ]) {
      const outcome = await call(version);
      if (outcome.ok) throw new Error("expected a refusal");
      expect(outcome.error.reason).to.equal(ReasonCode.UNSUPPORTED_CONTRACT_VERSION);
      expect(outcome.error.message).to.contain("supported versions: 1.0-1.1");
    }
  });

  it("names every deprecated field a request sets, at any depth", () => {
    const file = create(FileDescriptorProtoSchema, {
      name: "t.proto",
      package: "t",
      syntax: "proto3",
      messageType: [
        {
          name: "M",
          field: [
            {
              name: "old",
              number: 1,
              type: FieldDescriptorProto_Type.STRING,
              label: FieldDescriptorProto_Label.OPTIONAL,
              jsonName: "old",
              options: { deprecated: true },
            },
            {
              name: "now",
              number: 2,
              type: FieldDescriptorProto_Type.STRING,
              label: FieldDescriptorProto_Label.OPTIONAL,
              jsonName: "now",
            },
            {
              name: "inner",
              number: 3,
              type: FieldDescriptorProto_Type.MESSAGE,
              typeName: ".t.M",
              label: FieldDescriptorProto_Label.OPTIONAL,
              jsonName: "inner",
            },
          ],
        },
      ],
    });
    const schema = createFileRegistry(file, () => undefined).getMessage("t.M")!;
    const message = create(schema, { now: "x", inner: { old: "y" } } as never);
    expect(deprecatedFieldsSet(schema, message)).to.deep.equal(["inner.old"]);
    expect(deprecatedFieldsSet(schema, create(schema, { old: "z" } as never))).to.deep.equal(["old"]);
    expect(deprecatedFieldsSet(schema, create(schema))).to.deep.equal([]);
  });
});
