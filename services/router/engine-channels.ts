/**
 * The router's channels to its engines across catalog versions: one client per engine, identity
 * and address, kept while a catalog version names them, so a reload that leaves an engine as it
 * was keeps its connection. A client no version names any more is retired: new turns no longer
 * reach it, turns that started on it still do, and it is closed once no call is in flight and none
 * has started for `drainMs`.
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
  const usage = new WeakMap<EngineClient, { inFlight: number; lastStarted: number; retiredAt: number }>();

  /** A client that counts its calls, so a retired one closes only once it is idle. */
  function counted(client: EngineClient): EngineClient {
    const use = { inFlight: 0, lastStarted: 0, retiredAt: 0 };
    const wrapped: EngineClient = {
      call(method, request, callOptions) {
        use.inFlight += 1;
        use.lastStarted = Date.now();
        const call = client.call(method, request, callOptions);
        void call.then(
          () => (use.inFlight -= 1),
          () => (use.inFlight -= 1),
        );
        return call;
      },
      ready: (deadline) => client.ready(deadline),
      onReconnect: (listener) => client.onReconnect(listener),
      close: () => client.close(),
    };
    usage.set(wrapped, use);
    return wrapped;
  }

  /** Closes a retired client once it is idle, else looks again when it may be. */
  function drain(client: EngineClient): void {
    const use = usage.get(client)!;
    // Idle since the last call, or since it was retired: a turn may have looked it up just before.
    const idleFor = Date.now() - Math.max(use.lastStarted, use.retiredAt);
    if (use.inFlight === 0 && idleFor >= options.drainMs) {
      draining.delete(client);
      client.close();
      return;
    }
    const timer = setTimeout(() => drain(client), Math.max(options.drainMs - idleFor, 100));
    timer.unref();
    draining.set(client, timer);
  }

  return {
    client(engine, address) {
      const key = `${engine.name} ${engine.spiffeId} ${address}`;
      let entry = open.get(key);
      if (entry === undefined) {
        const client = counted(create(engine, address, options.pkiDir, options.validator, options.tls));
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
        usage.get(client)!.retiredAt = Date.now();
        drain(client);
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
