/**
 * The outbox's composition root: config -> logger -> tracing and metrics -> db -> store -> audit
 * relay -> serve gRPC -> retention job -> drain on SIGTERM (the server first, so no call is cut off,
 * then the relay and the pool, then tracing and metrics).
 */
import { OutboxService } from "../../gen/es/selene/outbox/v1/outbox_pb.js";
import { createAuditClient } from "../runtime/audit-client.js";
import { createBoundaryValidator } from "../runtime/boundary-validator.js";
import { createDatabasePool } from "../runtime/database-pool.js";
import { startGrpcServer } from "../runtime/grpc-server.js";
import { createLogger } from "../runtime/logger.js";
import { startObservability } from "../runtime/observability.js";
import { onShutdown } from "../runtime/on-shutdown.js";
import { createRefusalAudit } from "../runtime/refusal-audit.js";
import { assertServiceLogin } from "../runtime/service-login.js";
import { serverCredentials } from "../runtime/tls-credentials.js";
import { spiffeIdOf } from "../runtime/workload-identities.js";
import { startAuditRelay } from "./audit-relay.js";
import { readOutboxConfig } from "./config.js";
import { createEffectStore } from "./effect-store.js";
import { outboxServiceImplementation } from "./outbox-service.js";
import { pokingAfterWrites } from "./relay-pokes.js";

const config = readOutboxConfig(process.env);
const logger = createLogger("outbox", config.logLevel);
const observability = await startObservability(config, logger);
const pool = createDatabasePool(config.databaseUrl, logger);
await assertServiceLogin(pool);
const store = createEffectStore(pool, config.retryPolicies);
const validator = createBoundaryValidator();
const credentials = { refreshIntervalMs: config.tls.refreshIntervalMs };
const audit = createAuditClient(config.auditAddress, config.pkiDir, "outbox", validator, credentials);
const refusals = createRefusalAudit(audit, logger.child({ component: "refusal-audit" }), {
  actor: spiffeIdOf("outbox"),
  intervalMs: 100,
  maxPending: 10_000,
});
const relay = startAuditRelay(pool, audit, logger.child({ component: "audit-relay" }), {
  actor: spiffeIdOf("outbox"),
  idleMs: 200,
  maxIdleMs: 2000,
  callTimeoutMs: 5000,
});

const server = await startGrpcServer({
  address: config.address,
  healthAddress: config.healthAddress,
  credentials: serverCredentials(config.pkiDir, config.name, {
    ...credentials,
    onReload: (reload) => logger.info({ reload }, "certificate reloaded"),
  }),
  services: [
    {
      service: OutboxService,
      implementation: outboxServiceImplementation(pokingAfterWrites(store, relay.poke), {
        validator,
        logger,
        onRefused: refusals.record,
      }),
    },
  ],
  logger,
  maxConnectionAgeMs: config.tls.maxConnectionAgeMs,
});

// The retention job: done and discarded effects leave after the retention; their history stays.
const retention = logger.child({ component: "retention" });
const purge = setInterval(() => {
  store.purgeDone(config.retentionMs).then(
    (n) => n > 0 && retention.info({ purged: n }, "final effects purged"),
    (err: unknown) => retention.warn({ err }, "purging final effects failed"),
  );
}, config.purgeIntervalMs);
purge.unref();

onShutdown(logger, async () => {
  clearInterval(purge);
  await server.shutdown();
  await refusals.flush();
  await relay.stop();
  audit.close();
  await pool.end();
  await observability.close();
});
