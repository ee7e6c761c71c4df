/**
 * The ports each process uses on one machine (`npm start`, tests): one table,
 * read by every service's config for its defaults and by the launcher. In
 * Kubernetes every process uses 7443 (mTLS gRPC) and 7080 (plaintext health).
 */

/** The ports of one process. */
export interface ProcessPorts {
  /** mTLS gRPC. */
  readonly grpc: number;
  /** Plaintext gRPC health only. */
  readonly health: number;
}

/** Local ports by process name. */
export const LOCAL_PORTS = Object.freeze({
  router: { grpc: 50051, health: 50151 },
  nlp: { grpc: 50061, health: 50161 },
  tools: { grpc: 50062, health: 50162 },
  reminders: { grpc: 50063, health: 50163 },
  calc: { grpc: 50064, health: 50164 },
  outbox: { grpc: 50071, health: 50171 },
  audit: { grpc: 50072, health: 50172 },
  governance: { grpc: 50073, health: 50173 },
} satisfies Record<string, ProcessPorts>);

/**
 * The router's Connect (JSON over HTTPS) port on one machine. Every local port sits in 50000-50500,
 * so a test mesh can shift them all below the kernel's ephemeral range (32768-60999) with one
 * offset and never meet a port an outgoing connection took.
 */
export const LOCAL_CONNECT_PORT = 50443;
