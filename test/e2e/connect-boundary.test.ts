import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { base64Decode } from "@bufbuild/protobuf/wire";
import { Client, Metadata } from "@grpc/grpc-js";
import { expect } from "chai";
import { varintField } from "../../conformance/wire.js";
import { connectAddress, grpcAddress } from "../../deploy/mesh-processes.js";
import { type AuditRecord, Decision, Gate } from "../../gen/es/selene/audit/v1/audit_pb.js";
import { type ErrorDetail, ErrorDetailSchema } from "../../gen/es/selene/kernel/v1/error_pb.js";
import { ReasonCode } from "../../gen/es/selene/kernel/v1/reason_pb.js";
import { SubmitTurnRequestSchema, SubmitTurnResponseSchema } from "../../gen/es/selene/os/v1/turn_pb.js";
import { connectAudit, operatorEnvelope } from "../../services/cli/cli-connection.js";
import type { AuditClient } from "../../services/runtime/audit-client.js";
import { clientCredentials } from "../../services/runtime/tls-credentials.js";
import { CORRELATION_KEY } from "../../services/runtime/unary-service.js";
import { spiffeIdOf } from "../../services/runtime/workload-identities.js";
import {
  aConnectClient,
  aRawGrpcClient,
  type ConnectTestClient,
  grpcVerdict,
  type HttpAnswer,
} from "../support/connect-client.js";
import { startTestMesh, type TestMesh } from "../support/mesh-fixture.js";

const OFFSET = -22000;
const SUBMIT = "/selene.os.v1.TurnService/SubmitTurn";

function envelope(id: string) {
  return {
    contractVersion: { major: 1 },
    tenantId: "demo",
    userId: "web",
    correlationId: id,
    turnId: id,
    idempotencyKey: id,
  };
}

interface ConnectError {
  readonly code: string;
  readonly message: string;
  readonly detail: ErrorDetail;
}

function connectError(answer: HttpAnswer): ConnectError {
  const json = JSON.parse(answer.body.toString("utf8")) as {
    code: string;
    message: string;
    details: Array<{ type: string; value: string; debug: { reason: string } }>;
  };
  const [only] = json.details;
  expect(only?.type).to.equal("selene.kernel.v1.ErrorDetail");
  const detail = fromBinary(ErrorDetailSchema, base64Decode(only!.value));
  expect(only!.debug.reason).to.equal(`REASON_CODE_${ReasonCode[detail.reason]}`);
  return { code: json.code, message: json.message, detail };
}

describe("mesh end to end: the Connect port runs the gRPC port's boundary", function () {
  this.timeout(120_000);
  let mesh: TestMesh;
  let client: ConnectTestClient;
  let audit: AuditClient;
  let seq = 0;
  const id = (what: string) => `${what}-${process.pid}-${++seq}`;

  before(async () => {
    mesh = await startTestMesh(OFFSET);
    client = aConnectClient(connectAddress(mesh.layout.portOffset), mesh.pkiDir);
    audit = connectAudit({ flags: new Map(), words: [] }, mesh.env);
  });
  after(async () => {
    client?.close();
    audit?.close();
    await mesh?.stop();
  });

  it("refuses an unknown key beside text with UNKNOWN_FIELD and its path, where it used to answer", async () => {
    const body = JSON.stringify({ envelope: envelope(id("evil")), text: "what time is it in Tokyo", evil: 1 });
    const answer = await client.post(SUBMIT, body);
    expect(answer.status).to.equal(400);
    expect(answer.headers["selene-reason"]).to.equal("UNKNOWN_FIELD");
    const error = connectError(answer);
    expect(error.code).to.equal("invalid_argument");
    expect(error.detail.reason).to.equal(ReasonCode.UNKNOWN_FIELD);
    expect(error.detail.fieldPath).to.equal("evil");
    expect(error.message).to.equal('[UNKNOWN_FIELD] evil: unknown field "evil"');
  });

  it("names an unknown key at any depth by its field path", async () => {
    const body = JSON.stringify({ envelope: { ...envelope(id("deep")), evil: true }, text: "remind me" });
    const error = connectError(await client.post(SUBMIT, body));
    expect(error.detail.reason).to.equal(ReasonCode.UNKNOWN_FIELD);
    expect(error.detail.fieldPath).to.equal("envelope.evil");
  });

  it("refuses a truncated body with MALFORMED_MESSAGE, the field it was cut in and the rule", async () => {
    const answer = await client.post(SUBMIT, '{"envelope":');
    expect(answer.status).to.equal(400);
    const error = connectError(answer);
    expect(error.code).to.equal("invalid_argument");
    expect(error.detail.reason).to.equal(ReasonCode.MALFORMED_MESSAGE);
    expect(error.detail.fieldPath).to.equal("envelope");
    expect(error.detail.violations.map((v) => v.ruleId)).to.deep.equal(["truncated"]);
    expect(error.detail.metadata.offset).to.equal("12");
  });

  it("refuses a value of the wrong JSON type, a duplicate key and bad syntax, each at its field", async () => {
    const cases: Array<[string, string, string]> = [
      [JSON.stringify({ envelope: envelope(id("type")), text: 5 }), "text", "json_type"],
      [
        JSON.stringify({ envelope: { ...envelope(id("type")), contractVersion: { major: "one" } }, text: "hi" }),
        "envelope.contract_version.major",
        "json_type",
      ],
      [`{"envelope":{"tenantId":"demo","tenantId":"acme"}}`, "envelope.tenant_id", "duplicate_key"],
      [`{"envelope":{"userId":'x'}}`, "envelope.user_id", "json_syntax"],
    ];
    for (const [body, fieldPath, ruleId] of cases) {
      const error = connectError(await client.post(SUBMIT, body));
      expect(error.detail.reason, body).to.equal(ReasonCode.MALFORMED_MESSAGE);
      expect(error.detail.fieldPath, body).to.equal(fieldPath);
      expect(error.detail.violations[0]?.ruleId, body).to.equal(ruleId);
    }
  });

  it("serves Connect binary (application/proto) through the same handler", async () => {
    const request = create(SubmitTurnRequestSchema, {
      envelope: envelope(id("proto")),
      input: { case: "text", value: "What is the capital of France?" },
    });
    const answer = await client.post(SUBMIT, toBinary(SubmitTurnRequestSchema, request), {
      "content-type": "application/proto",
    });
    expect(answer.status).to.equal(200);
    expect(answer.headers["content-type"]).to.equal("application/proto");
    const response = fromBinary(SubmitTurnResponseSchema, answer.body);
    expect(response.outcome.case).to.equal("answer");
  });

  it("answers what the protocol does not serve as the protocol says", async () => {
    expect((await client.post("/selene.os.v1.TurnService/Nope", "{}")).status).to.equal(404);
    const wrongType = await client.post(SUBMIT, "{}", { "content-type": "text/plain" });
    expect(wrongType.status).to.equal(415);
    expect(wrongType.headers["accept-post"]).to.equal("application/json, application/proto");
  });

  it("records the Connect port's refusals in the _system chain exactly as the gRPC port's", async () => {
    const intruder = aConnectClient(connectAddress(mesh.layout.portOffset), mesh.pkiDir, "nlp");
    const grpcIntruder = aRawGrpcClient(mesh.routerAddress, mesh.pkiDir, "nlp");
    const grpc = aRawGrpcClient(mesh.routerAddress, mesh.pkiDir);
    const ids = {
      badBody: id("c-body"),
      badCaller: id("c-caller"),
      grpcBody: id("g-body"),
      grpcCaller: id("g-caller"),
    };
    const unknownField = toBinary(
      SubmitTurnRequestSchema,
      create(SubmitTurnRequestSchema, { envelope: envelope("x") }),
    );
    const withUnknown = new Uint8Array([...unknownField, ...varintField(99, 1)]);
    const grpcMetadata = (correlationId: string) => {
      const metadata = new Metadata();
      metadata.set(CORRELATION_KEY, correlationId);
      return metadata;
    };
    try {
      const body = JSON.stringify({ envelope: envelope("x"), text: "hi", evil: 1 });
      await client.post(SUBMIT, body, { [CORRELATION_KEY]: ids.badBody });
      await intruder.post(SUBMIT, body, { [CORRELATION_KEY]: ids.badCaller });
      await grpcVerdict(grpc, SUBMIT, withUnknown, grpcMetadata(ids.grpcBody));
      await grpcVerdict(grpcIntruder, SUBMIT, withUnknown, grpcMetadata(ids.grpcCaller));
    } finally {
      intruder.close();
      grpcIntruder.close();
      grpc.close();
    }
    const shape = (r: AuditRecord) => ({
      tenant: r.tenantId,
      gate: Gate[r.event!.gate],
      decision: Decision[r.event!.decision],
      reason: ReasonCode[r.event!.reason],
      actor: r.event!.actor,
      attributes: r.event!.attributes,
    });
    const router = "spiffe://selene.local/ns/selene/sa/router";
    const method = SUBMIT;
    const badBody = {
      tenant: "_system",
      gate: "VALIDATE",
      decision: "DENY",
      reason: "UNKNOWN_FIELD",
      actor: router,
      attributes: { caller: "spiffe://selene.local/ns/clients/sa/demo-app", method },
    };
    const badCaller = {
      tenant: "_system",
      gate: "IDENTITY",
      decision: "DENY",
      reason: "CALLER_NOT_ALLOWED",
      actor: router,
      attributes: { caller: "spiffe://selene.local/ns/selene/sa/nlp", method },
    };
    expect((await recordsOf(ids.badBody)).map(shape)).to.deep.equal([badBody]);
    expect((await recordsOf(ids.badCaller)).map(shape)).to.deep.equal([badCaller]);
    expect((await recordsOf(ids.grpcBody)).map(shape)).to.deep.equal([badBody]);
    expect((await recordsOf(ids.grpcCaller)).map(shape)).to.deep.equal([badCaller]);
  });

  it("records the outbox's refusals in the _system chain as well: every server runs the same boundary", async () => {
    const correlationId = id("outbox-refused");
    const intruder = new Client(
      grpcAddress("outbox", mesh.layout.portOffset),
      clientCredentials(mesh.pkiDir, "demo-app", spiffeIdOf("outbox")),
      { "grpc.ssl_target_name_override": "outbox" },
    );
    const metadata = new Metadata();
    metadata.set(CORRELATION_KEY, correlationId);
    try {
      const said = await grpcVerdict(
        intruder,
        "/selene.outbox.v1.OutboxService/ListDeadLetters",
        new Uint8Array(),
        metadata,
      );
      expect(said.reason).to.equal("CALLER_NOT_ALLOWED");
    } finally {
      intruder.close();
    }
    const [record] = await recordsOf(correlationId);
    expect(record?.tenantId).to.equal("_system");
    expect(record?.event?.actor).to.equal(spiffeIdOf("outbox"));
    expect(record?.event?.attributes).to.deep.equal({
      caller: spiffeIdOf("demo-app"),
      method: "/selene.outbox.v1.OutboxService/ListDeadLetters",
    });
  });

  /** The ledger's records of `correlationId`, once there are some (refusals are appended off the request path). */
  async function recordsOf(correlationId: string): Promise<AuditRecord[]> {
    for (const until = Date.now() + 5000; ; ) {
      const { records } = await audit.call(
        "listEvents",
        { envelope: operatorEnvelope("connect-e2e"), correlationId, pageSize: 10 },
        { deadline: Date.now() + 5000, correlationId: "connect-e2e" },
      );
      if (records.length > 0 || Date.now() > until) return records;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
});
