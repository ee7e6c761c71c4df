/**
 * The load engine's connections to the router: for each tenant, `connections` grpc-js channels
 * presenting that tenant's client certificate over mTLS (the router maps the certificate's SPIFFE
 * id to the tenant). Every channel keeps its own HTTP/2 connection, as ghz's --connections does.
 */

import { readFileSync } from "node:fs";
import * as grpc from "@grpc/grpc-js";
import { serverIdentityCheck } from "../../services/runtime/tls-credentials.js";
import { RECOVERY_CHANNEL_OPTIONS } from "../../services/runtime/unary-client.js";
import { spiffeIdOf } from "../../services/runtime/workload-identities.js";
import { UsageError } from "./usage-error.js";

/** The PEM files of one client identity (the shape of `pkiFiles`). */
export interface ClientFiles {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}

/** A tenant's channels. */
export interface TenantChannels {
  readonly tenant: string;
  readonly channels: readonly grpc.Client[];
}

/** Reads a PEM file, or fails naming the flag that gave it. */
function pem(path: string, flag: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new UsageError(flag, `cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
}

/** Opens `connections` channels to the router at `address` for each tenant. */
export function openTenantChannels(
  address: string,
  tenants: ReadonlyArray<{ tenant: string; files: ClientFiles }>,
  connections: number,
  serverName = "router",
): TenantChannels[] {
  return tenants.map(({ tenant, files }) => {
    const credentials = grpc.credentials.createSsl(
      pem(files.ca, "--cacert"),
      pem(files.key, "--key"),
      pem(files.cert, "--cert"),
      { checkServerIdentity: serverIdentityCheck(spiffeIdOf(serverName)) },
    );
    const channels = Array.from(
      { length: connections },
      (_, i) =>
        new grpc.Client(address, credentials, {
          "grpc.ssl_target_name_override": serverName,
          "grpc.default_authority": serverName,
          // A pool of its own per channel: otherwise grpc-js shares one subchannel (one connection).
          "grpc.use_local_subchannel_pool": 1,
          "grpc.channel_index": i,
          // The reconnect and keepalive settings the mesh's own channels use (docs/RESILIENCE.md):
          // a client should reconnect to a restarted router within a second, not on grpc-js's 1-7 s.
          ...RECOVERY_CHANNEL_OPTIONS,
        }),
    );
    return { tenant, channels };
  });
}

/** Closes every channel. */
export function closeTenantChannels(tenants: readonly TenantChannels[]): void {
  for (const t of tenants) for (const c of t.channels) c.close();
}
