/**
 * The router's turn pipeline over fake engines, simulations, outbox and turn
 * records, for unit tests of the gates' order and of replay: every turn's
 * appended records are kept.
 */

import type { AuditEntry } from "../../gen/es/selene/audit/v1/audit_pb.js";
import type { SubmitTurnRequest } from "../../gen/es/selene/os/v1/turn_pb.js";
import type { TurnResponse } from "../../services/router/turn.js";
import { createTurnPipeline } from "../../services/router/turn-pipeline.js";
import type { TurnRecords } from "../../services/router/turn-records.js";
import { type ClarifyPolicy, projectClarifyPolicy } from "../../services/runtime/policy/clarify-policy.js";
import type { SeleneError } from "../../services/runtime/selene-error.js";
import {
  anEnvelope,
  anUnderstandingResponse,
  aReadResponse,
  aSimulateResponse,
  aTurnRequest,
  type EnvelopeOverrides,
  FIXED_MS,
} from "./builders.js";
import { type FakeEngine, type FakeEngineRegistry, fakeEngineRegistry } from "./fake-engine-registry.js";
import { fakeExecutor } from "./fake-executor.js";
import { fakeOutbox } from "./fake-outbox.js";
import { type FakeSimulationStore, fakeSimulationStore } from "./fake-simulation-store.js";
import { fakeTurnRecords } from "./fake-turn-records.js";
import { projectReadPolicies } from "./read-policies.js";
import { resilientEnginesOver } from "./test-resilience.js";
import {
  ACME_APP,
  aCallContext,
  aRecordingLedger,
  DEFAULT_DEADLINE_MS,
  decisionsOf,
  type RecordingLedger,
} from "./turn-builder.js";

/**
 * An nlp engine with four readings: "lookup ..." a lookup, "send ..." a message (no engine serves
 * it), "remind me" a reminder without its time, anything else a whole reminder.
 */
export const FAKE_NLP: FakeEngine = {
  invoke: (request) => {
    const text = request.input.case === "utterance" ? request.input.value : "";
    if (text.startsWith("lookup")) return anUnderstandingResponse({ intent: "tools.lookup", fields: { query: text } });
    if (text.startsWith("send")) return anUnderstandingResponse({ intent: "messages.send", fields: { to: "Ana" } });
    if (text === "remind me") {
      return anUnderstandingResponse({
        fields: { text: "something" },
        missingFields: ["when"],
        clarifications: [{ missingField: "when", question: "When should I remind you?" }],
      });
    }
    return anUnderstandingResponse();
  },
};

/** One submitted turn: its response or error, and the records it appended. */
export interface Submitted {
  readonly response: TurnResponse | SeleneError;
  readonly appended: readonly AuditEntry[];
  /** "GATE DECISION[ REASON]" of what it appended. */
  readonly decisions: readonly string[];
}

/** The pipeline, and what it ran on. */
export interface PipelineFixture {
  /** Submits a request of the acme app and waits for its records. */
  submit(request: SubmitTurnRequest): Promise<Submitted>;
  /** A text turn with a fresh idempotency key. */
  text(value: string, envelope?: EnvelopeOverrides): SubmitTurnRequest;
  readonly registry: FakeEngineRegistry;
  readonly simulations: FakeSimulationStore;
}

/** What a pipeline may run on instead of its defaults (turn records and a ledger a test holds back). */
export interface PipelineParts {
  readonly records?: TurnRecords;
  readonly ledger?: RecordingLedger;
}

/** The pipeline over fake engines (nlp, tools, reminders, unless `engines` says otherwise) and a clarify policy. */
export function aPipeline(
  engines?: Parameters<typeof fakeEngineRegistry>[0],
  clarifyPolicy: ClarifyPolicy = projectClarifyPolicy(),
  parts: PipelineParts = {},
): PipelineFixture {
  const ledger = parts.ledger ?? aRecordingLedger();
  const registry = fakeEngineRegistry(
    engines ?? {
      nlp: FAKE_NLP,
      tools: { invoke: () => aReadResponse() },
      reminders: { simulate: () => aSimulateResponse() },
    },
  );
  const simulations = fakeSimulationStore();
  const handle = createTurnPipeline({
    registry,
    clarifyPolicy,
    readPolicies: projectReadPolicies(),
    engines: resilientEnginesOver(registry, undefined, () => FIXED_MS).engines,
    simulations,
    clientTenants: new Map([[ACME_APP, "acme"]]),
    defaultTurnDeadlineMs: DEFAULT_DEADLINE_MS,
    simulationTtlMs: 60_000,
    outbox: fakeOutbox(),
    crash: () => {},
    executor: fakeExecutor(),
    audit: ledger.sink,
    idempotency: { records: parts.records ?? fakeTurnRecords(), claimMarginMs: 100, duplicateWaitMs: 100 },
    now: () => FIXED_MS,
  });
  let turns = 0;
  return {
    registry,
    simulations,
    async submit(request) {
      const before = ledger.appended.length;
      const response = await handle(request, aCallContext({ correlationId: request.envelope!.correlationId })).then(
        (r) => r,
        (e: SeleneError) => e,
      );
      // A failed turn appends its records on their own time.
      await new Promise((resolve) => setImmediate(resolve));
      const appended = ledger.appended.slice(before);
      return { response, appended, decisions: decisionsOf(appended) };
    },
    text(value, envelope = {}) {
      turns++;
      return aTurnRequest({
        envelope: anEnvelope({
          correlationId: `c-${turns}`,
          turnId: `t-${turns}`,
          idempotencyKey: `k-${turns}`,
          ...envelope,
        }),
        input: { case: "text", value },
      });
    },
  };
}
