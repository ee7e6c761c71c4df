/**
 * W3C trace context (traceparent, tracestate) over gRPC metadata. The W3C
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

/** The metadata keys of the W3C trace context. */
export const TRACEPARENT_KEY = "traceparent";
export const TRACESTATE_KEY = "tracestate";

const propagator = new W3CTraceContextPropagator();

const metadataGetter: TextMapGetter<Metadata> = {
  keys: (metadata) => Object.keys(metadata.getMap()),
  get(metadata, key) {
    const values = metadata.get(key);
    if (values.length === 0) return undefined;
    if (values.length === 1) return typeof values[0] === "string" ? values[0] : undefined;
    return values.filter((v): v is string => typeof v === "string");
  },
};

const headersGetter: TextMapGetter<Headers> = {
  keys: (headers) => [...headers.keys()],
  get: (headers, key) => headers.get(key) ?? undefined,
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

/** The remote trace context that `metadata` carries; the root context when it carries none or an invalid one. */
export function extractTraceContext(metadata: Metadata): Context {
  return propagator.extract(ROOT_CONTEXT, metadata, metadataGetter);
}

/** The remote trace context of HTTP request headers (a Connect call); the root context when they carry none. */
export function extractTraceContextFromHeaders(headers: Headers): Context {
  return propagator.extract(ROOT_CONTEXT, headers, headersGetter);
}

/** Writes the span context of `ctx` to `metadata` as traceparent (and tracestate); nothing when it has none. */
export function injectTraceContext(ctx: Context, metadata: Metadata): void {
  propagator.inject(ctx, metadata, metadataSetter);
}
