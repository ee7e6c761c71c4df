import { getOption, hasOption } from "@bufbuild/protobuf";
import { createValidator } from "@bufbuild/protovalidate";
import { field as fieldRules } from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";
import { expect } from "chai";
import { EnvelopeSchema } from "../../../gen/es/selene/kernel/v1/envelope_pb.js";
import { anEnvelope } from "../../support/builders.js";

// Our protos import gen/proto/buf/validate/validate.proto, which is derived from the
// descriptor @bufbuild/protovalidate ships (scripts/derive-validate-proto.ts). These
// tests prove the annotations written against that derived file are the ones the
// runtime reads and enforces.
describe("rules declared through the derived validate.proto", () => {
  const tenantField = EnvelopeSchema.field.tenantId;

  it("are readable by the runtime's own extension descriptor", () => {
    expect(hasOption(tenantField, fieldRules)).to.equal(true);
    const rules = getOption(tenantField, fieldRules);
    expect(rules.type.case).to.equal("string");
    if (rules.type.case !== "string") return;
    expect(rules.type.value.maxLen).to.equal(63n);
    expect(rules.type.value.pattern).to.equal("^[a-z0-9]([a-z0-9-]*[a-z0-9])?$");
  });

  it("are enforced by protovalidate at runtime", () => {
    const validator = createValidator();
    expect(validator.validate(EnvelopeSchema, anEnvelope()).kind).to.equal("valid");
    const result = validator.validate(EnvelopeSchema, anEnvelope({ tenantId: "x".repeat(64) }));
    expect(result.kind).to.equal("invalid");
    if (result.kind !== "invalid") return;
    expect(result.violations.map((v) => v.ruleId)).to.include("string.max_len");
  });
});
