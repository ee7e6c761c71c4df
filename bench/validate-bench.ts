/**
 * `npm run bench:validate`: what the boundary validator costs next to the gRPC
 * call it guards. Measures, in one run on one machine: validations per second of
 * a typical SubmitTurnRequest (valid and invalid), and a unary grpc-js echo call
 * of the same bytes to a server in a separate process (plaintext, so the call is
 * as cheap as it gets and the ratio is conservative), at 1 and 50 in flight.
 */
import { fork } from "node:child_process";
import { create, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { InvokeResponseSchema } from "../gen/es/selene/engine/v1/engine_pb.js";
import { SubmitTurnRequestSchema } from "../gen/es/selene/os/v1/turn_pb.js";
import { read } from "../services/engines/tools/read.js";
import { createBoundaryValidator } from "../services/runtime/boundary-validator.js";
import { CURRENT_CONTRACT_VERSION } from "../services/runtime/contract-version.js";
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

function cpuMicros(): number {
  const { user, system } = process.cpuUsage();
  return user + system;
}

await main();
