/**
 * The ports each process uses on one machine (`npm start`, tests): one table,
 * read by every service's config for its defaults and by the launcher. In
 * Kubernetes every process uses 7443 (mTLS gRPC), 7080 (plaintext health) and
 * 9464 (plaintext Prometheus metrics).
 */

/** The ports of one process. */
export interface ProcessPorts {
  /** mTLS gRPC. */
  readonly grpc: number;
  /** Plaintext gRPC health only. */
  readonly health: number;
  /** Plaintext HTTP, GET /metrics in the Prometheus text format. */
  readonly metrics: number;
}

/** Local ports by process name. */
export const LOCAL_PORTS = Object.freeze({
  router: { grpc: 50051, health: 50151, metrics: 50251 },
  nlp: { grpc: 50061, health: 50161, metrics: 50261 },
  tools: { grpc: 50062, health: 50162, metrics: 50262 },
  reminders: { grpc: 50063, health: 50163, metrics: 50263 },
  calc: { grpc: 50064, health: 50164, metrics: 50264 },
  outbox: { grpc: 50071, health: 50171, metrics: 50271 },
  audit: { grpc: 50072, health: 50172, metrics: 50272 },
  governance: { grpc: 50073, health: 50173, metrics: 50273 },
} satisfies Record<string, ProcessPorts>);

/**
 * The router's Connect (JSON over HTTPS) port on one machine. Every local port sits in 50000-50500,
 * so a test mesh can shift them all below the kernel's ephemeral range (32768-60999) with one
 * offset and never meet a port an outgoing connection took.
 */
export const LOCAL_CONNECT_PORT = 50443;
