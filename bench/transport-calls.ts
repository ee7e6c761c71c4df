/**
 * The calls `npm run bench:transport` times, one layer added at a time: bytes over a TCP socket,
 * bytes in a grpc-js unary call over mTLS, and the router's engine client (encode, metadata,
 * trace context, metrics, response validation) calling Invoke. Each is a `() => Promise<void>`
 * that fails when the answer is not the expected one.
 */
import { readFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { create, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { type InvokeRequest, InvokeRequestSchema } from "../gen/es/selene/engine/v1/engine_pb.js";
import type { EngineClient } from "../services/router/engine-client.js";
import { CURRENT_CONTRACT_VERSION } from "../services/runtime/contract-version.js";
import { pkiFiles } from "../services/runtime/tls-credentials.js";
import type { Call } from "./mesh-clients.js";

/** The deadline of every call. */
const CALL_TIMEOUT_MS = 10_000;

/** The Invoke request the router sends the understanding engine for `utterance`. */
export function understandRequest(utterance: string): InvokeRequest {
  return create(InvokeRequestSchema, {
    envelope: {
      contractVersion: CURRENT_CONTRACT_VERSION,
      tenantId: "demo",
      userId: "bench-user",
      correlationId: "bench-transport",
      turnId: "turn-bench-transport",
      idempotencyKey: "bench-transport",
    },
    capability: "nlp.understand",
    input: { case: "utterance", value: utterance },
  });
}

/** The encoded bytes of `request`, as a Buffer. */
export function encodedInvoke(request: InvokeRequest): Buffer {
  const bytes = toBinary(InvokeRequestSchema, request);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** A connected TCP socket to the echo at `port`, and the call that sends `payload` and waits for it back. */
export async function tcpEchoCall(port: number, payload: Buffer): Promise<{ call: Call; close: () => void }> {
  const socket: Socket = await new Promise((resolve, reject) => {
    const s = connect({ host: "127.0.0.1", port, noDelay: true }, () => resolve(s));
    s.once("error", reject);
  });
  let waiting: { remaining: number; done: () => void } | undefined;
  socket.on("data", (chunk) => {
    if (waiting === undefined) return;
    waiting.remaining -= chunk.length;
    if (waiting.remaining <= 0) {
      const { done } = waiting;
      waiting = undefined;
      done();
    }
  });
  const call: Call = () =>
    new Promise<void>((resolve) => {
      waiting = { remaining: payload.length, done: resolve };
      socket.write(payload);
    });
  return { call, close: () => socket.destroy() };
}

/**
 * A bare grpc-js channel to `address` over mTLS, presenting the router's certificate and checking
 * the server's by its name only (grpc-js's own hostname check against `serverName`).
 */
export function bareMtlsChannel(address: string, pkiDir: string, serverName: string): grpc.Client {
  const files = pkiFiles(pkiDir, "router");
  const credentials = grpc.credentials.createSsl(
    readFileSync(files.ca),
    readFileSync(files.key),
    readFileSync(files.cert),
  );
  return new grpc.Client(address, credentials, {
    "grpc.ssl_target_name_override": serverName,
    "grpc.default_authority": serverName,
  });
}

/** A unary call of `path` with `payload` as is, the response bytes taken as they come (no decode, no check). */
export function bareUnaryCall(channel: grpc.Client, path: string, payload: Buffer): Call {
  const passThrough = (b: Buffer) => b;
  return () =>
    new Promise<void>((resolve, reject) =>
      channel.makeUnaryRequest(
        path,
        passThrough,
        passThrough,
        payload,
        new grpc.Metadata(),
        { deadline: Date.now() + CALL_TIMEOUT_MS },
        (err, response) => (err ? reject(err) : response === undefined ? reject(new Error("no response")) : resolve()),
      ),
    );
}

/** Invoke through the router's engine client; fails unless the engine understood the utterance. */
export function engineClientCall(client: EngineClient, request: InvokeRequest): Call {
  return async () => {
    const response = await client.call("invoke", request, {
      deadline: Date.now() + CALL_TIMEOUT_MS,
      correlationId: "bench-transport",
    });
    if (response.result.case !== "understanding") {
      throw new Error(`expected an understanding, got ${response.result.case ?? "no result"}`);
    }
  };
}
