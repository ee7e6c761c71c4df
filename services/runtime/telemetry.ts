/**
 * Tracing of a process. Trace context propagation is always on (trace-context.ts);
 * span export is on only when the service's config has a tracing section: then an
 * SDK tracer provider batches finished spans to an OTLP/HTTP endpoint, the RPC
 * adapters record real spans, and shutdown flushes what is still buffered.
 */
import { trace } from "@opentelemetry/api";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BasicTracerProvider, BatchSpanProcessor } from "@opentelemetry/sdk-trace-base";
import type { Logger } from "./logger.js";
import { useTracer } from "./rpc-span.js";
import type { TracingConfig } from "./service-config.js";
import { enableTraceContext } from "./trace-context.js";

/** The tracing of a running process. */
export interface Telemetry {
  /** Exports the spans still buffered and stops exporting. */
  shutdown(): Promise<void>;
}

/** Starts tracing for workload `service`: propagation always, span export when `config` is set. */
export function startTelemetry(service: string, config: TracingConfig | undefined, logger: Logger): Telemetry {
  enableTraceContext();
  if (config === undefined) return { shutdown: async () => {} };
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ "service.name": `selene-${service}`, "service.namespace": "selene" }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: config.url }))],
  });
  trace.setGlobalTracerProvider(provider);
  useTracer(provider.getTracer("selene-os"));
  logger.info({ exporter: config.exporter, url: config.url }, "span export on");
  return {
    async shutdown() {
      useTracer(undefined);
      await provider.shutdown().catch((err: unknown) => logger.warn({ err }, "flushing spans failed"));
    },
  };
}
