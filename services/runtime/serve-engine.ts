/**
 * The composition shared by every TypeScript engine: its EngineService handlers
 * served over mTLS to the router's identity only (anyone else gets
 * PERMISSION_DENIED with MEDIATION_BYPASS, recorded in the audit ledger), with
 * health, reflection, tracing, a metrics port and a drain on SIGTERM.
 */
import { EngineService } from "../../gen/es/selene/engine/v1/engine_pb.js";
import { ReasonCode } from "../../gen/es/selene/kernel/v1/reason_pb.js";
import { createAuditClient } from "./audit-client.js";
import { implementService } from "./boundary/grpc-adapter.js";
import { createBoundaryValidator } from "./boundary-validator.js";
import { startGrpcServer } from "./grpc-server.js";
import type { Logger } from "./logger.js";
import { startObservability } from "./observability.js";
import { onShutdown } from "./on-shutdown.js";
import { createRefusalAudit } from "./refusal-audit.js";
import type { ServiceConfig } from "./service-config.js";
import { serverCredentials } from "./tls-credentials.js";
import { allowOnly, type ServiceHandlers } from "./unary-service.js";
import { spiffeIdOf } from "./workload-identities.js";

/** The handlers an engine provides. */
export type EngineHandlers = ServiceHandlers<(typeof EngineService)["method"]>;

/** Serves an engine until SIGTERM; `close` releases the engine's own resources after the drain. */
export async function serveEngine(
  config: ServiceConfig,
  logger: Logger,
  handlers: EngineHandlers,
  close: () => Promise<void> = async () => {},
): Promise<void> {
  const observability = await startObservability(config, logger);
  const self = spiffeIdOf(config.name);
  const validator = createBoundaryValidator();
  const credentials = { refreshIntervalMs: config.tls.refreshIntervalMs };
  const audit = createAuditClient(config.auditAddress, config.pkiDir, config.name, validator, credentials);
  const refusals = createRefusalAudit(audit, logger.child({ component: "refusal-audit" }), {
    actor: self,
    intervalMs: 100,
    maxPending: 10_000,
  });
  const implementation = implementService(EngineService, handlers, {
    validator,
    logger,
    authorize: allowOnly([spiffeIdOf("router")], ReasonCode.MEDIATION_BYPASS),
    self,
    onRefused: refusals.record,
  });
  const server = await startGrpcServer({
    address: config.address,
    healthAddress: config.healthAddress,
    credentials: serverCredentials(config.pkiDir, config.name, {
      ...credentials,
      onReload: (reload) => logger.info({ reload }, "certificate reloaded"),
    }),
    services: [{ service: EngineService, implementation }],
    logger,
    maxConnectionAgeMs: config.tls.maxConnectionAgeMs,
  });
  onShutdown(logger, async () => {
    await server.shutdown();
    await refusals.flush();
    audit.close();
    await close();
    await observability.close();
  });
}
