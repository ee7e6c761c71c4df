/**
 * A turn's audit trail: the gate decisions of one turn, in order, appended to
 * the tenant's chain in one call. An effectful step flushes before it acts and
 * fails closed (AUDIT_UNAVAILABLE: no effect without its record); a read-only
 * turn that cannot be audited still answers, and says so in a log line and a
 * counter. Events of a turn whose tenant is not established (an identity
 * denial) go to the "_system" chain.
 */
import { randomUUID } from "node:crypto";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { type AuditEntry, AuditEntrySchema, type Decision, type Gate } from "../../gen/es/selene/audit/v1/audit_pb.js";
import type { Envelope } from "../../gen/es/selene/kernel/v1/envelope_pb.js";
import { ReasonCode } from "../../gen/es/selene/kernel/v1/reason_pb.js";
import { sha256Digest } from "../runtime/content-digest.js";
import type { Logger } from "../runtime/logger.js";
import { SYSTEM_CHAIN } from "../runtime/refusal-audit.js";
import { SeleneError } from "../runtime/selene-error.js";
import { inStepSpan } from "../runtime/step-span.js";
import type { AuditAppend } from "./audit-batcher.js";

/** What a recorded decision carries besides its gate and verdict. */
export interface DecisionDetail {
  readonly reason?: ReasonCode;
  readonly attributes?: Readonly<Record<string, string>>;
  /** The decision's recorded input, for replay (an engine's response bytes, say). */
  readonly payload?: Uint8Array;
}

/** Where a trail sends its events and how it reports trouble. */
export interface TrailSink {
  /** Appends entries to the ledger (audit-batcher.ts). */
  readonly append: AuditAppend;
  /** False: nothing is appended; a required flush fails closed (see SELENE_AUDIT). */
  readonly enabled: boolean;
  /** The router's SPIFFE id: the actor of every event. */
  readonly actor: string;
  readonly logger: Logger;
  /** Counts read-only turns answered without their audit record. */
  readonly onDegraded: () => void;
  readonly now?: () => number;
}

/** One turn's trail. */
export interface TurnTrail {
  record(gate: Gate, decision: Decision, detail?: DecisionDetail): void;
  /** Moves the turn's events to the "_system" chain (its tenant claim was refused). */
  untrusted(): void;
  /** The last decision recorded at `gate`, or undefined when it recorded none. */
  decisionAt(gate: Gate): Decision | undefined;
  /**
   * Appends what is not appended yet. `required`: throws AUDIT_UNAVAILABLE when the ledger cannot
   * take it; otherwise logs, counts and goes on.
   */
  flush(required: boolean, deadline: number): Promise<void>;
}

/** Starts the trail of one turn. */
export function startTurnTrail(sink: TrailSink, envelope: Envelope): TurnTrail {
  const now = sink.now ?? Date.now;
  // One attempt of a turn: a retry of the same turn after a failure records its own events.
  // 48 random bits, as 12 hex digits: a UUID's first 12 are random, and randomUUID draws from a
  // cached pool instead of the system's generator on every turn.
  const attempt = randomUUID().replace("-", "").slice(0, 12);
  const entries: AuditEntry[] = [];
  let flushed = 0;
  let tenantId = envelope.tenantId;
  return {
    record(gate, decision, detail = {}) {
      const payload = detail.payload ?? new Uint8Array();
      const init: MessageInitShape<typeof AuditEntrySchema> = {
        tenantId,
        correlationId: envelope.correlationId,
        turnId: envelope.turnId,
        event: {
          eventId: `${envelope.tenantId}/${envelope.turnId}/${attempt}/${entries.length + 1}`,
          gate,
          decision,
          reason: detail.reason ?? ReasonCode.UNSPECIFIED,
          actor: sink.actor,
          occurredAt: timestampFromMs(now()),
          attributes: { ...detail.attributes },
          inputDigest: payload.length > 0 ? sha256Digest(payload) : "",
          payload,
        },
      };
      entries.push(create(AuditEntrySchema, init));
    },
    untrusted() {
      tenantId = SYSTEM_CHAIN;
      for (const entry of entries) entry.tenantId = SYSTEM_CHAIN;
    },
    decisionAt(gate) {
      return entries.findLast((entry) => entry.event?.gate === gate)?.event?.decision;
    },
    async flush(required, deadline) {
      const pending = entries.slice(flushed);
      if (pending.length === 0) return;
      if (!sink.enabled) {
        if (required)
          throw new SeleneError(ReasonCode.AUDIT_UNAVAILABLE, "auditing is off here: no effect can be made");
        return;
      }
      try {
        await inStepSpan("audit append", () => sink.append(pending, deadline));
        flushed = entries.length;
      } catch (e) {
        const reason = e instanceof SeleneError ? e.reasonName : "INTERNAL";
        if (required) {
          throw new SeleneError(
            ReasonCode.AUDIT_UNAVAILABLE,
            "the audit ledger cannot record this step; nothing was done",
            {
              retryAfterMs: 1000,
              cause: e,
            },
          );
        }
        sink.onDegraded();
        sink.logger.warn({ reason, events: pending.length }, "audit degraded: turn answered without its audit record");
      }
    },
  };
}
