/**
 * The span of one RPC, on either side. With a tracer (telemetry.ts sets one
 * when span export is on) spans are real, sampled by the SDK. Without one a
 * non-recording span still gives each server hop its own span id under the
 * caller's trace id, and a call that arrives without a trace context (or an
 * outgoing call made outside any) starts a new trace with random ids, so every
 * hop of a turn logs one trace id either way.
 */
import {
  type Context,
  type Span,
  type SpanContext,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  type Tracer,
  trace,
} from "@opentelemetry/api";
import { RandomIdGenerator } from "@opentelemetry/sdk-trace-base";
import type { SeleneError } from "./selene-error.js";

const ids = new RandomIdGenerator();
let tracer: Tracer | undefined;

/** Makes RPC spans real (a tracer) or non-recording (undefined). */
export function useTracer(next: Tracer | undefined): void {
  tracer = next;
}

/** The tracer spans are recorded with, undefined when span export is off. */
export function activeTracer(): Tracer | undefined {
  return tracer;
}

/** The attribute that holds the CPU time the process spent while a span was open, µs. */
export const CPU_ATTRIBUTE = "selene.cpu_us";

/**
 * Records on `span` the process's CPU time since `since` (a `process.cpuUsage()` taken when it
 * started). Exact when the process did nothing else meanwhile (one call in flight); with calls
 * overlapping it also counts theirs.
 */
export function recordCpuSince(span: Span, since: NodeJS.CpuUsage): void {
  const used = process.cpuUsage(since);
  span.setAttribute(CPU_ATTRIBUTE, used.user + used.system);
}

/**
 * Now, ms since the epoch with the performance clock's sub-millisecond precision: a span's start
 * time (the SDK's default is the millisecond wall clock, too coarse to place a 0.3 ms step in a
 * turn). A span given its start must be given its end too, or the SDK ends it on the wall clock.
 */
export function preciseNow(): number {
  return performance.timeOrigin + performance.now();
}

/** A non-recording span with a fresh span id, in `parent`'s trace or in a new one. */
function localSpan(parent: SpanContext | undefined): Span {
  const spanContext: SpanContext = {
    traceId: parent?.traceId ?? ids.generateTraceId(),
    spanId: ids.generateSpanId(),
    traceFlags: parent?.traceFlags ?? TraceFlags.NONE,
    isRemote: false,
  };
  if (parent?.traceState !== undefined) spanContext.traceState = parent.traceState;
  return trace.wrapSpanContext(spanContext);
}

/** Starts the server span of `rpcMethod` under `remote`, the context extracted from the call's metadata. */
export function startServerSpan(rpcMethod: string, remote: Context): Span {
  if (tracer !== undefined) {
    const options = { kind: SpanKind.SERVER, attributes: { "rpc.system": "grpc" }, startTime: preciseNow() };
    return tracer.startSpan(rpcMethod, options, remote);
  }
  return localSpan(trace.getSpanContext(remote));
}

/**
 * Starts the client span of a call to `rpcMethod` on `target` under `active`. Without a tracer,
 * the active span is passed on as it is, so the callee's parent is the caller's own span.
 */
export function startClientSpan(rpcMethod: string, target: string, active: Context): Span {
  if (tracer !== undefined) {
    const attributes = { "rpc.system": "grpc", "server.address": target };
    return tracer.startSpan(rpcMethod, { kind: SpanKind.CLIENT, attributes, startTime: preciseNow() }, active);
  }
  const current = trace.getSpanContext(active);
  return current !== undefined && trace.isSpanContextValid(current)
    ? trace.wrapSpanContext(current)
    : localSpan(undefined);
}

/** Ends an RPC span with the call's gRPC status code; a failed call marks it as an error named by its reason. */
export function endRpcSpan(span: Span, code: number, error: SeleneError | undefined): void {
  if (span.isRecording()) {
    span.setAttribute("rpc.grpc.status_code", code);
    if (error !== undefined) {
      span.setAttribute("selene.reason", error.reasonName);
      span.setStatus({ code: SpanStatusCode.ERROR, message: error.reasonName });
    }
  }
  span.end(preciseNow());
}
