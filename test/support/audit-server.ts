/** A real audit service in this process, over mTLS, on a free port, for integration tests. */
import type pg from "pg";
import { pino } from "pino";
import { AuditService } from "../../gen/es/selene/audit/v1/audit_pb.js";
import { createAuditLedger } from "../../services/audit/audit-ledger.js";
import { auditServiceImplementation } from "../../services/audit/audit-service.js";
import { createBoundaryValidator } from "../../services/runtime/boundary-validator.js";
import { type RunningGrpcServer, startGrpcServer } from "../../services/runtime/grpc-server.js";
import { serverCredentials } from "../../services/runtime/tls-credentials.js";

/** Serves AuditService over `pool` (the audit schema migrated) with the certificates in `pkiDir`. */
export function startAuditServer(pool: pg.Pool, pkiDir: string): Promise<RunningGrpcServer> {
  const logger = pino({ level: "silent" });
  return startGrpcServer({
    address: "127.0.0.1:0",
    healthAddress: "127.0.0.1:0",
    credentials: serverCredentials(pkiDir, "audit"),
    services: [
      {
        service: AuditService,
        implementation: auditServiceImplementation(createAuditLedger(pool), {
          validator: createBoundaryValidator(),
          logger,
        }),
      },
    ],
    logger,
  });
}
