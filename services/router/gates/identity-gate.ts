/**
 * The identity gate: the tenant comes from the caller's certificate, never
 * from the payload alone. The caller (a client app, by its SPIFFE id) must be
 * bound to a tenant, and the envelope must name that tenant. A refused claim
 * is recorded in the "_system" chain, never in the claimed tenant's.
 */
import { Decision, Gate } from "../../../gen/es/selene/audit/v1/audit_pb.js";
import { ReasonCode } from "../../../gen/es/selene/kernel/v1/reason_pb.js";
import { SeleneError } from "../../runtime/selene-error.js";
import type { Turn } from "../turn.js";

/** Checks a turn's tenant claim; throws CALLER_NOT_ALLOWED or TENANT_MISMATCH. */
export interface IdentityGate {
  (turn: Turn): void;
  /** Whether the turn's tenant claim holds, recording nothing: may work start before the gate has run. */
  holds(turn: Turn): boolean;
}

/** The refusal of `caller` claiming `tenantId`, or undefined when the claim holds. */
function claimRefusal(clientTenants: ReadonlyMap<string, string>, caller: string, tenantId: string) {
  const tenant = clientTenants.get(caller);
  if (tenant === undefined) {
    return new SeleneError(ReasonCode.CALLER_NOT_ALLOWED, `caller ${caller} is not bound to a tenant`);
  }
  if (tenantId !== tenant) {
    return new SeleneError(ReasonCode.TENANT_MISMATCH, "the envelope's tenant is not the caller's tenant", {
      fieldPath: "envelope.tenant_id",
    });
  }
  return undefined;
}

/** Creates the gate over the client app -> tenant bindings. */
export function createIdentityGate(clientTenants: ReadonlyMap<string, string>): IdentityGate {
  const gate = (turn: Turn) => {
    const attributes = { caller: turn.caller };
    const refusal = claimRefusal(clientTenants, turn.caller, turn.envelope.tenantId);
    if (refusal !== undefined) {
      turn.trail.untrusted();
      turn.trail.record(Gate.IDENTITY, Decision.DENY, { reason: refusal.reason, attributes });
      throw refusal;
    }
    turn.trail.record(Gate.IDENTITY, Decision.PASS, { attributes });
  };
  const holds = (turn: Turn) => claimRefusal(clientTenants, turn.caller, turn.envelope.tenantId) === undefined;
  return Object.assign(gate, { holds });
}
