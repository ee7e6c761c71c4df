/**
 * The mesh a chaos profile runs against: the benchmark mesh (compiled processes, mTLS, a scratch
 * database) on the chaos run's owned PostgreSQL, with a fault proxy on every link a profile can
 * break. The router reaches each engine, the outbox and PostgreSQL through its proxy, and the
 * outbox reaches PostgreSQL through its own; every proxy forwards untouched until a fault is set.
 * A link a profile fails call by call (to an engine or the outbox) gets a stream proxy behind its
 * TCP proxy.
 */

import { type BenchMesh, startBenchMesh } from "../bench/mesh-setup.js";
import { grpcAddress } from "../deploy/mesh-processes.js";
import { addressVariable } from "../services/runtime/service-config.js";
import { CHAOS_ENGINES, type ProxyLink, type StreamLink } from "./chaos-profile.js";
import { type FaultProxy, startFaultProxy } from "./fault-proxy.js";
import type { OwnedPostgres } from "./owned-postgres.js";
import { type StreamFaultProxy, startStreamFaultProxy } from "./stream-fault-proxy.js";

/** A chaos mesh: the bench mesh plus the proxies by link. */
export interface ChaosMesh {
  readonly bench: BenchMesh;
  readonly proxies: ReadonlyMap<ProxyLink, FaultProxy>;
  /** The stream proxies, on the links `streamLinks` named. */
  readonly streamProxies: ReadonlyMap<StreamLink, StreamFaultProxy>;
  stop(): Promise<void>;
}

/** The same database URL with its host and port replaced by a proxy's address. */
function throughProxy(databaseUrl: string, proxy: FaultProxy): string {
  const url = new URL(databaseUrl);
  url.host = proxy.address;
  return url.toString();
}

/** Starts the proxies and the mesh. */
export async function startChaosMesh(options: {
  readonly portOffset: number;
  readonly postgres: OwnedPostgres;
  readonly clientTenants: string;
  readonly say: (line: string) => void;
  /** Links between the TCP proxy and the engine of which a stream proxy sits (for stream faults). */
  readonly streamLinks?: readonly StreamLink[];
  /** More environment for every process of the mesh (the span exporters' endpoint when tracing). */
  readonly env?: Readonly<Record<string, string>>;
}): Promise<ChaosMesh> {
  const proxies = new Map<ProxyLink, FaultProxy>();
  const streamProxies = new Map<StreamLink, StreamFaultProxy>();
  const add = async (link: ProxyLink, target: string) => proxies.set(link, await startFaultProxy(link, target));
  const closeAll = async () => {
    for (const p of proxies.values()) await p.close();
    for (const p of streamProxies.values()) await p.close();
  };
  try {
    for (const server of [...CHAOS_ENGINES, "outbox"] as const) {
      const link = `router-${server}` as const;
      let target = grpcAddress(server, options.portOffset);
      if (options.streamLinks?.includes(link)) {
        const streams = await startStreamFaultProxy(server, target);
        streamProxies.set(link, streams);
        target = streams.address;
      }
      await add(link, target);
    }
    await add("router-postgres", options.postgres.address);
    await add("outbox-postgres", options.postgres.address);
    const proxy = (link: ProxyLink) => proxies.get(link)!;
    const bench = await startBenchMesh({
      portOffset: options.portOffset,
      logLevel: process.env.LOG_LEVEL ?? "warn",
      say: options.say,
      serverUrl: options.postgres.url,
      ownsServer: true,
      env: { SELENE_CLIENT_TENANTS: options.clientTenants, ...options.env },
      onPki: (pkiDir) => {
        for (const p of streamProxies.values()) p.arm(pkiDir);
      },
      processEnv: (ownDatabaseUrl) => ({
        router: {
          ...Object.fromEntries(CHAOS_ENGINES.map((e) => [addressVariable(e), proxy(`router-${e}`).address])),
          [addressVariable("outbox")]: proxy("router-outbox").address,
          DATABASE_URL: throughProxy(ownDatabaseUrl("router"), proxy("router-postgres")),
        },
        outbox: { DATABASE_URL: throughProxy(ownDatabaseUrl("outbox"), proxy("outbox-postgres")) },
      }),
    });
    return {
      bench,
      proxies,
      streamProxies,
      async stop() {
        await bench.stop();
        await closeAll();
      },
    };
  } catch (e) {
    await closeAll();
    throw e;
  }
}
