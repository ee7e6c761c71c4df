/**
 * The audit record of every circuit breaker state change: in the tenant's
 * chain for a tenant's breaker, in "_system" for an engine's own, under the
 * correlation id "breaker-<engine>", at the gate the engine serves (UNDERSTAND
 * for the understanding engine, ANSWER for a read engine, SIMULATE for an effect engine). Opening
 * is a DENY with ENGINE_CIRCUIT_OPEN and the reason of the failure that opened
 * it; half-opening (one probe let through) and closing are PASS. Records are
 * appended off the request path; one that cannot be appended is logged and
 * counted as unrecorded.
 */
import { randomBytes } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { type AuditEntry, AuditEntrySchema, Decision, Gate } from "../../../gen/es/selene/audit/v1/audit_pb.js";
import { CapabilityKind } from "../../../gen/es/selene/engine/v1/engine_pb.js";
import { ReasonCode } from "../../../gen/es/selene/kernel/v1/reason_pb.js";
import { countUnrecorded } from "../../runtime/audit-degraded.js";
import type { Logger } from "../../runtime/logger.js";
import { SYSTEM_CHAIN } from "../../runtime/refusal-audit.js";
import type { BreakerChange } from "./engine-breakers.js";
import type { DeclaredCapability } from "./resilience-policy.js";

/** Appends entries to the ledger. */
export type AppendEntries = (entries: readonly AuditEntry[]) => Promise<void>;

/** The gate a capability of each kind is decided at: where its engine's records go. */
export const GATE_OF_KIND: Record<CapabilityKind, Gate> = {
  [CapabilityKind.UNSPECIFIED]: Gate.UNSPECIFIED,
  [CapabilityKind.UNDERSTAND]: Gate.UNDERSTAND,
  [CapabilityKind.READ]: Gate.ANSWER,
  [CapabilityKind.EFFECT]: Gate.SIMULATE,
};

/** The audit entry of one change. */
export function breakerEntry(
  change: BreakerChange,
  gate: Gate,
  actor: string,
  eventId: string,
  at: number,
): AuditEntry {
  const opened = change.to === "open";
  const attributes: Record<string, string> = {
    engine: change.engine,
    scope: change.tenant === undefined ? "engine" : "tenant",
    state: change.to,
    previous_state: change.from,
  };
  if (opened && change.reason !== undefined) attributes.failure = ReasonCode[change.reason] ?? String(change.reason);
  return create(AuditEntrySchema, {
    tenantId: change.tenant ?? SYSTEM_CHAIN,
    correlationId: `breaker-${change.engine}`,
    turnId: "",
    event: {
      eventId,
      gate,
      decision: opened ? Decision.DENY : Decision.PASS,
      reason: opened ? ReasonCode.ENGINE_CIRCUIT_OPEN : ReasonCode.UNSPECIFIED,
      actor,
      occurredAt: timestampFromMs(at),
      attributes,
    },
  });
}

/** Creates the recorder: the function breakers tell their changes to. */
export function createBreakerAudit(
  append: AppendEntries,
  declared: readonly DeclaredCapability[],
  logger: Logger,
  actor: string,
): (change: BreakerChange) => void {
  const prefix = `${actor.split("/").pop()}/breaker/${randomBytes(6).toString("hex")}`;
  const gates = new Map<string, Gate>();
  for (const [, engine, kind] of declared) if (!gates.has(engine)) gates.set(engine, GATE_OF_KIND[kind]);
  let sequence = 0;
  return (change) => {
    sequence += 1;
    const entry = breakerEntry(
      change,
      gates.get(change.engine) ?? Gate.UNSPECIFIED,
      actor,
      `${prefix}/${sequence}`,
      Date.now(),
    );
    logger.warn(
      { engine: change.engine, tenant_id: change.tenant, from: change.from, to: change.to },
      "circuit breaker state changed",
    );
    append([entry]).catch((err: unknown) => {
      countUnrecorded("breaker");
      logger.warn({ err, engine: change.engine }, "audit degraded: breaker state change not recorded");
    });
  };
}
