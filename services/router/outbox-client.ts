/** The router's client of the outbox service, presenting the router's identity. */
import { ReasonCode } from "../../gen/es/selene/kernel/v1/reason_pb.js";
import { OutboxService } from "../../gen/es/selene/outbox/v1/outbox_pb.js";
import type { BoundaryValidator } from "../runtime/boundary-validator.js";
import { type CredentialOptions, clientCredentials } from "../runtime/tls-credentials.js";
import { createUnaryClient, type UnaryClient } from "../runtime/unary-client.js";
import { spiffeIdOf } from "../runtime/workload-identities.js";

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
    faults: {
      unavailable: ReasonCode.DEPENDENCY_UNAVAILABLE,
      deadlineExceeded: ReasonCode.DEADLINE_EXCEEDED,
      invalidResponse: ReasonCode.INTERNAL,
    },
  });
}
