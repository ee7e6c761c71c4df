/**
 * The understanding call as the router's turn makes it, for `npm run bench:transport`'s path (d):
 * the catalog and resilience policy the router runs on (policy/engines.json, policy/resilience.json,
 * narrowed to the nlp engine, the one running), the router's engine channels, registry and
 * resilient engine calls (breakers, bulkhead, attempts, retry budget) over the engine client.
 */
import { join } from "node:path";
import type { InvokeRequest } from "../gen/es/selene/engine/v1/engine_pb.js";
import { createCatalogGeneration, readCatalogVersion } from "../services/router/catalog-generation.js";
import { createEngineChannels } from "../services/router/engine-channels.js";
import { createLastGoodAnswers } from "../services/router/resilience/last-good-answers.js";
import { resilienceMetrics } from "../services/router/resilience/resilience-metrics.js";
import type { BoundaryValidator } from "../services/runtime/boundary-validator.js";
import type { Call } from "./mesh-clients.js";

/** The deadline of every call. */
const CALL_TIMEOUT_MS = 10_000;

/** The router's resilient call of the understanding engine at `address`, and how to close its channel. */
export function routerUnderstandCall(
  root: string,
  address: string,
  pkiDir: string,
  validator: BoundaryValidator,
  request: InvokeRequest,
): { call: Call; close: () => void } {
  const files = { catalog: join(root, "policy", "engines.json"), resilience: join(root, "policy", "resilience.json") };
  const read = readCatalogVersion(files, (_engine, catalogAddress) => catalogAddress);
  const version = {
    ...read,
    catalog: { ...read.catalog, engines: read.catalog.engines.filter((engine) => engine.name === "nlp") },
    addresses: new Map([["nlp", address]]),
  };
  const channels = createEngineChannels({ pkiDir, validator, tls: {}, drainMs: 1000, onReconnect: () => {} });
  const generation = createCatalogGeneration(version, {
    channels,
    lastGood: createLastGoodAnswers(),
    metrics: resilienceMetrics(),
    onCapability: () => {},
    onBreaker: () => () => {},
  });
  const nlp = generation.registry.understander();
  if (nlp === undefined) throw new Error("the catalog has no understanding capability");
  const call: Call = async () => {
    const response = await generation.engines.call(nlp, "invoke", request, {
      deadline: Date.now() + CALL_TIMEOUT_MS,
      correlationId: "bench-transport",
    });
    if (response.result.case !== "understanding") {
      throw new Error(`expected an understanding, got ${response.result.case ?? "no result"}`);
    }
  };
  return { call, close: () => channels.close() };
}
