/**
 * The cases about the engine as a served process: Describe well-formed and
 * stable, grpc.health.v1 and grpc.reflection.v1 served on the mTLS port, and
 * calls cut off by their deadlines leaving the engine serving.
 */
import { status } from "@grpc/grpc-js";
import { CapabilityKind, DescribeResponseSchema } from "../gen/es/selene/engine/v1/engine_pb.js";
import { createBoundaryValidator } from "../services/runtime/boundary-validator.js";
import { CURRENT_CONTRACT_VERSION, formatVersion } from "../services/runtime/contract-version.js";
import { type ConformanceCase, check } from "./conformance-case.js";
import { DEFAULT_TIMEOUT_MS, describeOutcome, enginePath } from "./engine-caller.js";
import { wellFormedRequest } from "./engine-requests.js";
import { reflect } from "./reflection-client.js";

const ENGINE_SERVICE = "selene.engine.v1.EngineService";
const validator = createBoundaryValidator();

const describeCase: ConformanceCase = {
  group: "describe",
  name: "Describe answers the router with a well-formed description of this engine, the same bytes every time",
  async run({ router, target }) {
    const first = await router.call(enginePath("Describe"), wellFormedRequest("Describe"));
    check(first.code === status.OK && first.response !== undefined, `Describe failed: ${describeOutcome(first)}`);
    const verdict = validator.validate(DescribeResponseSchema, first.response);
    check(verdict.ok, `the DescribeResponse breaks the contract: ${verdict.ok ? "" : verdict.error.message}`);
    const description = verdict.message;
    check(description.engineId === target.engine, `engine_id is "${description.engineId}", not "${target.engine}"`);
    check(description.spiffeId === target.spiffeId, `spiffe_id is "${description.spiffeId}", not "${target.spiffeId}"`);
    const current = formatVersion(CURRENT_CONTRACT_VERSION);
    check(
      description.supportedVersions.some((v) => formatVersion(v) === current),
      `supported_versions does not include the current contract version ${current}`,
    );
    const names = description.capabilities.map((c) => c.name);
    check(new Set(names).size === names.length, `a capability is described twice: ${names.join(", ")}`);
    for (const capability of description.capabilities) {
      const effect = capability.kind === CapabilityKind.EFFECT;
      check(
        effect === capability.sideEffects.length > 0,
        effect
          ? `${capability.name} is an EFFECT capability and declares no side effect`
          : `${capability.name} is not an EFFECT capability and declares side effects`,
      );
    }
    const second = await router.call(enginePath("Describe"), wellFormedRequest("Describe"));
    check(
      second.response !== undefined && Buffer.compare(first.response, second.response) === 0,
      "a second Describe gave different bytes",
    );
    return undefined;
  },
};

/** grpc.health.v1.HealthCheckRequest { service } as bytes. */
function healthRequest(service: string): Buffer {
  const name = Buffer.from(service, "utf8");
  return service === "" ? Buffer.alloc(0) : Buffer.concat([Buffer.from([0x0a, name.length]), name]);
}
// HealthCheckResponse { status = SERVING (1) }.
const SERVING = Buffer.from([0x08, 0x01]);

const healthCase: ConformanceCase = {
  group: "health",
  name: `serves grpc.health.v1 on its mTLS port: SERVING for the server and for ${ENGINE_SERVICE}`,
  async run({ router }) {
    for (const service of ["", ENGINE_SERVICE]) {
      const outcome = await router.call("/grpc.health.v1.Health/Check", healthRequest(service));
      const label = service === "" ? "the server" : service;
      check(outcome.code === status.OK, `Health/Check for ${label}: ${describeOutcome(outcome)}`);
      check(Buffer.compare(outcome.response ?? Buffer.alloc(0), SERVING) === 0, `${label} is not SERVING`);
    }
    return undefined;
  },
};

const reflectionCase: ConformanceCase = {
  group: "reflection",
  name: `serves grpc.reflection.v1 on its mTLS port, listing ${ENGINE_SERVICE} and the file that defines it`,
  async run({ router }) {
    const answer = await reflect(router.client, ENGINE_SERVICE, DEFAULT_TIMEOUT_MS);
    check(answer.errors.length === 0, `reflection answered with errors: ${answer.errors.join("; ")}`);
    check(
      answer.services.includes(ENGINE_SERVICE),
      `ListServices does not name ${ENGINE_SERVICE}: ${answer.services.join(", ")}`,
    );
    const file = answer.files.find((f) => f.name === "selene/engine/v1/engine.proto");
    check(file !== undefined, "the file containing the symbol is not selene/engine/v1/engine.proto");
    const methods = file.service.find((s) => s.name === "EngineService")?.method.map((m) => m.name) ?? [];
    check(
      ["Describe", "Invoke", "Simulate", "Commit"].every((m) => methods.includes(m)),
      `the reflected EngineService has methods ${methods.join(", ")}`,
    );
    return undefined;
  },
};

/** Calls cut off by their deadlines, all at once, before the engine is asked again. */
const CUT_OFF_CALLS = 16;

const deadlineCase: ConformanceCase = {
  group: "deadline",
  name: "keeps serving after calls cut off by their deadlines",
  async run({ router }) {
    const request = wellFormedRequest("Describe");
    const cut = await Promise.all(
      Array.from({ length: CUT_OFF_CALLS }, () => router.call(enginePath("Describe"), request, 1)),
    );
    check(
      cut.every((o) => o.code === status.DEADLINE_EXCEEDED || o.code === status.OK),
      `a call with a 1 ms deadline ended with ${describeOutcome(cut.find((o) => o.code !== status.OK)!)}`,
    );
    const after = await router.call(enginePath("Describe"), request);
    check(after.code === status.OK, `Describe after the cut-off calls: ${describeOutcome(after)}`);
    return undefined;
  },
};

/** Every service case. */
export function serviceCases(): ConformanceCase[] {
  return [describeCase, healthCase, reflectionCase, deadlineCase];
}
