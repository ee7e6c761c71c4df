import { readFileSync } from "node:fs";
import { expect } from "chai";
import { ReasonCode } from "../../../gen/es/selene/kernel/v1/reason_pb.js";
import {
  decodeStatusDetails,
  fromErrorDetail,
  PUSHBACK_KEY,
  peerMessage,
  REASON_KEY,
  STATUS_DETAILS_KEY,
  shownError,
  toGrpcStatus,
} from "../../../services/runtime/error-status.js";
import { imageRegistry } from "../../../services/runtime/release-surface.js";
import { SeleneError } from "../../../services/runtime/selene-error.js";

describe("error status", () => {
  const error = new SeleneError(ReasonCode.IDEMPOTENCY_IN_FLIGHT, "the first request is still running", {
    fieldPath: "envelope.idempotency_key",
    metadata: { key: "k-1" },
    retryAfterMs: 250,
    cause: new Error("SELECT secret FROM internals"),
  });

  it("puts status, reason and a deterministic message on the wire", () => {
    const wire = toGrpcStatus(error);
    expect(wire.code).to.equal(error.status);
    expect(wire.details).to.equal("[IDEMPOTENCY_IN_FLIGHT] the first request is still running");
    expect(wire.metadata?.get(REASON_KEY)).to.deep.equal(["IDEMPOTENCY_IN_FLIGHT"]);
  });

  it("sends the retry hint as gRPC's grpc-retry-pushback-ms trailer too, and none without a hint", () => {
    expect(toGrpcStatus(error).metadata?.get(PUSHBACK_KEY)).to.deep.equal(["250"]);
    const busy = new SeleneError(ReasonCode.ENGINE_BUSY, "tools has 64 calls in flight", { retryAfterMs: 50 });
    expect(toGrpcStatus(busy).code).to.equal(8); // RESOURCE_EXHAUSTED
    expect(toGrpcStatus(busy).metadata?.get(PUSHBACK_KEY)).to.deep.equal(["50"]);
    expect(toGrpcStatus(new SeleneError(ReasonCode.INTERNAL, "x")).metadata?.get(PUSHBACK_KEY)).to.deep.equal([]);
  });

  it("round-trips the ErrorDetail through grpc-status-details-bin", () => {
    const bytes = toGrpcStatus(error).metadata?.get(STATUS_DETAILS_KEY)[0] as Buffer;
    const detail = decodeStatusDetails(bytes);
    expect(detail?.reason).to.equal(ReasonCode.IDEMPOTENCY_IN_FLIGHT);
    const back = fromErrorDetail(detail!, "msg");
    expect(back.retryable).to.equal(true);
    expect(back.retryAfterMs).to.equal(250);
    expect(back.fieldPath).to.equal("envelope.idempotency_key");
    expect(back.metadata).to.deep.equal({ key: "k-1" });
  });

  it("gives back the peer's own message, the reason read from the detail, not the text", () => {
    const wire = toGrpcStatus(error);
    const detail = decodeStatusDetails(wire.metadata?.get(STATUS_DETAILS_KEY)[0] as Buffer)!;
    expect(peerMessage(detail, wire.details!)).to.equal("the first request is still running");
    // Another reason's prefix, or none, is part of the peer's text.
    expect(peerMessage(detail, "[ENGINE_REJECTED] no")).to.equal("[ENGINE_REJECTED] no");
    expect(peerMessage(detail, "plain")).to.equal("plain");
  });

  it("never carries the cause or a stack", () => {
    const bytes = toGrpcStatus(error).metadata?.get(STATUS_DETAILS_KEY)[0] as Buffer;
    expect(bytes.toString("latin1")).not.to.contain("SELECT");
    expect(bytes.toString("latin1")).not.to.contain("at ");
  });

  it("ignores trailer bytes that are not a status", () => {
    expect(decodeStatusDetails(Uint8Array.from([0xff, 0xff, 0xff]))).to.equal(undefined);
  });

  it("tells a caller of an earlier release the stand-in of a reason it lacks, under the reason's own status", () => {
    const busy = new SeleneError(ReasonCode.ENGINE_BUSY, "tools has 64 calls in flight", { retryAfterMs: 50 });
    for (const image of ["proto/releases/v1.0.binpb", "proto/releases/v1.1.binpb"]) {
      const wire = toGrpcStatus(busy, imageRegistry(readFileSync(image)));
      expect(wire.code, image).to.equal(8); // RESOURCE_EXHAUSTED, the transport's, unchanged
      const detail = decodeStatusDetails(wire.metadata?.get(STATUS_DETAILS_KEY)[0] as Buffer)!;
      expect(detail.reason, image).to.equal(ReasonCode.OVERLOADED);
      expect(detail.retryable).to.equal(true);
      expect(detail.retryAfter?.nanos).to.equal(50_000_000);
      expect(wire.metadata?.get(REASON_KEY)).to.deep.equal(["OVERLOADED"]);
      expect(wire.details).to.equal("[OVERLOADED] tools has 64 calls in flight");
      expect(peerMessage(detail, wire.details!)).to.equal("tools has 64 calls in flight");
      expect(wire.metadata?.get(PUSHBACK_KEY)).to.deep.equal(["50"]);
    }
    const today = shownError(busy);
    expect(today.detail.reason).to.equal(ReasonCode.ENGINE_BUSY);
    expect(today.message).to.equal("[ENGINE_BUSY] tools has 64 calls in flight");
    // A reason every release has is sent as it is.
    const old = shownError(error, imageRegistry(readFileSync("proto/releases/v1.0.binpb")));
    expect(old.reasonName).to.equal("IDEMPOTENCY_IN_FLIGHT");
  });
});
