import { toBinary } from "@bufbuild/protobuf";
import { Client, status } from "@grpc/grpc-js";
import { expect } from "chai";
import { ReasonCode } from "../../gen/es/selene/kernel/v1/reason_pb.js";
import { SubmitTurnResponseSchema } from "../../gen/es/selene/os/v1/turn_pb.js";
import { decodeStatusDetails, STATUS_DETAILS_KEY } from "../../services/runtime/error-status.js";
import { SeleneError } from "../../services/runtime/selene-error.js";
import { clientCredentials } from "../../services/runtime/tls-credentials.js";
import { spiffeIdOf } from "../../services/runtime/workload-identities.js";
import { postJsonTurn } from "../support/json-port.js";
import { startTestMesh, type TestMesh } from "../support/mesh-fixture.js";
import { aTextTurn, aTurnClient } from "../support/turn-client.js";

const OFFSET = -29000;

async function rejection(promise: Promise<unknown>): Promise<SeleneError> {
  try {
    await promise;
  } catch (e) {
    if (e instanceof SeleneError) return e;
    throw e;
  }
  throw new Error("expected the call to fail");
}

describe("mesh end to end: turns", function () {
  this.timeout(60_000);
  let mesh: TestMesh;
  let client: ReturnType<typeof aTurnClient>;
  const deadline = () => ({ deadline: Date.now() + 5000, correlationId: "e2e" });

  before(async () => {
    mesh = await startTestMesh(OFFSET);
    client = aTurnClient(mesh.routerAddress, mesh.pkiDir);
  });
  after(async () => {
    client?.close();
    await mesh?.stop();
  });

  it("answers a lookup with provenance through router -> nlp -> tools", async () => {
    const r = await client.call("submitTurn", aTextTurn("What is the capital of France?"), deadline());
    expect(r.outcome.case).to.equal("answer");
    if (r.outcome.case !== "answer") return;
    expect(r.outcome.value.text).to.contain("Paris");
    expect(r.outcome.value.provenance?.sources.length).to.be.greaterThan(0);
    expect(r.outcome.value.provenance?.contentDigest).to.match(/^sha256:[0-9a-f]{64}$/);
  });

  it("answers from the Python engine", async () => {
    const r = await client.call("submitTurn", aTextTurn("calculate (3 + 4) * 2"), deadline());
    expect(r.outcome.case).to.equal("answer");
    if (r.outcome.case === "answer") expect(r.outcome.value.data.result).to.equal("14");
  });

  it("asks exactly one clarify question, the same bytes every time", async () => {
    const first = await client.call("submitTurn", aTextTurn("remind me", { key: "clarify-1" }), deadline());
    const second = await client.call("submitTurn", aTextTurn("remind me", { key: "clarify-1" }), deadline());
    expect(first.outcome.case).to.equal("clarify");
    if (first.outcome.case !== "clarify" || second.outcome.case !== "clarify") return;
    expect(first.outcome.value.missingField).to.equal("text");
    expect(
      toBinary(SubmitTurnResponseSchema, { ...second, correlationId: first.correlationId, turnId: first.turnId }),
    ).to.deep.equal(toBinary(SubmitTurnResponseSchema, first));
  });

  it("simulates an effect and asks to confirm it, with the same simulation on a replay", async () => {
    const turn = aTextTurn("remind me to water the plants at 9am", { key: "sim-replay" });
    const first = await client.call("submitTurn", turn, deadline());
    const again = await client.call("submitTurn", turn, deadline());
    expect(first.outcome.case).to.equal("confirm");
    if (first.outcome.case !== "confirm" || again.outcome.case !== "confirm") return;
    expect(first.outcome.value.preview?.summary).to.contain("water the plants");
    expect(again.outcome.value.simulationId).to.equal(first.outcome.value.simulationId);
    expect(again.outcome.value.effectDigest).to.equal(first.outcome.value.effectDigest);
  });

  it("refuses an intent no engine serves with CAPABILITY_UNKNOWN", async () => {
    const r = await client.call("submitTurn", aTextTurn("send a message to Ana saying I'm late"), deadline());
    expect(r.outcome.case).to.equal("refused");
    if (r.outcome.case === "refused") expect(r.outcome.value.reason).to.equal(ReasonCode.CAPABILITY_UNKNOWN);
  });

  it("refuses a tenant other than the caller's with TENANT_MISMATCH", async () => {
    const e = await rejection(
      client.call("submitTurn", aTextTurn("what time is it", { tenantId: "acme" }), deadline()),
    );
    expect(e.status).to.equal(status.PERMISSION_DENIED);
    expect(e.reason).to.equal(ReasonCode.TENANT_MISMATCH);
  });

  it("rejects malformed bytes with MALFORMED_MESSAGE and keeps serving", async () => {
    const raw = new Client(mesh.routerAddress, clientCredentials(mesh.pkiDir, "demo-app", spiffeIdOf("router")), {
      "grpc.ssl_target_name_override": "router",
    });
    const err = await new Promise<{ code: number; metadata?: { get(k: string): unknown[] } }>((resolve) =>
      raw.makeUnaryRequest(
        "/selene.os.v1.TurnService/SubmitTurn",
        (b: Buffer) => b,
        (b: Buffer) => b,
        Buffer.from([0x0a, 0xff, 0x01]),
        (e) => resolve(e as never),
      ),
    );
    raw.close();
    expect(err.code).to.equal(status.INVALID_ARGUMENT);
    const detail = decodeStatusDetails(err.metadata?.get(STATUS_DETAILS_KEY)[0] as Buffer);
    expect(detail?.reason).to.equal(ReasonCode.MALFORMED_MESSAGE);
    const r = await client.call("submitTurn", aTextTurn("what time is it in Tokyo"), deadline());
    expect(r.outcome.case).to.equal("answer");
  });

  it("serves the same handler over Connect JSON with the client's certificate", async () => {
    const body = JSON.stringify({
      envelope: {
        contractVersion: { major: 1 },
        tenantId: "demo",
        userId: "web",
        correlationId: "connect-1",
        turnId: "connect-1",
        idempotencyKey: "connect-1",
      },
      text: "convert 5 km to miles",
    });
    const response = await postJsonTurn(mesh, body);
    expect(response.status).to.equal(200);
    const json = JSON.parse(response.body) as { answer?: { text: string; provenance: unknown } };
    expect(json.answer?.text).to.match(/mi/);
    expect(json.answer?.provenance).to.be.an("object");
  });

  it("answers ENGINE_UNAVAILABLE within the deadline when an engine is down, and keeps serving", async () => {
    await mesh.mesh.kill("tools");
    const started = Date.now();
    const e = await rejection(
      client.call("submitTurn", aTextTurn("what is the capital of Spain"), {
        deadline: Date.now() + 3000,
        correlationId: "down",
      }),
    );
    expect(e.status).to.equal(status.UNAVAILABLE);
    expect(e.reason).to.equal(ReasonCode.ENGINE_UNAVAILABLE);
    expect(Date.now() - started).to.be.lessThan(3000);
    const r = await client.call("submitTurn", aTextTurn("remind me"), deadline());
    expect(r.outcome.case).to.equal("clarify");
  });
});
