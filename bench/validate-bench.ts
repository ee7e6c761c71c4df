/**
 * `npm run bench:validate`: what the boundary validator costs next to the gRPC
 * call it guards. Measures, in one run on one machine: validations per second of
 * a typical SubmitTurnRequest (valid and invalid), and a unary grpc-js echo call
 * of the same bytes to a server in a separate process (plaintext, so the call is
 * as cheap as it gets and the ratio is conservative), at 1 and 50 in flight.
 * Also what answering in the caller's release costs at the boundary
 * (contract-negotiation.ts): a caller at N naming this build's surface (every
 * hop of the mesh), and 1.1 and 1.0 callers, with and without a value to replace.
 */
import { fork } from "node:child_process";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import * as grpc from "@grpc/grpc-js";
import { InvokeResponseSchema } from "../gen/es/selene/engine/v1/engine_pb.js";
import { ContractVersionSchema } from "../gen/es/selene/kernel/v1/envelope_pb.js";
import { ConflictRule, FreshnessState } from "../gen/es/selene/kernel/v1/provenance_pb.js";
import { ReasonCode } from "../gen/es/selene/kernel/v1/reason_pb.js";
import { SubmitTurnRequestSchema, SubmitTurnResponseSchema } from "../gen/es/selene/os/v1/turn_pb.js";
import { read } from "../services/engines/tools/read.js";
import { negotiate } from "../services/runtime/boundary/contract-negotiation.js";
import { createBoundaryValidator } from "../services/runtime/boundary-validator.js";
import { CONTRACT_SURFACE, CONTRACT_SURFACE_KEY } from "../services/runtime/contract-surface.js";
import { CURRENT_CONTRACT_VERSION } from "../services/runtime/contract-version.js";
import { shownError } from "../services/runtime/error-status.js";
import { releaseSurface } from "../services/runtime/release-surface.js";
import { SeleneError } from "../services/runtime/selene-error.js";
import { measureAsync, measureSync, type RunResult, table } from "./bench-harness.js";
import { ECHO_PATH, startEchoServer } from "./echo-server.js";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);

function typicalRequest(tenantId: string, userId: string): Uint8Array {
  return toBinary(SubmitTurnRequestSchema, {
    $typeName: "selene.os.v1.SubmitTurnRequest",
    envelope: {
      $typeName: "selene.kernel.v1.Envelope",
      contractVersion: { $typeName: "selene.kernel.v1.ContractVersion", ...CURRENT_CONTRACT_VERSION },
      tenantId,
      userId,
      correlationId: "01JD3ZQ8X4F7C2M9N6P5R1T0VW",
      turnId: "turn-000042",
      idempotencyKey: "demo-app:turn-000042",
    },
    input: { case: "text", value: "remind me to call mom tomorrow at 5pm" },
  });
}

async function main(): Promise<void> {
  if (process.argv.includes("--echo-server")) {
    const port = await startEchoServer();
    process.on("message", () => process.send?.({ cpuMicros: cpuMicros() }));
    process.send?.({ port });
    return;
  }
  const validator = createBoundaryValidator();
  const valid = typicalRequest("acme", "user-1");
  const invalid = typicalRequest("ACME!", "");
  if (!validator.validate(SubmitTurnRequestSchema, valid).ok) throw new Error("fixture must be valid");
  if (validator.validate(SubmitTurnRequestSchema, invalid).ok) throw new Error("fixture must be invalid");

  // A server's response is checked as built (validateBuilt); a client checks the bytes it received.
  const readResult = read("tools.lookup", { query: "what is the capital of france" }, new Date());
  const response = create(InvokeResponseSchema, { result: { case: "readResult", value: readResult! } });
  const responseBytes = toBinary(InvokeResponseSchema, response);
  if (!validator.validateBuilt(InvokeResponseSchema, response, responseBytes).ok)
    throw new Error("response must be valid");

  const results: RunResult[] = [
    measureSync("validate: valid envelope", () => void validator.validate(SubmitTurnRequestSchema, valid), SECONDS),
    measureSync("validate: invalid envelope", () => void validator.validate(SubmitTurnRequestSchema, invalid), SECONDS),
    measureSync(
      "validate: tools read response, received bytes",
      () => void validator.validate(InvokeResponseSchema, responseBytes),
      SECONDS,
    ),
    measureSync(
      "validateBuilt: tools read response, as built",
      () => void validator.validateBuilt(InvokeResponseSchema, response, responseBytes),
      SECONDS,
    ),
  ];

  results.push(...shapingRuns());

  const child = fork(new URL(import.meta.url).pathname, ["--echo-server"], { stdio: "inherit" });
  const port = await new Promise<number>((resolve) =>
    child.once("message", (m) => resolve((m as { port: number }).port)),
  );
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const call = () =>
    new Promise<void>((resolve, reject) =>
      client.makeUnaryRequest(
        ECHO_PATH,
        (b: Buffer) => b,
        (b: Buffer) => b,
        Buffer.from(valid),
        (err) => (err ? reject(err) : resolve()),
      ),
    );
  const serverCpu = () =>
    new Promise<number>((resolve) => {
      child.once("message", (m) => resolve((m as { cpuMicros: number }).cpuMicros));
      child.send("cpu");
    });
  results.push(await measureAsync("grpc-js unary echo, 1 in flight", call, SECONDS, 1));
  // CPU per call, client and server processes together, over the 50-in-flight run.
  await measureAsync("warm-up", call, 1, 50);
  const before = cpuMicros() + (await serverCpu());
  const echo50 = await measureAsync("grpc-js unary echo, 50 in flight", call, SECONDS, 50, 0);
  const after = cpuMicros() + (await serverCpu());
  results.push(echo50);
  client.close();
  child.kill("SIGTERM");

  const callCpuUs = (after - before) / echo50.ops;
  const [validRun, invalidRun] = results as [RunResult, RunResult];
  const share = (us: number) => `${((us / callCpuUs) * 100).toFixed(2)}%`;
  process.stdout.write(`${table(results)}\n\n`);
  process.stdout.write(
    `CPU per echo call at 50 in flight (client + server): ${callCpuUs.toFixed(1)} µs\n` +
      `validation cost relative to that call: valid ${share(validRun.meanUs)}, invalid ${share(invalidRun.meanUs)} (target < 5%)\n`,
  );
}

/** A turn answer as the router sends it, its second conflict settled by the rule added after 1.1 when `tie`. */
function answer(tie: boolean) {
  const at = timestampFromMs(1_700_000_000_000);
  const digest = `sha256:${"a".repeat(64)}`;
  const sources = [
    { id: "kb:a", trust: 50, retrievedAt: at, contentDigest: digest },
    { id: "kb:b", trust: 50, retrievedAt: at, contentDigest: digest },
  ];
  const rule = tie ? ConflictRule.SOURCE_ID : ConflictRule.TRUST;
  return create(SubmitTurnResponseSchema, {
    turnId: "turn-000042",
    correlationId: "01JD3ZQ8X4F7C2M9N6P5R1T0VW",
    outcome: {
      case: "answer",
      value: {
        intent: "tools.lookup",
        text: "The capital of France is Paris.",
        data: { capital: "Paris" },
        provenance: {
          sources,
          retrievedAt: at,
          contentDigest: digest,
          freshness: { state: FreshnessState.FRESH },
          conflicts: [{ field: "capital", sourceIds: ["kb:a", "kb:b"], chosenSourceId: "kb:a", rule }],
        },
      },
    },
  });
}

/** The boundary's answer in the caller's release: negotiation and shaping of one turn answer or error. */
function shapingRuns(): RunResult[] {
  const path = "/selene.os.v1.TurnService/SubmitTurn";
  const requestAt = (version: { major: number; minor: number }) => {
    const request = fromBinary(SubmitTurnRequestSchema, typicalRequest("acme", "user-1"));
    request.envelope!.contractVersion = create(ContractVersionSchema, version);
    return request;
  };
  const headers = (surface: boolean) => ({
    get: (key: string) => (surface && key === CONTRACT_SURFACE_KEY ? [CONTRACT_SURFACE] : []),
    keys: () => (surface ? [CONTRACT_SURFACE_KEY] : []),
  });
  const current = requestAt(CURRENT_CONTRACT_VERSION);
  const v1_0 = requestAt({ major: 1, minor: 0 });
  const plain = answer(false);
  const tie = answer(true);
  const plainBytes = toBinary(SubmitTurnResponseSchema, plain);
  const tieBytes = toBinary(SubmitTurnResponseSchema, tie);
  const shape = (request: typeof current, surface: boolean, message: typeof plain, bytes: Uint8Array) => () =>
    void negotiate(path, SubmitTurnRequestSchema, request, headers(surface)).shape(
      SubmitTurnResponseSchema,
      message,
      bytes,
    );
  const open = new SeleneError(ReasonCode.ENGINE_CIRCUIT_OPEN, "tools's circuit breaker is open", {
    retryAfterMs: 500,
    metadata: { engine: "tools", scope: "engine" },
  });
  const unreachable = new SeleneError(ReasonCode.ENGINE_UNAVAILABLE, "tools cannot be reached");
  const v1_1 = releaseSurface({ major: 1, minor: 1 });
  return [
    measureSync("answer: N, this build's surface", shape(current, true, plain, plainBytes), SECONDS),
    measureSync("answer: 1.1 caller, nothing to replace", shape(current, false, plain, plainBytes), SECONDS),
    measureSync("answer: 1.1 caller, SOURCE_ID replaced", shape(current, false, tie, tieBytes), SECONDS),
    measureSync("answer: 1.0 caller, SOURCE_ID replaced", shape(v1_0, false, tie, tieBytes), SECONDS),
    measureSync("error detail: as it is", () => void shownError(open), SECONDS),
    measureSync("error detail: 1.1 caller, stand-in", () => void shownError(open, v1_1), SECONDS),
    measureSync("error detail: 1.1 caller, nothing to replace", () => void shownError(unreachable, v1_1), SECONDS),
  ];
}

function cpuMicros(): number {
  const { user, system } = process.cpuUsage();
  return user + system;
}

await main();
