import { toBinary } from "@bufbuild/protobuf";
import { expect } from "chai";
import { type AuditEntry, AuditEntrySchema, Decision, Gate } from "../../../gen/es/selene/audit/v1/audit_pb.js";
import { CapabilityKind } from "../../../gen/es/selene/engine/v1/engine_pb.js";
import { ReasonCode } from "../../../gen/es/selene/kernel/v1/reason_pb.js";
import { createCatalogEvents } from "../../../services/router/catalog-events.js";
import { createBoundaryValidator } from "../../../services/runtime/boundary-validator.js";
import { createLogger } from "../../../services/runtime/logger.js";

const ROUTER = "spiffe://selene.local/ns/selene/sa/router";
const DIGEST = `sha256:${"a".repeat(64)}`;

describe("catalog events", () => {
  it("records withdrawals, restorations, applied and refused versions in _system, each a valid audit entry", async () => {
    const appended: AuditEntry[] = [];
    const events = createCatalogEvents(
      async (entries) => void appended.push(...entries),
      createLogger("test", "silent"),
      ROUTER,
    );
    events.capability(
      { engine: "calc", capability: "calc.evaluate", kind: CapabilityKind.READ, withdrawn: "kind" },
      DIGEST,
    );
    events.capability(
      { engine: "calc", capability: "calc.evaluate", kind: CapabilityKind.READ, withdrawn: undefined },
      DIGEST,
    );
    events.applied({ catalog: DIGEST, resilience: DIGEST, previous: DIGEST, added: ["notes"], removed: ["calc"] });
    events.refused({ file: "policy/engines.json", line: 5, at: ".engines[0].name", error: "must be a DNS label" });
    await new Promise((resolve) => setImmediate(resolve));
    const [withdrawn, restored, applied, refused] = appended;

    expect(withdrawn).to.deep.include({ tenantId: "_system", correlationId: "catalog-calc" });
    expect(withdrawn!.event).to.deep.include({
      gate: Gate.ANSWER,
      decision: Decision.DENY,
      reason: ReasonCode.CAPABILITY_UNKNOWN,
    });
    expect(withdrawn!.event!.attributes).to.deep.equal({
      engine: "calc",
      capability: "calc.evaluate",
      kind: "READ",
      catalog: DIGEST,
      withdrawn: "kind",
    });
    expect(restored!.event).to.deep.include({
      gate: Gate.ANSWER,
      decision: Decision.PASS,
      reason: ReasonCode.UNSPECIFIED,
    });
    expect(restored!.event!.attributes).to.not.have.property("withdrawn");
    expect(applied).to.deep.include({ tenantId: "_system", correlationId: "catalog" });
    expect(applied!.event).to.deep.include({ gate: Gate.OPERATOR, decision: Decision.PASS });
    expect(applied!.event!.attributes).to.deep.include({ change: "catalog_applied", added: "notes", removed: "calc" });
    expect(refused!.event).to.deep.include({
      gate: Gate.OPERATOR,
      decision: Decision.DENY,
      reason: ReasonCode.FIELD_INVALID,
    });
    expect(refused!.event!.attributes).to.deep.include({
      change: "catalog_refused",
      line: "5",
      at: ".engines[0].name",
    });
    expect(new Set(appended.map((e) => e.event!.eventId)).size).to.equal(4);
    // Each keeps the contract's rules: the ledger takes it.
    const validator = createBoundaryValidator();
    for (const entry of appended) {
      expect(validator.validate(AuditEntrySchema, toBinary(AuditEntrySchema, entry)).ok).to.equal(true);
    }
  });
});
