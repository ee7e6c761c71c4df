import { Metadata } from "@grpc/grpc-js";
import { context, ROOT_CONTEXT, type SpanContext, TraceFlags, trace } from "@opentelemetry/api";
import { TraceState } from "@opentelemetry/core";
import { expect } from "chai";
import { grpcCallMetadata } from "../../../services/runtime/boundary/call-metadata.js";
import { startClientSpan, startServerSpan } from "../../../services/runtime/rpc-span.js";
import {
  enableTraceContext,
  extractTraceContext,
  injectTraceContext,
  TRACEPARENT_KEY,
  TRACESTATE_KEY,
} from "../../../services/runtime/trace-context.js";

const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const SPAN_ID = "00f067aa0ba902b7";

function aSpanContext(overrides: Partial<SpanContext> = {}): SpanContext {
  return { traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: TraceFlags.SAMPLED, isRemote: false, ...overrides };
}

function metadataWith(entries: Record<string, string>): Metadata {
  const metadata = new Metadata();
  for (const [key, value] of Object.entries(entries)) metadata.set(key, value);
  return metadata;
}

describe("trace context in gRPC metadata", () => {
  before(() => enableTraceContext());

  it("injects traceparent and tracestate and extracts the same span context back", () => {
    const metadata = new Metadata();
    const traceState = new TraceState("selene=t61rcWkgMzE,other=x");
    injectTraceContext(trace.setSpanContext(ROOT_CONTEXT, aSpanContext({ traceState })), metadata);
    expect(metadata.get(TRACEPARENT_KEY)).to.deep.equal([`00-${TRACE_ID}-${SPAN_ID}-01`]);
    expect(metadata.get(TRACESTATE_KEY)).to.deep.equal(["selene=t61rcWkgMzE,other=x"]);

    const extracted = trace.getSpanContext(extractTraceContext(grpcCallMetadata(metadata)));
    expect(extracted).to.include({
      traceId: TRACE_ID,
      spanId: SPAN_ID,
      traceFlags: TraceFlags.SAMPLED,
      isRemote: true,
    });
    expect(extracted?.traceState?.get("selene")).to.equal("t61rcWkgMzE");
  });

  it("keeps an unsampled flag across the round trip", () => {
    const metadata = new Metadata();
    injectTraceContext(trace.setSpanContext(ROOT_CONTEXT, aSpanContext({ traceFlags: TraceFlags.NONE })), metadata);
    expect(metadata.get(TRACEPARENT_KEY)).to.deep.equal([`00-${TRACE_ID}-${SPAN_ID}-00`]);
    expect(trace.getSpanContext(extractTraceContext(grpcCallMetadata(metadata)))?.traceFlags).to.equal(TraceFlags.NONE);
  });

  it("injects nothing from a context without a span", () => {
    const metadata = new Metadata();
    injectTraceContext(ROOT_CONTEXT, metadata);
    expect(metadata.get(TRACEPARENT_KEY)).to.deep.equal([]);
  });

  for (const [what, value] of [
    ["a malformed traceparent", "00-xyz-00f067aa0ba902b7-01"],
    ["an all-zero trace id", `00-${"0".repeat(32)}-${SPAN_ID}-01`],
    ["an all-zero parent id", `00-${TRACE_ID}-${"0".repeat(16)}-01`],
    ["version ff", `ff-${TRACE_ID}-${SPAN_ID}-01`],
  ] as const) {
    it(`extracts no span context from ${what}`, () => {
      expect(
        trace.getSpanContext(extractTraceContext(grpcCallMetadata(metadataWith({ traceparent: value })))),
      ).to.equal(undefined);
    });
  }

  it("extracts no span context from metadata without traceparent", () => {
    expect(trace.getSpanContext(extractTraceContext(grpcCallMetadata(new Metadata())))).to.equal(undefined);
  });
});

describe("RPC spans without span export", () => {
  const HEX32 = /^[0-9a-f]{32}$/;
  const HEX16 = /^[0-9a-f]{16}$/;

  it("gives a server hop its own span id under the caller's trace", () => {
    const remote = extractTraceContext(grpcCallMetadata(metadataWith({ traceparent: `00-${TRACE_ID}-${SPAN_ID}-01` })));
    const span = startServerSpan("/p.S/M", remote).spanContext();
    expect(span.traceId).to.equal(TRACE_ID);
    expect(span.spanId).to.match(HEX16).and.not.equal(SPAN_ID);
    expect(span.traceFlags).to.equal(TraceFlags.SAMPLED);
  });

  it("starts a new random trace for a call that arrives without trace context", () => {
    const a = startServerSpan("/p.S/M", ROOT_CONTEXT).spanContext();
    const b = startServerSpan("/p.S/M", ROOT_CONTEXT).spanContext();
    expect(a.traceId).to.match(HEX32);
    expect(a.spanId).to.match(HEX16);
    expect(trace.isSpanContextValid(a)).to.equal(true);
    expect(a.traceId).to.not.equal(b.traceId);
  });

  it("passes the active span on to an outgoing call", () => {
    const active = trace.setSpanContext(ROOT_CONTEXT, aSpanContext());
    expect(startClientSpan("/p.S/M", "tools", active).spanContext()).to.include({
      traceId: TRACE_ID,
      spanId: SPAN_ID,
    });
  });

  it("starts a new trace for an outgoing call made outside any trace", () => {
    const span = startClientSpan("/p.S/M", "tools", context.active()).spanContext();
    expect(trace.isSpanContextValid(span)).to.equal(true);
    expect(span.traceId).to.not.equal(TRACE_ID);
  });

  it("makes a handler's context the active one across awaits", async () => {
    enableTraceContext();
    const span = startServerSpan("/p.S/M", ROOT_CONTEXT);
    const seen = await context.with(trace.setSpan(ROOT_CONTEXT, span), async () => {
      await new Promise((resolve) => setImmediate(resolve));
      return trace.getSpanContext(context.active())?.traceId;
    });
    expect(seen).to.equal(span.spanContext().traceId);
  });
});
