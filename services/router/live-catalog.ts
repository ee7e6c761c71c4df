/**
 * The engine catalog the router runs on, reloaded on change without dropping a turn. A new
 * version (the catalog and the resilience policy, judged together) is read and checked whole
 * before anything changes: a version that fails its checks is refused (logged with the file and
 * the place, counted, audited) and the running one stays. A good one is built beside the running
 * one (unchanged engines keep their channels; new engines get theirs and are asked to Describe),
 * then switched to in one assignment: turns look up capabilities in the new version from then on,
 * while a capability a turn already looked up keeps being called through the version it came
 * from, so turns in flight finish on the engine they started with. Channels of engines the new
 * version dropped drain and close (engine-channels.ts). An engine's channel connected again after
 * it was not (a restart, a new build) has its Describe read again and its capabilities judged anew.
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { EngineService } from "../../gen/es/selene/engine/v1/engine_pb.js";
import type { Logger } from "../runtime/logger.js";
import { PolicyError } from "../runtime/policy/policy-file.js";
import type { CallOptions } from "../runtime/unary-client.js";
import type { CatalogEvents } from "./catalog-events.js";
import {
  type CatalogFiles,
  type CatalogGeneration,
  createCatalogGeneration,
  type EngineAddress,
  type GenerationDeps,
  readCatalogVersion,
} from "./catalog-generation.js";
import type { EngineClient } from "./engine-client.js";
import type { CapabilityRoutes, RegisteredCapability } from "./engine-registry.js";
import type { ReadAnswer, ResilientEngines } from "./resilience/resilient-engines.js";

type Methods = (typeof EngineService)["method"];

/** What a reload did. */
export type ReloadResult = "applied" | "refused" | "unchanged";

/** The catalog the router runs on. */
export interface LiveCatalog {
  /** The capabilities of the running version. */
  readonly routes: CapabilityRoutes;
  /** Engine calls, each through the version its capability was looked up in. */
  readonly engines: ResilientEngines;
  /** The running version. */
  current(): CatalogGeneration;
  /** Reads the files again and switches to them when they changed and pass their checks. */
  reload(): Promise<ReloadResult>;
  /**
   * Told by the channels that `engine`'s channel is connected again: its open breaker is due a
   * probe, and its Describe is read again.
   */
  reconnected(engine: string, client: EngineClient): void;
  /** Closes every engine channel. */
  close(): void;
}

/** What the live catalog needs: what its versions run on, and where they come from. */
export interface LiveCatalogDeps extends GenerationDeps {
  readonly files: CatalogFiles;
  readonly address: EngineAddress;
  readonly events: CatalogEvents;
  readonly logger: Logger;
  /** How long Describe may take when a version starts or an engine reconnects, ms. */
  readonly describeMs: number;
}

/** Reads the catalog, asks every engine to Describe, and serves it; a bad file at start throws PolicyError. */
export async function startLiveCatalog(deps: LiveCatalogDeps): Promise<LiveCatalog> {
  const logger = deps.logger;
  const build = (previous?: CatalogGeneration) =>
    createCatalogGeneration(readCatalogVersion(deps.files, deps.address), deps, previous);
  let current = build();
  await current.registry.describeAll(logger, Date.now() + deps.describeMs);
  deps.channels.follow();
  logger.info(
    { catalog: current.version.catalog.digest, engines: [...current.version.addresses] },
    "engine catalog read",
  );

  // The version each capability object was looked up in (a turn's later calls go through it).
  const origin = new WeakMap<RegisteredCapability, CatalogGeneration>();
  const traced = (generation: CatalogGeneration, capability: RegisteredCapability | undefined) => {
    if (capability !== undefined) origin.set(capability, generation);
    return capability;
  };
  const through = (capability: RegisteredCapability) => (origin.get(capability) ?? current).engines;

  async function reloadNow(): Promise<ReloadResult> {
    const previous = current;
    let next: CatalogGeneration;
    try {
      const version = readCatalogVersion(deps.files, deps.address);
      if (
        version.catalog.digest === previous.version.catalog.digest &&
        version.policyDigest === previous.version.policyDigest &&
        [...version.addresses].every(([engine, address]) => previous.version.addresses.get(engine) === address)
      ) {
        return "unchanged";
      }
      next = createCatalogGeneration(version, deps, previous);
    } catch (e) {
      if (!(e instanceof PolicyError)) throw e;
      deps.events.refused({ file: e.file, line: e.line, at: e.path, error: e.message });
      return "refused";
    }
    await next.registry.describeAll(logger, Date.now() + deps.describeMs);
    current = next;
    deps.channels.retire(next.clients.values());
    deps.channels.follow();
    const before = new Set(previous.version.addresses.keys());
    const after = new Set(next.version.addresses.keys());
    deps.events.applied({
      catalog: next.version.catalog.digest,
      resilience: next.version.policyDigest,
      previous: previous.version.catalog.digest,
      added: [...after].filter((e) => !before.has(e)),
      removed: [...before].filter((e) => !after.has(e)),
    });
    return "applied";
  }

  // One reload at a time, in the order asked.
  let reloading: Promise<unknown> = Promise.resolve();
  return {
    routes: {
      lookup: (name) => traced(current, current.registry.lookup(name)),
      understander: () => traced(current, current.registry.understander()),
    },
    engines: {
      call: <K extends "invoke" | "simulate" | "commit">(
        capability: RegisteredCapability,
        method: K,
        request: MessageInitShape<Methods[K]["input"]>,
        options: CallOptions,
      ) => through(capability).call(capability, method, request, options),
      read: (capability, request, options): Promise<ReadAnswer> =>
        through(capability).read(capability, request, options),
    },
    current: () => current,
    reload() {
      const result = reloading.then(reloadNow);
      reloading = result.catch(() => undefined);
      return result;
    },
    reconnected(engine, client) {
      const generation = current;
      if (generation.clients.get(engine) !== client) return;
      generation.breakers.reconnected(engine);
      generation.registry
        .describe(engine, logger, Date.now() + deps.describeMs)
        .catch((err: unknown) => logger.warn({ engine, err }, "engine reconnected but did not describe itself"));
    },
    close: () => deps.channels.close(),
  };
}
