/** A real audit service in this process, over mTLS, on a free port, for integration tests. */
import type pg from "pg";
import { pino } from "pino";
import { auditService } from "../../services/audit/audit-service.js";
import { type RunningGrpcServer, startGrpcServer } from "../../services/runtime/grpc-server.js";
import { serverCredentials } from "../../services/runtime/tls-credentials.js";

/** Serves AuditService over `pool` (the audit schema migrated) with the certificates in `pkiDir`. */
export function startAuditServer(pool: pg.Pool, pkiDir: string): Promise<RunningGrpcServer> {
  const logger = pino({ level: "silent" });
  return startGrpcServer({
    address: "127.0.0.1:0",
    healthAddress: "127.0.0.1:0",
    credentials: serverCredentials(pkiDir, "audit"),
    services: [auditService(pool, logger)],
    logger,
  });
}
