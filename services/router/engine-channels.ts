/**
 * The router's channels to its engines across catalog versions: one client per engine, identity
 * and address, kept while a catalog version names them, so a reload that leaves an engine as it
 * was keeps its connection. A client no version names any more is retired: new turns no longer
 * reach it, and it is closed after `drainMs`, long enough for the turns that started on it to end
 * (grpc-js lets the calls in flight at close finish too).
 */
import type { BoundaryValidator } from "../runtime/boundary-validator.js";
import type { CatalogEngine } from "../runtime/policy/engine-catalog.js";
import type { CredentialOptions } from "../runtime/tls-credentials.js";
import { createEngineClient, type EngineClient } from "./engine-client.js";

/** How the router reaches its engines. */
export interface EngineChannelOptions {
  readonly pkiDir: string;
  readonly validator: BoundaryValidator;
  readonly tls: CredentialOptions;
  /** How long a retired client stays open, ms. */
  readonly drainMs: number;
  /** Told each time an engine's channel is connected again after it was not. */
  readonly onReconnect: (engine: string, client: EngineClient) => void;
  /** Makes a client (tests pass their own); the router's engine client by default. */
  readonly create?: typeof createEngineClient;
}

/** The channels. */
export interface EngineChannels {
  /** The client of `engine` at `address`: the open one of the same identity and address, or a new one. */
  client(engine: Pick<CatalogEngine, "name" | "spiffeId">, address: string): EngineClient;
  /** Starts telling reconnections of every client not followed yet (after its first Describe). */
  follow(): void;
  /** Retires every client but `kept`: each is closed after the drain time. */
  retire(kept: Iterable<EngineClient>): void;
  /** Clients open or draining. */
  size(): number;
  /** Closes every client now. */
  close(): void;
}

/** Creates the channels. */
export function createEngineChannels(options: EngineChannelOptions): EngineChannels {
  const create = options.create ?? createEngineClient;
  const open = new Map<string, { readonly engine: string; readonly client: EngineClient; followed: boolean }>();
  const draining = new Map<EngineClient, NodeJS.Timeout>();
  return {
    client(engine, address) {
      const key = `${engine.name} ${engine.spiffeId} ${address}`;
      let entry = open.get(key);
      if (entry === undefined) {
        const client = create(engine, address, options.pkiDir, options.validator, options.tls);
        entry = { engine: engine.name, client, followed: false };
        open.set(key, entry);
      }
      return entry.client;
    },
    follow() {
      for (const entry of open.values()) {
        if (entry.followed) continue;
        entry.followed = true;
        entry.client.onReconnect(() => options.onReconnect(entry.engine, entry.client));
      }
    },
    retire(kept) {
      const keep = new Set(kept);
      for (const [key, { client }] of open) {
        if (keep.has(client)) continue;
        open.delete(key);
        const timer = setTimeout(() => {
          draining.delete(client);
          client.close();
        }, options.drainMs);
        timer.unref();
        draining.set(client, timer);
      }
    },
    size: () => open.size + draining.size,
    close() {
      for (const [client, timer] of draining) {
        clearTimeout(timer);
        client.close();
      }
      draining.clear();
      for (const { client } of open.values()) client.close();
      open.clear();
    },
  };
}
