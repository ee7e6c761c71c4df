/**
 * The process's one Prometheus registry: the RPC metrics of the shared adapters,
 * the default process metrics (CPU, memory, event loop lag, GC) and whatever a
 * service registers itself, all served by metrics-server.ts on the metrics port.
 */
import { collectDefaultMetrics, Registry } from "prom-client";

let registry: Registry | undefined;

/** The shared registry; a service registers its own metrics with `registers: [metricsRegistry()]`. */
export function metricsRegistry(): Registry {
  if (registry === undefined) {
    registry = new Registry();
    collectDefaultMetrics({ register: registry });
  }
  return registry;
}
