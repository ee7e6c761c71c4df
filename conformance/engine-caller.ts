/**
 * Calls an engine from outside, as the router does: over mTLS with a chosen
 * identity's certificate from a PKI directory, checking that the engine
 * presents its expected SPIFFE id, with raw request bytes (so that the suite
 * can send bytes no encoder produces) and the outcome kept as it came off the
 * wire: the status, the message, the response bytes and the ErrorDetail bytes.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type ChannelCredentials, Client, credentials, Metadata, status } from "@grpc/grpc-js";
import type { ErrorDetail } from "../gen/es/selene/kernel/v1/error_pb.js";
import { decodeStatusDetails, STATUS_DETAILS_KEY } from "../services/runtime/error-status.js";
import { clientCredentials } from "../services/runtime/tls-credentials.js";

/** The engine under test. */
export interface EngineTarget {
  /** host:port of its mTLS gRPC port. */
  readonly address: string;
  /** Its workload name, sent as the TLS server name. */
  readonly engine: string;
  /** The SPIFFE id it must present. */
  readonly spiffeId: string;
  /** The PKI directory holding ca.crt and each identity's certificate and key. */
  readonly pkiDir: string;
}

/** What one call gave, as it came off the wire. */
export interface CallOutcome {
  readonly code: status;
  readonly message: string;
  /** The response bytes of a successful call. */
  readonly response?: Buffer;
  /** The raw grpc-status-details-bin trailer of a failed call. */
  readonly detailBytes?: Buffer;
  /** The ErrorDetail inside that trailer, when there is one. */
  readonly detail?: ErrorDetail;
}

/** A connection to the engine under one identity. */
export interface EngineCaller {
  /** Calls `path` (such as "/selene.engine.v1.EngineService/Describe") with `request`, `timeoutMs` to answer. */
  call(path: string, request: Uint8Array, timeoutMs?: number): Promise<CallOutcome>;
  /** The underlying channel, for the streaming and non-engine services (reflection, health). */
  readonly client: Client;
  close(): void;
}

/** The default time an engine gets to answer one call of the suite. */
export const DEFAULT_TIMEOUT_MS = 5000;

/** Connects to the engine presenting `identity`'s certificate, or no client certificate when undefined. */
export function connectAs(target: EngineTarget, identity: string | undefined): EngineCaller {
  const channel: ChannelCredentials =
    identity === undefined
      ? credentials.createSsl(readFileSync(join(target.pkiDir, "ca.crt")))
      : clientCredentials(target.pkiDir, identity, target.spiffeId);
  const client = new Client(target.address, channel, {
    "grpc.ssl_target_name_override": target.engine,
    "grpc.default_authority": target.engine,
  });
  const passThrough = (b: Buffer) => b;
  return {
    client,
    call(path, request, timeoutMs = DEFAULT_TIMEOUT_MS) {
      return new Promise((resolve) => {
        client.makeUnaryRequest(
          path,
          passThrough,
          passThrough,
          Buffer.from(request.buffer, request.byteOffset, request.byteLength),
          new Metadata(),
          { deadline: Date.now() + timeoutMs },
          (err, response) => {
            if (!err) {
              resolve({ code: status.OK, message: "", response: response ?? Buffer.alloc(0) });
              return;
            }
            const raw = err.metadata?.get(STATUS_DETAILS_KEY)[0];
            const detailBytes = raw instanceof Buffer ? raw : undefined;
            resolve({
              code: err.code,
              message: err.details,
              detailBytes,
              detail: detailBytes === undefined ? undefined : decodeStatusDetails(detailBytes),
            });
          },
        );
      });
    },
    close() {
      client.close();
    },
  };
}

/** The full method path of an EngineService method. */
export function enginePath(method: "Describe" | "Invoke" | "Simulate" | "Commit"): string {
  return `/selene.engine.v1.EngineService/${method}`;
}

/** A call outcome in words, for failure messages: "OK" or "INVALID_ARGUMENT [UNKNOWN_FIELD] text". */
export function describeOutcome(outcome: CallOutcome): string {
  const code = status[outcome.code] ?? String(outcome.code);
  return outcome.code === status.OK ? "OK" : `${code} ${outcome.message}`;
}
