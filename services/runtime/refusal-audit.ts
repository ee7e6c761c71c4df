/**
 * Audits calls a server's boundary refused (no identity, an identity not
 * allowed, bytes that fail validation) in the "_system" chain: their tenant
 * is unknown or untrusted. The router and every engine record their refusals
 * this way (an engine's refusal of a caller other than the router is a
 * mediation bypass attempt). Refusals are gathered and appended in batches off
 * the request path, so a flood of bad calls costs the ledger one append per
 * batch; past a bound they are counted and dropped, and said in the log.
 */
import { randomBytes } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { type AuditEntry, AuditEntrySchema, Decision, Gate } from "../../gen/es/selene/audit/v1/audit_pb.js";
import { ReasonCode } from "../../gen/es/selene/kernel/v1/reason_pb.js";
import type { AuditClient } from "./audit-client.js";
import { countUnrecorded } from "./audit-degraded.js";
import { CURRENT_CONTRACT_VERSION } from "./contract-version.js";
import type { Logger } from "./logger.js";
import type { BoundaryRefusal } from "./unary-service.js";

/** The chain of records that belong to no established tenant. */
export const SYSTEM_CHAIN = "_system";

const CORRELATION = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** Refusals of who the caller is (the rest refuse what it sent). */
const IDENTITY_REASONS = new Set<ReasonCode>([
  ReasonCode.IDENTITY_MISSING,
  ReasonCode.CALLER_NOT_ALLOWED,
  ReasonCode.MEDIATION_BYPASS,
]);

/** AppendEvents takes at most 64 entries. */
const BATCH = 64;

/** The recorder. */
export interface RefusalAudit {
  readonly record: (refusal: BoundaryRefusal) => void;
  /** Appends what is waiting (at shutdown). */
  flush(): Promise<void>;
}

/** Options of the recorder. */
export interface RefusalAuditOptions {
  readonly actor: string;
  readonly intervalMs: number;
  /** Refusals kept waiting at most; more are dropped (and counted). */
  readonly maxPending: number;
}

/** Creates the recorder over `audit`. */
export function createRefusalAudit(audit: AuditClient, logger: Logger, options: RefusalAuditOptions): RefusalAudit {
  const prefix = `${options.actor.split("/").pop()}/refused/${randomBytes(6).toString("hex")}`;
  let pending: AuditEntry[] = [];
  let sequence = 0;
  let dropped = 0;
  let timer: NodeJS.Timeout | undefined;

  async function flush(): Promise<void> {
    timer = undefined;
    while (pending.length > 0) {
      const batch = pending.slice(0, BATCH);
      pending = pending.slice(BATCH);
      try {
        await audit.call(
          "appendEvents",
          { envelope: { contractVersion: CURRENT_CONTRACT_VERSION, correlationId: "refusals" }, entries: batch },
          { deadline: Date.now() + 5000, correlationId: "refusals" },
        );
      } catch (err) {
        dropped += batch.length;
        countUnrecorded("refusal", batch.length);
        logger.warn({ err, dropped }, "audit degraded: refused calls not recorded");
      }
    }
  }

  return {
    record(refusal) {
      if (pending.length >= options.maxPending) {
        dropped += 1;
        countUnrecorded("refusal");
        if (dropped % 1000 === 1) logger.warn({ dropped }, "audit degraded: too many refused calls to record");
        return;
      }
      sequence += 1;
      const identity = IDENTITY_REASONS.has(refusal.reason);
      pending.push(
        create(AuditEntrySchema, {
          tenantId: SYSTEM_CHAIN,
          correlationId: CORRELATION.test(refusal.correlationId) ? refusal.correlationId : "uncorrelated",
          turnId: "",
          event: {
            eventId: `${prefix}/${sequence}`,
            gate: identity ? Gate.IDENTITY : Gate.VALIDATE,
            decision: Decision.DENY,
            reason: refusal.reason,
            actor: options.actor,
            occurredAt: timestampFromMs(Date.now()),
            attributes: { caller: refusal.caller ?? "", method: refusal.method },
          },
        }),
      );
      timer ??= setTimeout(() => void flush(), options.intervalMs);
    },
    async flush() {
      clearTimeout(timer);
      await flush();
    },
  };
}
