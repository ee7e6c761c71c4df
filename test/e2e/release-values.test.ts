/**
 * A caller only ever receives values of its own release, from outside the mesh: with the tools
 * engine down and its breaker open, a client of this code base (naming its contract surface) is
 * told ENGINE_CIRCUIT_OPEN, while a 1.0 or a 1.1 client (on gRPC, and on the Connect JSON port) is
 * told ENGINE_UNAVAILABLE, the value its release has, under the same status, in an ErrorDetail that
 * its release's validator accepts. The same inputs give the same bytes.
 */
import { readFileSync } from "node:fs";
import { create, type FileRegistry, fromBinary, toBinary } from "@bufbuild/protobuf";
import { anyUnpack } from "@bufbuild/protobuf/wkt";
import { createValidator } from "@bufbuild/protovalidate";
import { Client, type Metadata, status } from "@grpc/grpc-js";
import { expect } from "chai";
import { ErrorDetailSchema, RpcStatusSchema } from "../../gen/es/selene/kernel/v1/error_pb.js";
import { ReasonCode } from "../../gen/es/selene/kernel/v1/reason_pb.js";
import { SubmitTurnRequestSchema } from "../../gen/es/selene/os/v1/turn_pb.js";
import { REASON_KEY, STATUS_DETAILS_KEY } from "../../services/runtime/error-status.js";
import { imageRegistry } from "../../services/runtime/release-surface.js";
import { SeleneError } from "../../services/runtime/selene-error.js";
import { clientCredentials } from "../../services/runtime/tls-credentials.js";
import { spiffeIdOf } from "../../services/runtime/workload-identities.js";
import { postJsonTurn } from "../support/json-port.js";
import { startTestMesh, type TestMesh } from "../support/mesh-fixture.js";
import { aTextTurn, aTurnClient } from "../support/turn-client.js";

const OFFSET = -32500;
const QUESTION = "what time is it in Tokyo";
const RELEASES = { "1.0": "proto/releases/v1.0.binpb", "1.1": "proto/releases/v1.1.binpb" } as const;
type Release = keyof typeof RELEASES;

/** What an old client receives: the status, the selene-reason text, and the grpc-status-details-bin bytes. */
interface OldAnswer {
  readonly code: number;
  readonly reasonText: string;
  readonly details: Buffer;
}

/** The ErrorDetail of `details` decoded with the release's own schema, and its validator's verdict. */
function asRelease(surface: FileRegistry, details: Uint8Array) {
  const rpcStatus = surface.getMessage(RpcStatusSchema.typeName)!;
  const detailSchema = surface.getMessage(ErrorDetailSchema.typeName)!;
  const any = (fromBinary(rpcStatus, details) as unknown as { details: Array<{ value: Uint8Array }> }).details[0]!;
  const detail = fromBinary(detailSchema, any.value) as unknown as { reason: number };
  const reasons = surface.getEnum("selene.kernel.v1.ReasonCode")!;
  const verdict = createValidator().validate(detailSchema, fromBinary(detailSchema, any.value)).kind;
  return { reason: detail.reason, known: reasons.value[detail.reason] !== undefined, verdict };
}

describe("mesh end to end: a caller only receives values of its own release", function () {
  this.timeout(120_000);
  let mesh: TestMesh;
  let client: ReturnType<typeof aTurnClient>;
  let raw: Client;
  let turn = 0;

  /** One turn of a raw client at `release` (no contract-surface header), on gRPC. */
  const oldGrpc = (release: Release): Promise<OldAnswer> => {
    const [major, minor] = release.split(".").map(Number) as [number, number];
    const request = aTextTurn(QUESTION, { key: `old-${release}-${++turn}` });
    request.envelope.contractVersion = { major, minor };
    const bytes = Buffer.from(toBinary(SubmitTurnRequestSchema, create(SubmitTurnRequestSchema, request)));
    return new Promise((resolve, reject) =>
      raw.makeUnaryRequest(
        "/selene.os.v1.TurnService/SubmitTurn",
        (b: Buffer) => b,
        (b: Buffer) => b,
        bytes,
        { deadline: Date.now() + 5000 },
        (e) => {
          if (e === null) return reject(new Error("expected the turn to fail"));
          const metadata = (e as { metadata: Metadata }).metadata;
          resolve({
            code: e.code,
            reasonText: String(metadata.get(REASON_KEY)[0]),
            details: metadata.get(STATUS_DETAILS_KEY)[0] as Buffer,
          });
        },
      ),
    );
  };

  /** One turn of a Connect JSON client at `release`. */
  const oldJson = async (
    release: Release,
  ): Promise<{ status: number; reason: string; body: Record<string, unknown> }> => {
    const [major, minor] = release.split(".").map(Number) as [number, number];
    const id = `json-${release}-${++turn}`;
    const body = JSON.stringify({
      envelope: {
        contractVersion: { major, minor },
        tenantId: "demo",
        userId: "web",
        correlationId: id,
        turnId: id,
        idempotencyKey: id,
      },
      text: QUESTION,
    });
    const response = await postJsonTurn(mesh, body);
    return {
      status: response.status,
      reason: String(response.headers["selene-reason"]),
      body: JSON.parse(response.body) as Record<string, unknown>,
    };
  };

  /** The reason a client of this code base is told for one turn. */
  const currentReason = async (): Promise<ReasonCode> => {
    try {
      await client.call("submitTurn", aTextTurn(QUESTION), { deadline: Date.now() + 5000, correlationId: "current" });
    } catch (e) {
      if (e instanceof SeleneError) return e.reason;
      throw e;
    }
    throw new Error("expected the turn to fail");
  };

  before(async () => {
    mesh = await startTestMesh(OFFSET);
    client = aTurnClient(mesh.routerAddress, mesh.pkiDir);
    raw = new Client(mesh.routerAddress, clientCredentials(mesh.pkiDir, "demo-app", spiffeIdOf("router")), {
      "grpc.ssl_target_name_override": "router",
    });
    await mesh.mesh.kill("tools");
  });
  after(async () => {
    client?.close();
    raw?.close();
    await mesh?.stop();
  });

  it("tells a 1.0 and a 1.1 client ENGINE_UNAVAILABLE where today's client is told ENGINE_CIRCUIT_OPEN", async () => {
    // Calls to the dead engine open its breaker; then each old call is made between two calls that
    // both found it open, so the old clients were answered while it was open too.
    let checked = 0;
    for (let i = 0; i < 60 && checked < 3; i++) {
      if ((await currentReason()) !== ReasonCode.ENGINE_CIRCUIT_OPEN) continue;
      const answers = {
        "1.0": await oldGrpc("1.0"),
        "1.1": await oldGrpc("1.1"),
        json10: await oldJson("1.0"),
        json11: await oldJson("1.1"),
      };
      if ((await currentReason()) !== ReasonCode.ENGINE_CIRCUIT_OPEN) continue;
      for (const release of ["1.0", "1.1"] as const) {
        const answer = answers[release];
        expect(answer.code, release).to.equal(status.UNAVAILABLE);
        expect(answer.reasonText, release).to.equal("ENGINE_UNAVAILABLE");
        const seen = asRelease(imageRegistry(readFileSync(RELEASES[release])), answer.details);
        expect(seen, release).to.deep.equal({ reason: ReasonCode.ENGINE_UNAVAILABLE, known: true, verdict: "valid" });
        const today = anyUnpack(fromBinary(RpcStatusSchema, answer.details).details[0]!, ErrorDetailSchema);
        expect(today?.reason).to.equal(ReasonCode.ENGINE_UNAVAILABLE);
        expect(fromBinary(RpcStatusSchema, answer.details).message).to.match(/^\[ENGINE_UNAVAILABLE\] /);
      }
      for (const json of [answers.json10, answers.json11]) {
        expect(json.status).to.equal(503);
        expect(json.reason).to.equal("ENGINE_UNAVAILABLE");
        expect(json.body.code).to.equal("unavailable");
        expect(json.body.message).to.match(/^\[ENGINE_UNAVAILABLE\] /);
        const [detail] = json.body.details as Array<{ debug: { reason: string } }>;
        expect(detail?.debug.reason).to.equal("REASON_CODE_ENGINE_UNAVAILABLE");
      }
      checked++;
    }
    expect(checked, "old calls answered while the breaker was open").to.equal(3);
  });

  it("gives an old client the same bytes for the same inputs", async () => {
    // Two rounds within one open breaker: the detail's bytes are the same each time.
    let same = false;
    for (let i = 0; i < 60 && !same; i++) {
      if ((await currentReason()) !== ReasonCode.ENGINE_CIRCUIT_OPEN) continue;
      const first = await oldGrpc("1.1");
      const second = await oldGrpc("1.1");
      if ((await currentReason()) !== ReasonCode.ENGINE_CIRCUIT_OPEN) continue;
      const detailOf = (a: OldAnswer) => fromBinary(RpcStatusSchema, a.details).details[0]!.value;
      const scopeOf = (a: OldAnswer) => fromBinary(ErrorDetailSchema, detailOf(a)).metadata.scope;
      // The engine's own breaker may open between the two (its tenant's was): another input.
      if (scopeOf(first) !== scopeOf(second)) continue;
      expect(Buffer.from(detailOf(second))).to.deep.equal(Buffer.from(detailOf(first)));
      expect(Buffer.from(first.details)).to.deep.equal(Buffer.from(second.details));
      same = true;
    }
    expect(same, "two old calls answered within one open breaker").to.equal(true);
  });
});
