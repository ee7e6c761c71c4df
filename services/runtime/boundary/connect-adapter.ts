/**
 * The Connect adapter of the call boundary: unary calls of the Connect
 * protocol (POST /package.Service/Method over HTTP/1.1 or HTTP/2, the body in
 * `application/proto` or `application/json`, optionally gzip-compressed, a
 * deadline in `connect-timeout-ms`). It reads the body (bounded), the verified
 * client certificate and the headers, hands them to the same boundary as the
 * gRPC port, and writes back the response in the request's codec or the error
 * as Connect's JSON error with the ErrorDetail. What the protocol itself
 * refuses (an unknown path, a method other than POST, a content type or
 * compression not served) is answered here, as the protocol specifies.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import type { TLSSocket } from "node:tls";
import { gunzip } from "node:zlib";
import { toJsonString } from "@bufbuild/protobuf";
import { status } from "@grpc/grpc-js";
import { ReasonCode } from "../../../gen/es/selene/kernel/v1/reason_pb.js";
import { PUSHBACK_KEY, shownError } from "../error-status.js";
import { type Peer, peerOfTlsSocket } from "../peer-identity.js";
import { SeleneError } from "../selene-error.js";
import { httpCallMetadata } from "./call-metadata.js";
import { connectErrorBody, connectHttpStatus, connectProtocolErrorBody } from "./connect-error.js";
import { DEPRECATION_HEADER } from "./contract-negotiation.js";
import type { CallOutcome, MethodBoundary, RequestBody, ServiceBoundary } from "./service-boundary.js";

/** Largest request body read, compressed or not (the gRPC port's transport limit); the boundary applies its own below. */
export const DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024;

/** A request on the Connect port, over either HTTP version. */
export type ConnectRequest = IncomingMessage | Http2ServerRequest;
/** Its response. */
export type ConnectResponse = ServerResponse | Http2ServerResponse;

type Codec = "json" | "proto";

const TIMEOUT = /^\d{1,10}$/;

/** The codec of a content type; undefined for one this port does not serve. */
function codecOf(contentType: string | undefined): Codec | undefined {
  const [type = "", ...params] = (contentType ?? "").toLowerCase().split(";");
  const mime = type.trim();
  if (mime === "application/proto") return params.length === 0 ? "proto" : undefined;
  if (mime !== "application/json") return undefined;
  const charsets = params.map((p) => p.trim()).filter((p) => p.startsWith("charset="));
  return charsets.every((p) => p === "charset=utf-8") ? "json" : undefined;
}

function header(request: ConnectRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The verified client certificate of the connection, looked up once per connection. */
const peers = new WeakMap<object, Peer | undefined>();
function peerOf(request: ConnectRequest): Peer | undefined {
  const connection: object = "stream" in request ? (request.stream.session ?? request.socket) : request.socket;
  if (peers.has(connection)) return peers.get(connection);
  const peer = peerOfTlsSocket(request.socket as TLSSocket);
  peers.set(connection, peer);
  return peer;
}

/** Reads the body up to `max` bytes; undefined when it is longer. */
function readBody(request: ConnectRequest, max: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    const onData = (chunk: Buffer) => {
      length += chunk.length;
      if (length > max) {
        request.off("data", onData);
        request.pause();
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    };
    request.on("data", onData);
    request.once("end", () => resolve(Buffer.concat(chunks, length)));
    request.once("error", reject);
  });
}

function tooLarge(max: number): SeleneError {
  return new SeleneError(ReasonCode.MESSAGE_TOO_LARGE, `the request body exceeds the limit of ${max} bytes`, {
    metadata: { limit_bytes: String(max) },
  });
}

function gunzipped(bytes: Buffer, max: number): Promise<Buffer | SeleneError> {
  return new Promise((resolve) =>
    gunzip(bytes, { maxOutputLength: max }, (err, out) => {
      if (err === null) resolve(out);
      else if ((err as { code?: string }).code === "ERR_BUFFER_TOO_LARGE") resolve(tooLarge(max));
      else {
        const message = "the gzip-compressed body cannot be decompressed";
        resolve(
          new SeleneError(ReasonCode.MALFORMED_MESSAGE, message, {
            violations: [{ fieldPath: "", ruleId: "compression", message }],
          }),
        );
      }
    }),
  );
}

/** The request body as the boundary takes it, or the reason the adapter could not take it. */
async function bodyOf(request: ConnectRequest, codec: Codec, gzip: boolean, max: number): Promise<RequestBody> {
  const timeout = header(request, "connect-timeout-ms");
  if (timeout !== undefined && !TIMEOUT.test(timeout)) {
    const message = "connect-timeout-ms must be 1 to 10 decimal digits";
    const error = new SeleneError(ReasonCode.FIELD_INVALID, message, {
      violations: [{ fieldPath: "", ruleId: "connect_timeout_ms", message }],
    });
    return { format: "refused", error };
  }
  const raw = await readBody(request, max);
  if (raw === undefined) return { format: "refused", error: tooLarge(max) };
  const bytes = gzip ? await gunzipped(raw, max) : raw;
  if (bytes instanceof SeleneError) return { format: "refused", error: bytes };
  return codec === "json" ? { format: "json", bytes } : { format: "binary", bytes };
}

function send(response: ConnectResponse, code: number, headers: Record<string, string>, body: string | Buffer): void {
  if (response.writableEnded || response.destroyed) return; // the client went away
  const bytes = typeof body === "string" ? Buffer.from(body) : body;
  response.writeHead(code, { ...headers, "content-length": String(bytes.length) });
  response.end(bytes);
}

function protocolError(response: ConnectResponse, httpStatus: number, code: status, message: string, extra = {}) {
  send(response, httpStatus, { "content-type": "application/json", ...extra }, connectProtocolErrorBody(code, message));
}

function reply(response: ConnectResponse, method: MethodBoundary, codec: Codec, outcome: CallOutcome): void {
  if (!outcome.ok) {
    const { error } = outcome;
    const shown = shownError(error, outcome.surface);
    const headers: Record<string, string> = { "content-type": "application/json", "selene-reason": shown.reasonName };
    if (error.retryAfterMs !== undefined) headers[PUSHBACK_KEY] = String(Math.max(0, Math.round(error.retryAfterMs)));
    send(response, connectHttpStatus(error.status), headers, connectErrorBody(error, shown));
    return;
  }
  const warned: Record<string, string> =
    outcome.warnings.length > 0 ? { [DEPRECATION_HEADER]: outcome.warnings.join(", ") } : {};
  if (codec === "json") {
    const body = toJsonString(method.method.output, outcome.message);
    send(response, 200, { "content-type": "application/json", ...warned }, body);
    return;
  }
  const { bytes } = outcome;
  send(
    response,
    200,
    { "content-type": "application/proto", ...warned },
    Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length),
  );
}

/** Options of the adapter. */
export interface ConnectAdapterOptions {
  /** Largest body read; defaults to DEFAULT_MAX_BODY_BYTES. */
  readonly maxBodyBytes?: number;
}

/** A request listener serving the unary methods of `boundaries` over the Connect protocol. */
export function connectHandler(
  boundaries: readonly ServiceBoundary[],
  options: ConnectAdapterOptions = {},
): (request: ConnectRequest, response: ConnectResponse) => void {
  const max = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const routes = new Map<string, MethodBoundary>();
  for (const boundary of boundaries) for (const [path, method] of boundary.methods) routes.set(path, method);

  async function handle(request: ConnectRequest, response: ConnectResponse): Promise<void> {
    const arrived = Date.now();
    const path = (request.url ?? "").split("?")[0] ?? "";
    const method = routes.get(path);
    if (method === undefined) return protocolError(response, 404, status.UNIMPLEMENTED, `no method ${path}`);
    if (request.method !== "POST") {
      return protocolError(response, 405, status.UNIMPLEMENTED, "unary calls are POST", { allow: "POST" });
    }
    const codec = codecOf(header(request, "content-type"));
    if (codec === undefined) {
      const served = "application/json, application/proto";
      return protocolError(response, 415, status.UNIMPLEMENTED, `content types served: ${served}`, {
        "accept-post": served,
      });
    }
    const version = header(request, "connect-protocol-version");
    if (version !== undefined && version !== "1") {
      return protocolError(response, 400, status.INVALID_ARGUMENT, "connect-protocol-version must be 1");
    }
    const encoding = (header(request, "content-encoding") ?? "identity").toLowerCase();
    if (encoding !== "identity" && encoding !== "gzip") {
      return protocolError(response, 501, status.UNIMPLEMENTED, `content-encoding ${encoding} is not served`, {
        "accept-encoding": "gzip, identity",
      });
    }
    const body = await bodyOf(request, codec, encoding === "gzip", max);
    const timeout = header(request, "connect-timeout-ms");
    const peer = peerOf(request);
    const outcome = await method.serve({
      protocol: codec === "json" ? "connect+json" : "connect+proto",
      caller: peer?.spiffeId,
      callerSerial: peer?.serialNumber,
      body,
      deadline: timeout === undefined || body.format === "refused" ? undefined : arrived + Number(timeout),
      metadata: httpCallMetadata(request.headers),
    });
    // A body cut short at the limit leaves the rest unread: the connection cannot be reused.
    if (body.format === "refused" && !request.readableEnded && "shouldKeepAlive" in response) {
      response.shouldKeepAlive = false;
    }
    reply(response, method, codec, outcome);
  }

  return (request, response) => {
    handle(request, response).catch(() => {
      if (!response.headersSent) protocolError(response, 500, status.INTERNAL, "internal error");
      else response.destroy();
    });
  };
}
