/**
 * THE engine client module: the only place in the code base that creates
 * clients of selene.engine.v1.EngineService. Only services/router may import it
 * (test/unit/mediation/static-call-graph.test.ts enforces that), so the router
 * stays the sole client of every engine. Each client presents the router's
 * certificate and checks that the engine presents its expected SPIFFE id.
 */
import { EngineService } from "../../gen/es/selene/engine/v1/engine_pb.js";
import { ReasonCode } from "../../gen/es/selene/kernel/v1/reason_pb.js";
import type { BoundaryValidator } from "../runtime/boundary-validator.js";
import type { CatalogEngine } from "../runtime/policy/engine-catalog.js";
import { type CredentialOptions, clientCredentials } from "../runtime/tls-credentials.js";
import { createUnaryClient, type UnaryClient } from "../runtime/unary-client.js";

/** A client of one engine. */
export type EngineClient = UnaryClient<(typeof EngineService)["method"]>;

/** Faults of engine calls, named as engine faults. */
const ENGINE_FAULTS = {
  unavailable: ReasonCode.ENGINE_UNAVAILABLE,
  deadlineExceeded: ReasonCode.ENGINE_DEADLINE_EXCEEDED,
  invalidResponse: ReasonCode.ENGINE_INVALID_RESPONSE,
} as const;

/** Creates the router's client of catalog `engine` at `address`; `tls` says how it follows certificate rotation. */
export function createEngineClient(
  engine: Pick<CatalogEngine, "name" | "spiffeId">,
  address: string,
  pkiDir: string,
  validator: BoundaryValidator,
  tls: CredentialOptions = {},
): EngineClient {
  return createUnaryClient(EngineService, {
    address,
    serverName: engine.name,
    credentials: clientCredentials(pkiDir, "router", engine.spiffeId, tls),
    validator,
    faults: ENGINE_FAULTS,
  });
}
