/**
 * The router's engine registry: capability -> the engine that serves it, the
 * capability's kind, and the fields its engine requires (the clarify rule asks
 * for them too, after the clarify policy's blocking fields). The
 * capability table is the engine catalog (policy/engines.json: the router
 * decides which engine may do what); each engine's Describe, read at start,
 * supplies the required fields and must agree with the catalog (the
 * capability listed, of the same kind), or the capability is withdrawn:
 * logged and counted (selene_capabilities_withdrawn_total). Describe also
 * says which contract versions the engine speaks; the router then calls it at
 * the highest one both accept (engine-versions.ts), so an engine still at N-1
 * keeps being routed.
 */

import { Counter } from "prom-client";
import { CapabilityKind } from "../../gen/es/selene/engine/v1/engine_pb.js";
import { ReasonCode } from "../../gen/es/selene/kernel/v1/reason_pb.js";
import { formatRange, formatVersion, isAtLeast, supportedRange, type Version } from "../runtime/contract-version.js";
import type { Logger } from "../runtime/logger.js";
import { metricsRegistry } from "../runtime/metrics-registry.js";
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

let withdrawals: Counter<"engine" | "capability" | "reason"> | undefined;

/** Counts a withdrawn capability (one counter per process, in the shared registry). */
function countWithdrawn(engine: string, capability: string, reason: WithdrawnBecause): void {
  withdrawals ??= new Counter({
    name: "selene_capabilities_withdrawn_total",
    help: "Catalog capabilities withdrawn because the engine's Describe disagreed with the catalog",
    labelNames: ["engine", "capability", "reason"],
    registers: [metricsRegistry()],
  });
  withdrawals.inc({ engine, capability, reason });
}

/** The registry. */
export interface EngineRegistry {
  /** The capability, or undefined when no engine serves it. */
  lookup(capability: string): RegisteredCapability | undefined;
  /** The UNDERSTAND capability (the catalog holds at most one), or undefined when none is routed. */
  understander(): RegisteredCapability | undefined;
  /** The client of an engine. */
  client(engine: string): EngineClient;
  /** Reads every engine's Describe; engines that do not answer keep the catalog's table. */
  describeAll(logger: Logger, deadline: number): Promise<void>;
  close(): void;
}

/** Creates the registry of `catalog` over the router's engine clients (one per catalog engine). */
export function createEngineRegistry(
  catalog: EngineCatalog,
  clients: ReadonlyMap<string, EngineClient>,
  onWithdrawn: (engine: string, capability: string, reason: WithdrawnBecause) => void = countWithdrawn,
): EngineRegistry {
  const capabilities = new Map<string, RegisteredCapability>(
    declaredCapabilities(catalog).map(([name, engine, kind]) => [name, { name, engine, kind, requiredFields: [] }]),
  );
  const clientOf = (engine: string): EngineClient => {
    const client = clients.get(engine);
    if (client === undefined) throw new Error(`no client of catalog engine "${engine}"`);
    return client;
  };
  const withdraw = (engine: string, capability: string, reason: WithdrawnBecause) => {
    capabilities.delete(capability);
    onWithdrawn(engine, capability, reason);
  };

  const spoken = new Map<string, Version>();
  const versioned = new Map<string, EngineClient>();

  /** Describe at N; an engine that refuses N names its versions, and is asked again at its highest in the window. */
  async function describeAt(engine: string, version: Version, deadline: number, retry: boolean) {
    try {
      return await clientOf(engine).call(
        "describe",
        { envelope: { contractVersion: version, correlationId: "router-start" } },
        { deadline, correlationId: "router-start" },
      );
    } catch (e) {
      const refused = e instanceof SeleneError && e.reason === ReasonCode.UNSUPPORTED_CONTRACT_VERSION;
      const older = refused ? parseVersion(e.metadata.supported_max) : undefined;
      const usable = older === undefined ? undefined : commonVersion([older]);
      if (!retry || usable === undefined) throw e;
      return describeAt(engine, usable, deadline, false);
    }
  }

  async function describe(engine: string, logger: Logger, deadline: number): Promise<void> {
    const { max } = supportedRange();
    const response = await describeAt(engine, max, deadline, true);
    const version = commonVersion(response.supportedVersions);
    if (version === undefined) {
      for (const [name, cap] of capabilities) if (cap.engine === engine) withdraw(engine, name, "contract_version");
      logger.error(
        { engine, announced: response.supportedVersions.map(formatVersion), supported: formatRange(supportedRange()) },
        "engine speaks no contract version the router accepts; its capabilities are withdrawn",
      );
      return;
    }
    spoken.set(engine, version);
    const described = new Map(response.capabilities.map((cap) => [cap.name, cap]));
    for (const cap of response.capabilities) {
      const declared = capabilities.get(cap.name);
      if (declared === undefined || declared.engine !== engine) {
        logger.warn(
          { engine, capability: cap.name },
          "engine describes a capability the catalog does not give it; not routed",
        );
      }
    }
    for (const declared of [...capabilities.values()].filter((c) => c.engine === engine)) {
      const cap = described.get(declared.name);
      if (cap === undefined) {
        logger.error({ engine, capability: declared.name }, "engine does not describe a catalog capability; withdrawn");
        withdraw(engine, declared.name, "not_described");
      } else if (cap.kind !== declared.kind) {
        logger.error({ engine, capability: declared.name }, "engine declares another kind than the catalog; withdrawn");
        withdraw(engine, declared.name, "kind");
      } else {
        capabilities.set(declared.name, { ...declared, requiredFields: Object.freeze([...cap.requiredFields]) });
      }
    }
    logger.info(
      { engine, capabilities: response.capabilities.map((c) => c.name), contract_version: formatVersion(version) },
      "engine described",
    );
  }

  return {
    lookup: (capability) => capabilities.get(capability),
    understander: () => [...capabilities.values()].find((c) => c.kind === CapabilityKind.UNDERSTAND),
    client(engine) {
      const version = spoken.get(engine);
      if (version === undefined || isAtLeast(version, supportedRange().max)) return clientOf(engine);
      let client = versioned.get(engine);
      if (client === undefined) {
        const inner = clientOf(engine);
        client = {
          call: (method, request, options) => inner.call(method, atMost(request, version), options),
          ready: (deadline) => inner.ready(deadline),
          close: () => inner.close(),
        };
        versioned.set(engine, client);
      }
      return client;
    },
    async describeAll(logger, deadline) {
      await Promise.all(
        catalog.engines.map(({ name: engine }) =>
          describe(engine, logger, deadline).catch((err: unknown) =>
            logger.warn({ engine, err }, "engine did not describe itself; using the catalog's table"),
          ),
        ),
      );
    },
    close() {
      for (const client of clients.values()) client.close();
    },
  };
}
