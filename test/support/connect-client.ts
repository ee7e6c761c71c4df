/**
 * Raw calls for tests of the call boundary: Connect unary POSTs over one HTTP/2
 * session presenting a chosen certificate (bytes in, status, headers and bytes
 * out), and gRPC unary calls with raw bytes; both reduced to the same verdict
 * shape, so a test can compare what each port said about the same message.
 */

import { readFileSync } from "node:fs";
import { type ClientHttp2Session, connect, constants } from "node:http2";
import { fromBinary } from "@bufbuild/protobuf";
import { base64Decode } from "@bufbuild/protobuf/wire";
import { anyUnpack } from "@bufbuild/protobuf/wkt";
import { Client, Metadata, type ServiceError, status } from "@grpc/grpc-js";
import { ErrorDetailSchema, RpcStatusSchema } from "../../gen/es/selene/kernel/v1/error_pb.js";
import { ReasonCode } from "../../gen/es/selene/kernel/v1/reason_pb.js";
import { STATUS_DETAILS_KEY } from "../../services/runtime/error-status.js";
import { clientCredentials, pkiFiles, serverIdentityCheck } from "../../services/runtime/tls-credentials.js";
import { spiffeIdOf } from "../../services/runtime/workload-identities.js";

/** What a port answered, in one shape for every protocol. */
export interface Verdict {
  /** The gRPC status code (0 for OK). */
  readonly code: number;
  /** The reason's name; "" when OK or when the answer carried no ErrorDetail. */
  readonly reason: string;
  readonly fieldPath: string;
  /** The message on the wire ("[REASON] text"); "" when OK. */
  readonly message: string;
  /** The ErrorDetail's bytes in hex; "" when OK or absent. */
  readonly detail: string;
  /** The response bytes in hex (OK only). */
  readonly response: string;
}

/** An HTTP answer of the Connect port. */
export interface HttpAnswer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
}

const CONNECT_CODES: Record<string, number> = {
  canceled: 1,
  unknown: 2,
  invalid_argument: 3,
  deadline_exceeded: 4,
  not_found: 5,
  already_exists: 6,
  permission_denied: 7,
  resource_exhausted: 8,
  failed_precondition: 9,
  aborted: 10,
  out_of_range: 11,
  unimplemented: 12,
  internal: 13,
  unavailable: 14,
  data_loss: 15,
  unauthenticated: 16,
};

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");

function reasonName(detailBytes: Uint8Array | undefined): { reason: string; fieldPath: string } {
  if (detailBytes === undefined) return { reason: "", fieldPath: "" };
  const detail = fromBinary(ErrorDetailSchema, detailBytes);
  return { reason: ReasonCode[detail.reason] ?? String(detail.reason), fieldPath: detail.fieldPath };
}

/** A client of the Connect port over one HTTP/2 session. */
export interface ConnectTestClient {
  post(path: string, body: Uint8Array | string, headers?: Record<string, string>): Promise<HttpAnswer>;
  close(): void;
}

/**
 * Connects to `address` (host:port) presenting `certName`'s certificate, expecting the router. Like
 * any HTTP/2 client it opens a new session when the server ended the last one (GOAWAY at its
 * maximum age), and sends again a request the server refused unprocessed.
 */
export function aConnectClient(address: string, pkiDir: string, certName = "demo-app"): ConnectTestClient {
  const files = pkiFiles(pkiDir, certName);
  const open = (): ClientHttp2Session => {
    const opened = connect(`https://${address}`, {
      ca: readFileSync(files.ca),
      cert: readFileSync(files.cert),
      key: readFileSync(files.key),
      servername: "router",
      checkServerIdentity: serverIdentityCheck(spiffeIdOf("router")),
    });
    opened.on("error", () => {}); // a call in flight reports it
    opened.on("goaway", () => {
      if (session === opened) session = undefined;
    });
    return opened;
  };
  let session: ClientHttp2Session | undefined;
  const current = () => {
    if (session === undefined || session.closed || session.destroyed) session = open();
    return session;
  };
  const once = (path: string, body: Uint8Array | string, headers: Record<string, string>) =>
    new Promise<HttpAnswer>((resolve, reject) => {
      const stream = current().request({
        [constants.HTTP2_HEADER_METHOD]: "POST",
        [constants.HTTP2_HEADER_PATH]: path,
        "content-type": "application/json",
        ...headers,
      });
      const chunks: Buffer[] = [];
      let answer: Omit<HttpAnswer, "body"> | undefined;
      stream.on("response", (h) => {
        answer = { status: Number(h[":status"]), headers: h as HttpAnswer["headers"] };
      });
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("end", () => resolve({ ...answer!, body: Buffer.concat(chunks) }));
      stream.on("error", reject);
      stream.end(typeof body === "string" ? Buffer.from(body) : Buffer.from(body));
    });
  return {
    async post(path, body, headers = {}) {
      try {
        return await once(path, body, headers);
      } catch (e) {
        const { code, message } = e as { code?: string; message?: string };
        const unprocessed =
          code === "ERR_HTTP2_GOAWAY_SESSION" ||
          (code === "ERR_HTTP2_STREAM_ERROR" && String(message).includes("REFUSED_STREAM"));
        if (!unprocessed) throw e;
        session = undefined;
        return once(path, body, headers);
      }
    },
    close: () => session?.close(),
  };
}

/** The verdict of a Connect answer; `decodeResponse` turns an OK body into response bytes. */
export function connectVerdict(answer: HttpAnswer, decodeResponse: (body: Buffer) => Uint8Array): Verdict {
  if (answer.status === 200) {
    return { code: 0, reason: "", fieldPath: "", message: "", detail: "", response: hex(decodeResponse(answer.body)) };
  }
  const json = JSON.parse(answer.body.toString("utf8")) as {
    code: string;
    message?: string;
    details?: Array<{ type: string; value: string }>;
  };
  const detail = json.details?.find((d) => d.type === ErrorDetailSchema.typeName);
  const bytes = detail === undefined ? undefined : base64Decode(detail.value);
  return {
    code: CONNECT_CODES[json.code] ?? -1,
    ...reasonName(bytes),
    message: json.message ?? "",
    detail: bytes === undefined ? "" : hex(bytes),
    response: "",
  };
}

/** A raw-bytes gRPC client of the router presenting `certName`'s certificate. */
export function aRawGrpcClient(address: string, pkiDir: string, certName = "demo-app"): Client {
  return new Client(address, clientCredentials(pkiDir, certName, spiffeIdOf("router")), {
    "grpc.ssl_target_name_override": "router",
  });
}

/** One raw unary call, reduced to a verdict. */
export function grpcVerdict(
  client: Client,
  path: string,
  bytes: Uint8Array,
  metadata = new Metadata(),
): Promise<Verdict> {
  return new Promise((resolve) =>
    client.makeUnaryRequest(
      path,
      (b: Buffer) => b,
      (b: Buffer) => b,
      Buffer.from(bytes),
      metadata,
      { deadline: Date.now() + 10_000 },
      (err: ServiceError | null, response?: Buffer) => {
        if (err === null) {
          resolve({ code: 0, reason: "", fieldPath: "", message: "", detail: "", response: hex(response!) });
          return;
        }
        const raw = err.metadata?.get(STATUS_DETAILS_KEY)[0];
        let bytes: Uint8Array | undefined;
        if (raw instanceof Buffer) {
          const any = fromBinary(RpcStatusSchema, raw).details[0];
          bytes = any !== undefined && anyUnpack(any, ErrorDetailSchema) !== undefined ? any.value : undefined;
        }
        resolve({
          code: err.code,
          ...reasonName(bytes),
          message: err.details,
          detail: bytes === undefined ? "" : hex(bytes),
          response: "",
        });
      },
    ),
  );
}

/** The OK status code, for readability in assertions. */
export const OK = status.OK;
