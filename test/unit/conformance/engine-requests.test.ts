import { expect } from "chai";
import { ENGINE_METHODS, spoiledRequests, wellFormedRequest } from "../../../conformance/engine-requests.js";
import { EngineService } from "../../../gen/es/selene/engine/v1/engine_pb.js";
import { createBoundaryValidator } from "../../../services/runtime/boundary-validator.js";

const validator = createBoundaryValidator();
const inputOf = (method: string) => EngineService.methods.find((m) => m.name === method)!.input;

describe("the conformance suite's requests, against the TypeScript boundary", () => {
  for (const method of ENGINE_METHODS) {
    it(`admits the well-formed ${method} request`, () => {
      expect(validator.validate(inputOf(method), wellFormedRequest(method)).ok).to.equal(true);
    });

    it(`refuses each spoiled ${method} request as the suite expects`, () => {
      for (const spoiled of spoiledRequests(method)) {
        const verdict = validator.validate(inputOf(method), spoiled.bytes);
        expect(verdict.ok, spoiled.what).to.equal(false);
        if (verdict.ok) continue;
        const { error } = verdict;
        const first = error.violations[0];
        expect([error.status, error.reason], spoiled.what).to.deep.equal([
          spoiled.expected.status,
          spoiled.expected.reason,
        ]);
        expect([error.fieldPath, first?.fieldPath ?? ""], spoiled.what).to.include(spoiled.expected.fieldPath);
        if (spoiled.expected.ruleId !== undefined)
          expect(first?.ruleId, spoiled.what).to.equal(spoiled.expected.ruleId);
      }
    });
  }

  it("spoils each method in the eight ways the boundary checks", () => {
    for (const method of ENGINE_METHODS) expect(spoiledRequests(method)).to.have.length(8);
  });
});
