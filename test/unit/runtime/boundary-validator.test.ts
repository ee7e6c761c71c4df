import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { WireType } from "@bufbuild/protobuf/wire";
import { status } from "@grpc/grpc-js";
import { expect } from "chai";
import fc from "fast-check";
import { type InvokeResponse, InvokeResponseSchema } from "../../../gen/es/selene/engine/v1/engine_pb.js";
import { ReasonCode } from "../../../gen/es/selene/kernel/v1/reason_pb.js";
import { SubmitTurnRequestSchema } from "../../../gen/es/selene/os/v1/turn_pb.js";
import {
  type BoundaryValidator,
  createBoundaryValidator,
  type Verdict,
} from "../../../services/runtime/boundary-validator.js";
import { CURRENT_CONTRACT_VERSION, formatVersion } from "../../../services/runtime/contract-version.js";
import { anEnvelope, aReadResponse, aTurnRequest } from "../../support/builders.js";
import { badInputs } from "./boundary-corpus.js";

/** The parts of a verdict that must be identical for identical input. */
function fingerprint(verdict: Verdict<unknown>): string {
  if (verdict.ok) return "ok";
  const e = verdict.error;
  return JSON.stringify([e.status, e.reason, e.fieldPath, e.message, e.violations, e.metadata]);
}

describe("boundary validator", () => {
  const validator: BoundaryValidator = createBoundaryValidator();

  describe("corpus of bad inputs", () => {
    it("holds at least 50 distinct cases", () => {
      expect(badInputs.length).to.be.at.least(50);
      expect(new Set(badInputs.map((c) => c.name)).size).to.equal(badInputs.length);
    });

    for (const input of badInputs) {
      it(`rejects ${input.name} with ${status[input.status]} ${ReasonCode[input.reason]} at "${input.fieldPath}"`, () => {
        const verdict = validator.validate(input.schema, input.bytes);
        if (verdict.ok) expect.fail("the validator accepted a bad input");
        expect(status[verdict.error.status]).to.equal(status[input.status]);
        expect(ReasonCode[verdict.error.reason]).to.equal(ReasonCode[input.reason]);
        expect(verdict.error.fieldPath).to.equal(input.fieldPath);
        expect(verdict.error.message).not.to.match(/\n\s+at /); // no stack traces
        expect(fingerprint(validator.validate(input.schema, input.bytes))).to.equal(fingerprint(verdict));
      });
    }
  });

  describe("valid input", () => {
    it("accepts a typical turn request and returns the decoded message", () => {
      const verdict = validator.validate(SubmitTurnRequestSchema, toBinary(SubmitTurnRequestSchema, aTurnRequest()));
      if (!verdict.ok) expect.fail(verdict.error.message);
      expect(verdict.message.envelope?.tenantId).to.equal("acme");
    });

    it("accepts a response that carries no envelope", () => {
      const verdict = validator.validate(InvokeResponseSchema, toBinary(InvokeResponseSchema, aReadResponse()));
      expect(verdict.ok).to.equal(true);
    });

    it("accepts N-1 when the server is at 1.1 and rejects 1.2 naming the range", () => {
      const at11 = createBoundaryValidator({ versions: { min: { major: 1, minor: 0 }, max: { major: 1, minor: 1 } } });
      const request = (minor: number) =>
        toBinary(
          SubmitTurnRequestSchema,
          aTurnRequest({ envelope: anEnvelope({ contractVersion: { major: 1, minor } }) }),
        );
      expect(at11.validate(SubmitTurnRequestSchema, request(0)).ok).to.equal(true);
      expect(at11.validate(SubmitTurnRequestSchema, request(1)).ok).to.equal(true);
      const future = at11.validate(SubmitTurnRequestSchema, request(2));
      if (future.ok) expect.fail("accepted 1.2");
      expect(future.error.reason).to.equal(ReasonCode.UNSUPPORTED_CONTRACT_VERSION);
      expect(future.error.message).to.contain("1.0-1.1");
      expect(future.error.metadata).to.deep.equal({
        received_version: "1.2",
        supported_min: "1.0",
        supported_max: "1.1",
      });
    });
  });

  describe("validateBuilt (a message this process built, with its encoding)", () => {
    const same = (message: InvokeResponse) => {
      const bytes = toBinary(InvokeResponseSchema, message);
      const built = validator.validateBuilt(InvokeResponseSchema, message, bytes);
      expect(fingerprint(built)).to.equal(fingerprint(validator.validate(InvokeResponseSchema, bytes)));
      return built;
    };

    it("accepts a valid response and returns the message it was given, not a decoded copy", () => {
      const message = aReadResponse();
      const verdict = same(message);
      if (!verdict.ok) expect.fail(verdict.error.message);
      expect(verdict.message).to.equal(message);
    });

    it("refuses a response that breaks a rule as validate does (no provenance)", () => {
      const verdict = same(create(InvokeResponseSchema, { result: { case: "readResult", value: { text: "Paris" } } }));
      if (verdict.ok) expect.fail("accepted a response without provenance");
      expect(verdict.error.reason).to.equal(ReasonCode.FIELD_INVALID);
      expect(verdict.error.violations.map((v) => v.fieldPath)).to.include("read_result.provenance");
    });

    it("refuses a response that carries unknown fields in its encoding", () => {
      const message = aReadResponse();
      message.$unknown = [{ no: 99, wireType: WireType.Varint, data: Uint8Array.of(1) }];
      const verdict = same(message);
      if (verdict.ok) expect.fail("accepted an unknown field");
      expect(verdict.error.reason).to.equal(ReasonCode.UNKNOWN_FIELD);
    });

    it("refuses a response over the size limit", () => {
      const small = createBoundaryValidator({ maxMessageBytes: 64 });
      const message = aReadResponse();
      const verdict = small.validateBuilt(InvokeResponseSchema, message, toBinary(InvokeResponseSchema, message));
      if (verdict.ok) expect.fail("accepted an oversized response");
      expect(verdict.error.reason).to.equal(ReasonCode.MESSAGE_TOO_LARGE);
    });
  });

  describe("the declared contract version (proto/selene/kernel/v1/version.proto)", () => {
    const request = (major: number, minor: number) =>
      toBinary(SubmitTurnRequestSchema, aTurnRequest({ envelope: anEnvelope({ contractVersion: { major, minor } }) }));

    it("is 1.1, and the default validator accepts 1.0 and 1.1", () => {
      expect(formatVersion(CURRENT_CONTRACT_VERSION)).to.equal("1.1");
      expect(validator.validate(SubmitTurnRequestSchema, request(1, 0)).ok, "1.0").to.equal(true);
      expect(validator.validate(SubmitTurnRequestSchema, request(1, 1)).ok, "1.1").to.equal(true);
    });

    for (const [major, minor] of [
      [1, 2],
      [0, 9],
      [0, 0],
      [2, 1],
    ] as const) {
      it(`refuses ${major}.${minor} naming the supported range 1.0-1.1`, () => {
        const verdict = validator.validate(SubmitTurnRequestSchema, request(major, minor));
        if (verdict.ok) expect.fail(`accepted ${major}.${minor}`);
        expect(verdict.error.reason).to.equal(ReasonCode.UNSUPPORTED_CONTRACT_VERSION);
        expect(verdict.error.status).to.equal(status.FAILED_PRECONDITION);
        expect(verdict.error.fieldPath).to.equal("envelope.contract_version");
        expect(verdict.error.message).to.contain("supported versions: 1.0-1.1");
        expect(verdict.error.metadata).to.deep.equal({
          received_version: `${major}.${minor}`,
          supported_min: "1.0",
          supported_max: "1.1",
        });
      });
    }
  });

  describe("violations", () => {
    it("lists every violation sorted by field path whatever the field order", () => {
      const bytes = toBinary(
        SubmitTurnRequestSchema,
        aTurnRequest({ envelope: anEnvelope({ userId: "", tenantId: "BAD" }), input: { case: "text", value: "" } }),
      );
      const verdict = validator.validate(SubmitTurnRequestSchema, bytes);
      if (verdict.ok) expect.fail("accepted");
      const paths = verdict.error.violations.map((v) => v.fieldPath);
      expect(paths).to.deep.equal([...paths].sort());
      expect(paths).to.include.members(["envelope.tenant_id", "envelope.user_id", "text"]);
      expect(verdict.error.message).to.match(/^envelope\.tenant_id: .* \(and \d+ more\)$/);
    });
  });

  describe("under random mutation (property)", () => {
    const seeds = [
      { schema: SubmitTurnRequestSchema, bytes: toBinary(SubmitTurnRequestSchema, aTurnRequest()) },
      { schema: InvokeResponseSchema, bytes: toBinary(InvokeResponseSchema, aReadResponse()) },
    ];
    const mutation = fc.record({
      seed: fc.nat({ max: seeds.length - 1 }),
      edits: fc.array(
        fc.oneof(
          fc.record({ kind: fc.constant("flip" as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
          fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
          fc.record({ kind: fc.constant("delete" as const), at: fc.nat() }),
          fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
        ),
        { minLength: 1, maxLength: 8 },
      ),
    });

    function mutate(input: Uint8Array, edits: ReadonlyArray<{ kind: string; at: number; value?: number }>): Uint8Array {
      const out = Array.from(input);
      for (const edit of edits) {
        const at = out.length === 0 ? 0 : edit.at % out.length;
        if (edit.kind === "flip") out[at] = edit.value ?? 0;
        else if (edit.kind === "insert") out.splice(at, 0, edit.value ?? 0);
        else if (edit.kind === "delete") out.splice(at, 1);
        else out.length = at;
      }
      return Uint8Array.from(out);
    }

    it("never throws and gives the same verdict twice", () => {
      fc.assert(
        fc.property(mutation, ({ seed, edits }) => {
          const { schema, bytes } = seeds[seed]!;
          const mutated = mutate(bytes, edits);
          const first = validator.validate(schema, mutated);
          const second = validator.validate(schema, mutated);
          expect(fingerprint(second)).to.equal(fingerprint(first));
          if (!first.ok) expect(first.error.reason).not.to.equal(ReasonCode.INTERNAL);
          if (first.ok) expect(() => fromBinary(schema, mutated)).not.to.throw();
        }),
        { numRuns: 3000, seed: 20261124 },
      );
    });
  });
});
