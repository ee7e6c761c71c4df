import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create, toBinary } from "@bufbuild/protobuf";
import { Server, type ServerUnaryCall, type sendUnaryData } from "@grpc/grpc-js";
import { expect } from "chai";
import { bytes, varintField } from "../../conformance/wire.js";
import { ensurePki } from "../../deploy/pki.js";
import { EngineService, InvokeResponseSchema } from "../../gen/es/selene/engine/v1/engine_pb.js";
import { ReasonCode } from "../../gen/es/selene/kernel/v1/reason_pb.js";
import { createEngineClient } from "../../services/router/engine-client.js";
import { createBoundaryValidator } from "../../services/runtime/boundary-validator.js";
import { toGrpcStatus } from "../../services/runtime/error-status.js";
import { rawServiceDefinition } from "../../services/runtime/raw-service-definition.js";
import { SeleneError } from "../../services/runtime/selene-error.js";
import { serverCredentials } from "../../services/runtime/tls-credentials.js";
import { anEnvelope } from "../support/builders.js";
import { meshEngine } from "../support/mesh-engine.js";

// A fake tools engine with the real tools certificate that answers Invoke with
// whatever bytes the test sets: the router's client must reject anything invalid.
describe("engine responses at the router's boundary", function () {
  this.timeout(30_000);
  let dir: string;
  let server: Server;
  let port: number;
  let next: Buffer = Buffer.alloc(0);
  /** When set, the engine refuses the call with it instead. */
  let refusal: SeleneError | undefined;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "selene-engine-resp-"));
    await ensurePki({ dir });
    server = new Server();
    const reply = (_call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) =>
      refusal === undefined ? callback(null, next) : callback(toGrpcStatus(refusal), null);
    server.addService(rawServiceDefinition(EngineService), {
      Invoke: reply,
      Describe: reply,
      Simulate: reply,
      Commit: reply,
    });
    port = await new Promise((resolve, reject) =>
      server.bindAsync("127.0.0.1:0", serverCredentials(dir, "tools"), (e, p) => (e ? reject(e) : resolve(p))),
    );
  });
  after(async () => {
    await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  async function invokeWith(response: Uint8Array, refusing?: SeleneError): Promise<SeleneError | undefined> {
    next = Buffer.from(response);
    refusal = refusing;
    const client = createEngineClient(meshEngine("tools"), `127.0.0.1:${port}`, dir, createBoundaryValidator());
    try {
      await client.call(
        "invoke",
        {
          envelope: anEnvelope(),
          capability: "tools.lookup",
          input: { case: "read", value: { args: { query: "x" } } },
        },
        { deadline: Date.now() + 3000, correlationId: "c" },
      );
      return undefined;
    } catch (e) {
      return e as SeleneError;
    } finally {
      client.close();
    }
  }

  it("rejects malformed bytes with ENGINE_INVALID_RESPONSE", async () => {
    const e = await invokeWith(Uint8Array.from([0x12, 0xff, 0x01]));
    expect(e?.reason).to.equal(ReasonCode.ENGINE_INVALID_RESPONSE);
  });

  it("rejects a response that breaks a contract rule (no provenance)", async () => {
    const invalid = create(InvokeResponseSchema, { result: { case: "readResult", value: { text: "Paris" } } });
    const e = await invokeWith(toBinary(InvokeResponseSchema, invalid));
    expect(e?.reason).to.equal(ReasonCode.ENGINE_INVALID_RESPONSE);
    expect(e?.violations.map((v) => v.fieldPath)).to.include("read_result.provenance");
  });

  it("rejects a response carrying an unknown field", async () => {
    const e = await invokeWith(bytes(varintField(99, 1)));
    expect(e?.reason).to.equal(ReasonCode.ENGINE_INVALID_RESPONSE);
  });

  it("gives an engine's refusal back as its own reason, field and message: nothing to parse", async () => {
    const refused = new SeleneError(ReasonCode.FIELD_INVALID, "unknown unit furlongs", { fieldPath: "read.args" });
    const e = await invokeWith(new Uint8Array(), refused);
    expect(e).to.include({
      reason: ReasonCode.FIELD_INVALID,
      fieldPath: "read.args",
      message: "unknown unit furlongs",
    });
  });

  it("rejects an engine that presents another workload's identity", async () => {
    next = Buffer.alloc(0);
    const client = createEngineClient(meshEngine("calc"), `127.0.0.1:${port}`, dir, createBoundaryValidator());
    try {
      await client.call(
        "invoke",
        {
          envelope: anEnvelope(),
          capability: "calc.evaluate",
          input: { case: "read", value: { args: { expression: "1" } } },
        },
        { deadline: Date.now() + 3000, correlationId: "c" },
      );
      expect.fail("the call passed");
    } catch (e) {
      expect((e as SeleneError).reason).to.equal(ReasonCode.ENGINE_UNAVAILABLE);
    } finally {
      client.close();
    }
  });
});
