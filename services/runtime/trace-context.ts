/**
 * W3C trace context (traceparent, tracestate) over gRPC metadata and HTTP headers. The W3C
 * propagator and an AsyncLocalStorage context manager are registered whether or
 * not spans are exported, so the context of an incoming call is the active one
 * for the whole handler, every outgoing call carries it on, and log lines can
 * name its trace and span ids.
 */
import type { Metadata } from "@grpc/grpc-js";
import {
  type Context,
  context,
  propagation,
  ROOT_CONTEXT,
  type TextMapGetter,
  type TextMapSetter,
} from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import type { CallMetadata } from "./unary-service.js";

/** The metadata keys of the W3C trace context. */
export const TRACEPARENT_KEY = "traceparent";
export const TRACESTATE_KEY = "tracestate";

const propagator = new W3CTraceContextPropagator();

const callMetadataGetter: TextMapGetter<CallMetadata> = {
  keys: (metadata) => [...metadata.keys()],
  get(metadata, key) {
    const values = metadata.get(key);
    if (values.length === 0) return undefined;
    return values.length === 1 ? values[0] : [...values];
  },
};

const metadataSetter: TextMapSetter<Metadata> = {
  set: (metadata, key, value) => metadata.set(key, value),
};

let registered = false;

/**
 * Registers the W3C propagator and the AsyncLocalStorage context manager as the
 * process's globals, once; the server and client adapters call it when they are built.
 */
export function enableTraceContext(): void {
  if (registered) return;
  registered = true;
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(propagator);
}

/**
 * The remote trace context that a call's metadata (gRPC metadata or HTTP headers) carries; the
 * root context when it carries none or an invalid one.
 */
export function extractTraceContext(metadata: CallMetadata): Context {
  return propagator.extract(ROOT_CONTEXT, metadata, callMetadataGetter);
}

/** Writes the span context of `ctx` to `metadata` as traceparent (and tracestate); nothing when it has none. */
export function injectTraceContext(ctx: Context, metadata: Metadata): void {
  propagator.inject(ctx, metadata, metadataSetter);
}
