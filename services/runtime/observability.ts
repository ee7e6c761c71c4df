/**
 * What every service starts right after its logger: tracing (telemetry.ts) and
 * the metrics port (metrics-server.ts); its drain closes both last, so the final
 * spans are flushed and the final scrape still sees the drain's calls.
 */
import type { Logger } from "./logger.js";
import { metricsRegistry } from "./metrics-registry.js";
import { startMetricsServer } from "./metrics-server.js";
import type { ServiceConfig } from "./service-config.js";
import { startTelemetry } from "./telemetry.js";

/** A service's running tracing and metrics port. */
export interface Observability {
  /** The bound metrics port. */
  readonly metricsPort: number;
  /** Stops the metrics port and flushes the spans still buffered. */
  close(): Promise<void>;
}

/** Starts tracing and the metrics port of the service `config` describes. */
export async function startObservability(config: ServiceConfig, logger: Logger): Promise<Observability> {
  const telemetry = startTelemetry(config.name, config.tracing, logger);
  const metrics = await startMetricsServer(config.metricsAddress, metricsRegistry(), logger);
  return {
    metricsPort: metrics.port,
    async close() {
      await metrics.close();
      await telemetry.shutdown();
    },
  };
}
