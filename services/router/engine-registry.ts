/**
 * The router's engine registry: capability -> the engine that serves it, the
 * capability's kind, and the fields its engine requires (the clarify rule asks
 * for them too, after the clarify policy's blocking fields). The
 * capability table is declared here (the router decides which engine may do
 * what); each engine's Describe, read at start, supplies the required fields
 * and must agree on the kind, or the capability is withdrawn. Describe also
 * says which contract versions the engine speaks; the router then calls it at
 * the highest one both accept (engine-versions.ts), so an engine still at N-1
 * keeps being routed.
 */
import { CapabilityKind } from "../../gen/es/selene/engine/v1/engine_pb.js";
import { ReasonCode } from "../../gen/es/selene/kernel/v1/reason_pb.js";
import { formatRange, formatVersion, isAtLeast, supportedRange, type Version } from "../runtime/contract-version.js";
import type { Logger } from "../runtime/logger.js";
import { SeleneError } from "../runtime/selene-error.js";
import type { EngineName } from "./config.js";
import type { EngineClient } from "./engine-client.js";
import { atMost, commonVersion, parseVersion } from "./engine-versions.js";

/** A capability the router can route. */
export interface RegisteredCapability {
  readonly name: string;
  readonly engine: EngineName;
  readonly kind: CapabilityKind;
  /** The fields the engine requires (from its Describe); priority is the clarify policy's. */
  readonly requiredFields: readonly string[];
}

/** Which engine serves which capability, and how. */
export const DECLARED_CAPABILITIES: ReadonlyArray<readonly [string, EngineName, CapabilityKind]> = [
  ["nlp.understand", "nlp", CapabilityKind.UNDERSTAND],
  ["tools.lookup", "tools", CapabilityKind.READ],
  ["tools.time", "tools", CapabilityKind.READ],
  ["tools.convert", "tools", CapabilityKind.READ],
  ["calc.evaluate", "calc", CapabilityKind.READ],
  ["reminders.create", "reminders", CapabilityKind.EFFECT],
  ["reminders.cancel", "reminders", CapabilityKind.EFFECT],
];

/** The registry. */
export interface EngineRegistry {
  /** The capability, or undefined when no engine serves it. */
  lookup(capability: string): RegisteredCapability | undefined;
  /** The client of an engine. */
  client(engine: EngineName): EngineClient;
  /** Reads every engine's Describe; engines that do not answer keep the declared table. */
  describeAll(logger: Logger, deadline: number): Promise<void>;
  close(): void;
}

/** Creates the registry over the router's engine clients. */
export function createEngineRegistry(clients: Readonly<Record<EngineName, EngineClient>>): EngineRegistry {
  const capabilities = new Map<string, RegisteredCapability>(
    DECLARED_CAPABILITIES.map(([name, engine, kind]) => [name, { name, engine, kind, requiredFields: [] }]),
  );

  const spoken = new Map<EngineName, Version>();
  const versioned = new Map<EngineName, EngineClient>();

  /** Describe at N; an engine that refuses N names its versions, and is asked again at its highest in the window. */
  async function describeAt(engine: EngineName, version: Version, deadline: number, retry: boolean) {
    try {
      return await clients[engine].call(
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

  async function describe(engine: EngineName, logger: Logger, deadline: number): Promise<void> {
    const { max } = supportedRange();
    const response = await describeAt(engine, max, deadline, true);
    const version = commonVersion(response.supportedVersions);
    if (version === undefined) {
      for (const [name, cap] of capabilities) if (cap.engine === engine) capabilities.delete(name);
      logger.error(
        { engine, announced: response.supportedVersions.map(formatVersion), supported: formatRange(supportedRange()) },
        "engine speaks no contract version the router accepts; its capabilities are withdrawn",
      );
      return;
    }
    spoken.set(engine, version);
    for (const cap of response.capabilities) {
      const declared = capabilities.get(cap.name);
      if (declared === undefined || declared.engine !== engine) continue; // not routed to this engine
      if (declared.kind !== cap.kind) {
        logger.error({ engine, capability: cap.name }, "engine declares another kind; capability withdrawn");
        capabilities.delete(cap.name);
        continue;
      }
      capabilities.set(cap.name, { ...declared, requiredFields: Object.freeze([...cap.requiredFields]) });
    }
    logger.info(
      { engine, capabilities: response.capabilities.map((c) => c.name), contract_version: formatVersion(version) },
      "engine described",
    );
  }

  return {
    lookup: (capability) => capabilities.get(capability),
    client(engine) {
      const version = spoken.get(engine);
      if (version === undefined || isAtLeast(version, supportedRange().max)) return clients[engine];
      let client = versioned.get(engine);
      if (client === undefined) {
        const inner = clients[engine];
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
      const engines = [...new Set(DECLARED_CAPABILITIES.map(([, engine]) => engine))];
      await Promise.all(
        engines.map((engine) =>
          describe(engine, logger, deadline).catch((err: unknown) =>
            logger.warn({ engine, err }, "engine did not describe itself; using the declared table"),
          ),
        ),
      );
    },
    close() {
      for (const client of Object.values(clients)) client.close();
    },
  };
}
