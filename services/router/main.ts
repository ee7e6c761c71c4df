/**
 * The router's composition root: config -> logger -> db -> engine clients ->
 * serve gRPC and Connect -> drain on SIGTERM.
 */
import pg from "pg";
import { TurnService } from "../../gen/es/selene/os/v1/turn_pb.js";
import { createBoundaryValidator } from "../runtime/boundary-validator.js";
import { startGrpcServer } from "../runtime/grpc-server.js";
import { createLogger } from "../runtime/logger.js";
import { onShutdown } from "../runtime/on-shutdown.js";
import { serverCredentials } from "../runtime/tls-credentials.js";
import { ENGINE_NAMES, type EngineName, readRouterConfig } from "./config.js";
import { startConnectServer } from "./connect-server.js";
import { createEngineClient, type EngineClient } from "./engine-client.js";
import { createEngineRegistry } from "./engine-registry.js";
import { createSimulationStore } from "./simulation-store.js";
import { createTurnPipeline } from "./turn-pipeline.js";
import { turnServiceImplementation } from "./turn-service.js";

const config = readRouterConfig(process.env);
const logger = createLogger("router", config.logLevel);
const validator = createBoundaryValidator();
const pool = new pg.Pool({ connectionString: config.databaseUrl, max: 10 });
pool.on("error", (err) => logger.error({ err }, "idle database client failed"));

const clients = Object.fromEntries(
  ENGINE_NAMES.map((name) => [name, createEngineClient(name, config.engines[name], config.pkiDir, validator)]),
) as Record<EngineName, EngineClient>;
const registry = createEngineRegistry(clients);
await registry.describeAll(logger, Date.now() + 3000);

const submitTurn = createTurnPipeline({
  registry,
  simulations: createSimulationStore(pool),
  clientTenants: config.clientTenants,
  defaultTurnDeadlineMs: config.defaultTurnDeadlineMs,
  simulationTtlMs: config.simulationTtlMs,
});

const grpcServer = await startGrpcServer({
  address: config.address,
  healthAddress: config.healthAddress,
  credentials: serverCredentials(config.pkiDir, "router", {
    onReload: (reload) => logger.info({ reload }, "certificate reloaded"),
  }),
  services: [
    {
      service: TurnService,
      implementation: turnServiceImplementation(submitTurn, config.clientTenants, validator, logger),
    },
  ],
  logger,
});
const [connectHost, connectPort] = config.connectAddress.split(/:(?=\d+$)/) as [string, string];
const connect = await startConnectServer(submitTurn, {
  host: connectHost,
  port: Number(connectPort),
  pkiDir: config.pkiDir,
  clientTenants: config.clientTenants,
  validator,
  logger,
});

onShutdown(logger, async () => {
  await Promise.all([grpcServer.shutdown(), connect.close()]);
  registry.close();
  await pool.end();
});
