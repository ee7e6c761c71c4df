/**
 * The call boundary: every call of every server, whatever protocol carried it
 * (gRPC, Connect binary, Connect JSON), runs through here, in this order:
 *   1. admission: the caller's mTLS identity, the service's allow-list, then
 *      the request (size, malformed bytes or JSON, contract version, unknown
 *      fields, protovalidate rules: boundary-validator.ts, json-request.ts);
 *   2. version negotiation (contract-negotiation.ts), then the handler;
 *   3. the response through the boundary validator, then shaped for the
 *      caller's contract version (and an error's ErrorDetail, by the adapter),
 *      with deprecation warnings for the adapter;
 *   4. one error mapping (to-selene-error.ts): a status, a reason code and an
 *      ErrorDetail, a dependency outage retryable, never a bare INTERNAL for it;
 *   5. the refusal audit (calls refused in 1, to the "_system" chain), one log
 *      line, the server span and the RPC metrics.
 * The protocol adapters (grpc-adapter.ts, connect-adapter.ts) only move bytes
 * and headers in and out, so the same message gets the same verdict on every
 * port, byte for byte.
 */
import {
  create,
  type DescMessage,
  type DescMethod,
  type DescService,
  type FileRegistry,
  type MessageShape,
  toBinary,
} from "@bufbuild/protobuf";
import type { GenService, GenServiceMethods } from "@bufbuild/protobuf/codegenv2";
import { status } from "@grpc/grpc-js";
import { context as otelContext, ROOT_CONTEXT, trace } from "@opentelemetry/api";
import { ReasonCode } from "../../../gen/es/selene/kernel/v1/reason_pb.js";
import type { Verdict } from "../boundary-validator.js";
import type { Logger } from "../logger.js";
import { methodPath } from "../raw-service-definition.js";
import { serverRpcRecorder } from "../rpc-metrics.js";
import { endRpcCall } from "../rpc-outcome.js";
import { recordCpuSince, startServerSpan } from "../rpc-span.js";
import { SeleneError } from "../selene-error.js";
import { enableTraceContext, extractTraceContext } from "../trace-context.js";
import {
  type CallContext,
  type CallMetadata,
  CORRELATION_KEY,
  type ServiceHandlers,
  type ServiceOptions,
  type UnaryHandler,
} from "../unary-service.js";
import { createCallerCertificates } from "./caller-certificates.js";
import { negotiate } from "./contract-negotiation.js";
import { decodeJsonRequest } from "./json-request.js";
import { toSeleneError } from "./to-selene-error.js";

/** The protocol (and codec) a call arrived over. */
export type CallProtocol = "grpc" | "connect+proto" | "connect+json";

/** A request as the adapter received it. */
export type RequestBody =
  | { readonly format: "binary"; readonly bytes: Uint8Array }
  | { readonly format: "json"; readonly bytes: Uint8Array }
  /** The adapter could not take the request (a bad protocol header, a body over the limit). */
  | { readonly format: "refused"; readonly error: SeleneError };

/** One call, as every adapter hands it to the boundary. */
export interface IncomingCall {
  readonly protocol: CallProtocol;
  /** The SPIFFE id of the verified client certificate; undefined when there is none. */
  readonly caller: string | undefined;
  /** That certificate's serial number (hex), so the log shows when each caller rotated. */
  readonly callerSerial: string | undefined;
  readonly body: RequestBody;
  /** Epoch milliseconds; undefined when the caller set none. */
  readonly deadline: number | undefined;
  readonly metadata: CallMetadata;
}

/**
 * What the adapter sends back: the response (message and its validated bytes, shaped for the
 * caller's contract version, and the deprecation warnings it sends as the `selene-deprecation`
 * header) or the error.
 */
export type CallOutcome =
  | {
      readonly ok: true;
      readonly message: MessageShape<DescMessage>;
      readonly bytes: Uint8Array;
      readonly warnings: readonly string[];
    }
  | {
      readonly ok: false;
      readonly error: SeleneError;
      /**
       * The surface of the caller's release, by which the adapter shapes the error's ErrorDetail
       * (contract-negotiation.ts); undefined before the request was admitted, or when it has none.
       */
      readonly surface?: FileRegistry | undefined;
    };

/** The boundary of one unary method. */
export interface MethodBoundary {
  /** "/package.Service/Method". */
  readonly path: string;
  readonly method: DescMethod;
  /** Runs the call through the boundary; never rejects. */
  serve(call: IncomingCall): Promise<CallOutcome>;
}

/** The boundary of a service: one per service and process, shared by every protocol it is served on. */
export interface ServiceBoundary {
  readonly service: DescService;
  /** The unary methods, by path. */
  readonly methods: ReadonlyMap<string, MethodBoundary>;
}

function correlationOf(request: unknown, metadata: CallMetadata): string {
  const fromEnvelope = (request as { envelope?: { correlationId?: string } }).envelope?.correlationId;
  if (fromEnvelope) return fromEnvelope;
  const fromMetadata = metadata.get(CORRELATION_KEY)[0];
  return fromMetadata !== undefined && fromMetadata.length <= 64 ? fromMetadata : "-";
}

/** Builds the boundary of `service` over typed handlers. */
export function createServiceBoundary<T extends GenServiceMethods>(
  service: GenService<T>,
  handlers: ServiceHandlers<T>,
  options: ServiceOptions,
): ServiceBoundary {
  enableTraceContext();
  const certificates = createCallerCertificates(options.logger);
  const methods = new Map<string, MethodBoundary>();
  for (const method of service.methods) {
    if (method.methodKind !== "unary") continue;
    const handler = handlers[method.localName as keyof T] as UnaryHandler<DescMessage, DescMessage>;
    const path = methodPath(method);
    methods.set(path, methodBoundary(method, path, handler, options, certificates.note));
  }
  return { service, methods };
}

function methodBoundary(
  method: DescMethod,
  path: string,
  handler: UnaryHandler<DescMessage, DescMessage>,
  options: ServiceOptions,
  noteCertificate: (caller: string, serial: string) => void,
): MethodBoundary {
  const { validator } = options;
  const base = options.logger.child({ "rpc.method": path });
  const recorder = serverRpcRecorder(path);

  const refused = (call: IncomingCall, reason: ReasonCode) =>
    options.onRefused?.({
      caller: call.caller,
      method: path,
      reason,
      correlationId: correlationOf({}, call.metadata),
    });

  /** The request's verdict, and the size of its binary encoding (of a JSON request, once encoded). */
  function admit(body: RequestBody): { verdict: Verdict<MessageShape<DescMessage>>; bytes: number } {
    if (body.format === "binary")
      return { verdict: validator.validate(method.input, body.bytes), bytes: body.bytes.length };
    if (body.format === "refused") return { verdict: { ok: false, error: body.error }, bytes: 0 };
    try {
      const json = decodeJsonRequest(method.input, body.bytes);
      const binary = toBinary(method.input, json.message);
      return { verdict: validator.validate(method.input, binary, json.unknown), bytes: binary.length };
    } catch (e) {
      return { verdict: { ok: false, error: toSeleneError(e) }, bytes: 0 };
    }
  }

  async function run(call: IncomingCall): Promise<CallOutcome> {
    const { caller, protocol } = call;
    if (caller === undefined) {
      const error = new SeleneError(ReasonCode.IDENTITY_MISSING, "the caller presented no SPIFFE identity");
      refused(call, error.reason);
      base.info({ reason: error.reasonName, status: error.status, protocol }, "rpc refused");
      return { ok: false, error };
    }
    const denied = options.authorize(caller);
    if (denied !== undefined) {
      refused(call, denied.reason);
      base.warn(
        {
          caller,
          callee: options.self,
          reason: denied.reasonName,
          correlation_id: correlationOf({}, call.metadata),
          protocol,
        },
        "caller denied",
      );
      return { ok: false, error: denied };
    }
    if (call.callerSerial !== undefined) noteCertificate(caller, call.callerSerial);
    const { verdict, bytes: requestBytes } = admit(call.body);
    if (!verdict.ok) {
      const { error } = verdict;
      refused(call, error.reason);
      const fields = { caller, correlation_id: correlationOf({}, call.metadata), protocol };
      if (error.reason === ReasonCode.INTERNAL) base.error({ ...fields, err: error.cause ?? error }, "rpc failed");
      else base.info({ ...fields, reason: error.reasonName, status: error.status }, "rpc refused");
      return { ok: false, error };
    }
    const negotiated = negotiate(path, method.input, verdict.message, call.metadata);
    const correlationId = correlationOf(verdict.message, call.metadata);
    // The call's child logger is made when a line is written: most calls write none.
    let callLogger: Logger | undefined;
    const logger = () => {
      callLogger ??= base.child({ correlation_id: correlationId, caller, protocol });
      return callLogger;
    };
    const context: CallContext = {
      caller,
      correlationId,
      deadline: call.deadline,
      get logger() {
        return logger();
      },
      metadata: call.metadata,
      requestBytes,
      answeredAsBuilt: negotiated.surface === undefined,
    };
    let message: MessageShape<DescMessage>;
    let bytes: Uint8Array;
    try {
      message = create(method.output, await handler(verdict.message, context));
      bytes = toBinary(method.output, message);
    } catch (e) {
      const error = toSeleneError(e);
      logFailure(logger(), error, !(e instanceof SeleneError));
      return { ok: false, error, surface: negotiated.surface };
    }
    const checked = validator.validateBuilt(method.output, message, bytes);
    if (!checked.ok) {
      const cause = checked.error;
      const error = new SeleneError(ReasonCode.INTERNAL, "the server produced an invalid response", { cause });
      logFailure(logger(), error, false);
      return { ok: false, error, surface: negotiated.surface };
    }
    let shaped: { readonly message: MessageShape<DescMessage>; readonly bytes: Uint8Array };
    try {
      shaped = negotiated.shape(method.output, message, bytes);
    } catch (e) {
      const error = new SeleneError(ReasonCode.INTERNAL, "the response could not be shaped for the caller's version", {
        cause: e,
      });
      logFailure(logger(), error, false);
      return { ok: false, error };
    }
    if (negotiated.warnings.length > 0)
      logger().info({ warnings: negotiated.warnings }, "rpc used deprecated contract");
    else if (base.isLevelEnabled("debug")) logger().debug("rpc ok");
    return { ok: true, message: shaped.message, bytes: shaped.bytes, warnings: negotiated.warnings };
  }

  function serve(call: IncomingCall): Promise<CallOutcome> {
    const started = performance.now();
    const span = startServerSpan(path, extractTraceContext(call.metadata));
    const cpu = span.isRecording() ? process.cpuUsage() : undefined;
    // The whole call runs in its span's context: the handler's outgoing calls carry it on, log lines name it.
    const outcome: Promise<CallOutcome> = otelContext.with(trace.setSpan(ROOT_CONTEXT, span), run, undefined, call);
    const settled = outcome.catch((e: unknown): CallOutcome => ({ ok: false, error: toSeleneError(e) }));
    return settled.then((result) => {
      if (cpu !== undefined) recordCpuSince(span, cpu);
      if (result.ok) endRpcCall(recorder, span, started, status.OK, undefined);
      else endRpcCall(recorder, span, started, result.error.status, result.error);
      return result;
    });
  }

  return { path, method, serve };
}

/** One line per failed call: a bug at error, an unreachable dependency at warn, a refusal at info. */
function logFailure(logger: Logger, error: SeleneError, unexpected: boolean): void {
  if (error.reason === ReasonCode.INTERNAL) logger.error({ err: error.cause ?? error }, "rpc failed");
  else if (unexpected)
    logger.warn({ err: error.cause, reason: error.reasonName }, "rpc failed: dependency unavailable");
  else logger.info({ reason: error.reasonName, status: error.status }, "rpc refused");
}
