/**
 * The same TurnService handler over the Connect protocol (JSON or binary over
 * HTTPS, HTTP/1.1 or HTTP/2) for web clients and curl, on its own port. The
 * TLS layer demands a client certificate signed by the mesh CA; the caller's
 * SPIFFE id then goes through the same allow-list, boundary validator and
 * pipeline as a gRPC call. Errors carry the same reason code and ErrorDetail;
 * trace context (traceparent header) and RPC metrics work as for gRPC.
 */
import { createSecureServer, type Http2SecureServer } from "node:http2";
import type { TLSSocket } from "node:tls";
import { create, toBinary } from "@bufbuild/protobuf";
import {
  type Code,
  ConnectError,
  type ConnectRouter,
  createContextKey,
  createContextValues,
  type HandlerContext,
} from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { Metadata, status } from "@grpc/grpc-js";
import { context as otelContext, ROOT_CONTEXT, trace } from "@opentelemetry/api";
import { ErrorDetailSchema } from "../../gen/es/selene/kernel/v1/error_pb.js";
import { ReasonCode } from "../../gen/es/selene/kernel/v1/reason_pb.js";
import { SubmitTurnRequestSchema, SubmitTurnResponseSchema, TurnService } from "../../gen/es/selene/os/v1/turn_pb.js";
import type { BoundaryValidator } from "../runtime/boundary-validator.js";
import { toErrorDetail, wireMessage } from "../runtime/error-status.js";
import type { Logger } from "../runtime/logger.js";
import { peerSpiffeIdFromTlsSocket } from "../runtime/peer-identity.js";
import { serverRpcRecorder } from "../runtime/rpc-metrics.js";
import { endRpcCall } from "../runtime/rpc-outcome.js";
import { startServerSpan } from "../runtime/rpc-span.js";
import { SeleneError } from "../runtime/selene-error.js";
import { tlsContextOptions } from "../runtime/tls-credentials.js";
import { enableTraceContext, extractTraceContextFromHeaders } from "../runtime/trace-context.js";
import type { TurnHandler } from "./turn-pipeline.js";

const peerKey = createContextKey<string | undefined>(undefined, { description: "the caller's SPIFFE id" });

function toConnectError(error: SeleneError): ConnectError {
  // gRPC and Connect share the numeric codes 1-16.
  const detail = toErrorDetail(error);
  return new ConnectError(wireMessage(error), error.status as number as Code, undefined, [
    { desc: ErrorDetailSchema, value: detail },
  ]);
}

const SUBMIT_TURN = "/selene.os.v1.TurnService/SubmitTurn";

/**
 * Runs each Connect call of SubmitTurn in its server span's trace context (continued from the
 * request's traceparent header, or a new trace), counted and timed in the same RPC metrics as a
 * gRPC call; the handler calls `done` with the call's error, if any, before it answers.
 */
function observed<I, O>(
  handle: (request: I, context: HandlerContext, done: (error: SeleneError | undefined) => void) => Promise<O>,
): (request: I, context: HandlerContext) => Promise<O> {
  const recorder = serverRpcRecorder(SUBMIT_TURN);
  return (request, context) => {
    const started = performance.now();
    const span = startServerSpan(SUBMIT_TURN, extractTraceContextFromHeaders(context.requestHeader));
    const done = (error: SeleneError | undefined) =>
      endRpcCall(recorder, span, started, error?.status ?? status.OK, error);
    return otelContext.with(trace.setSpan(ROOT_CONTEXT, span), handle, undefined, request, context, done);
  };
}

/** Settings of the Connect port. */
export interface ConnectServerOptions {
  readonly host: string;
  readonly port: number;
  readonly pkiDir: string;
  readonly clientTenants: ReadonlyMap<string, string>;
  readonly validator: BoundaryValidator;
  readonly logger: Logger;
}

/** Starts the Connect server; resolves with the bound port and a close function. */
export async function startConnectServer(
  submitTurn: TurnHandler,
  options: ConnectServerOptions,
): Promise<{ port: number; close(): Promise<void> }> {
  const { validator, logger } = options;
  enableTraceContext();
  const routes = (router: ConnectRouter) =>
    router.service(TurnService, {
      submitTurn: observed(async (request, handlerContext, done) => {
        const caller = handlerContext.values.get(peerKey);
        const rpcLogger = logger.child({ "rpc.method": SUBMIT_TURN, protocol: "connect" });
        try {
          if (caller === undefined) throw new SeleneError(ReasonCode.IDENTITY_MISSING, "no client certificate");
          if (!options.clientTenants.has(caller)) {
            throw new SeleneError(
              ReasonCode.CALLER_NOT_ALLOWED,
              `caller ${caller} is not allowed to call this service`,
            );
          }
          const verdict = validator.validate(SubmitTurnRequestSchema, toBinary(SubmitTurnRequestSchema, request));
          if (!verdict.ok) throw verdict.error;
          const correlationId = verdict.message.envelope!.correlationId;
          const response = create(
            SubmitTurnResponseSchema,
            await submitTurn(verdict.message, {
              caller,
              correlationId,
              deadline: handlerContext.timeoutMs() === undefined ? undefined : Date.now() + handlerContext.timeoutMs()!,
              logger: rpcLogger.child({ correlation_id: correlationId, caller }),
              metadata: new Metadata(),
            }),
          );
          const checked = validator.validate(SubmitTurnResponseSchema, toBinary(SubmitTurnResponseSchema, response));
          if (!checked.ok) throw new SeleneError(ReasonCode.INTERNAL, "invalid response", { cause: checked.error });
          done(undefined);
          return response;
        } catch (e) {
          const error =
            e instanceof SeleneError ? e : new SeleneError(ReasonCode.INTERNAL, "internal error", { cause: e });
          if (error.reason === ReasonCode.INTERNAL) rpcLogger.error({ err: error.cause ?? error }, "rpc failed");
          else rpcLogger.info({ reason: error.reasonName, caller }, "rpc refused");
          done(error);
          throw toConnectError(error);
        }
      }),
    });
  const handler = connectNodeAdapter({
    routes,
    contextValues: (req) => createContextValues().set(peerKey, peerSpiffeIdFromTlsSocket(req.socket as TLSSocket)),
  });
  const tls = tlsContextOptions(options.pkiDir, "router");
  const server: Http2SecureServer = createSecureServer(
    { ca: tls.ca, cert: tls.cert, key: tls.key, requestCert: true, rejectUnauthorized: true, allowHTTP1: true },
    handler,
  );
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : options.port;
  logger.info({ connect_port: port }, "connect listening");
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Idle HTTP/2 sessions would keep close() waiting; end them.
        server.emit("selene-close");
      }),
  };
}
