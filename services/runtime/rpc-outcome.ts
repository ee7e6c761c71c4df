/**
 * The end of one observed call, on either side and over either protocol: its
 * outcome and latency go to the RPC metrics, its span ends with its status.
 */
import type { status } from "@grpc/grpc-js";
import type { Span } from "@opentelemetry/api";
import type { RpcRecorder } from "./rpc-metrics.js";
import { endRpcSpan } from "./rpc-span.js";
import type { SeleneError } from "./selene-error.js";

/** Ends a call that started at `started` (performance.now()) with gRPC status `code`, failed with `error` or not. */
export function endRpcCall(
  recorder: RpcRecorder,
  span: Span,
  started: number,
  code: status,
  error: SeleneError | undefined,
): void {
  recorder.record(code, error?.reasonName, (performance.now() - started) / 1000);
  endRpcSpan(span, code, error);
}
