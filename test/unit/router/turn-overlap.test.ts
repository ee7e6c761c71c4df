import { expect } from "chai";
import type { AuditEntry } from "../../../gen/es/selene/audit/v1/audit_pb.js";
import { ReasonCode } from "../../../gen/es/selene/kernel/v1/reason_pb.js";
import { requestDigest, withTurnIdempotency } from "../../../services/router/turn-idempotency.js";
import type { TurnRecords } from "../../../services/router/turn-records.js";
import { SeleneError } from "../../../services/runtime/selene-error.js";
import { deferred } from "../../support/deferred.js";
import { fakeTurnRecords } from "../../support/fake-turn-records.js";
import { aPipeline } from "../../support/pipeline-builder.js";
import { aRecordingLedger, aTurn, decisionsOf } from "../../support/turn-builder.js";

/** Turn records whose claims and completions wait until the test lets them go. */
function heldRecords() {
  const inner = fakeTurnRecords();
  const claim = deferred<void>();
  const complete = deferred<void>();
  const started = { claim: 0, complete: 0 };
  const records: TurnRecords = {
    ...inner,
    async claim(...args) {
      started.claim++;
      await claim.promise;
      return inner.claim(...args);
    },
    async complete(...args) {
      started.complete++;
      await complete.promise;
      return inner.complete(...args);
    },
  };
  return { records, started, letClaim: () => claim.resolve(), letComplete: () => complete.resolve() };
}

/** A ledger whose appends wait until the test lets them go. */
function heldLedger() {
  const ledger = aRecordingLedger();
  const append = deferred<void>();
  let appends = 0;
  const held = {
    ...ledger,
    sink: {
      ...ledger.sink,
      async append(entries: readonly AuditEntry[], deadline: number) {
        appends++;
        await append.promise;
        return ledger.sink.append(entries, deadline);
      },
    },
  };
  return { ledger: held, appends: () => appends, letAppend: () => append.resolve() };
}

const ticks = async (n = 5) => {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
};

describe("turn pipeline: steps that overlap", () => {
  it("asks the understanding engine while the claim is written, and records nothing before the claim is the turn's", async () => {
    const held = heldRecords();
    const ledger = aRecordingLedger();
    const { submit, text, registry } = aPipeline(undefined, undefined, { records: held.records, ledger });
    const submitted = submit(text("lookup the capital of France"));
    await ticks();
    expect(held.started.claim).to.equal(1);
    expect(registry.calls.map((c) => c.engine)).to.deep.equal(["nlp"]);
    expect(ledger.appended).to.deep.equal([]);
    held.letClaim();
    held.letComplete();
    const { decisions } = await submitted;
    expect(decisions).to.deep.equal([
      "VALIDATE PASS",
      "IDENTITY PASS",
      "UNDERSTAND PASS",
      "CLARIFY PASS",
      "ANSWER PASS",
    ]);
    expect(registry.calls.map((c) => c.engine)).to.deep.equal(["nlp", "tools"]);
  });

  it("does not ask ahead for a tenant claim that does not hold", async () => {
    const { submit, text, registry } = aPipeline();
    const { decisions, response } = await submit(text("lookup the capital of France", { tenantId: "globex" }));
    expect((response as SeleneError).reasonName).to.equal("TENANT_MISMATCH");
    expect(decisions).to.deep.equal(["VALIDATE PASS", "IDENTITY DENY TENANT_MISMATCH"]);
    expect(registry.calls).to.deep.equal([]);
  });

  it("does not ask ahead for a confirmation", async () => {
    const { submit, registry } = aPipeline();
    const { turn } = aTurn({ confirmation: { simulationId: "no-such-simulation" } });
    const { decisions } = await submit(turn.request);
    expect(decisions.at(-1)).to.equal("CONFIRM DENY SIMULATION_NOT_FOUND");
    expect(registry.calls).to.deep.equal([]);
  });

  it("writes the audit records and the turn's outcome at the same time, and answers once both are written", async () => {
    const held = heldRecords();
    const audit = heldLedger();
    const { submit, text } = aPipeline(undefined, undefined, { records: held.records, ledger: audit.ledger });
    held.letClaim();
    let answered = false;
    const submitted = submit(text("lookup the capital of France")).then((s) => {
      answered = true;
      return s;
    });
    await ticks();
    expect(held.started.complete).to.equal(1);
    expect(audit.appends()).to.equal(1);
    held.letComplete();
    await ticks();
    expect(answered).to.equal(false);
    audit.letAppend();
    const { response } = await submitted;
    expect(response).not.to.be.instanceOf(SeleneError);
    expect(decisionsOf(audit.ledger.appended)).to.have.length(5);
  });

  it("stores the outcome while the work the turn left (an effect's ack) ends, answers after it, and fails when it fails", async () => {
    const records = fakeTurnRecords();
    const options = { claimMarginMs: 1000, duplicateWaitMs: 100 };
    const ack = deferred<void>();
    const answer = { turnId: "t", correlationId: "c" };
    const run = withTurnIdempotency(
      async (turn) => {
        turn.answerAfter.push(ack.promise);
        return answer;
      },
      records,
      options,
    );
    const { turn } = aTurn();
    let answered = false;
    const submitted = run(turn).then(() => {
      answered = true;
    });
    await ticks();
    expect(answered).to.equal(false);
    const stored = await records.claim(
      turn.envelope.tenantId,
      turn.envelope.idempotencyKey,
      requestDigest(turn.request),
      1,
    );
    expect(stored.kind, "the outcome is stored while the ack is out").to.equal("replay");
    ack.resolve();
    await submitted;

    const failing = withTurnIdempotency(
      async (turn) => {
        turn.answerAfter.push(Promise.reject(new SeleneError(ReasonCode.DEADLINE_EXCEEDED, "not acked in time")));
        return answer;
      },
      records,
      options,
    );
    const second = aTurn({ envelope: { idempotencyKey: "key-2" } }).turn;
    const error = await failing(second).then(
      () => undefined,
      (e: SeleneError) => e,
    );
    expect(error?.reason).to.equal(ReasonCode.DEADLINE_EXCEEDED);
    // Its retry gets the stored outcome: the engine did commit the effect.
    expect(await failing(second)).to.deep.include({ turnId: "t" });
  });
});
