/**
 * The router's composition root: config -> logger -> tracing and metrics -> db -> engine clients ->
 * outbox client and effect executor -> serve gRPC and Connect -> drain on SIGTERM.
 */
import type { AuditEntry } from "../../gen/es/selene/audit/v1/audit_pb.js";
import { TurnService } from "../../gen/es/selene/os/v1/turn_pb.js";
import { createAuditClient } from "../runtime/audit-client.js";
import { countUnrecorded } from "../runtime/audit-degraded.js";
import { startConnectServer } from "../runtime/boundary/connect-server.js";
import { grpcImplementation } from "../runtime/boundary/grpc-adapter.js";
import { createBoundaryValidator } from "../runtime/boundary-validator.js";
import { CURRENT_CONTRACT_VERSION } from "../runtime/contract-version.js";
import { createDatabasePool } from "../runtime/database-pool.js";
import { startGrpcServer } from "../runtime/grpc-server.js";
import { createLogger } from "../runtime/logger.js";
import { startObservability } from "../runtime/observability.js";
import { onShutdown } from "../runtime/on-shutdown.js";
import { projectClarifyPolicy } from "../runtime/policy/clarify-policy.js";
import { projectConflictPolicy } from "../runtime/policy/conflict-policy.js";
import { projectFreshnessPolicy } from "../runtime/policy/freshness-policy.js";
import { createRefusalAudit } from "../runtime/refusal-audit.js";
import { assertServiceLogin } from "../runtime/service-login.js";
import { type CredentialReload, serverCredentials } from "../runtime/tls-credentials.js";
import { spiffeIdOf } from "../runtime/workload-identities.js";
import { createAuditBatcher } from "./audit-batcher.js";
import { createCatalogEvents } from "./catalog-events.js";
import { watchCatalogFiles } from "./catalog-watch.js";
import { readRouterConfig } from "./config.js";
import { crashHook } from "./crash-points.js";
import { startEffectExecutor } from "./effect-executor.js";
import { createEngineChannels } from "./engine-channels.js";
import { type LiveCatalog, startLiveCatalog } from "./live-catalog.js";
import { createOutboxClient } from "./outbox-client.js";
import { createBreakerAudit } from "./resilience/breaker-audit.js";
import { createLastGoodAnswers } from "./resilience/last-good-answers.js";
import { resilienceMetrics } from "./resilience/resilience-metrics.js";
import { createSimulationStore } from "./simulation-store.js";
import { createTurnPipeline } from "./turn-pipeline.js";
import { createTurnRecords } from "./turn-records.js";
import { turnServiceBoundary } from "./turn-service.js";

const config = readRouterConfig(process.env);
const logger = createLogger("router", config.logLevel);
// Policies are read before anything else: a broken file stops the router at start.
const clarifyPolicy = projectClarifyPolicy();
const readPolicies = { freshness: projectFreshnessPolicy(), conflicts: projectConflictPolicy() };
const observability = await startObservability(config, logger);
const validator = createBoundaryValidator();
const pool = createDatabasePool(config.databaseUrl, logger);
await assertServiceLogin(pool);

// Every client and server re-reads its certificate files this often, so rotation needs no restart.
const credentials = { refreshIntervalMs: config.tls.refreshIntervalMs };
const audit = createAuditClient(config.auditAddress, config.pkiDir, "router", validator, credentials);
const appendEntries = (correlationId: string) => (entries: readonly AuditEntry[]) =>
  audit
    .call(
      "appendEvents",
      { envelope: { contractVersion: CURRENT_CONTRACT_VERSION, correlationId }, entries: [...entries] },
      { deadline: Date.now() + 5000, correlationId },
    )
    .then(() => undefined);
const metrics = resilienceMetrics();
// The catalog and the resilience policy are read and checked before anything serves: a bad file
// stops the router with the place it names; after start, a bad version is refused and the running
// one stays (live-catalog.ts).
const catalogEvents = createCatalogEvents(
  config.auditEnabled ? appendEntries("catalog") : undefined,
  logger.child({ component: "catalog" }),
  spiffeIdOf("router"),
);
let live: LiveCatalog | undefined;
const catalog = await startLiveCatalog({
  files: { catalog: config.catalogPath, resilience: config.resiliencePolicyPath },
  address: config.engineAddress,
  channels: createEngineChannels({
    pkiDir: config.pkiDir,
    validator,
    tls: credentials,
    drainMs: config.catalogDrainMs,
    onReconnect: (engine, client) => live?.reconnected(engine, client),
  }),
  events: catalogEvents,
  onCapability: (change, digest) => catalogEvents.capability(change, digest),
  onBreaker: (declared) => {
    const record = createBreakerAudit(
      appendEntries("breakers"),
      declared,
      logger.child({ component: "breakers" }),
      spiffeIdOf("router"),
    );
    return (change) => {
      metrics.breaker(change);
      if (config.auditEnabled) record(change);
    };
  },
  lastGood: createLastGoodAnswers(),
  metrics,
  logger,
  describeMs: 3000,
});
live = catalog;
const watch = watchCatalogFiles(
  [config.catalogPath, config.resiliencePolicyPath],
  () => {
    catalog.reload().catch((err: unknown) => logger.error({ err }, "engine catalog reload failed"));
  },
  logger.child({ component: "catalog" }),
);
const { routes: registry, engines } = catalog;

const outbox = createOutboxClient(config.outboxAddress, config.pkiDir, validator, credentials);
const crash = crashHook(config.crashAt);
const executor = startEffectExecutor(outbox, registry, engines, logger.child({ component: "executor" }), {
  executorId: config.executorId,
  batchSize: 32,
  leaseMs: config.executorLeaseMs,
  idleMs: 100,
  maxIdleMs: 1000,
  commitTimeoutMs: 5000,
  crash,
});
if (!config.auditEnabled) logger.warn("SELENE_AUDIT=off: turns are not audited and every effect is refused");
const refusals = createRefusalAudit(audit, logger.child({ component: "refusal-audit" }), {
  actor: spiffeIdOf("router"),
  intervalMs: 100,
  maxPending: 10_000,
});
const simulations = createSimulationStore(pool);
const turnRecords = createTurnRecords(pool, config.idempotencyRetentionMs);
const submitTurn = createTurnPipeline({
  registry,
  clarifyPolicy,
  readPolicies,
  engines,
  simulations,
  clientTenants: config.clientTenants,
  defaultTurnDeadlineMs: config.defaultTurnDeadlineMs,
  simulationTtlMs: config.simulationTtlMs,
  outbox,
  crash,
  executor,
  audit: {
    append: createAuditBatcher(audit),
    enabled: config.auditEnabled,
    actor: spiffeIdOf("router"),
    onDegraded: () => countUnrecorded("turn"),
  },
  idempotency: { records: turnRecords, claimMarginMs: config.claimMarginMs, duplicateWaitMs: 3000 },
});
// The retention job of turn idempotency records.
const purge = setInterval(() => {
  turnRecords.purgeExpired().then(
    (n) => n > 0 && logger.info({ purged: n }, "expired turn records purged"),
    (err: unknown) => logger.warn({ err }, "purging turn records failed"),
  );
}, 60_000);
purge.unref();

const turnService = turnServiceBoundary(submitTurn, config.clientTenants, validator, logger, refusals.record);
const reloaded = (endpoint: string) => (reload: CredentialReload) =>
  logger.info({ reload, endpoint }, "certificate reloaded");
const grpcServer = await startGrpcServer({
  address: config.address,
  healthAddress: config.healthAddress,
  credentials: serverCredentials(config.pkiDir, "router", { ...credentials, onReload: reloaded("grpc") }),
  services: [{ service: TurnService, implementation: grpcImplementation(turnService) }],
  logger,
  maxConnectionAgeMs: config.tls.maxConnectionAgeMs,
});
const connect = await startConnectServer({
  address: config.connectAddress,
  pkiDir: config.pkiDir,
  name: "router",
  boundaries: [turnService],
  logger,
  credentials: { ...credentials, onReload: reloaded("connect") },
  maxConnectionAgeMs: config.tls.maxConnectionAgeMs,
});

onShutdown(logger, async () => {
  clearInterval(purge);
  await Promise.all([grpcServer.shutdown(), connect.close()]);
  await executor.stop();
  outbox.close();
  await refusals.flush();
  audit.close();
  watch.close();
  catalog.close();
  await pool.end();
  await observability.close();
});
