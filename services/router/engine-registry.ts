/**
 * The router's engine registry of one catalog version: capability -> the engine that serves it,
 * the capability's kind, and the fields its engine requires (the clarify rule asks for them too,
 * after the clarify policy's blocking fields). The capability table is the engine catalog
 * (policy/engines.json: the router decides which engine may do what); each engine's Describe
 * supplies the required fields and must agree with the catalog (the capability listed, of the same
 * kind), or the capability is withdrawn. Describe is read at start, for every engine of a reloaded
 * catalog, and again whenever an engine's channel is ready after it was not (the engine restarted,
 * perhaps as another build): each reading judges the engine's capabilities anew, so a capability
 * is withdrawn, or restored, and every change is told to `onChange` (log, counter, audit). Describe
 * also says which contract versions the engine speaks; the router then calls it at the highest one
 * both accept (engine-versions.ts), so an engine still at N-1 keeps being routed.
 */

import { CapabilityKind } from "../../gen/es/selene/engine/v1/engine_pb.js";
import { ReasonCode } from "../../gen/es/selene/kernel/v1/reason_pb.js";
import { formatRange, formatVersion, isAtLeast, supportedRange, type Version } from "../runtime/contract-version.js";
import type { Logger } from "../runtime/logger.js";
import { declaredCapabilities, type EngineCatalog } from "../runtime/policy/engine-catalog.js";
import { SeleneError } from "../runtime/selene-error.js";
import type { EngineClient } from "./engine-client.js";
import { atMost, commonVersion, parseVersion } from "./engine-versions.js";

/** A capability the router can route. */
export interface RegisteredCapability {
  readonly name: string;
  readonly engine: string;
  readonly kind: CapabilityKind;
  /** The fields the engine requires (from its Describe); priority is the clarify policy's. */
  readonly requiredFields: readonly string[];
}

/** Why a catalog capability was withdrawn. */
export type WithdrawnBecause = "kind" | "not_described" | "contract_version";

/** A catalog capability withdrawn (`withdrawn` says why) or restored (`withdrawn` undefined). */
export interface CapabilityChange {
  readonly engine: string;
  readonly capability: string;
  readonly kind: CapabilityKind;
  readonly withdrawn: WithdrawnBecause | undefined;
}

/** What the router knows of one catalog capability: routed (with its fields) or withdrawn. */
export interface CapabilityState {
  readonly capability: RegisteredCapability;
  readonly withdrawn: WithdrawnBecause | undefined;
}

/** The routes a turn looks up: what the gates and the executor need of a registry. */
export interface CapabilityRoutes {
  /** The capability, or undefined when no engine serves it. */
  lookup(capability: string): RegisteredCapability | undefined;
  /** The UNDERSTAND capability (the catalog holds at most one), or undefined when none is routed. */
  understander(): RegisteredCapability | undefined;
}

/** The registry. */
export interface EngineRegistry extends CapabilityRoutes {
  /** The client of an engine. */
  client(engine: string): EngineClient;
  /** Reads every engine's Describe; engines that do not answer keep what the registry knew. */
  describeAll(logger: Logger, deadline: number): Promise<void>;
  /** Reads one engine's Describe again and judges its capabilities anew. */
  describe(engine: string, logger: Logger, deadline: number): Promise<void>;
  /** Every catalog capability's state, by name: what a registry of the next catalog version starts from. */
  states(): ReadonlyMap<string, CapabilityState>;
  close(): void;
}

/** What a registry starts from: the previous catalog version's registry's states and spoken versions. */
export interface RegistryStart {
  readonly states: ReadonlyMap<string, CapabilityState>;
  readonly spoken: ReadonlyMap<string, Version>;
}

/** Creates the registry of `catalog` over the router's engine clients (one per catalog engine). */
export function createEngineRegistry(
  catalog: EngineCatalog,
  clients: ReadonlyMap<string, EngineClient>,
  onChange: (change: CapabilityChange) => void = () => {},
  start?: RegistryStart,
): EngineRegistry & { spoken(): ReadonlyMap<string, Version> } {
  const states = new Map<string, CapabilityState>();
  // A capability the previous version routed at the same engine keeps what was known of it until
  // its engine describes itself again; everything else starts as the catalog's table.
  for (const [name, engine, kind] of declaredCapabilities(catalog)) {
    const before = start?.states.get(name);
    const same = before !== undefined && before.capability.engine === engine && before.capability.kind === kind;
    states.set(name, same ? before : { capability: { name, engine, kind, requiredFields: [] }, withdrawn: undefined });
  }
  const spoken = new Map<string, Version>([...(start?.spoken ?? [])].filter(([engine]) => clients.has(engine)));
  const versioned = new Map<string, EngineClient>();
  const clientOf = (engine: string): EngineClient => {
    const client = clients.get(engine);
    if (client === undefined) throw new Error(`no client of catalog engine "${engine}"`);
    return client;
  };

  /** Sets a capability's state, telling a change of routed/withdrawn. */
  function judge(capability: RegisteredCapability, withdrawn: WithdrawnBecause | undefined): void {
    const before = states.get(capability.name);
    states.set(capability.name, { capability, withdrawn });
    if (before?.withdrawn !== withdrawn) {
      onChange({ engine: capability.engine, capability: capability.name, kind: capability.kind, withdrawn });
    }
  }

  /** Describe at N; an engine that refuses N names its versions, and is asked again at its highest in the window. */
  async function describeAt(engine: string, version: Version, deadline: number, retry: boolean) {
    try {
      return await clientOf(engine).call(
        "describe",
        { envelope: { contractVersion: version, correlationId: "router-describe" } },
        { deadline, correlationId: "router-describe" },
      );
    } catch (e) {
      const refused = e instanceof SeleneError && e.reason === ReasonCode.UNSUPPORTED_CONTRACT_VERSION;
      const older = refused ? parseVersion(e.metadata.supported_max) : undefined;
      const usable = older === undefined ? undefined : commonVersion([older]);
      if (!retry || usable === undefined) throw e;
      return describeAt(engine, usable, deadline, false);
    }
  }

  const owned = (engine: string) => [...states.values()].filter((s) => s.capability.engine === engine);

  async function describe(engine: string, logger: Logger, deadline: number): Promise<void> {
    const { max } = supportedRange();
    const response = await describeAt(engine, max, deadline, true);
    const version = commonVersion(response.supportedVersions);
    if (version === undefined) {
      for (const { capability } of owned(engine)) judge(capability, "contract_version");
      logger.error(
        { engine, announced: response.supportedVersions.map(formatVersion), supported: formatRange(supportedRange()) },
        "engine speaks no contract version the router accepts; its capabilities are withdrawn",
      );
      return;
    }
    spoken.set(engine, version);
    versioned.delete(engine);
    const described = new Map(response.capabilities.map((cap) => [cap.name, cap]));
    for (const cap of response.capabilities) {
      if (states.get(cap.name)?.capability.engine !== engine) {
        logger.warn(
          { engine, capability: cap.name },
          "engine describes a capability the catalog does not give it; not routed",
        );
      }
    }
    for (const { capability } of owned(engine)) {
      const cap = described.get(capability.name);
      if (cap === undefined) {
        logger.error(
          { engine, capability: capability.name },
          "engine does not describe a catalog capability; withdrawn",
        );
        judge(capability, "not_described");
      } else if (cap.kind !== capability.kind) {
        logger.error(
          { engine, capability: capability.name },
          "engine declares another kind than the catalog; withdrawn",
        );
        judge(capability, "kind");
      } else {
        judge({ ...capability, requiredFields: Object.freeze([...cap.requiredFields]) }, undefined);
      }
    }
    logger.info(
      { engine, capabilities: response.capabilities.map((c) => c.name), contract_version: formatVersion(version) },
      "engine described",
    );
  }

  // One Describe of an engine at a time, so an older answer never overwrites a newer one.
  const describing = new Map<string, Promise<void>>();
  function describeInTurn(engine: string, logger: Logger, deadline: number): Promise<void> {
    const next = (describing.get(engine) ?? Promise.resolve()).then(() => describe(engine, logger, deadline));
    const settled = next.catch(() => undefined);
    describing.set(engine, settled);
    void settled.then(() => describing.get(engine) === settled && describing.delete(engine));
    return next;
  }

  const routed = (name: string) => {
    const state = states.get(name);
    return state === undefined || state.withdrawn !== undefined ? undefined : state.capability;
  };

  return {
    lookup: routed,
    understander() {
      const understand = [...states.values()].find((s) => s.capability.kind === CapabilityKind.UNDERSTAND);
      return understand === undefined ? undefined : routed(understand.capability.name);
    },
    client(engine) {
      const version = spoken.get(engine);
      if (version === undefined || isAtLeast(version, supportedRange().max)) return clientOf(engine);
      let client = versioned.get(engine);
      if (client === undefined) {
        const inner = clientOf(engine);
        client = {
          call: (method, request, options) => inner.call(method, atMost(request, version), options),
          ready: (deadline) => inner.ready(deadline),
          onReconnect: (listener) => inner.onReconnect(listener),
          close: () => inner.close(),
        };
        versioned.set(engine, client);
      }
      return client;
    },
    describe: describeInTurn,
    async describeAll(logger, deadline) {
      await Promise.all(
        catalog.engines.map(({ name: engine }) =>
          describeInTurn(engine, logger, deadline).catch((err: unknown) =>
            logger.warn({ engine, err }, "engine did not describe itself; what the router knew of it stays"),
          ),
        ),
      );
    },
    states: () => states,
    spoken: () => spoken,
    close() {
      for (const client of clients.values()) client.close();
    },
  };
}
