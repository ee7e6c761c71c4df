/**
 * The audit service's composition root: config -> logger -> tracing and metrics -> db -> ledger -> serve gRPC -> drain on
 * SIGTERM (the server first, so no append is cut off, then the pool).
 */
import { createDatabasePool } from "../runtime/database-pool.js";
import { startGrpcServer } from "../runtime/grpc-server.js";
import { createLogger } from "../runtime/logger.js";
import { startObservability } from "../runtime/observability.js";
import { onShutdown } from "../runtime/on-shutdown.js";
import { assertServiceLogin } from "../runtime/service-login.js";
import { serverCredentials } from "../runtime/tls-credentials.js";
import { auditService } from "./audit-service.js";
import { readAuditConfig } from "./config.js";

const config = readAuditConfig(process.env);
const logger = createLogger("audit", config.logLevel);
const observability = await startObservability(config, logger);
const pool = createDatabasePool(config.databaseUrl, logger);
await assertServiceLogin(pool);

const server = await startGrpcServer({
  address: config.address,
  healthAddress: config.healthAddress,
  credentials: serverCredentials(config.pkiDir, config.name, {
    refreshIntervalMs: config.tls.refreshIntervalMs,
    onReload: (reload) => logger.info({ reload }, "certificate reloaded"),
  }),
  services: [auditService(pool, logger)],
  logger,
  maxConnectionAgeMs: config.tls.maxConnectionAgeMs,
});

onShutdown(logger, async () => {
  await server.shutdown();
  await pool.end();
  await observability.close();
});
