/** An engine registry over in-process fake engines, which records the calls the gates make. */
import { create } from "@bufbuild/protobuf";
import {
  CapabilityKind,
  EngineService,
  type InvokeRequest,
  type InvokeResponse,
  type SimulateRequest,
  type SimulateResponse,
} from "../../gen/es/selene/engine/v1/engine_pb.js";
import { ReasonCode } from "../../gen/es/selene/kernel/v1/reason_pb.js";
import type { EngineClient } from "../../services/router/engine-client.js";
import type { EngineRegistry, RegisteredCapability } from "../../services/router/engine-registry.js";
import { SeleneError } from "../../services/runtime/selene-error.js";

/** What a fake engine answers; a handler throws to refuse or to fail. */
export interface FakeEngine {
  invoke?(request: InvokeRequest): InvokeResponse;
  simulate?(request: SimulateRequest): SimulateResponse;
}

/** One call a gate made. */
export interface FakeCall {
  readonly engine: string;
  readonly method: string;
  readonly request: unknown;
  readonly deadline: number;
}

/** The capabilities the fake registry routes. */
export const FAKE_CAPABILITIES: readonly RegisteredCapability[] = [
  { name: "nlp.understand", engine: "nlp", kind: CapabilityKind.UNDERSTAND, requiredFields: [] },
  { name: "tools.lookup", engine: "tools", kind: CapabilityKind.READ, requiredFields: ["query"] },
  { name: "reminders.create", engine: "reminders", kind: CapabilityKind.EFFECT, requiredFields: ["text", "when"] },
];

/** The registry, with the calls made through it. */
export interface FakeEngineRegistry extends EngineRegistry {
  readonly calls: FakeCall[];
}

/** A registry whose engines are `engines`; an engine without a handler for a method is unavailable. */
export function fakeEngineRegistry(
  engines: Partial<Record<string, FakeEngine>>,
  capabilities: readonly RegisteredCapability[] = FAKE_CAPABILITIES,
): FakeEngineRegistry {
  const calls: FakeCall[] = [];
  const clientOf = (engine: string) =>
    ({
      async call(method: "invoke" | "simulate", init: never, options: { deadline: number }) {
        const request = create(EngineService.method[method].input, init);
        calls.push({ engine, method, request, deadline: options.deadline });
        const handler = engines[engine]?.[method] as ((r: typeof request) => unknown) | undefined;
        if (handler === undefined) throw new SeleneError(ReasonCode.ENGINE_UNAVAILABLE, `${engine} is unavailable`);
        return handler(request);
      },
      ready: async () => true,
      onReconnect() {},
      close() {},
    }) as unknown as EngineClient;
  return {
    calls,
    lookup: (name) => capabilities.find((c) => c.name === name),
    understander: () => capabilities.find((c) => c.kind === CapabilityKind.UNDERSTAND),
    client: clientOf,
    async describeAll() {},
    async describe() {},
    states: () => new Map(capabilities.map((capability) => [capability.name, { capability, withdrawn: undefined }])),
    close() {},
  };
}
