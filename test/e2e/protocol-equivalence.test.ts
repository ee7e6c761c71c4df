import { create, fromJson, type MessageInitShape, toBinary, toJsonString } from "@bufbuild/protobuf";
import { expect } from "chai";
import fc from "fast-check";
import { lenField, varintField } from "../../conformance/wire.js";
import { connectAddress } from "../../deploy/mesh-processes.js";
import { ReasonCode } from "../../gen/es/selene/kernel/v1/reason_pb.js";
import { SubmitTurnRequestSchema, SubmitTurnResponseSchema } from "../../gen/es/selene/os/v1/turn_pb.js";
import {
  aConnectClient,
  aRawGrpcClient,
  type ConnectTestClient,
  connectVerdict,
  grpcVerdict,
  type Verdict,
} from "../support/connect-client.js";
import { startTestMesh, type TestMesh } from "../support/mesh-fixture.js";
import { badInputs } from "../unit/runtime/boundary-corpus.js";

const OFFSET = -24000;
const SUBMIT = "/selene.os.v1.TurnService/SubmitTurn";

type TurnInit = MessageInitShape<typeof SubmitTurnRequestSchema>;

const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,20}$/;
let unique = 0;

const text = fc.oneof(
  fc.constantFrom("What is the capital of France?", "what time is it in Tokyo", "remind me", "calculate 6 * 7", ""),
  fc.string({ maxLength: 80 }),
);
const input = fc.oneof(
  text.map((value) => ({ case: "text" as const, value })),
  fc
    .record({ simulationId: fc.oneof(fc.stringMatching(ID), fc.string({ maxLength: 10 })), accept: fc.boolean() })
    .map((value) => ({ case: "confirmation" as const, value })),
  fc.constant({ case: undefined }),
);

/** Turns the router accepts at its boundary (the demo tenant, contract 1.0), each with a key of its own. */
function aValidTurn(): fc.Arbitrary<TurnInit> {
  return fc
    .record({
      userId: fc.stringMatching(ID),
      correlationId: fc.stringMatching(ID),
      turnId: fc.stringMatching(ID),
      input,
    })
    .map(({ input: i, ...ids }) => ({
      envelope: {
        contractVersion: { major: 1, minor: 0 },
        tenantId: "demo",
        ...ids,
        idempotencyKey: `eq-${process.pid}-${++unique}`,
      },
      input: i,
    }));
}

/** Turns valid or not: versions out of range, ids that break their rules, another tenant, no envelope. */
function aTurn(): fc.Arbitrary<TurnInit> {
  const envelope = fc.record({
    contractVersion: fc.constantFrom(undefined, { major: 1, minor: 0 }, { major: 1, minor: 1 }, { major: 2, minor: 0 }),
    tenantId: fc.oneof(fc.constantFrom("demo", "acme", "", "Demo!"), fc.string({ maxLength: 70 })),
    userId: fc.oneof(fc.stringMatching(ID), fc.string({ maxLength: 140 })),
    correlationId: fc.oneof(fc.stringMatching(ID), fc.constantFrom("", "a b")),
    turnId: fc.oneof(fc.stringMatching(ID), fc.constant("")),
    idempotencyKey: fc.oneof(
      fc.stringMatching(ID).map((k) => `eq-${k}-${++unique}`),
      fc.constantFrom("", "bad key"),
    ),
  });
  const anyTurn = fc.record({ envelope: fc.option(envelope, { nil: undefined }), input }) as fc.Arbitrary<TurnInit>;
  return fc.oneof(aValidTurn(), anyTurn);
}

/** Bytes near a valid turn: cut short, a byte changed, bytes inserted, unknown fields at the top and in the envelope. */
function bytesNearATurn(): fc.Arbitrary<Uint8Array> {
  const valid = aTurn().map((turn) => toBinary(SubmitTurnRequestSchema, create(SubmitTurnRequestSchema, turn)));
  return fc.oneof(
    fc.uint8Array({ maxLength: 200 }),
    fc.tuple(valid, fc.nat()).map(([b, n]) => b.subarray(0, b.length === 0 ? 0 : n % b.length)),
    fc.tuple(valid, fc.nat(), fc.integer({ min: 0, max: 255 })).map(([b, n, v]) => {
      const copy = Uint8Array.from(b);
      if (copy.length > 0) copy[n % copy.length] = v;
      return copy;
    }),
    fc.tuple(valid, fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 8 })).map(([b, n, extra]) => {
      const at = b.length === 0 ? 0 : n % b.length;
      return Uint8Array.from([...b.subarray(0, at), ...extra, ...b.subarray(at)]);
    }),
    fc
      .tuple(valid, fc.integer({ min: 16, max: 2000 }), fc.nat())
      .map(([b, field, value]) => Uint8Array.from([...b, ...varintField(field, value)])),
    fc.tuple(aTurn(), fc.integer({ min: 16, max: 2000 })).map(([turn, field]) => {
      const message = create(SubmitTurnRequestSchema, turn);
      const envelope =
        message.envelope === undefined
          ? new Uint8Array()
          : toBinary(SubmitTurnRequestSchema.field.envelope.message!, message.envelope);
      message.envelope = undefined;
      const rest = toBinary(SubmitTurnRequestSchema, message);
      return Uint8Array.from([...lenField(1, [...envelope, ...varintField(field, 1)]), ...rest]);
    }),
  );
}

/** JSON texts: anything JSON, and valid turns cut short. */
function jsonTexts(): fc.Arbitrary<string> {
  const turnJson = aTurn().map((turn) => toJsonString(SubmitTurnRequestSchema, create(SubmitTurnRequestSchema, turn)));
  return fc.oneof(
    fc.json({ maxDepth: 3 }),
    fc.string({ maxLength: 40 }),
    fc.tuple(turnJson, fc.nat()).map(([text, n]) => text.slice(0, n % Math.max(1, text.length))),
  );
}

describe("mesh end to end: gRPC, Connect binary and Connect JSON give the same verdict", function () {
  this.timeout(300_000);
  let mesh: TestMesh;
  let grpc: ReturnType<typeof aRawGrpcClient>;
  let connect: ConnectTestClient;

  before(async () => {
    mesh = await startTestMesh(OFFSET);
    grpc = aRawGrpcClient(mesh.routerAddress, mesh.pkiDir);
    connect = aConnectClient(connectAddress(mesh.layout.portOffset), mesh.pkiDir);
  });
  after(async () => {
    grpc?.close();
    connect?.close();
    await mesh?.stop();
  });

  const binaryResponse = (body: Buffer) => new Uint8Array(body);
  const jsonResponse = (body: Buffer) =>
    toBinary(SubmitTurnResponseSchema, fromJson(SubmitTurnResponseSchema, JSON.parse(body.toString("utf8"))));

  const viaGrpc = (bytes: Uint8Array) => grpcVerdict(grpc, SUBMIT, bytes);
  const viaConnectBinary = async (bytes: Uint8Array) =>
    connectVerdict(await connect.post(SUBMIT, bytes, { "content-type": "application/proto" }), binaryResponse);
  const viaConnectJson = async (text: string) => connectVerdict(await connect.post(SUBMIT, text), jsonResponse);

  it("gives one verdict (status, reason, field path, ErrorDetail bytes, response) for the same message on all three", async () => {
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(aTurn(), async (turn) => {
        const message = create(SubmitTurnRequestSchema, turn);
        const grpcSaid = await viaGrpc(toBinary(SubmitTurnRequestSchema, message));
        const binarySaid = await viaConnectBinary(toBinary(SubmitTurnRequestSchema, message));
        const jsonSaid = await viaConnectJson(toJsonString(SubmitTurnRequestSchema, message));
        expect(binarySaid).to.deep.equal(grpcSaid);
        expect(jsonSaid).to.deep.equal(grpcSaid);
        if (grpcSaid.code !== 0) refused++;
      }),
      { numRuns: 80, seed: 24 },
    );
    // Both kinds were exercised: valid turns and refused ones.
    expect(refused).to.be.within(1, 79);
  });

  it("gives gRPC and Connect binary the same verdict for any bytes, and the same bytes twice give identical details", async () => {
    const compare = async (bytes: Uint8Array) => {
      const first = await viaGrpc(bytes);
      expect(await viaConnectBinary(bytes)).to.deep.equal(first);
      expect(await viaGrpc(bytes)).to.deep.equal(first);
      return first;
    };
    for (const input of badInputs.filter((i) => i.schema === SubmitTurnRequestSchema)) {
      const verdict: Verdict = await compare(input.bytes);
      expect(verdict.reason, input.name).to.equal(ReasonCode[input.reason]);
    }
    await fc.assert(
      fc.asyncProperty(bytesNearATurn(), async (bytes) => {
        await compare(bytes);
      }),
      { numRuns: 150, seed: 24 },
    );
  });

  it("refuses any JSON text that is not a turn with a reason and a field path, identically twice", async () => {
    await fc.assert(
      fc.asyncProperty(jsonTexts(), async (text) => {
        const first = await viaConnectJson(text);
        expect(await viaConnectJson(text)).to.deep.equal(first);
        if (first.code !== 0) expect(first.reason, text).to.not.equal("");
      }),
      { numRuns: 150, seed: 24 },
    );
  });

  it("refuses a valid turn with an unknown key added at any depth with UNKNOWN_FIELD at that key", async () => {
    await fc.assert(
      fc.asyncProperty(aValidTurn(), fc.boolean(), fc.jsonValue({ maxDepth: 2 }), async (turn, inEnvelope, value) => {
        const json = JSON.parse(toJsonString(SubmitTurnRequestSchema, create(SubmitTurnRequestSchema, turn)));
        const target = inEnvelope ? json.envelope : json;
        target.x_evil = value;
        const said = await viaConnectJson(JSON.stringify(json));
        expect(said.reason).to.equal("UNKNOWN_FIELD");
        expect(said.fieldPath).to.equal(inEnvelope ? "envelope.x_evil" : "x_evil");
      }),
      { numRuns: 40, seed: 24 },
    );
  });
});
