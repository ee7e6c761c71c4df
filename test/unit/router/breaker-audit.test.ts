import { expect } from "chai";
import { type AuditEntry, Decision, Gate } from "../../../gen/es/selene/audit/v1/audit_pb.js";
import { ReasonCode } from "../../../gen/es/selene/kernel/v1/reason_pb.js";
import { createBreakerAudit } from "../../../services/router/resilience/breaker-audit.js";
import { createLogger } from "../../../services/runtime/logger.js";
import { DECLARED_CAPABILITIES } from "../../support/test-resilience.js";

describe("breaker audit", () => {
  it("records an engine's breaker opening in _system as a DENY with ENGINE_CIRCUIT_OPEN and the failure", async () => {
    const appended: AuditEntry[] = [];
    const record = createBreakerAudit(
      async (entries) => void appended.push(...entries),
      DECLARED_CAPABILITIES,
      createLogger("test", "silent"),
      "spiffe://selene.local/ns/selene/sa/router",
    );
    record({ engine: "tools", tenant: undefined, from: "closed", to: "open", reason: ReasonCode.ENGINE_UNAVAILABLE });
    record({ engine: "nlp", tenant: "acme", from: "open", to: "half_open", reason: undefined });
    await new Promise((resolve) => setImmediate(resolve));
    const [opened, probing] = appended as AuditEntry[];
    expect(opened).to.deep.include({ tenantId: "_system", correlationId: "breaker-tools" });
    expect(opened!.event).to.deep.include({
      gate: Gate.ANSWER,
      decision: Decision.DENY,
      reason: ReasonCode.ENGINE_CIRCUIT_OPEN,
    });
    expect(opened!.event!.attributes).to.deep.equal({
      engine: "tools",
      scope: "engine",
      state: "open",
      previous_state: "closed",
      failure: "ENGINE_UNAVAILABLE",
    });
    expect(probing).to.deep.include({ tenantId: "acme", correlationId: "breaker-nlp" });
    expect(probing!.event).to.deep.include({ gate: Gate.UNDERSTAND, decision: Decision.PASS });
    expect(probing!.event!.attributes).to.deep.include({ scope: "tenant", state: "half_open" });
    expect(opened!.event!.eventId).to.not.equal(probing!.event!.eventId);
  });
});
