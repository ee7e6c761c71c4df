/**
 * A client of the audit service presenting one workload's (or the operator's)
 * certificate. Every transport fault is AUDIT_UNAVAILABLE, so a caller that
 * must not act without its record can fail closed on one reason code.
 */
import { AuditService } from "../../gen/es/selene/audit/v1/audit_pb.js";
import { ReasonCode } from "../../gen/es/selene/kernel/v1/reason_pb.js";
import type { BoundaryValidator } from "./boundary-validator.js";
import { type CredentialOptions, clientCredentials } from "./tls-credentials.js";
import { createUnaryClient, type UnaryClient } from "./unary-client.js";
import { spiffeIdOf } from "./workload-identities.js";

/** A client of the audit service. */
export type AuditClient = UnaryClient<(typeof AuditService)["method"]>;

/**
 * Creates a client of the audit service at `address` presenting `identity`'s certificate; `tls`
 * says how it follows certificate rotation.
 */
export function createAuditClient(
  address: string,
  pkiDir: string,
  identity: string,
  validator: BoundaryValidator,
  tls: CredentialOptions = {},
): AuditClient {
  return createUnaryClient(AuditService, {
    address,
    serverName: "audit",
    credentials: clientCredentials(pkiDir, identity, spiffeIdOf("audit"), tls),
    validator,
    faults: {
      unavailable: ReasonCode.AUDIT_UNAVAILABLE,
      deadlineExceeded: ReasonCode.AUDIT_UNAVAILABLE,
      invalidResponse: ReasonCode.AUDIT_UNAVAILABLE,
    },
  });
}
