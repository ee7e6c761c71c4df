import { expect } from "chai";
import { ReasonCode } from "../../../gen/es/selene/kernel/v1/reason_pb.js";
import { createIdentityGate } from "../../../services/router/gates/identity-gate.js";
import type { SeleneError } from "../../../services/runtime/selene-error.js";
import { ACME_APP, aTurn } from "../../support/turn-builder.js";

describe("identity gate", () => {
  const identity = createIdentityGate(new Map([[ACME_APP, "acme"]]));

  function refusalOf(run: () => void): SeleneError {
    try {
      run();
    } catch (e) {
      return e as SeleneError;
    }
    throw new Error("the gate passed");
  }

  it("passes a client app claiming its own tenant, and records the caller", async () => {
    const { turn, decisions, ledger } = aTurn({ envelope: { tenantId: "acme" } });
    identity(turn);
    expect(await decisions()).to.deep.equal(["IDENTITY PASS"]);
    expect(ledger.appended[0]!.tenantId).to.equal("acme");
    expect(ledger.appended[0]!.event!.attributes).to.deep.equal({ caller: ACME_APP });
  });

  it("refuses another tenant's claim with TENANT_MISMATCH, recorded in the system chain", async () => {
    const { turn, decisions, ledger } = aTurn({ envelope: { tenantId: "globex" } });
    const error = refusalOf(() => identity(turn));
    expect(error.reason).to.equal(ReasonCode.TENANT_MISMATCH);
    expect(error.fieldPath).to.equal("envelope.tenant_id");
    expect(await decisions()).to.deep.equal(["IDENTITY DENY TENANT_MISMATCH"]);
    expect(ledger.appended[0]!.tenantId).to.equal("_system");
  });

  it("refuses a caller bound to no tenant with CALLER_NOT_ALLOWED", async () => {
    const { turn, decisions } = aTurn({ call: { caller: "spiffe://selene.local/ns/clients/sa/stranger" } });
    expect(refusalOf(() => identity(turn)).reason).to.equal(ReasonCode.CALLER_NOT_ALLOWED);
    expect(await decisions()).to.deep.equal(["IDENTITY DENY CALLER_NOT_ALLOWED"]);
  });
});
