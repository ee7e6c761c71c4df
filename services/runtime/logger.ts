/**
 * The one pino root logger of a process. Modules take `logger.child({ component })`;
 * messages are constant strings and data travels in fields (correlation_id,
 * tenant_id, reason, rpc.method). Every line written while a trace context is
 * active (inside an RPC handler, say) also carries trace_id and span_id. Logs go
 * to stderr as JSON lines.
 */
import { context, trace } from "@opentelemetry/api";
import { type DestinationStream, type Logger, pino } from "pino";

export type { Logger } from "pino";

/** The active span's ids; a fresh object each time, since pino merges the line's own fields into it. */
function traceFields(): Record<string, string> {
  const span = trace.getSpanContext(context.active());
  return span === undefined ? {} : { trace_id: span.traceId, span_id: span.spanId };
}

/** Creates the root logger of a service; it writes to stderr unless a test passes its own destination. */
export function createLogger(
  service: string,
  level = "info",
  destination: DestinationStream = pino.destination({ dest: 2, sync: false }),
): Logger {
  return pino({ level, base: { service }, messageKey: "msg", mixin: traceFields }, destination);
}
