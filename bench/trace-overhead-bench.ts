/**
 * `npm run bench:trace`: what tracing and metrics add to each call, in one process, without
 * gRPC around them: (1) the server adapter's part of one served call (extract traceparent, start
 * the hop's span, run in its context, count and time it, end the span); (2) the client adapter's
 * part of one outgoing call (span, traceparent into fresh metadata, count and time); (3) 100
 * awaits inside a trace context, first with the no-op context manager, then with the
 * AsyncLocalStorage one the services register (its promise hooks cost every promise of a process,
 * whether or not it is traced). Rows 1 and 2 also run both ways.
 */
import { Metadata, status } from "@grpc/grpc-js";
import { context, ROOT_CONTEXT, trace } from "@opentelemetry/api";
import { grpcCallMetadata } from "../services/runtime/boundary/call-metadata.js";
import { clientRpcRecorder, serverRpcRecorder } from "../services/runtime/rpc-metrics.js";
import { endRpcCall } from "../services/runtime/rpc-outcome.js";
import { startClientSpan, startServerSpan } from "../services/runtime/rpc-span.js";
import { enableTraceContext, extractTraceContext, injectTraceContext } from "../services/runtime/trace-context.js";
import { measureAsync, measureSync, type RunResult, table } from "./bench-harness.js";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const METHOD = "/selene.engine.v1.EngineService/Invoke";

const incoming = new Metadata();
incoming.set("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
const served = serverRpcRecorder(METHOD);
const made = clientRpcRecorder("tools", METHOD);
const noop = () => {};

function serverHop(): void {
  const started = performance.now();
  const span = startServerSpan(METHOD, extractTraceContext(grpcCallMetadata(incoming)));
  context.with(trace.setSpan(ROOT_CONTEXT, span), noop);
  endRpcCall(served, span, started, status.OK, undefined);
}

const callerContext = trace.setSpan(
  ROOT_CONTEXT,
  startServerSpan(METHOD, extractTraceContext(grpcCallMetadata(incoming))),
);
function outgoingCall(): void {
  const started = performance.now();
  const span = startClientSpan(METHOD, "tools", callerContext);
  injectTraceContext(trace.setSpan(callerContext, span), new Metadata());
  endRpcCall(made, span, started, status.OK, undefined);
}

async function awaits(): Promise<void> {
  await context.with(callerContext, async () => {
    for (let i = 0; i < 100; i++) await Promise.resolve(i);
  });
}

async function rows(manager: string): Promise<RunResult[]> {
  return [
    measureSync(`served call observed (${manager})`, serverHop, SECONDS),
    measureSync(`outgoing call observed (${manager})`, outgoingCall, SECONDS),
    await measureAsync(`100 awaits in a trace context (${manager})`, awaits, SECONDS, 1),
  ];
}

const results = await rows("no-op context manager");
enableTraceContext();
results.push(...(await rows("AsyncLocalStorage")));
process.stdout.write(`${table(results)}\n`);
