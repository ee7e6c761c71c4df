/**
 * The RPC metrics of the shared server and client adapters, on the shared
 * registry. Each method gets a recorder that keeps its label children, so a
 * call pays for a histogram observation and two counter increments, not for
 * label lookups.
 *
 *   selene_rpc_server_requests_total{method, code}          calls served, by gRPC status
 *   selene_rpc_server_errors_total{method, reason}          failed calls, by reason code
 *   selene_rpc_server_duration_seconds{method}              time from arrival to answer
 *   selene_rpc_client_requests_total{target, method, code}  calls made, by gRPC status
 *   selene_rpc_client_errors_total{target, method, reason}  failed calls, by reason code
 *   selene_rpc_client_duration_seconds{target, method}      time from send to answer
 */
import { status } from "@grpc/grpc-js";
import { Counter, Histogram } from "prom-client";
import { metricsRegistry } from "./metrics-registry.js";

/** Latency buckets in seconds: sub-millisecond engine calls up to multi-second turns. */
export const RPC_LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Records the outcome of one call of one method. */
export interface RpcRecorder {
  /** `code` is the call's gRPC status; `reason` the reason code name of a failed call. */
  record(code: status, reason: string | undefined, seconds: number): void;
}

interface Families {
  readonly requests: Counter;
  readonly errors: Counter;
  readonly duration: Histogram;
}

let server: Families | undefined;
let client: Families | undefined;

function families(side: "server" | "client", labels: readonly string[], peer: string): Families {
  const registers = [metricsRegistry()];
  return {
    requests: new Counter({
      name: `selene_rpc_${side}_requests_total`,
      help: `gRPC calls ${side === "server" ? "served" : "made"}, by method and gRPC status code.`,
      labelNames: [...labels, "code"],
      registers,
    }),
    errors: new Counter({
      name: `selene_rpc_${side}_errors_total`,
      help: `Failed gRPC calls ${side === "server" ? "served" : "made"}, by method and Selene reason code.`,
      labelNames: [...labels, "reason"],
      registers,
    }),
    duration: new Histogram({
      name: `selene_rpc_${side}_duration_seconds`,
      help: `Time from ${peer} to the answer of a gRPC call, in seconds.`,
      labelNames: labels,
      buckets: RPC_LATENCY_BUCKETS,
      registers,
    }),
  };
}

function recorder(f: Families, labels: readonly string[]): RpcRecorder {
  const duration = f.duration.labels(...labels);
  const byCode: Array<{ inc(): void } | undefined> = [];
  const byReason = new Map<string, { inc(): void }>();
  return {
    record(code, reason, seconds) {
      duration.observe(seconds);
      let requests = byCode[code];
      if (requests === undefined) {
        requests = f.requests.labels(...labels, status[code] ?? String(code));
        byCode[code] = requests;
      }
      requests.inc();
      if (reason === undefined) return;
      let errors = byReason.get(reason);
      if (errors === undefined) {
        errors = f.errors.labels(...labels, reason);
        byReason.set(reason, errors);
      }
      errors.inc();
    },
  };
}

/** The recorder of served calls of `method` (the full path, /package.Service/Method). */
export function serverRpcRecorder(method: string): RpcRecorder {
  server ??= families("server", ["method"], "arrival");
  return recorder(server, [method]);
}

/** The recorder of calls of `method` made to `target` (the peer's workload name). */
export function clientRpcRecorder(target: string, method: string): RpcRecorder {
  client ??= families("client", ["target", "method"], "sending");
  return recorder(client, [target, method]);
}
