/** The router's client of the outbox service, presenting the router's identity. */
import { ReasonCode } from "../../gen/es/selene/kernel/v1/reason_pb.js";
import { OutboxService } from "../../gen/es/selene/outbox/v1/outbox_pb.js";
import type { BoundaryValidator } from "../runtime/boundary-validator.js";
import { type CredentialOptions, clientCredentials } from "../runtime/tls-credentials.js";
import { createUnaryClient, type UnaryClient } from "../runtime/unary-client.js";
import { spiffeIdOf } from "../runtime/workload-identities.js";

/**
 * grpc-js's own retries (the service config's retry policy, gRPC proposal A6) for the outbox calls
 * that are safe to repeat: Enqueue (keyed by the simulation), Ack, Nack (idempotent by their lease
 * token) and GetEffect (a read). Without them one lost ack left a performed effect leased until its
 * lease lapsed (30 s), and its confirmation failing meanwhile. Lease is not retried: its lost
 * answer would lease effects nobody performs. Only UNAVAILABLE is retried (the call never reached
 * the outbox or the connection broke), at most 3 attempts, 10 ms doubling to 100 ms; throttling
 * (one token taken per failure, one given back per success) stops the retries once more calls fail
 * than succeed, so an outbox that is down is not hit harder.
 */
export const OUTBOX_SERVICE_CONFIG = JSON.stringify({
  methodConfig: [
    {
      name: ["Enqueue", "Ack", "Nack", "GetEffect"].map((method) => ({ service: OutboxService.typeName, method })),
      retryPolicy: {
        maxAttempts: 3,
        initialBackoff: "0.01s",
        maxBackoff: "0.1s",
        backoffMultiplier: 2,
        retryableStatusCodes: ["UNAVAILABLE"],
      },
    },
  ],
  retryThrottling: { maxTokens: 10, tokenRatio: 1 },
});

/**
 * How long an outbox call made while the channel is reconnecting waits for it, ms: past the longest
 * reconnect backoff step (500 ms, plus grpc-js's 20% jitter). A confirmation made in the moments
 * after the outbox came back, before the channel's next attempt, is sent on that connection instead
 * of failing; while the outbox stays unreachable a call fails after this wait.
 */
export const OUTBOX_CONNECT_WAIT_MS = 600;

/** A client of the outbox. */
export type OutboxClient = UnaryClient<(typeof OutboxService)["method"]>;

/** Creates the router's outbox client; `tls` says how it follows certificate rotation. */
export function createOutboxClient(
  address: string,
  pkiDir: string,
  validator: BoundaryValidator,
  tls: CredentialOptions = {},
): OutboxClient {
  return createUnaryClient(OutboxService, {
    address,
    serverName: "outbox",
    credentials: clientCredentials(pkiDir, "router", spiffeIdOf("outbox"), tls),
    validator,
    channelOptions: { "grpc.service_config": OUTBOX_SERVICE_CONFIG },
    connectWaitMs: OUTBOX_CONNECT_WAIT_MS,
    faults: {
      unavailable: ReasonCode.DEPENDENCY_UNAVAILABLE,
      deadlineExceeded: ReasonCode.DEADLINE_EXCEEDED,
      invalidResponse: ReasonCode.INTERNAL,
    },
  });
}
