/**
 * An engine's live state as selenectl sees it: grpc.health.v1.Health/Check on the engine's mTLS
 * port, presenting the operator's certificate and checking that the engine presents the SPIFFE id
 * the catalog names. SERVING, NOT_SERVING, or UNREACHABLE with the transport's reason.
 */
import { Client, status } from "@grpc/grpc-js";
import type { CatalogEngine } from "../runtime/policy/engine-catalog.js";
import { clientCredentials } from "../runtime/tls-credentials.js";

/** What the engine's health service answered, or that it could not be asked. */
export type EngineHealthState = "SERVING" | "NOT_SERVING" | "UNREACHABLE";

/** The state and, when it is not SERVING, why. */
export interface EngineHealth {
  readonly state: EngineHealthState;
  readonly detail?: string;
}

const CHECK_PATH = "/grpc.health.v1.Health/Check";
// HealthCheckResponse { status = SERVING (1) }: field 1, varint 1.
const SERVING = Buffer.from([0x08, 0x01]);

/** Checks `engine` at `address` as the operator whose certificate is in `pkiDir`. */
export function checkEngineHealth(
  engine: CatalogEngine,
  address: string,
  pkiDir: string,
  timeoutMs: number,
): Promise<EngineHealth> {
  const client = new Client(address, clientCredentials(pkiDir, "operator", engine.spiffeId), {
    "grpc.ssl_target_name_override": engine.name,
    "grpc.default_authority": engine.name,
  });
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      CHECK_PATH,
      (b: Buffer) => b,
      (b: Buffer) => b,
      Buffer.alloc(0), // HealthCheckRequest { service: "" }: the server as a whole
      { deadline: Date.now() + timeoutMs },
      (err, response) => {
        client.close();
        if (err) {
          const code = status[err.code] ?? String(err.code);
          resolve({ state: "UNREACHABLE", detail: `${code}: ${err.details || err.message}` });
        } else if (response !== undefined && Buffer.compare(response, SERVING) === 0) {
          resolve({ state: "SERVING" });
        } else {
          resolve({ state: "NOT_SERVING", detail: "the health service does not report SERVING" });
        }
      },
    );
  });
}
