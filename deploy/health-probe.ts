/**
 * Asks a process's plaintext health port whether it is SERVING
 * (grpc.health.v1.Health/Check with an empty service name), the same call a
 * Kubernetes gRPC probe makes.
 */
import { Client, credentials } from "@grpc/grpc-js";

const CHECK_PATH = "/grpc.health.v1.Health/Check";
// HealthCheckResponse { status = 1 (SERVING) }: field 1, varint 1.
const SERVING = Buffer.from([0x08, 0x01]);

/** One health check; true when the process reports SERVING. */
export function checkHealth(address: string, timeoutMs = 1000): Promise<boolean> {
  const client = new Client(address, credentials.createInsecure());
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      CHECK_PATH,
      (b: Buffer) => b,
      (b: Buffer) => b,
      Buffer.alloc(0), // HealthCheckRequest { service: "" }
      { deadline: Date.now() + timeoutMs },
      (err, response) => {
        client.close();
        resolve(!err && response !== undefined && Buffer.compare(response, SERVING) === 0);
      },
    );
  });
}

/** Polls until SERVING or the deadline; resolves false on timeout or when `stillRunning` says the process died. */
export async function waitHealthy(address: string, deadline: number, stillRunning: () => boolean): Promise<boolean> {
  while (Date.now() < deadline) {
    if (!stillRunning()) return false;
    if (await checkHealth(address)) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}
