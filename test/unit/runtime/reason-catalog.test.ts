import { getOption, hasOption } from "@bufbuild/protobuf";
import { status } from "@grpc/grpc-js";
import { expect } from "chai";
import { ReasonCode, ReasonCodeSchema, reason_meta } from "../../../gen/es/selene/kernel/v1/reason_pb.js";
import { allReasons, reasonInfo } from "../../../services/runtime/reason-catalog.js";

describe("reason catalog", () => {
  it("gives every reason code a status through its reason_meta option", () => {
    const values = ReasonCodeSchema.values.filter((v) => v.number !== ReasonCode.UNSPECIFIED);
    for (const value of values) {
      expect(hasOption(value, reason_meta), value.name).to.equal(true);
      expect(getOption(value, reason_meta).status, value.name).not.to.equal(0);
    }
    expect(allReasons().map(([code]) => code)).to.deep.equal(values.map((v) => v.number).sort((a, b) => a - b));
  });

  it("names reasons without the enum prefix, uniquely", () => {
    const names = allReasons().map(([, info]) => info.name);
    expect(new Set(names).size).to.equal(names.length);
    expect(reasonInfo(ReasonCode.IDEMPOTENCY_KEY_REUSED).name).to.equal("IDEMPOTENCY_KEY_REUSED");
  });

  it("covers every area the system gives reasons for", () => {
    const names = allReasons().map(([, info]) => info.name);
    for (const needed of [
      "FIELD_INVALID",
      "CALLER_NOT_ALLOWED",
      "MEDIATION_BYPASS",
      "KILL_SWITCH_ACTIVE",
      "BUDGET_EXCEEDED_USER",
      "CLARIFY_REQUIRED",
      "ACCESS_DENIED",
      "SIMULATION_REQUIRED",
      "IDEMPOTENCY_KEY_REUSED",
      "ENGINE_UNAVAILABLE",
      "TENANT_MISMATCH",
    ]) {
      expect(names).to.include(needed);
    }
  });

  it("uses only INVALID_ARGUMENT or FAILED_PRECONDITION for validation reasons", () => {
    for (const reason of [
      ReasonCode.MALFORMED_MESSAGE,
      ReasonCode.MESSAGE_TOO_LARGE,
      ReasonCode.UNKNOWN_FIELD,
      ReasonCode.FIELD_INVALID,
      ReasonCode.UNSUPPORTED_CONTRACT_VERSION,
    ]) {
      expect([status.INVALID_ARGUMENT, status.FAILED_PRECONDITION]).to.include(reasonInfo(reason).status);
    }
  });

  it("maps an unknown number to INTERNAL rather than throwing", () => {
    expect(reasonInfo(424242 as ReasonCode).name).to.equal("INTERNAL");
  });
});
