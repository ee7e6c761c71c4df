/**
 * The answer gate: a read-only capability's engine answers, with provenance, and the router
 * decides on it (read-decision.ts): provenance checked, freshness judged at the turn's clock by
 * policy/freshness.json (a refetch asks the engine once more), disputed conflicts noted by
 * policy/conflicts.json. An engine's refusal of the request (ENGINE_REJECTED, FIELD_INVALID) is a
 * REFUSED outcome in the engine's words. Every decision is recorded with the engine's response,
 * the time it was judged at and the digest of the outcome, which replay rebuilds and compares;
 * a response whose provenance does not hold is recorded as FAIL ENGINE_INVALID_RESPONSE with it.
 * The engine is asked under the capability's resilience policy; when a declared fallback answered
 * instead (another engine, or the last good answer marked stale), the record says which and how old.
 */
import { toBinary } from "@bufbuild/protobuf";
import { Decision, Gate } from "../../../gen/es/selene/audit/v1/audit_pb.js";
import { type InvokeResponse, InvokeResponseSchema } from "../../../gen/es/selene/engine/v1/engine_pb.js";
import { ConflictRule, FreshnessState } from "../../../gen/es/selene/kernel/v1/provenance_pb.js";
import { ReasonCode } from "../../../gen/es/selene/kernel/v1/reason_pb.js";
import { SeleneError } from "../../runtime/selene-error.js";
import { decideRead, type ReadDecision, type ReadPolicies } from "../../runtime/turn-decisions/read-decision.js";
import { type Outcome, outcomeDigest, readRefusal } from "../../runtime/turn-decisions/turn-decisions.js";
import type { ReadAnswer, ResilientEngines } from "../resilience/resilient-engines.js";
import type { Turn } from "../turn.js";
import type { Understood } from "./understand-gate.js";

/** Answers a read: ANSWER, or REFUSED when the engine refuses the request or its sources are too old. */
export type AnswerGate = (turn: Turn, understood: Understood) => Promise<Outcome>;

/** What the answer records say of a decided read (replay reads them back). */
function decisionAttributes(decision: ReadDecision, judgedAt: number, refetched: boolean): Record<string, string> {
  const attributes: Record<string, string> = { judged_at: String(judgedAt) };
  if (refetched) attributes.refetched = "true";
  if (decision.stale.length > 0) attributes.stale_sources = decision.stale.map((s) => s.source.id).join(",");
  if (decision.kind === "answer") {
    const { provenance } = decision;
    attributes.freshness = FreshnessState[provenance.freshness?.state ?? 0] ?? "";
    const conflicts = provenance.conflicts.map(
      (c) => `${c.field}:${ConflictRule[c.rule]}:${c.chosenSourceId}<${[...c.sourceIds].sort().join("|")}`,
    );
    if (conflicts.length > 0) attributes.conflicts = conflicts.join(",");
  }
  return attributes;
}

/** The record's attributes of who answered: the engine, and the fallback when one answered. */
function answeredBy(answer: ReadAnswer): Record<string, string> {
  const { fallback } = answer;
  if (fallback === undefined) return { engine: answer.engine };
  if (fallback.kind === "engine") {
    return { engine: answer.engine, fallback: "engine", fallback_capability: fallback.capability };
  }
  return { engine: answer.engine, fallback: "last_good", stale_age_ms: String(Math.round(fallback.ageMs)) };
}

/** Creates the gate over the engine calls, the read policies and the router's clock. */
export function createAnswerGate(engines: ResilientEngines, policies: ReadPolicies, now: () => number): AnswerGate {
  return async (turn, { understanding, capability }) => {
    const attributes = {
      engine: capability.engine,
      capability: capability.name,
      freshness_policy: policies.freshness.digest,
      conflict_policy: policies.conflicts.digest,
    };
    let answered: ReadAnswer | undefined;
    const ask = async () => {
      answered = await engines.read(
        capability,
        {
          envelope: turn.envelope,
          capability: capability.name,
          input: { case: "read", value: { args: understanding.fields } },
        },
        turn.hop(),
      );
      return answered.response;
    };
    let response: InvokeResponse | undefined;
    try {
      let refetched = false;
      response = await ask();
      let judgedAt = now();
      let decision = decideRead(capability.name, answered!.engine, response, policies, judgedAt, refetched);
      if (decision.kind === "refetch") {
        refetched = true;
        response = await ask();
        judgedAt = now();
        decision = decideRead(capability.name, answered!.engine, response, policies, judgedAt, refetched);
      }
      if (decision.kind === "refetch") throw new Error("a refetched read asked for another refetch");
      const recorded = {
        ...attributes,
        ...answeredBy(answered!),
        ...decisionAttributes(decision, judgedAt, refetched),
        outcome_digest: outcomeDigest(decision.outcome),
      };
      const payload = toBinary(InvokeResponseSchema, response);
      if (decision.kind === "refuse") {
        turn.trail.record(Gate.ANSWER, Decision.DENY, {
          reason: ReasonCode.PROVENANCE_STALE,
          attributes: recorded,
          payload,
        });
      } else {
        turn.trail.record(Gate.ANSWER, Decision.PASS, { attributes: recorded, payload });
      }
      return decision.outcome;
    } catch (e) {
      if (e instanceof SeleneError && e.reason === ReasonCode.ENGINE_INVALID_RESPONSE && response !== undefined) {
        // The response that broke the rules is kept with the failure, for the operator and for replay.
        turn.trail.record(Gate.ANSWER, Decision.FAIL, {
          reason: e.reason,
          attributes,
          payload: toBinary(InvokeResponseSchema, response),
        });
        throw e;
      }
      const outcome = e instanceof SeleneError ? readRefusal(e) : undefined;
      if (outcome === undefined) throw e;
      turn.trail.record(Gate.ANSWER, Decision.DENY, {
        reason: (e as SeleneError).reason,
        attributes: { ...attributes, outcome_digest: outcomeDigest(outcome) },
      });
      return outcome;
    }
  };
}
