/**
 * The router's engine registry: capability -> the engine that serves it, the
 * capability's kind, and its required fields in clarify priority order. The
 * capability table is declared here (the router decides which engine may do
 * what); each engine's Describe, read at start, supplies the required fields
 * and must agree on the kind, or the capability is withdrawn.
 */
import { CapabilityKind } from "../../gen/es/selene/engine/v1/engine_pb.js";
import { supportedRange } from "../runtime/contract-version.js";
import type { Logger } from "../runtime/logger.js";
import type { EngineName } from "./config.js";
import type { EngineClient } from "./engine-client.js";

/** A capability the router can route. */
export interface RegisteredCapability {
  readonly name: string;
  readonly engine: EngineName;
  readonly kind: CapabilityKind;
  /** Required fields, highest clarify priority first (from the engine's Describe). */
  readonly requiredFields: readonly string[];
}

/** Which engine serves which capability, and how. */
const CAPABILITY_TABLE: ReadonlyArray<readonly [string, EngineName, CapabilityKind]> = [
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
    CAPABILITY_TABLE.map(([name, engine, kind]) => [name, { name, engine, kind, requiredFields: [] }]),
  );

  async function describe(engine: EngineName, logger: Logger, deadline: number): Promise<void> {
    const { max } = supportedRange();
    const response = await clients[engine].call(
      "describe",
      { envelope: { contractVersion: max, correlationId: "router-start" } },
      { deadline, correlationId: "router-start" },
    );
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
    logger.info({ engine, capabilities: response.capabilities.map((c) => c.name) }, "engine described");
  }

  return {
    lookup: (capability) => capabilities.get(capability),
    client: (engine) => clients[engine],
    async describeAll(logger, deadline) {
      const engines = [...new Set(CAPABILITY_TABLE.map(([, engine]) => engine))];
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
