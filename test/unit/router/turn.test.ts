import { expect } from "chai";
import { ReasonCode } from "../../../gen/es/selene/kernel/v1/reason_pb.js";
import { HOP_RESERVE_MS } from "../../../services/router/turn-deadline.js";
import type { SeleneError } from "../../../services/runtime/selene-error.js";
import { FIXED_MS } from "../../support/builders.js";
import { aTurn, DEFAULT_DEADLINE_MS } from "../../support/turn-builder.js";

describe("a turn", () => {
  it("keeps the caller's deadline when the call has one", () => {
    const { turn } = aTurn({ call: { deadline: FIXED_MS + 1234 } });
    expect(turn.deadline).to.equal(FIXED_MS + 1234);
  });

  it("sets the default budget once, from when it started, when the call has no deadline", () => {
    let now = FIXED_MS;
    const { turn } = aTurn({ now: () => now });
    now += 1000;
    expect(turn.deadline).to.equal(FIXED_MS + DEFAULT_DEADLINE_MS);
  });

  it("gives each outgoing call what is left of the deadline minus the reserve, with the turn's correlation id", () => {
    let now = FIXED_MS;
    const { turn } = aTurn({ now: () => now, call: { deadline: FIXED_MS + 500, correlationId: "c-9" } });
    expect(turn.hop()).to.deep.equal({ deadline: FIXED_MS + 500 - HOP_RESERVE_MS, correlationId: "c-9" });
    now = FIXED_MS + 500 - HOP_RESERVE_MS;
    expect(() => turn.hop())
      .to.throw()
      .that.satisfies((e: SeleneError) => e.reason === ReasonCode.DEADLINE_EXCEEDED);
  });
});
