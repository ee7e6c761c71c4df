/**
 * The calc engine, written in Python, in the mesh: a real process on real ports with the
 * project's PKI and contracts. The TypeScript side plays the router (and intruders) with
 * grpc-js clients and protobuf-es messages, and checks what comes back with the same runtime
 * code the Node services use (boundary validator, error details, content digests), so the two
 * languages are held to one contract.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { EventEmitter } from "node:events";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import * as tls from "node:tls";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { create, type DescMessage, fromBinary, toBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema, timestampMs } from "@bufbuild/protobuf/wkt";
import { type ChannelCredentials, Client, credentials, Metadata, type ServiceError, status } from "@grpc/grpc-js";
import { expect } from "chai";
import protobuf from "protobufjs";
import { bytes, lenField, varintField } from "../../conformance/wire.js";
import { ensurePki } from "../../deploy/pki.js";
import {
  CapabilityKind,
  CommitRequestSchema,
  DescribeRequestSchema,
  DescribeResponseSchema,
  InvokeRequestSchema,
  InvokeResponseSchema,
  SimulateRequestSchema,
} from "../../gen/es/selene/engine/v1/engine_pb.js";
import { EnvelopeSchema } from "../../gen/es/selene/kernel/v1/envelope_pb.js";
import type { ErrorDetail } from "../../gen/es/selene/kernel/v1/error_pb.js";
import { FreshnessState } from "../../gen/es/selene/kernel/v1/provenance_pb.js";
import { ReasonCode } from "../../gen/es/selene/kernel/v1/reason_pb.js";
import { SubmitTurnRequestSchema } from "../../gen/es/selene/os/v1/turn_pb.js";
import { createBoundaryValidator } from "../../services/runtime/boundary-validator.js";
import { canonicalJson, sha256Digest } from "../../services/runtime/content-digest.js";
import { CURRENT_CONTRACT_VERSION, formatVersion, supportedRange } from "../../services/runtime/contract-version.js";
import { describeEngine } from "../../services/runtime/engine-description.js";
import { decodeStatusDetails, REASON_KEY, STATUS_DETAILS_KEY } from "../../services/runtime/error-status.js";
import { clientCredentials, serverIdentityCheck, tlsContextOptions } from "../../services/runtime/tls-credentials.js";
import { spiffeIdOf } from "../../services/runtime/workload-identities.js";
import { anEnvelope, aReadResponse, aTurnRequest } from "../support/builders.js";
import { type BadInput, badInputs } from "../unit/runtime/boundary-corpus.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const PYTHON = "/usr/bin/python3";
const ENGINE_DIR = join(ROOT, "services", "engines", "calc");
/** The Python engine SDK (selene_engine) the calc engine is built on. */
const SDK_DIR = join(ROOT, "services", "engines", "python-sdk");
/** The committed Python code of the contracts (npm run generate). */
const STUBS_DIR = join(ROOT, "gen", "python");
const SERVICE = "/selene.engine.v1.EngineService";
const HEALTH_CHECK = "/grpc.health.v1.Health/Check";
const REFLECTION_INFO = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo";
/** The reflection protocol as @grpc/reflection ships it; scripts/gen-python.ts generates the engine's code from it too. */
const REFLECTION_PROTO = join(ROOT, "node_modules/@grpc/reflection/build/proto/grpc/reflection/v1/reflection.proto");
const CALC = spiffeIdOf("calc");
const identity = (buffer: Buffer): Buffer => buffer;
// Each client gets its own connections; the name override sends SNI "calc" instead of an IP.
const CHANNEL_OPTIONS = { "grpc.use_local_subchannel_pool": 1, "grpc.ssl_target_name_override": "calc" };
const execFileAsync = promisify(execFile);
/** Runs the Python boundary over [{type, hex}] cases from a JSON file; prints one verdict per case (null: accepted). */
const PYTHON_BOUNDARY_SCRIPT = `
import json, sys
sys.dont_write_bytecode = True
stubs, sdk_dir, cases_file = sys.argv[1:4]
sys.path[:0] = [stubs, sdk_dir]
from google.protobuf import symbol_database
import selene.audit.v1.audit_pb2, selene.engine.v1.engine_pb2, selene.governance.v1.governance_pb2
import selene.os.v1.turn_pb2, selene.outbox.v1.outbox_pb2
from selene_engine import boundary
from selene_engine.errors import SeleneError
verdicts = []
with open(cases_file) as f:
    cases = json.load(f)
for case in cases:
    try:
        boundary.decode(symbol_database.Default().GetSymbol(case["type"]), bytes.fromhex(case["hex"]))
        verdicts.append(None)
    except SeleneError as err:
        verdicts.append({"message": err.wire_message, "field_path": err.field_path,
                         "violations": [[v.field_path, v.rule_id, v.message] for v in err.violations]})
print(json.dumps(verdicts))
`;

type LogLine = Record<string, unknown>;
interface CallResult {
  readonly reply?: Buffer;
  readonly error?: ServiceError;
}

/** The engine process, its parsed stderr log lines, and its exit. */
class EngineProcess {
  readonly lines: LogLine[] = [];
  readonly raw: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly #events = new EventEmitter();
  #running = true;

  constructor(readonly child: ChildProcess) {
    createInterface({ input: child.stderr! }).on("line", (line) => {
      this.raw.push(line);
      try {
        const parsed = JSON.parse(line) as LogLine;
        this.lines.push(parsed);
        this.#events.emit("line", parsed);
      } catch {
        // kept in `raw` for the failure message
      }
    });
    this.exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        this.#running = false;
        this.#events.emit("exit");
        resolve({ code, signal });
      });
    });
  }

  get running(): boolean {
    return this.#running;
  }

  /** Resolves with the first log line that matches, past or future; rejects if the process exits first. */
  waitForLog(matches: (line: LogLine) => boolean): Promise<LogLine> {
    const seen = this.lines.find(matches);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const onLine = (line: LogLine) => {
        if (!matches(line)) return;
        cleanup();
        resolve(line);
      };
      const whenExited = () => {
        cleanup();
        reject(new Error(`the engine exited first; its stderr:\n${this.raw.join("\n")}`));
      };
      const cleanup = () => {
        this.#events.off("line", onLine);
        this.#events.off("exit", whenExited);
      };
      this.#events.on("line", onLine);
      this.#events.once("exit", whenExited);
      if (!this.#running) whenExited();
    });
  }
}

function unary(client: Client, path: string, request: Uint8Array, metadata = new Metadata()): Promise<CallResult> {
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      path,
      identity,
      identity,
      Buffer.from(request),
      metadata,
      { deadline: Date.now() + 10_000 },
      (error, reply) => resolve(error ? { error } : { reply: reply! }),
    );
  });
}

/** One ServerReflectionResponse as protobufjs's toObject gives it (oneofs named, bytes as Buffers). */
interface ReflectionReply {
  readonly validHost?: string;
  readonly messageResponse?: string;
  readonly listServicesResponse?: { service?: Array<{ name: string }> };
  readonly fileDescriptorResponse?: { fileDescriptorProto?: Uint8Array[] };
  readonly errorResponse?: { errorCode?: number; errorMessage?: string };
}

/**
 * Sends `requests` on one ServerReflectionInfo stream, half-closes it, and resolves with every
 * response once the server ends the stream (or with the error the stream ended in).
 */
async function reflect(
  client: Client,
  requests: readonly Record<string, unknown>[],
): Promise<{ replies: ReflectionReply[]; error?: ServiceError }> {
  const root = await protobuf.load(REFLECTION_PROTO);
  const Request = root.lookupType("grpc.reflection.v1.ServerReflectionRequest");
  const Response = root.lookupType("grpc.reflection.v1.ServerReflectionResponse");
  const call = client.makeBidiStreamRequest(
    REFLECTION_INFO,
    (request: Record<string, unknown>) => Buffer.from(Request.encode(Request.fromObject(request)).finish()),
    (data: Buffer) => Response.toObject(Response.decode(data), { oneofs: true }) as ReflectionReply,
    new Metadata(),
    { deadline: Date.now() + 10_000 },
  );
  const replies: ReflectionReply[] = [];
  return new Promise((resolve) => {
    call.on("data", (reply: ReflectionReply) => replies.push(reply));
    call.once("error", (error: ServiceError) => resolve({ replies, error }));
    call.once("end", () => resolve({ replies }));
    for (const request of requests) call.write(request);
    call.end();
  });
}

/** The ErrorDetail in an error's grpc-status-details-bin trailer, after checking the other two error channels. */
function errorDetail(result: CallResult, code: status, reason: ReasonCode): ErrorDetail {
  const { error } = result;
  expect(error, "the call should fail").to.not.equal(undefined);
  expect(error!.code, error!.details).to.equal(code);
  const name = ReasonCode[reason];
  expect(error!.details.startsWith(`[${name}] `), error!.details).to.equal(true);
  expect(error!.metadata.get(REASON_KEY)).to.deep.equal([name]);
  const raw = error!.metadata.get(STATUS_DETAILS_KEY)[0];
  expect(raw, "grpc-status-details-bin").to.be.instanceOf(Buffer);
  const detail = decodeStatusDetails(raw as Buffer);
  expect(detail, "an ErrorDetail inside the RpcStatus").to.not.equal(undefined);
  expect(detail!.reason).to.equal(reason);
  return detail!;
}

function invokeBytes(expression: string, envelope = anEnvelope()): Uint8Array {
  return toBinary(
    InvokeRequestSchema,
    create(InvokeRequestSchema, {
      envelope,
      capability: "calc.evaluate",
      input: { case: "read", value: { args: { expression } } },
    }),
  );
}

function describeBytes(): Uint8Array {
  return toBinary(
    DescribeRequestSchema,
    create(DescribeRequestSchema, {
      envelope: { contractVersion: CURRENT_CONTRACT_VERSION, correlationId: "describe-1" },
    }),
  );
}

/** The serial number of the certificate the engine presents to a new TLS connection. */
function servedSerial(address: string, material: tls.ConnectionOptions): Promise<string> {
  const [host, port] = address.split(":");
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host,
      port: Number(port),
      ...material,
      ALPNProtocols: ["h2"],
      servername: "calc",
      checkServerIdentity: () => undefined,
    });
    socket.once("secureConnect", () => {
      resolve(socket.getPeerCertificate().serialNumber);
      socket.destroy();
    });
    socket.once("error", reject);
  });
}

describe("python calc engine", function () {
  this.timeout(60_000);
  const validator = createBoundaryValidator();
  const clients: Client[] = [];
  let pkiDir: string;
  let engine: EngineProcess;
  let address: string;
  let healthAddress: string;
  let router: Client;

  function client(target: string, creds: ChannelCredentials): Client {
    const made = new Client(target, creds, CHANNEL_OPTIONS);
    clients.push(made);
    return made;
  }

  const routerCall = (method: string, request: Uint8Array) => unary(router, `${SERVICE}/${method}`, request);

  before(async () => {
    pkiDir = await mkdtemp(join(tmpdir(), "selene-calc-pki-"));
    await ensurePki({ dir: pkiDir });
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      SELENE_PKI_DIR: pkiDir,
      SELENE_CALC_ADDR: "127.0.0.1:0", // free ports, read back from the listening line
      SELENE_CALC_HEALTH_ADDR: "127.0.0.1:0",
      SELENE_CALC_METRICS_ADDR: "127.0.0.1:0",
      SELENE_PYTHON_STUBS: STUBS_DIR,
      PYTHONDONTWRITEBYTECODE: "1",
    };
    // grpc-js reads these too; the engine's own default (grpc core silent) is what is under test.
    delete env.GRPC_VERBOSITY;
    delete env.GRPC_TRACE;
    const child = spawn(PYTHON, [join(ENGINE_DIR, "calc_engine.py")], {
      cwd: ROOT,
      stdio: ["ignore", "ignore", "pipe"],
      env,
    });
    engine = new EngineProcess(child);
    const listening = await engine.waitForLog((line) => line.msg === "listening");
    address = String(listening.addr);
    healthAddress = String(listening.health_addr);
    router = client(address, clientCredentials(pkiDir, "router", CALC));
  });

  after(async () => {
    for (const made of clients) made.close();
    if (engine?.running) {
      engine.child.kill("SIGTERM");
      const timer = setTimeout(() => engine.child.kill("SIGKILL"), 15_000);
      await engine.exited;
      clearTimeout(timer);
    }
    if (pkiDir !== undefined) await rm(pkiDir, { recursive: true, force: true });
  });

  /** Runs `python3 -m unittest discover` with `args`; resolves with its exit code and stderr. */
  const unittest = (args: string[]) =>
    new Promise<{ code: number | string | null; stderr: string }>((resolve) => {
      execFile(PYTHON, ["-B", "-m", "unittest", "discover", ...args], { cwd: ROOT }, (error, _stdout, stderr) => {
        resolve({ code: error === null ? 0 : (error.code ?? null), stderr });
      });
    });

  it("passes the evaluator's Python unit tests", async () => {
    const run = await unittest(["-s", ENGINE_DIR, "-p", "test_*.py"]);
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stderr).to.match(/^Ran [1-9]\d* tests? in /m);
  });

  it("passes the Python engine SDK's unit tests", async () => {
    const run = await unittest(["-s", join(SDK_DIR, "tests"), "-t", SDK_DIR]);
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stderr).to.match(/^Ran [1-9]\d* tests? in /m);
  });

  it("logs one JSON object per line, the listening line with both bound addresses", () => {
    expect(engine.raw.length).to.equal(engine.lines.length);
    const listening = engine.lines.find((line) => line.msg === "listening")!;
    expect(listening).to.include({ level: "info", component: "engine-calc", spiffe_id: CALC });
    expect(address).to.match(/^127\.0\.0\.1:[1-9]\d*$/);
    expect(healthAddress).to.match(/^127\.0\.0\.1:[1-9]\d*$/);
    expect(healthAddress).to.not.equal(address);
  });

  it("(a) evaluates calc.evaluate for the router, with provenance whose digest recomputes", async () => {
    const before = Date.now();
    const { reply, error } = await routerCall("Invoke", invokeBytes("(3 + 4) * 2"));
    expect(error?.details).to.equal(undefined);
    const verdict = validator.validate(InvokeResponseSchema, reply!);
    if (!verdict.ok) throw verdict.error; // the Node boundary accepts the Python engine's answer
    const { result } = verdict.message;
    if (result.case !== "readResult") throw new Error(`expected a read result, got ${result.case}`);
    const read = result.value;
    expect(read.text).to.equal("(3 + 4) * 2 = 14");
    expect(read.data).to.deep.equal({ expression: "(3 + 4) * 2", result: "14" });
    const provenance = read.provenance!;
    expect(provenance.contentDigest).to.equal(sha256Digest(canonicalJson({ text: read.text, data: read.data })));
    expect(provenance.sources.map((s) => [s.id, s.trust])).to.deep.equal([["calc:python", 100]]);
    expect(provenance.sources[0]!.contentDigest).to.equal(sha256Digest(canonicalJson(read.data)));
    expect(provenance.freshness?.state).to.equal(FreshnessState.LIVE);
    const retrievedAt = timestampMs(provenance.retrievedAt!);
    expect(retrievedAt).to.be.within(before - 1000, Date.now() + 1000);
  });

  it("evaluates decimals exactly and powers with ^ and **", async () => {
    for (const [expression, expected] of [
      ["0.1 + 0.2", "0.3"],
      ["-2 ^ 2", "-4"],
      ["2 ** 10 / 4", "256"],
      ["12 * 7", "84"],
    ]) {
      const { reply } = await routerCall("Invoke", invokeBytes(expression!));
      const verdict = validator.validate(InvokeResponseSchema, reply!);
      if (!verdict.ok || verdict.message.result.case !== "readResult")
        throw new Error(`no read result for ${expression}`);
      expect(verdict.message.result.value.data.result, expression).to.equal(expected);
    }
  });

  it("(b) describes itself to the router", async () => {
    const { reply, error } = await routerCall("Describe", describeBytes());
    expect(error?.details).to.equal(undefined);
    const verdict = validator.validate(DescribeResponseSchema, reply!);
    if (!verdict.ok) throw verdict.error;
    const described = verdict.message;
    expect(described.engineId).to.equal("calc");
    expect(described.spiffeId).to.equal(CALC);
    expect(described.capabilities.map((c) => [c.name, c.kind, c.requiredFields, c.sideEffects.length])).to.deep.equal([
      ["calc.evaluate", CapabilityKind.READ, ["expression"], 0],
    ]);
    // Python reads the version from its own descriptor of version.proto: it must agree with TypeScript's.
    const typescript = describeEngine("calc", []).supportedVersions ?? [];
    expect(described.supportedVersions.map(formatVersion)).to.deep.equal(
      typescript.map((v) => `${v.major}.${v.minor}`),
    );
    expect(described.supportedVersions.at(-1)).to.include(CURRENT_CONTRACT_VERSION);
  });

  it("(c) denies the nlp engine's own certificate as a mediation bypass, and logs both identities", async () => {
    const nlp = client(address, clientCredentials(pkiDir, "nlp", CALC));
    const result = await unary(
      nlp,
      `${SERVICE}/Invoke`,
      invokeBytes("1 + 1", anEnvelope({ correlationId: "bypass-1" })),
    );
    const detail = errorDetail(result, status.PERMISSION_DENIED, ReasonCode.MEDIATION_BYPASS);
    expect(detail.retryable).to.equal(false);
    const logged = await engine.waitForLog((line) => line.reason === "MEDIATION_BYPASS");
    expect(logged).to.include({
      level: "warn",
      caller_spiffe_id: spiffeIdOf("nlp"),
      engine_spiffe_id: CALC,
      method: `${SERVICE}/Invoke`,
      correlation_id: "bypass-1",
    });
    const described = await unary(nlp, `${SERVICE}/Describe`, describeBytes());
    errorDetail(described, status.PERMISSION_DENIED, ReasonCode.MEDIATION_BYPASS);
  });

  it("denies every identity but the router's", async () => {
    for (const name of ["tools", "reminders", "outbox", "demo-app", "operator"]) {
      const intruder = client(address, clientCredentials(pkiDir, name, CALC));
      const result = await unary(intruder, `${SERVICE}/Invoke`, invokeBytes("1 + 1"));
      errorDetail(result, status.PERMISSION_DENIED, ReasonCode.MEDIATION_BYPASS);
    }
  });

  it("(d) refuses a client without a certificate at the TLS handshake", async () => {
    const { ca } = tlsContextOptions(pkiDir, "router");
    const anonymous = client(
      address,
      credentials.createSsl(ca, null, null, { checkServerIdentity: serverIdentityCheck(CALC) }),
    );
    const result = await unary(anonymous, `${SERVICE}/Invoke`, invokeBytes("1 + 1"));
    expect(result.error?.code).to.equal(status.UNAVAILABLE);
  });

  it("(e) refuses contract version 2.0 with the supported range", async () => {
    const result = await routerCall(
      "Invoke",
      invokeBytes("1 + 1", anEnvelope({ contractVersion: { major: 2, minor: 0 } })),
    );
    const detail = errorDetail(result, status.FAILED_PRECONDITION, ReasonCode.UNSUPPORTED_CONTRACT_VERSION);
    expect(detail.fieldPath).to.equal("envelope.contract_version");
    expect(detail.metadata).to.deep.equal({
      received_version: "2.0",
      supported_min: formatVersion(supportedRange().min),
      supported_max: formatVersion(supportedRange().max),
    });
  });

  it("(f) refuses an unknown field in the envelope", async () => {
    const withoutEnvelope = create(InvokeRequestSchema, {
      capability: "calc.evaluate",
      input: { case: "read", value: { args: { expression: "1 + 1" } } },
    });
    const envelope = bytes(toBinary(EnvelopeSchema, anEnvelope()), varintField(99, 1));
    const request = bytes(lenField(1, envelope), toBinary(InvokeRequestSchema, withoutEnvelope));
    const detail = errorDetail(await routerCall("Invoke", request), status.INVALID_ARGUMENT, ReasonCode.UNKNOWN_FIELD);
    expect(detail.fieldPath).to.equal("envelope.99");
    expect(detail.violations.map((v) => v.ruleId)).to.deep.equal(["unknown_field"]);
  });

  it("(g) refuses division by zero at the expression's field path", async () => {
    const result = await routerCall("Invoke", invokeBytes("1 / 0"));
    const detail = errorDetail(result, status.INVALID_ARGUMENT, ReasonCode.FIELD_INVALID);
    expect(detail.fieldPath).to.equal('read.args["expression"]');
    expect(detail.violations.map((v) => v.ruleId)).to.deep.equal(["calc.division_by_zero"]);
    expect(result.error!.details).to.equal('[FIELD_INVALID] read.args["expression"]: division by zero at position 3');
  });

  it("refuses a bad expression, a missing one, and an argument it does not take", async () => {
    for (const [expression, ruleId] of [
      ["__import__('os').system('true')", "calc.invalid_character"],
      ["(1 + 2", "calc.syntax"],
      ["9 ^ 9 ^ 9", "calc.exponent_too_large"],
      ["1".repeat(257), "calc.too_long"],
      ["", "required"],
    ]) {
      const detail = errorDetail(
        await routerCall("Invoke", invokeBytes(expression!)),
        status.INVALID_ARGUMENT,
        ReasonCode.FIELD_INVALID,
      );
      expect([detail.fieldPath, detail.violations[0]?.ruleId], expression).to.deep.equal([
        'read.args["expression"]',
        ruleId,
      ]);
    }
    const extra = toBinary(
      InvokeRequestSchema,
      create(InvokeRequestSchema, {
        envelope: anEnvelope(),
        capability: "calc.evaluate",
        input: { case: "read", value: { args: { expression: "1", precision: "2" } } },
      }),
    );
    const detail = errorDetail(await routerCall("Invoke", extra), status.INVALID_ARGUMENT, ReasonCode.FIELD_INVALID);
    expect(detail.fieldPath).to.equal('read.args["precision"]');
  });

  it("refuses an empty envelope id with its field path", async () => {
    for (const [key, path] of [
      ["tenantId", "envelope.tenant_id"],
      ["userId", "envelope.user_id"],
      ["correlationId", "envelope.correlation_id"],
      ["turnId", "envelope.turn_id"],
      ["idempotencyKey", "envelope.idempotency_key"],
    ] as const) {
      const result = await routerCall("Invoke", invokeBytes("1 + 1", anEnvelope({ [key]: "" })));
      const detail = errorDetail(result, status.INVALID_ARGUMENT, ReasonCode.FIELD_INVALID);
      expect(detail.fieldPath).to.equal(path);
      expect(detail.violations[0]?.ruleId).to.equal("string.min_len");
    }
  });

  it("rejects utterances, Simulate and Commit: it has no effects", async () => {
    const utterance = toBinary(
      InvokeRequestSchema,
      create(InvokeRequestSchema, {
        envelope: anEnvelope(),
        capability: "calc.evaluate",
        input: { case: "utterance", value: "what is 2 + 2" },
      }),
    );
    errorDetail(await routerCall("Invoke", utterance), status.FAILED_PRECONDITION, ReasonCode.ENGINE_REJECTED);
    const simulate = toBinary(
      SimulateRequestSchema,
      create(SimulateRequestSchema, { envelope: anEnvelope(), capability: "calc.evaluate" }),
    );
    errorDetail(await routerCall("Simulate", simulate), status.FAILED_PRECONDITION, ReasonCode.ENGINE_REJECTED);
    const commit = toBinary(
      CommitRequestSchema,
      create(CommitRequestSchema, {
        envelope: anEnvelope(),
        capability: "calc.evaluate",
        simulationId: "sim-1",
        effectDigest: `sha256:${"0".repeat(64)}`,
      }),
    );
    errorDetail(await routerCall("Commit", commit), status.FAILED_PRECONDITION, ReasonCode.ENGINE_REJECTED);
  });

  it("gives the corpus of bad engine requests the same verdict as the Node boundary", async () => {
    const methods = new Map<DescMessage, string>([
      [DescribeRequestSchema, "Describe"],
      [InvokeRequestSchema, "Invoke"],
      [SimulateRequestSchema, "Simulate"],
      [CommitRequestSchema, "Commit"],
    ]);
    const cases = badInputs.filter((input: BadInput) => methods.has(input.schema));
    expect(cases.length).to.be.greaterThan(0);
    for (const input of cases) {
      const node = validator.validate(input.schema, input.bytes);
      if (node.ok) throw new Error(`the Node boundary accepts "${input.name}"`);
      const result = await routerCall(methods.get(input.schema)!, input.bytes);
      const detail = errorDetail(result, input.status, input.reason);
      expect(detail.fieldPath, input.name).to.equal(input.fieldPath);
      expect(result.error!.details, input.name).to.equal(`[${node.error.reasonName}] ${node.error.message}`);
    }
  });

  it("gives every corpus input, of every contract, the Node boundary's verdict in Python", async () => {
    const valid: Array<[DescMessage, Uint8Array]> = [
      [SubmitTurnRequestSchema, toBinary(SubmitTurnRequestSchema, aTurnRequest())],
      [InvokeResponseSchema, toBinary(InvokeResponseSchema, aReadResponse())],
      [InvokeRequestSchema, invokeBytes("1 + 1")],
      [DescribeRequestSchema, describeBytes()],
    ];
    const cases = [...badInputs.map((input): [DescMessage, Uint8Array] => [input.schema, input.bytes]), ...valid];
    const file = join(pkiDir, "boundary-cases.json");
    await writeFile(
      file,
      JSON.stringify(
        cases.map(([schema, data]) => ({ type: schema.typeName, hex: Buffer.from(data).toString("hex") })),
      ),
    );
    const { stdout } = await execFileAsync(PYTHON, ["-c", PYTHON_BOUNDARY_SCRIPT, STUBS_DIR, SDK_DIR, file]);
    const verdicts = JSON.parse(stdout) as Array<{
      message: string;
      field_path: string;
      violations: string[][];
    } | null>;
    expect(verdicts).to.have.length(cases.length);
    cases.forEach(([schema, data], i) => {
      const node = validator.validate(schema, data);
      const expected = node.ok
        ? null
        : {
            message: `[${node.error.reasonName}] ${node.error.message}`,
            field_path: node.error.fieldPath,
            violations: node.error.violations.map((v) => [v.fieldPath, v.ruleId, v.message]),
          };
      expect(verdicts[i], badInputs[i]?.name ?? `valid ${schema.typeName}`).to.deep.equal(expected);
    });
  });

  it("(h) answers SERVING on the plaintext health port, which serves nothing else", async () => {
    const probe = client(healthAddress, credentials.createInsecure());
    const serving = Buffer.from([0x08, 0x01]); // HealthCheckResponse{status: SERVING}
    const overall = await unary(probe, HEALTH_CHECK, new Uint8Array());
    expect(overall.reply).to.deep.equal(serving);
    const engineService = await unary(
      probe,
      HEALTH_CHECK,
      bytes(lenField(1, Buffer.from("selene.engine.v1.EngineService"))),
    );
    expect(engineService.reply).to.deep.equal(serving);
    const unknown = await unary(probe, HEALTH_CHECK, bytes(lenField(1, Buffer.from("no.such.Service"))));
    expect(unknown.error?.code).to.equal(status.NOT_FOUND);
    const bypass = await unary(probe, `${SERVICE}/Describe`, describeBytes());
    expect(bypass.error?.code).to.equal(status.UNIMPLEMENTED);
    // The mTLS port serves health too.
    expect((await unary(router, HEALTH_CHECK, new Uint8Array())).reply).to.deep.equal(serving);
  });

  it("serves grpc.reflection.v1 on the mTLS port, with the contract's files and their imports", async () => {
    const reflector = client(address, clientCredentials(pkiDir, "router", CALC));
    const { replies, error } = await reflect(reflector, [
      { host: "calc", listServices: "" },
      { fileContainingSymbol: "selene.engine.v1.EngineService" },
      { fileContainingSymbol: "selene.engine.v1.EngineService.Invoke" },
      { fileByFilename: "selene/engine/v1/engine.proto" },
      { fileContainingSymbol: "no.such.Service" },
      { fileByFilename: "no/such/file.proto" },
      { allExtensionNumbersOfType: "selene.engine.v1.InvokeRequest" },
    ]);
    reflector.close();
    expect(error?.details).to.equal(undefined);
    expect(replies.map((reply) => reply.messageResponse)).to.deep.equal([
      "listServicesResponse",
      "fileDescriptorResponse",
      "fileDescriptorResponse",
      "fileDescriptorResponse",
      "errorResponse",
      "errorResponse",
      "errorResponse",
    ]);
    const [listed, bySymbol, byMethod, byFile, unknownSymbol, unknownFile, extensions] = replies;
    expect(listed!.validHost).to.equal("calc");
    expect(listed!.listServicesResponse!.service!.map((s) => s.name)).to.include.members([
      "selene.engine.v1.EngineService",
      "grpc.health.v1.Health",
      "grpc.reflection.v1.ServerReflection",
    ]);

    const files = bySymbol!.fileDescriptorResponse!.fileDescriptorProto!.map((data) =>
      fromBinary(FileDescriptorProtoSchema, data),
    );
    const names = files.map((file) => file.name);
    expect(names[0]).to.equal("selene/engine/v1/engine.proto");
    const engineFile = files[0]!;
    expect(engineFile.service.map((s) => s.name)).to.include("EngineService");
    expect(engineFile.dependency).to.include.members([
      "buf/validate/validate.proto",
      "selene/kernel/v1/envelope.proto",
    ]);
    for (const file of files) expect(names, `the imports of ${file.name}`).to.include.members(file.dependency);
    expect(new Set(names).size).to.equal(names.length);
    // A method and the file's own name lead to the same file.
    for (const reply of [byMethod, byFile]) {
      const first = reply!.fileDescriptorResponse!.fileDescriptorProto![0]!;
      expect(fromBinary(FileDescriptorProtoSchema, first).name).to.equal("selene/engine/v1/engine.proto");
    }

    expect(unknownSymbol!.errorResponse!.errorCode).to.equal(status.NOT_FOUND);
    expect(unknownFile!.errorResponse!.errorCode).to.equal(status.NOT_FOUND);
    expect(extensions!.errorResponse!.errorCode).to.equal(status.UNIMPLEMENTED);
  });

  it("opens reflection to any CA-signed peer, as the Node servers do, and not on the plaintext port", async () => {
    const operator = client(address, clientCredentials(pkiDir, "operator", CALC));
    const listed = await reflect(operator, [{ listServices: "" }]);
    operator.close();
    expect(listed.error?.details).to.equal(undefined);
    expect(listed.replies[0]?.listServicesResponse?.service?.map((s) => s.name)).to.include(
      "selene.engine.v1.EngineService",
    );
    const probe = client(healthAddress, credentials.createInsecure());
    const plaintext = await reflect(probe, [{ listServices: "" }]);
    probe.close();
    expect(plaintext.error?.code).to.equal(status.UNIMPLEMENTED);
  });

  it("serves a rotated certificate on new connections without a restart", async () => {
    const material = tlsContextOptions(pkiDir, "router");
    const served = await servedSerial(address, material);
    await ensurePki({ dir: pkiDir, rotate: true });
    const fresh = new X509Certificate(await readFile(join(pkiDir, "calc.crt"))).serialNumber;
    expect(fresh).to.not.equal(served);
    expect(await servedSerial(address, tlsContextOptions(pkiDir, "router"))).to.equal(fresh);
    const rotated = client(address, clientCredentials(pkiDir, "router", CALC));
    const { reply } = await unary(rotated, `${SERVICE}/Invoke`, invokeBytes("6 * 7"));
    const verdict = validator.validate(InvokeResponseSchema, reply!);
    if (!verdict.ok || verdict.message.result.case !== "readResult") throw new Error("no read result after rotation");
    expect(verdict.message.result.value.data.result).to.equal("42");
  });

  it("(i) stops gracefully on SIGTERM with exit code 0", async () => {
    engine.child.kill("SIGTERM");
    const { code, signal } = await engine.exited;
    expect({ code, signal }).to.deep.equal({ code: 0, signal: null });
    expect(engine.lines.map((line) => line.msg)).to.include.members(["stopping", "stopped"]);
    expect(engine.raw.length, engine.raw.join("\n")).to.equal(engine.lines.length);
  });
});
