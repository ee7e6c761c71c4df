/**
 * Recorded v1.0 traffic replayed against today's mesh: every call of
 * test/fixtures/contracts/v1.0/traffic.json, as the committed bytes a v1.0
 * client sends (binary to each service's gRPC port presenting the caller's
 * certificate; JSON through today's strict JSON decoder and validator, and
 * over the router's Connect port for the public API). Each call must give the
 * recorded outcome and never a decode or validation refusal; each answer must
 * decode with the v1.0 release's descriptors, with no field v1.0 does not know,
 * and pass v1.0's rules; each carries the deprecation warning.
 *
 * Recording (only when a v1.0 call is added to traffic.json):
 *   SELENE_RECORD_FIXTURES=1 npx mocha test/e2e/contract-replay.test.ts
 * encodes each request with the v1.0 descriptors and writes the answers' outcomes.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  type DescMessage,
  type DescMethod,
  fromBinary,
  fromJson,
  fromJsonString,
  type JsonValue,
  type Registry,
  toBinary,
  toJson,
  toJsonString,
} from "@bufbuild/protobuf";
import { createValidator } from "@bufbuild/protovalidate";
import { Client, Metadata, type ServiceError } from "@grpc/grpc-js";
import { expect } from "chai";
import { grpcAddress } from "../../deploy/mesh-processes.js";
import { ErrorDetailSchema, RpcStatusSchema } from "../../gen/es/selene/kernel/v1/error_pb.js";
import { DEPRECATION_HEADER } from "../../services/runtime/boundary/contract-negotiation.js";
import { decodeJsonRequest } from "../../services/runtime/boundary/json-request.js";
import { createBoundaryValidator } from "../../services/runtime/boundary-validator.js";
import { contractRegexMatch } from "../../services/runtime/contract-regex.js";
import { STATUS_DETAILS_KEY } from "../../services/runtime/error-status.js";
import { LOCAL_CONNECT_PORT, type LOCAL_PORTS } from "../../services/runtime/local-ports.js";
import { imageRegistry } from "../../services/runtime/release-surface.js";
import { clientCredentials } from "../../services/runtime/tls-credentials.js";
import { spiffeIdOf } from "../../services/runtime/workload-identities.js";
import { aConnectClient } from "../support/connect-client.js";
import { startTestMesh, type TestMesh } from "../support/mesh-fixture.js";
import { todayRegistry } from "../support/today-registry.js";

const OFFSET = -28500;
const DIR = join("test", "fixtures", "contracts", "v1.0");
const RECORD = process.env.SELENE_RECORD_FIXTURES === "1";
const V1_0 = imageRegistry(readFileSync("proto/releases/v1.0.binpb"));
const TODAY = todayRegistry();
/** Refusals that mean the bytes of an old client no longer pass: never acceptable in a replay. */
const DECODE_OR_VALIDATION = [
  "MALFORMED_MESSAGE",
  "UNKNOWN_FIELD",
  "FIELD_INVALID",
  "MESSAGE_TOO_LARGE",
  "UNSUPPORTED_CONTRACT_VERSION",
  "INTERNAL",
];

interface RecordedCall {
  readonly name: string;
  readonly target: keyof typeof LOCAL_PORTS;
  readonly caller: string;
  /** "package.Service/Method". */
  readonly method: string;
  readonly request: JsonValue;
  /** Why the answer's fields depend on the mesh's timing: then only its outcome is compared. */
  readonly varies?: string;
}

/** What a call gave: "OK" or the reason name, and the answer's populated field paths. */
interface Outcome {
  readonly outcome: string;
  readonly fields: string[];
}

const traffic = (JSON.parse(readFileSync(join(DIR, "traffic.json"), "utf8")) as { calls: RecordedCall[] }).calls;

function methodOf(registry: Registry, path: string): DescMethod {
  const [service, name] = path.split("/") as [string, string];
  const method = registry.getService(service)?.methods.find((m) => m.name === name);
  if (method === undefined) throw new Error(`${path} is not in the registry`);
  return method;
}

/** Every `$unknown` at any depth of a decoded message: fields the decoding schema does not know. */
function unknownFields(value: unknown, path = ""): string[] {
  if (typeof value !== "object" || value === null) return [];
  if (Array.isArray(value)) return value.flatMap((v, i) => unknownFields(v, `${path}[${i}]`));
  if (value instanceof Uint8Array) return [];
  const record = value as Record<string, unknown>;
  const own = Array.isArray(record.$unknown) && record.$unknown.length > 0 ? [path || "(root)"] : [];
  return [
    ...own,
    ...Object.entries(record)
      .filter(([key]) => key !== "$unknown")
      .flatMap(([key, v]) => unknownFields(v, path === "" ? key : `${path}.${key}`)),
  ];
}

/** The JSON paths an answer populates, lists collapsed: the shape to compare with the recording. */
function fieldPaths(json: JsonValue, path = ""): string[] {
  if (Array.isArray(json)) return [...new Set(json.flatMap((v) => fieldPaths(v, `${path}[]`)))].sort();
  if (typeof json !== "object" || json === null) return [path];
  return Object.entries(json)
    .flatMap(([key, v]) => fieldPaths(v, path === "" ? key : `${path}.${key}`))
    .sort();
}

interface RawAnswer {
  readonly bytes?: Buffer;
  readonly error?: ServiceError;
  readonly headers: Metadata;
}

function callGrpc(mesh: TestMesh, call: RecordedCall, bytes: Uint8Array): Promise<RawAnswer> {
  const client = new Client(
    grpcAddress(call.target, mesh.layout.portOffset),
    clientCredentials(mesh.pkiDir, call.caller, spiffeIdOf(call.target)),
    { "grpc.ssl_target_name_override": call.target },
  );
  return new Promise((resolve) => {
    let headers = new Metadata();
    const pending = client.makeUnaryRequest(
      `/${call.method}`,
      (b: Buffer) => b,
      (b: Buffer) => b,
      Buffer.from(bytes),
      new Metadata(),
      { deadline: Date.now() + 15_000 },
      (error: ServiceError | null, response?: Buffer) => {
        client.close();
        resolve(error === null ? { bytes: response!, headers } : { error, headers });
      },
    );
    pending.on("metadata", (m: Metadata) => {
      headers = m;
    });
  });
}

/** The reason of an error, decoded with the v1.0 descriptors: a reason v1.0 does not know fails. */
function reasonOf(error: ServiceError): string {
  const raw = error.metadata?.get(STATUS_DETAILS_KEY)[0];
  if (!(raw instanceof Buffer)) return `status ${error.code}: ${error.details}`;
  const any = fromBinary(RpcStatusSchema, raw).details.find((d) => d.typeUrl.endsWith(ErrorDetailSchema.typeName));
  const detailSchema = V1_0.getMessage(ErrorDetailSchema.typeName)!;
  const detail = fromBinary(detailSchema, any!.value) as unknown as { reason: number };
  const value = V1_0.getEnum("selene.kernel.v1.ReasonCode")!.values.find((v) => v.number === detail.reason);
  expect(value, `reason ${detail.reason} is unknown to v1.0`).not.to.equal(undefined);
  return value!.name.replace(/^REASON_CODE_/, "");
}

/** Checks an answer as a v1.0 client would read it, and returns its recorded shape. */
function asV1_0(output: DescMessage, bytes: Uint8Array): Outcome {
  const decoded = fromBinary(output, bytes);
  expect(unknownFields(decoded), "fields v1.0 does not know").to.deep.equal([]);
  const rules = createValidator({ regexMatch: contractRegexMatch }).validate(output, decoded);
  expect(rules.kind, rules.kind === "invalid" ? rules.error.message : "").to.equal("valid");
  return { outcome: "OK", fields: fieldPaths(toJson(output, decoded, { registry: V1_0 })) };
}

describe("recorded v1.0 traffic against today's mesh", function () {
  this.timeout(180_000);
  let mesh: TestMesh;
  const validator = createBoundaryValidator();

  before(async () => {
    mesh = await startTestMesh(OFFSET);
  });
  after(async () => {
    await mesh?.stop();
  });

  it("records every v1.0 RPC but the governance watch (not in the mesh)", () => {
    const recorded = new Set(traffic.map((c) => c.method));
    const missing = [...V1_0.files]
      .flatMap((f) => f.services)
      .filter((s) => !s.typeName.startsWith("selene.governance."))
      .flatMap((s) => s.methods.map((m) => `${s.typeName}/${m.name}`))
      .filter((path) => !recorded.has(path));
    expect(missing).to.deep.equal([]);
  });

  for (const call of traffic) {
    it(`${call.name}: ${call.method} as v1.0 sends it, binary and JSON`, async () => {
      const old = methodOf(V1_0, call.method);
      const today = methodOf(TODAY, call.method);
      const base = join(DIR, call.name);
      if (RECORD) {
        const request = fromJson(old.input, call.request, { registry: V1_0 });
        writeFileSync(`${base}.request.binpb`, toBinary(old.input, request));
        writeFileSync(`${base}.request.json`, `${toJsonString(old.input, request, { registry: V1_0 })}\n`);
      }
      const binary = readFileSync(`${base}.request.binpb`);
      const json = readFileSync(`${base}.request.json`);

      // JSON: today's strict decoder and validator take it, to the same message as the binary.
      const decoded = decodeJsonRequest(today.input, json);
      expect(decoded.unknown, "JSON members today does not know").to.deep.equal([]);
      const verdict = validator.validate(today.input, toBinary(today.input, decoded.message));
      expect(verdict.ok, verdict.ok ? "" : verdict.error.message).to.equal(true);
      expect(toBinary(today.input, decoded.message)).to.deep.equal(new Uint8Array(binary));

      const answer = await callGrpc(mesh, call, binary);
      const got =
        answer.error === undefined
          ? asV1_0(old.output, answer.bytes!)
          : { outcome: reasonOf(answer.error), fields: [] };
      expect(DECODE_OR_VALIDATION, `${call.name} was refused: ${answer.error?.details}`).not.to.include(got.outcome);
      if (got.outcome === "OK")
        expect(String(answer.headers.get(DEPRECATION_HEADER)[0])).to.match(/contract 1\.0 is deprecated/);
      if (RECORD) writeFileSync(`${base}.response.json`, `${JSON.stringify(got, null, 2)}\n`);
      expect(existsSync(`${base}.response.json`), "recorded answer").to.equal(true);
      const recorded = JSON.parse(readFileSync(`${base}.response.json`, "utf8")) as Outcome;
      if (call.varies === undefined) expect(got).to.deep.equal(recorded);
      else expect(got.outcome).to.equal(recorded.outcome);

      if (call.target === "router") {
        // The public API's JSON clients: the same bytes over the Connect port, read with v1.0's JSON names.
        const client = aConnectClient(
          `127.0.0.1:${LOCAL_CONNECT_PORT + mesh.layout.portOffset}`,
          mesh.pkiDir,
          call.caller,
        );
        try {
          const http = await client.post(`/${call.method}`, json);
          if (got.outcome === "OK") {
            expect(http.headers[DEPRECATION_HEADER]).to.match(/contract 1\.0 is deprecated/);
            expect(http.status).to.equal(200);
            const read = fromJsonString(old.output, http.body.toString("utf8"), { registry: V1_0 });
            expect(fieldPaths(toJson(old.output, read, { registry: V1_0 }))).to.deep.equal(got.fields);
          }
        } finally {
          client.close();
        }
      }
    });
  }
});
