/**
 * The span of one step inside a handler that is not an RPC (a database statement, waiting for the
 * audit ledger or for an effect), so a turn's trace shows where its time went between its calls.
 * Recorded only when span export is on and the turn is sampled; otherwise the step just runs.
 */
import { context as otelContext, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { activeTracer, preciseNow, recordCpuSince } from "./rpc-span.js";

/** Runs `step` inside a span named `name` (a child of the active span), with its wall and CPU time. */
export async function inStepSpan<T>(name: string, step: () => Promise<T>): Promise<T> {
  const tracer = activeTracer();
  const active = otelContext.active();
  const parent = trace.getSpan(active);
  if (tracer === undefined || parent === undefined || !parent.isRecording()) return step();
  const span = tracer.startSpan(name, { kind: SpanKind.INTERNAL, startTime: preciseNow() }, active);
  const cpu = process.cpuUsage();
  try {
    return await otelContext.with(trace.setSpan(active, span), step);
  } catch (e) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: e instanceof Error ? e.name : "error" });
    throw e;
  } finally {
    recordCpuSince(span, cpu);
    span.end(preciseNow());
  }
}
