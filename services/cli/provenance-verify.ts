/**
 * Offline verification of the provenance of a correlation id's answers, from the audit ledger
 * alone: for every read the answer gate recorded with the engine's response, the response's bytes
 * still hash to the recorded input digest, its content digest is recomputed from its text and data
 * (sha256 of canonical JSON, services/runtime/content-digest.ts), and the answer decided again at
 * the recorded time of judgement hashes to the recorded outcome digest. Any difference is a
 * mismatch. Ledger data only, so one ledger always verifies to the same bytes.
 */
import { fromBinary } from "@bufbuild/protobuf";
import { type AuditRecord, Decision, Gate } from "../../gen/es/selene/audit/v1/audit_pb.js";
import { InvokeResponseSchema } from "../../gen/es/selene/engine/v1/engine_pb.js";
import { sha256Digest } from "../runtime/content-digest.js";
import { projectConflictPolicy } from "../runtime/policy/conflict-policy.js";
import { projectFreshnessPolicy } from "../runtime/policy/freshness-policy.js";
import { readContentDigest } from "../runtime/turn-decisions/provenance-check.js";
import { decideRead } from "../runtime/turn-decisions/read-decision.js";
import { outcomeDigest } from "../runtime/turn-decisions/turn-decisions.js";

/** One digest compared. */
export interface DigestCheck {
  readonly what: string;
  readonly recorded: string;
  readonly recomputed: string;
  readonly match: boolean;
}

/** One recorded read. */
export interface VerifiedAnswer {
  readonly sequence: string;
  readonly turnId: string;
  readonly decision: string;
  readonly sources: readonly string[];
  readonly checks: readonly DigestCheck[];
}

/** The whole verification. */
export interface ProvenanceReport {
  readonly correlationId: string;
  readonly answers: readonly VerifiedAnswer[];
  readonly mismatch: boolean;
}

function check(what: string, recorded: string, recomputed: string): DigestCheck {
  return { what, recorded, recomputed, match: recorded === recomputed };
}

function verifyOne(record: AuditRecord): VerifiedAnswer {
  const event = record.event!;
  const checks = [check("engine response", event.inputDigest, sha256Digest(event.payload))];
  let sources: string[] = [];
  try {
    const response = fromBinary(InvokeResponseSchema, event.payload);
    const result = response.result.case === "readResult" ? response.result.value : undefined;
    sources = (result?.provenance?.sources ?? []).map((s) => s.id);
    checks.push(
      check(
        "content",
        result?.provenance?.contentDigest ?? "(no provenance)",
        result === undefined ? "(no read result)" : readContentDigest(result.text, result.data),
      ),
    );
    if (event.decision !== Decision.FAIL) {
      const {
        capability = "",
        engine = "",
        judged_at: judgedAt = "0",
        outcome_digest: recorded = "",
      } = event.attributes;
      const policies = { freshness: projectFreshnessPolicy(), conflicts: projectConflictPolicy() };
      const decision = decideRead(
        capability,
        engine,
        response,
        policies,
        Number(judgedAt),
        event.attributes.refetched === "true",
      );
      checks.push(
        check("outcome", recorded, decision.kind === "refetch" ? "refetch" : outcomeDigest(decision.outcome)),
      );
    }
  } catch (e) {
    checks.push(
      check("readable", "a readable response whose provenance holds", e instanceof Error ? e.message : String(e)),
    );
  }
  return {
    sequence: record.sequence.toString(),
    turnId: record.turnId,
    decision: Decision[event.decision] ?? String(event.decision),
    sources,
    checks,
  };
}

/** Verifies the recorded reads among `records` (one correlation id's, in any order). */
export function verifyProvenance(correlationId: string, records: readonly AuditRecord[]): ProvenanceReport {
  const answers = [...records]
    .filter((r) => r.event?.gate === Gate.ANSWER && r.event.payload.length > 0)
    .sort((a, b) => (a.tenantId < b.tenantId ? -1 : a.tenantId > b.tenantId ? 1 : 0) || Number(a.sequence - b.sequence))
    .map(verifyOne);
  return { correlationId, answers, mismatch: answers.some((a) => a.checks.some((c) => !c.match)) };
}

/** The readable form: one line per answer, one per digest. */
export function provenanceText(report: ProvenanceReport): string {
  const bad = report.answers.flatMap((a) => a.checks).filter((c) => !c.match).length;
  const lines = [
    `correlation ${report.correlationId}: ${report.answers.length} recorded answer(s), ` +
      (bad === 0 ? "every digest matches" : `MISMATCH in ${bad}`),
  ];
  for (const a of report.answers) {
    lines.push("", `answer #${a.sequence} turn ${a.turnId || "-"} ${a.decision} sources ${a.sources.join(",") || "-"}`);
    for (const c of a.checks) {
      lines.push(
        `  ${c.match ? "ok      " : "MISMATCH"} ${c.what.padEnd(16)} ${c.recorded}${c.match ? "" : `  recomputed ${c.recomputed}`}`,
      );
    }
  }
  return lines.join("\n");
}
