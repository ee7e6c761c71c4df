/**
 * Serves a Prometheus registry over plain HTTP: GET /metrics in the text
 * exposition format, 404 for any other path, 405 for any other method. It
 * carries no request data, only counters, so it needs no TLS; in Kubernetes a
 * NetworkPolicy admits only the monitoring namespace to it.
 */
import { createServer } from "node:http";
import type { Registry } from "prom-client";
import type { Logger } from "./logger.js";

/** A running metrics server. */
export interface RunningMetricsServer {
  readonly port: number;
  close(): Promise<void>;
}

/** Starts serving `registry` at `address` (host:port; port 0 picks a free one). */
export async function startMetricsServer(
  address: string,
  registry: Registry,
  logger: Logger,
): Promise<RunningMetricsServer> {
  const [host, port] = address.split(/:(?=\d+$)/) as [string, string];
  const server = createServer((request, response) => {
    const path = (request.url ?? "/").split("?", 1)[0];
    if (path !== "/metrics") {
      response.writeHead(404).end();
      return;
    }
    if (request.method !== "GET" && request.method !== "HEAD") {
      response.writeHead(405, { allow: "GET, HEAD" }).end();
      return;
    }
    registry.metrics().then(
      (text) => response.writeHead(200, { "content-type": registry.contentType }).end(text),
      (err: unknown) => {
        logger.error({ err }, "collecting metrics failed");
        response.writeHead(500).end();
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(Number(port), host, () => resolve());
  });
  const bound = server.address();
  const boundPort = typeof bound === "object" && bound !== null ? bound.port : Number(port);
  logger.info({ metrics_port: boundPort }, "metrics listening");
  return {
    port: boundPort,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
