/** The router's client of the audit service, presenting the router's identity. */
import { AuditService } from "../../gen/es/selene/audit/v1/audit_pb.js";
import { ReasonCode } from "../../gen/es/selene/kernel/v1/reason_pb.js";
import type { BoundaryValidator } from "../runtime/boundary-validator.js";
import { clientCredentials } from "../runtime/tls-credentials.js";
import { createUnaryClient, type UnaryClient } from "../runtime/unary-client.js";
import { spiffeIdOf } from "../runtime/workload-identities.js";

/** A client of the audit service. */
export type AuditClient = UnaryClient<(typeof AuditService)["method"]>;

/** Creates the router's audit client. */
export function createAuditClient(address: string, pkiDir: string, validator: BoundaryValidator): AuditClient {
  return createUnaryClient(AuditService, {
    address,
    serverName: "audit",
    credentials: clientCredentials(pkiDir, "router", spiffeIdOf("audit")),
    validator,
    faults: {
      unavailable: ReasonCode.AUDIT_UNAVAILABLE,
      deadlineExceeded: ReasonCode.AUDIT_UNAVAILABLE,
      invalidResponse: ReasonCode.AUDIT_UNAVAILABLE,
    },
  });
}
