/**
 * One version of the engine catalog as the router runs it: the catalog and the resilience policy
 * judged together (every catalog engine and capability needs its policy, its own entry or the
 * default of its kind, so the two files must agree), the engines' addresses, and over them a
 * registry and the resilient engine calls, with breakers, bulkheads and retry budgets of their
 * own. A reload builds a whole new generation beside the running one and switches to it; turns
 * that started on the old one finish on it (live-catalog.ts).
 */
import type { Version } from "../runtime/contract-version.js";
import {
  type DeclaredCapability,
  declaredCapabilities,
  type EngineCatalog,
  parseEngineCatalog,
} from "../runtime/policy/engine-catalog.js";
import { checkedWithLines, readPolicyFile } from "../runtime/policy/policy-file.js";
import type { EngineChannels } from "./engine-channels.js";
import type { EngineClient } from "./engine-client.js";
import { type CapabilityChange, createEngineRegistry, type EngineRegistry } from "./engine-registry.js";
import { type BreakerChange, createEngineBreakers, type EngineBreakers } from "./resilience/engine-breakers.js";
import type { LastGoodAnswers } from "./resilience/last-good-answers.js";
import type { ResilienceMetrics } from "./resilience/resilience-metrics.js";
import { parseResiliencePolicy, type ResiliencePolicy } from "./resilience/resilience-policy.js";
import { createResilientEngines, type ResilientEngines } from "./resilience/resilient-engines.js";

/** The files a catalog version is read from. */
export interface CatalogFiles {
  /** The engine catalog (policy/engines.json). */
  readonly catalog: string;
  /** The resilience policy judged with it (policy/resilience.json). */
  readonly resilience: string;
}

/** A catalog version read and checked: nothing runs on it yet. */
export interface CatalogVersion {
  readonly catalog: EngineCatalog;
  readonly declared: readonly DeclaredCapability[];
  readonly policy: ResiliencePolicy;
  /** Digest of the resilience policy's canonical JSON. */
  readonly policyDigest: string;
  /** Engine name -> host:port. */
  readonly addresses: ReadonlyMap<string, string>;
}

/** An engine's address: its override (SELENE_<NAME>_ADDR), or the catalog's. */
export type EngineAddress = (engine: string, catalogAddress: string) => string;

/** Reads and checks both files, the policy against the catalog; throws PolicyError naming the file, the line and the place. */
export function readCatalogVersion(files: CatalogFiles, address: EngineAddress): CatalogVersion {
  const catalogFile = readPolicyFile(files.catalog);
  const catalog = checkedWithLines(files.catalog, catalogFile, () =>
    parseEngineCatalog(catalogFile.json, files.catalog, catalogFile.digest),
  );
  const declared = declaredCapabilities(catalog);
  const policyFile = readPolicyFile(files.resilience);
  const policy = checkedWithLines(files.resilience, policyFile, () =>
    parseResiliencePolicy(policyFile.json, declared, files.resilience),
  );
  const addresses = new Map(catalog.engines.map((e) => [e.name, address(e.name, e.address)]));
  return { catalog, declared, policy, policyDigest: policyFile.digest, addresses };
}

/** A catalog version running. */
export interface CatalogGeneration {
  readonly version: CatalogVersion;
  readonly registry: EngineRegistry;
  readonly engines: ResilientEngines;
  /** The breakers the engine calls pass. */
  readonly breakers: EngineBreakers;
  /** The raw client of each engine (what the channels retire by). */
  readonly clients: ReadonlyMap<string, EngineClient>;
  /** The contract version each engine spoke when the registry was last asked. */
  spoken(): ReadonlyMap<string, Version>;
}

/** What a generation runs on. */
export interface GenerationDeps {
  readonly channels: EngineChannels;
  readonly lastGood: LastGoodAnswers;
  readonly metrics: ResilienceMetrics;
  /** Told each capability withdrawn or restored, with the digest of the catalog that judged it. */
  readonly onCapability: (change: CapabilityChange, catalog: string) => void;
  /** The listener of the generation's breakers' state changes. */
  readonly onBreaker: (declared: readonly DeclaredCapability[]) => (change: BreakerChange) => void;
}

/** Builds the generation of `version`; `previous` lends it what the router knew of the same engines. */
export function createCatalogGeneration(
  version: CatalogVersion,
  deps: GenerationDeps,
  previous?: CatalogGeneration,
): CatalogGeneration {
  const clients = new Map(
    version.catalog.engines.map((engine) => [
      engine.name,
      deps.channels.client(engine, version.addresses.get(engine.name) ?? engine.address),
    ]),
  );
  const registry = createEngineRegistry(
    version.catalog,
    clients,
    (change) => deps.onCapability(change, version.catalog.digest),
    previous === undefined ? undefined : { states: previous.registry.states(), spoken: previous.spoken() },
  );
  const breakers = createEngineBreakers(version.policy.engines, deps.onBreaker(version.declared));
  const engines = createResilientEngines({
    registry,
    policy: version.policy,
    breakers,
    lastGood: deps.lastGood,
    metrics: deps.metrics,
  });
  return { version, registry, engines, breakers, clients, spoken: () => registry.spoken() };
}
