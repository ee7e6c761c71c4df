/**
 * The cases of each described capability, with the author's sample input:
 * Invoke answers an UNDERSTAND or READ capability with a result of its kind;
 * Simulate is free of side effects (twice gives the same preview and digest,
 * and a commit under the simulation's key afterwards is not a replay); Commit
 * is idempotent by key (twice: one effect, the same answer), refuses another
 * request under a used key, refuses fields that do not match the digest, and a
 * commit cut off by its deadline and retried under its key gives one effect.
 */
import { create, type DescMessage, type MessageShape, toBinary } from "@bufbuild/protobuf";
import { status } from "@grpc/grpc-js";
import {
  type Capability,
  CapabilityKind,
  CommitRequestSchema,
  type CommitResponse,
  CommitResponseSchema,
  type DescribeResponse,
  InvokeRequestSchema,
  InvokeResponseSchema,
  SimulateRequestSchema,
  SimulateResponseSchema,
} from "../gen/es/selene/engine/v1/engine_pb.js";
import { ReasonCode } from "../gen/es/selene/kernel/v1/reason_pb.js";
import { createBoundaryValidator } from "../services/runtime/boundary-validator.js";
import { type CaseContext, type CaseSkip, type ConformanceCase, check } from "./conformance-case.js";
import type { CapabilitySample } from "./conformance-samples.js";
import { type CallOutcome, describeOutcome, type EngineCaller, enginePath } from "./engine-caller.js";
import { anEnvelope, UNMATCHED_DIGEST } from "./engine-requests.js";

const validator = createBoundaryValidator();

/** The response of a successful call, checked against the contract; fails the case otherwise. */
function answered<Desc extends DescMessage>(schema: Desc, outcome: CallOutcome, what: string): MessageShape<Desc> {
  check(outcome.code === status.OK && outcome.response !== undefined, `${what}: ${describeOutcome(outcome)}`);
  const verdict = validator.validate(schema, outcome.response);
  check(verdict.ok, `${what}: the response breaks the contract: ${verdict.ok ? "" : verdict.error.message}`);
  return verdict.message;
}

/** The described capability `name` and its sample, or why the case does not apply. */
function subject(
  context: CaseContext,
  name: string,
  sampleKind: "utterance" | "read" | "fields",
): { capability: Capability; sample: CapabilitySample } | CaseSkip {
  const capability = context.description?.capabilities.find((c) => c.name === name);
  if (capability === undefined) return { skipped: "Describe could not be read" };
  const sample = context.samples.capabilities[name];
  if (sample === undefined) return { skipped: `no sample input for ${name}` };
  check(sampleKind in sample, `the sample of ${name} gives no "${sampleKind}"`);
  return { capability, sample };
}

const isSkip = (value: object): value is CaseSkip => "skipped" in value;

function invokeCase(capability: Capability): ConformanceCase {
  const kind = capability.kind === CapabilityKind.UNDERSTAND ? "understanding" : "readResult";
  const sampleKind = capability.kind === CapabilityKind.UNDERSTAND ? "utterance" : "read";
  return {
    group: "invoke",
    name: `Invoke ${capability.name} answers the sample with a well-formed ${kind === "understanding" ? "understanding" : "read result"}`,
    async run(context) {
      const found = subject(context, capability.name, sampleKind);
      if (isSkip(found)) return found;
      const input =
        "utterance" in found.sample
          ? { case: "utterance" as const, value: found.sample.utterance }
          : { case: "read" as const, value: { args: "read" in found.sample ? found.sample.read : {} } };
      const request = create(InvokeRequestSchema, {
        envelope: anEnvelope(context.fresh("invoke")),
        capability: capability.name,
        input,
      });
      const outcome = await context.router.call(enginePath("Invoke"), toBinary(InvokeRequestSchema, request));
      const response = answered(InvokeResponseSchema, outcome, `Invoke ${capability.name}`);
      check(response.result.case === kind, `Invoke ${capability.name} answered with ${response.result.case}`);
      return undefined;
    },
  };
}

/** Simulates the sample effect under idempotency key `key`; returns the response and its bytes. */
async function simulate(router: EngineCaller, name: string, fields: Record<string, string>, key: string) {
  const request = create(SimulateRequestSchema, { envelope: anEnvelope(key), capability: name, fields });
  const outcome = await router.call(enginePath("Simulate"), toBinary(SimulateRequestSchema, request));
  return { response: answered(SimulateResponseSchema, outcome, `Simulate ${name}`), bytes: outcome.response! };
}

/** Commits the sample effect under idempotency key `key`, with `timeoutMs` to answer. */
function commit(
  router: EngineCaller,
  name: string,
  fields: Record<string, string>,
  key: string,
  digest: string,
  timeoutMs?: number,
): Promise<CallOutcome> {
  const request = create(CommitRequestSchema, {
    envelope: anEnvelope(key),
    capability: name,
    simulationId: `sim-${key}`.slice(0, 64),
    fields,
    effectDigest: digest,
  });
  return router.call(enginePath("Commit"), toBinary(CommitRequestSchema, request), timeoutMs);
}

/**
 * Fields other than the sample's that the engine accepts for `name`: the sample with " again"
 * appended to one field (tried in name order) that Simulate answers with another digest.
 */
async function otherFields(
  { router, fresh }: CaseContext,
  name: string,
  fields: Record<string, string>,
  digest: string,
): Promise<{ fields: Record<string, string>; digest: string } | undefined> {
  for (const field of Object.keys(fields).sort()) {
    const changed = { ...fields, [field]: `${fields[field]} again` };
    const request = create(SimulateRequestSchema, {
      envelope: anEnvelope(fresh("other")),
      capability: name,
      fields: changed,
    });
    const outcome = await router.call(enginePath("Simulate"), toBinary(SimulateRequestSchema, request));
    if (outcome.code !== status.OK) continue;
    const response = answered(SimulateResponseSchema, outcome, `Simulate ${name} with another ${field}`);
    if (response.effectDigest !== digest) return { fields: changed, digest: response.effectDigest };
  }
  return undefined;
}

/** The reason and field path of a refusal, for messages. */
const detailText = ({ detail }: CallOutcome) =>
  detail === undefined ? "" : ` (${ReasonCode[detail.reason]} at "${detail.fieldPath}")`;

/** The committed answer in words, for messages. */
const commitText = (r: CommitResponse) => `effect ${r.effectId}${r.deduplicated ? " (replay)" : ""}: ${r.summary}`;

/** An effect case: `body` gets the sample's fields once the subject is found. */
function effectCase(
  group: string,
  name: string,
  capability: Capability,
  body: (context: CaseContext, fields: Record<string, string>) => Promise<void>,
): ConformanceCase {
  return {
    group,
    name,
    async run(context) {
      const found = subject(context, capability.name, "fields");
      if (isSkip(found)) return found;
      await body(context, { ...("fields" in found.sample ? found.sample.fields : {}) });
      return undefined;
    },
  };
}

function effectCases(capability: Capability): ConformanceCase[] {
  const name = capability.name;
  return [
    effectCase(
      "simulate",
      `Simulate ${name} twice gives the same preview and digest, and performs nothing`,
      capability,
      async ({ router, fresh }, fields) => {
        const key = fresh("simulate");
        const first = await simulate(router, name, fields, key);
        const second = await simulate(router, name, fields, key);
        check(Buffer.compare(first.bytes, second.bytes) === 0, "a second Simulate gave different bytes");
        const after = answered(
          CommitResponseSchema,
          await commit(router, name, fields, key, first.response.effectDigest),
          `Commit ${name} after the simulations`,
        );
        check(!after.deduplicated, `a commit after two simulations under their key was a replay: ${commitText(after)}`);
      },
    ),
    effectCase(
      "commit",
      `Commit ${name} twice under one idempotency key performs one effect and gives the same answer`,
      capability,
      async ({ router, fresh }, fields) => {
        const key = fresh("commit");
        const { response } = await simulate(router, name, fields, key);
        const first = answered(
          CommitResponseSchema,
          await commit(router, name, fields, key, response.effectDigest),
          `Commit ${name}`,
        );
        const second = answered(
          CommitResponseSchema,
          await commit(router, name, fields, key, response.effectDigest),
          `Commit ${name} again under its key`,
        );
        check(!first.deduplicated, `the first commit under a fresh key was a replay: ${commitText(first)}`);
        check(
          second.deduplicated && second.effectId === first.effectId,
          `two commits under one key performed two effects: ${commitText(first)} / ${commitText(second)}`,
        );
        check(
          second.summary === first.summary &&
            second.committedAt?.seconds === first.committedAt?.seconds &&
            second.committedAt?.nanos === first.committedAt?.nanos,
          `the replayed commit answered differently: ${commitText(first)} / ${commitText(second)}`,
        );
      },
    ),
    {
      group: "commit",
      name: `Commit ${name} refuses another request under a used idempotency key with FAILED_PRECONDITION, IDEMPOTENCY_KEY_REUSED at envelope.idempotency_key`,
      async run(context) {
        const found = subject(context, name, "fields");
        if (isSkip(found)) return found;
        const fields = { ...("fields" in found.sample ? found.sample.fields : {}) };
        const key = context.fresh("reuse");
        const { response } = await simulate(context.router, name, fields, key);
        answered(
          CommitResponseSchema,
          await commit(context.router, name, fields, key, response.effectDigest),
          `Commit ${name}`,
        );
        const other = await otherFields(context, name, fields, response.effectDigest);
        if (other === undefined) {
          return { skipped: `Simulate accepts no other fields than the sample's ("<value> again" in one field)` };
        }
        const reused = await commit(context.router, name, other.fields, key, other.digest);
        check(
          reused.code === status.FAILED_PRECONDITION &&
            reused.detail?.reason === ReasonCode.IDEMPOTENCY_KEY_REUSED &&
            reused.detail.fieldPath === "envelope.idempotency_key",
          `expected FAILED_PRECONDITION, IDEMPOTENCY_KEY_REUSED at envelope.idempotency_key; got ${describeOutcome(reused)}${detailText(reused)}`,
        );
        return undefined;
      },
    },
    effectCase(
      "commit",
      `Commit ${name} refuses fields that do not match the simulated digest with FAILED_PRECONDITION, SIMULATION_DIGEST_MISMATCH`,
      capability,
      async ({ router, fresh }, fields) => {
        const outcome = await commit(router, name, fields, fresh("digest"), UNMATCHED_DIGEST);
        check(
          outcome.code === status.FAILED_PRECONDITION &&
            outcome.detail?.reason === ReasonCode.SIMULATION_DIGEST_MISMATCH,
          `expected FAILED_PRECONDITION, SIMULATION_DIGEST_MISMATCH; got ${describeOutcome(outcome)}`,
        );
      },
    ),
    effectCase(
      "deadline",
      `Commit ${name} cut off by its deadline and retried under its key performs one effect`,
      capability,
      async ({ router, fresh }, fields) => {
        const key = fresh("deadline");
        const { response } = await simulate(router, name, fields, key);
        const cut = await commit(router, name, fields, key, response.effectDigest, 1);
        check(
          cut.code === status.DEADLINE_EXCEEDED || cut.code === status.OK,
          `a commit with a 1 ms deadline ended with ${describeOutcome(cut)}`,
        );
        const retried = answered(
          CommitResponseSchema,
          await commit(router, name, fields, key, response.effectDigest),
          `Commit ${name} retried`,
        );
        const again = answered(
          CommitResponseSchema,
          await commit(router, name, fields, key, response.effectDigest),
          `Commit ${name} retried again`,
        );
        check(
          again.deduplicated && again.effectId === retried.effectId,
          `the retries under one key performed two effects: ${commitText(retried)} / ${commitText(again)}`,
        );
      },
    ),
  ];
}

/** The cases of every capability the engine describes. */
export function capabilityCases(description: DescribeResponse | undefined): ConformanceCase[] {
  return (description?.capabilities ?? []).flatMap((capability) =>
    capability.kind === CapabilityKind.EFFECT ? effectCases(capability) : [invokeCase(capability)],
  );
}
