/**
 * Replay of a correlation id's decision path from the audit ledger: the
 * records grouped by turn attempt, in ledger order, and the router's pure
 * decisions (services/runtime/turn-decisions/) re-run on the inputs the
 * records hold. Every check compares what was recorded with what the code
 * decides now; a difference is drift. The result holds ledger data only (no
 * clock, no host), so the same ledger always replays to the same bytes.
 */
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { type AuditRecord, Decision, Gate } from "../../gen/es/selene/audit/v1/audit_pb.js";
import {
  CapabilityKind,
  InvokeResponseSchema,
  SimulateResponseSchema,
  type Understanding,
} from "../../gen/es/selene/engine/v1/engine_pb.js";
import { ClarifySchema } from "../../gen/es/selene/kernel/v1/clarify_pb.js";
import { ReasonCode } from "../../gen/es/selene/kernel/v1/reason_pb.js";
import { sha256Digest } from "../runtime/content-digest.js";
import { projectClarifyPolicy } from "../runtime/policy/clarify-policy.js";
import { projectConflictPolicy } from "../runtime/policy/conflict-policy.js";
import { projectFreshnessPolicy } from "../runtime/policy/freshness-policy.js";
import { SeleneError } from "../runtime/selene-error.js";
import { chooseClarify } from "../runtime/turn-decisions/clarify-rule.js";
import { decideRead } from "../runtime/turn-decisions/read-decision.js";
import {
  type CapabilityView,
  capabilityRefusal,
  outcomeDigest,
  understandingOf,
} from "../runtime/turn-decisions/turn-decisions.js";

/** One recorded event, as replay shows it. */
export interface ReplayEvent {
  readonly sequence: string;
  readonly gate: string;
  readonly decision: string;
  readonly reason: string;
  readonly actor: string;
  readonly attributes: Readonly<Record<string, string>>;
  readonly inputDigest: string;
}

/** One decision re-run. */
export interface ReplayCheck {
  readonly gate: string;
  readonly recorded: string;
  readonly replayed: string;
  readonly drift: boolean;
}

/** One attempt of one turn, or the state changes of one effect (recorded by the outbox). */
export interface ReplayTurn {
  readonly kind: "turn" | "effect";
  readonly tenantId: string;
  readonly turnId: string;
  readonly attempt: string;
  readonly events: readonly ReplayEvent[];
  readonly checks: readonly ReplayCheck[];
}

/** The whole replay. */
export interface ReplayReport {
  readonly correlationId: string;
  readonly turns: readonly ReplayTurn[];
  readonly drift: boolean;
}

const name = (table: Record<number, string>, value: number) => table[value] ?? String(value);

/** The capability the registry had for the recorded intent, as the UNDERSTAND record holds it (none: unknown). */
function viewOf(event: ReplayEvent): CapabilityView | undefined {
  if (event.attributes.kind === undefined) return undefined;
  const kind = CapabilityKind[event.attributes.kind as keyof typeof CapabilityKind];
  return {
    name: event.attributes.intent ?? "",
    kind: kind ?? CapabilityKind.UNSPECIFIED,
    requiredFields: (event.attributes.required_fields ?? "").split(",").filter((f) => f !== ""),
  };
}

function describe(decision: string, reason: string, extra = ""): string {
  return [decision, reason === "UNSPECIFIED" ? "" : reason, extra].filter((part) => part !== "").join(" ");
}

/** The clarify gate's decision on `u`, described as its record is. */
function clarifyVerdict(u: Understanding, capability: CapabilityView): string {
  const choice = chooseClarify(projectClarifyPolicy(), u, capability.requiredFields);
  return choice === undefined
    ? describe("PASS", "UNSPECIFIED", "")
    : describe("ASK", "CLARIFY_REQUIRED", sha256Digest(toBinary(ClarifySchema, choice.clarify)));
}

/**
 * The answer gate's decision again, on the engine's recorded response at the recorded time of
 * judgement: the outcome's digest, or the failure a response whose provenance did not hold gave.
 */
function answerCheck(event: ReplayEvent, payload: Uint8Array): [string, string, string] {
  const { capability = "", engine = "", judged_at: judgedAt = "0" } = event.attributes;
  if (event.decision === "FAIL") {
    let replayed = "accepted";
    try {
      decideRead(
        capability,
        engine,
        fromBinary(InvokeResponseSchema, payload),
        readPolicies(),
        Number(judgedAt),
        false,
      );
    } catch (e) {
      replayed = e instanceof SeleneError ? `FAIL ${name(ReasonCode, e.reason)}` : "unreadable engine response";
    }
    return ["ANSWER provenance", describe(event.decision, event.reason), replayed];
  }
  let replayed: string;
  try {
    const response = fromBinary(InvokeResponseSchema, payload);
    const refetched = event.attributes.refetched === "true";
    const decision = decideRead(capability, engine, response, readPolicies(), Number(judgedAt), refetched);
    replayed = decision.kind === "refetch" ? "refetch" : outcomeDigest(decision.outcome);
  } catch {
    replayed = "unreadable engine response";
  }
  return ["ANSWER outcome", event.attributes.outcome_digest ?? "", replayed];
}

function readPolicies() {
  return { freshness: projectFreshnessPolicy(), conflicts: projectConflictPolicy() };
}

/** Re-runs the decisions of one attempt. */
function checksOf(records: readonly AuditRecord[], events: readonly ReplayEvent[]): ReplayCheck[] {
  const checks: ReplayCheck[] = [];
  const check = (gate: string, recorded: string, replayed: string) =>
    checks.push({ gate, recorded, replayed, drift: recorded !== replayed });
  const at = (gate: Gate) => events.findIndex((e) => e.gate === Gate[gate]);

  // Every recorded input still hashes to the digest recorded with it.
  records.forEach((record, i) => {
    const payload = record.event?.payload ?? new Uint8Array();
    if (payload.length === 0) return;
    check(`${events[i]!.gate} input`, events[i]!.inputDigest, sha256Digest(payload));
  });

  // The understand gate's decision (and the clarify gate's after it), from the nlp engine's recorded
  // response and the capability the registry had for its intent.
  const understood = at(Gate.UNDERSTAND);
  if (understood >= 0 && (records[understood]!.event?.payload.length ?? 0) > 0) {
    const recorded = events[understood]!;
    let u: Understanding | undefined;
    try {
      u = understandingOf(fromBinary(InvokeResponseSchema, records[understood]!.event!.payload));
    } catch {
      check("UNDERSTAND", "a readable nlp response", "unreadable");
    }
    if (u !== undefined) {
      const view = viewOf(recorded);
      const capability = view?.name === u.intent ? view : undefined;
      const refusal = capabilityRefusal(u.intent, capability);
      check(
        "UNDERSTAND",
        describe(recorded.decision, recorded.reason, recorded.attributes.intent),
        refusal === undefined
          ? describe("PASS", "UNSPECIFIED", u.intent)
          : describe("DENY", name(ReasonCode, refusal.reason), u.intent),
      );
      const clarify = at(Gate.CLARIFY);
      if (clarify >= 0) {
        const recordedClarify = events[clarify]!;
        const question = recordedClarify.decision === "ASK" ? sha256Digest(records[clarify]!.event!.payload) : "";
        check(
          "CLARIFY",
          describe(recordedClarify.decision, recordedClarify.reason, question),
          // A turn refused at UNDERSTAND never reaches the clarify gate.
          capability === undefined || refusal !== undefined ? "not reached" : clarifyVerdict(u, capability),
        );
      }
    }
  }

  const answered = at(Gate.ANSWER);
  if (answered >= 0 && (records[answered]!.event?.payload.length ?? 0) > 0) {
    check(...answerCheck(events[answered]!, records[answered]!.event!.payload));
  }

  const simulated = at(Gate.SIMULATE);
  if (simulated >= 0) {
    const event = events[simulated]!;
    let replayed: string;
    try {
      replayed = fromBinary(SimulateResponseSchema, records[simulated]!.event!.payload).effectDigest;
    } catch {
      replayed = "unreadable engine response";
    }
    check("SIMULATE effect", event.attributes.effect_digest ?? "", replayed);
  }
  return checks;
}

function eventOf(record: AuditRecord): ReplayEvent {
  const e = record.event!;
  const attributes: Record<string, string> = {};
  for (const key of Object.keys(e.attributes).sort()) attributes[key] = e.attributes[key]!;
  return {
    sequence: record.sequence.toString(),
    gate: name(Gate, e.gate),
    decision: name(Decision, e.decision),
    reason: name(ReasonCode, e.reason),
    actor: e.actor,
    attributes,
    inputDigest: e.inputDigest,
  };
}

/** The attempt an event belongs to: its event id without the last part (`<tenant>/<turn>/<attempt>`). */
function attemptKey(record: AuditRecord): string {
  const id = record.event?.eventId ?? "";
  return id.slice(0, Math.max(0, id.lastIndexOf("/")));
}

/** Replays `records` (one correlation id's, in any order). */
export function replayTurns(correlationId: string, records: readonly AuditRecord[]): ReplayReport {
  const ordered = [...records].sort(
    (a, b) =>
      (a.tenantId < b.tenantId ? -1 : a.tenantId > b.tenantId ? 1 : 0) ||
      (a.sequence < b.sequence ? -1 : a.sequence > b.sequence ? 1 : 0),
  );
  const groups = new Map<string, AuditRecord[]>();
  for (const record of ordered) {
    const key = `${record.tenantId}\u0000${attemptKey(record)}`;
    groups.set(key, [...(groups.get(key) ?? []), record]);
  }
  const turns = [...groups.values()].map((group) => {
    const events = group.map(eventOf);
    const first = group[0]!;
    return {
      kind: attemptKey(first).startsWith("outbox/") ? ("effect" as const) : ("turn" as const),
      tenantId: first.tenantId,
      turnId: first.turnId,
      attempt: attemptKey(first).split("/").pop() ?? "",
      events,
      checks: checksOf(group, events),
    };
  });
  return { correlationId, turns, drift: turns.some((turn) => turn.checks.some((c) => c.drift)) };
}
