/**
 * A typed unary client over grpc-js whose requests and responses pass through
 * the boundary validator as bytes. Errors come back as SeleneError: the peer's
 * own reason when it sent an ErrorDetail, otherwise a reason chosen by the
 * caller for transport faults (unreachable, deadline), so that callers always
 * branch on a reason code. Every call carries the correlation id and the active
 * W3C trace context in its metadata, and is counted and timed per target
 * (the peer's workload name) in the RPC metrics.
 */
import { create, type MessageInitShape, type MessageShape, toBinary } from "@bufbuild/protobuf";
import type { GenService, GenServiceMethods } from "@bufbuild/protobuf/codegenv2";
import {
  type ChannelCredentials,
  type ChannelOptions,
  Client,
  connectivityState,
  Metadata,
  type ServiceError,
  type StatusObject,
  status,
} from "@grpc/grpc-js";
import { context as otelContext, trace } from "@opentelemetry/api";
import { ReasonCode } from "../../gen/es/selene/kernel/v1/reason_pb.js";
import type { BoundaryValidator } from "./boundary-validator.js";
import { CONTRACT_SURFACE, CONTRACT_SURFACE_KEY } from "./contract-surface.js";
import { decodeStatusDetails, fromErrorDetail, peerMessage, STATUS_DETAILS_KEY } from "./error-status.js";
import { methodPath } from "./raw-service-definition.js";
import { clientRpcRecorder, type RpcRecorder } from "./rpc-metrics.js";
import { endRpcCall } from "./rpc-outcome.js";
import { startClientSpan } from "./rpc-span.js";
import { SeleneError } from "./selene-error.js";
import { enableTraceContext, injectTraceContext } from "./trace-context.js";
import { CORRELATION_KEY } from "./unary-service.js";

/**
 * Reconnect and keepalive settings of every channel, so a restarted peer is used again within a
 * second of serving: grpc-js's defaults reconnect after 1 s, then x1.6 up to 120 s, which kept a
 * router away from a restarted outbox for 5-7 s. A channel in TRANSIENT_FAILURE fails calls at
 * once (they do not wait for ready; a client with `connectWaitMs` waits that long first), and its
 * own reconnect attempts, not the next call, bring it back: the channel's state decides. Keepalive pings find a peer that vanished without a FIN
 * (a blackhole, a killed host) in 6 s instead of the kernel's minutes.
 */
export const RECOVERY_CHANNEL_OPTIONS: ChannelOptions = Object.freeze({
  "grpc.initial_reconnect_backoff_ms": 100,
  "grpc.max_reconnect_backoff_ms": 500,
  "grpc.keepalive_time_ms": 5000,
  "grpc.keepalive_timeout_ms": 1000,
  "grpc.keepalive_permit_without_calls": 1,
});

/** Reasons a client reports for faults the peer did not describe itself. */
export interface FaultReasons {
  /** The peer could not be reached, or the TLS handshake failed. */
  readonly unavailable: ReasonCode;
  /** The call ran past its deadline. */
  readonly deadlineExceeded: ReasonCode;
  /** The peer's response failed the boundary validator. */
  readonly invalidResponse: ReasonCode;
}

/** How to reach a peer. */
export interface UnaryClientOptions {
  /** host:port. */
  readonly address: string;
  readonly credentials: ChannelCredentials;
  readonly validator: BoundaryValidator;
  /** The peer's workload name; sent as the TLS server name instead of an IP address. */
  readonly serverName: string;
  readonly faults: FaultReasons;
  readonly channelOptions?: ChannelOptions;
  /**
   * A call made while the channel is not connected first waits this long at most (never past its
   * deadline) for it to connect, then is sent (and fails at once if it still is not). Past the
   * reconnect backoff's longest step, so a call made just after the peer came back, before the
   * channel's next attempt, waits for that attempt instead of failing. Unset: no wait.
   */
  readonly connectWaitMs?: number;
}

/** Per-call settings. */
export interface CallOptions {
  /** Absolute deadline, epoch milliseconds. */
  readonly deadline: number;
  readonly correlationId: string;
  /** Cancels the call (a hedged attempt another attempt beat). */
  readonly signal?: AbortSignal;
}

/** A typed client of one service. */
export interface UnaryClient<T extends GenServiceMethods> {
  call<K extends keyof T & string>(
    method: K,
    request: MessageInitShape<T[K]["input"]>,
    options: CallOptions,
  ): Promise<MessageShape<T[K]["output"]>>;
  /**
   * Resolves true as soon as the channel is connected (it reconnects on its own backoff), false at
   * `deadline`: what a caller waits on instead of probing a peer that is down with calls.
   */
  ready(deadline: number): Promise<boolean>;
  /**
   * Calls `listener` each time the channel is connected after it was not (the peer came back,
   * perhaps restarted as another build); the first connection counts when the channel was not
   * connected at registration. From then on the channel keeps itself connected (reconnecting on
   * its backoff) instead of idling until the next call.
   */
  onReconnect(listener: () => void): void;
  close(): void;
}

/** A call's final status as the error grpc-js's own unary request reports it. */
function serviceError(received: StatusObject): ServiceError {
  const text = `${received.code} ${status[received.code]}: ${received.details}`;
  return Object.assign(new Error(text), received);
}

function transportError(err: ServiceError, faults: FaultReasons, address: string): SeleneError {
  const details = err.metadata?.get(STATUS_DETAILS_KEY)[0];
  const detail = details instanceof Buffer ? decodeStatusDetails(details) : undefined;
  // The peer's reason and message as it raised them, so an error passed on is not prefixed twice.
  if (detail !== undefined) return fromErrorDetail(detail, peerMessage(detail, err.details));
  if (err.code === status.DEADLINE_EXCEEDED) {
    return new SeleneError(faults.deadlineExceeded, `${address} did not answer before the deadline`);
  }
  if (err.code === status.UNAVAILABLE || err.code === status.CANCELLED) {
    return new SeleneError(faults.unavailable, `${address} is unavailable`, { cause: err });
  }
  return new SeleneError(ReasonCode.INTERNAL, `${address} failed without a reason`, { cause: err });
}

/** Creates a client of `service` at `options.address`. */
export function createUnaryClient<T extends GenServiceMethods>(
  service: GenService<T>,
  options: UnaryClientOptions,
): UnaryClient<T> {
  enableTraceContext();
  const client = new Client(options.address, options.credentials, {
    "grpc.ssl_target_name_override": options.serverName,
    "grpc.default_authority": options.serverName,
    ...RECOVERY_CHANNEL_OPTIONS,
    ...options.channelOptions,
  });
  const reconnectListeners: Array<() => void> = [];
  /** Follows the channel's state from `state` until it shuts down, telling every connection after a loss. */
  const follow = (state: connectivityState) => {
    const channel = client.getChannel();
    if (state === connectivityState.SHUTDOWN) return;
    channel.watchConnectivityState(state, Number.POSITIVE_INFINITY, () => {
      const next = channel.getConnectivityState(false);
      if (next === connectivityState.READY && state !== connectivityState.READY) {
        for (const listener of reconnectListeners) listener();
      }
      // An idle channel connects again at once: a peer that came back is noticed without waiting
      // for a call (which might never come while its capabilities are withdrawn).
      if (next === connectivityState.IDLE) channel.getConnectivityState(true);
      follow(next);
    });
  };
  const recorders = new Map<string, RpcRecorder>();
  const recorderOf = (path: string) => {
    let recorder = recorders.get(path);
    if (recorder === undefined) {
      recorder = clientRpcRecorder(options.serverName, path);
      recorders.set(path, recorder);
    }
    return recorder;
  };
  const unary: UnaryClient<T> = {
    call(methodName, request, callOptions) {
      const waitMs = options.connectWaitMs;
      if (waitMs !== undefined && client.getChannel().getConnectivityState(false) !== connectivityState.READY) {
        return unary
          .ready(Math.min(callOptions.deadline, Date.now() + waitMs))
          .then(() => send(methodName, request, callOptions));
      }
      return send(methodName, request, callOptions);
    },
    ready(deadline) {
      return new Promise((resolve) => client.waitForReady(deadline, (err) => resolve(err === undefined)));
    },
    onReconnect(listener) {
      reconnectListeners.push(listener);
      if (reconnectListeners.length === 1) follow(client.getChannel().getConnectivityState(false));
    },
    close() {
      client.close();
    },
  };
  /** One call, sent now. */
  const send: UnaryClient<T>["call"] = (methodName, request, callOptions) => {
    const method = service.method[methodName]!;
    const path = methodPath(method);
    const recorder = recorderOf(path);
    const bytes = toBinary(method.input, create(method.input, request));
    const metadata = new Metadata();
    metadata.set(CORRELATION_KEY, callOptions.correlationId);
    metadata.set(CONTRACT_SURFACE_KEY, CONTRACT_SURFACE);
    const active = otelContext.active();
    const span = startClientSpan(path, options.serverName, active);
    injectTraceContext(trace.setSpan(active, span), metadata);
    const started = performance.now();
    const finish = (code: status, error: SeleneError | undefined) => endRpcCall(recorder, span, started, code, error);
    return new Promise((resolve, reject) => {
      // Straight on the channel's call, as grpc-js's own unary request does under its interceptor
      // layers: no interceptors are configured, and its request captures a stack trace on every
      // call for the error it might build (a few per cent of the router's CPU).
      const call = client.getChannel().createCall(path, callOptions.deadline, undefined, null, undefined);
      let response: Buffer | null = null;
      call.start(metadata, {
        onReceiveMetadata() {},
        onReceiveMessage(message: Buffer) {
          if (response !== null) call.cancelWithStatus(status.UNIMPLEMENTED, "Too many responses received");
          response = message;
        },
        onReceiveStatus(received) {
          if (received.code !== status.OK || response === null) {
            const err = serviceError(
              received.code === status.OK
                ? { code: status.UNIMPLEMENTED, details: "No message received", metadata: received.metadata }
                : received,
            );
            const error = transportError(err, options.faults, options.address);
            finish(err.code, error);
            reject(error);
            return;
          }
          const verdict = options.validator.validate(method.output, response);
          if (verdict.ok) {
            finish(status.OK, undefined);
            resolve(verdict.message as MessageShape<T[typeof methodName]["output"]>);
            return;
          }
          const error = new SeleneError(options.faults.invalidResponse, `${options.address} sent an invalid response`, {
            violations: verdict.error.violations,
            cause: verdict.error,
          });
          finish(status.OK, error);
          reject(error);
        },
      });
      call.startRead();
      call.sendMessageWithContext({}, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      call.halfClose();
      callOptions.signal?.addEventListener(
        "abort",
        () => call.cancelWithStatus(status.CANCELLED, "Cancelled on client"),
        {
          once: true,
        },
      );
    });
  };
  return unary;
}
