import { status } from "@grpc/grpc-js";
import { expect } from "chai";
import pg from "pg";
import { ReasonCode } from "../../gen/es/selene/kernel/v1/reason_pb.js";
import type { SeleneError } from "../../services/runtime/selene-error.js";
import { startTestMesh, type TestMesh } from "../support/mesh-fixture.js";
import { aTextTurn, aTurnClient, type TurnResponse } from "../support/turn-client.js";

const OFFSET = -27000;

describe("mesh end to end: confirmed effects happen once", function () {
  this.timeout(120_000);
  let mesh: TestMesh;
  let client: ReturnType<typeof aTurnClient>;
  let db: pg.Pool;
  const opts = () => ({ deadline: Date.now() + 10_000, correlationId: "effects" });

  before(async () => {
    mesh = await startTestMesh(OFFSET);
    client = aTurnClient(mesh.routerAddress, mesh.pkiDir);
    db = new pg.Pool({ connectionString: mesh.layout.databaseUrl, max: 2 });
  });
  after(async () => {
    client?.close();
    await db?.end();
    await mesh?.stop();
  });

  async function simulate(text: string): Promise<string> {
    const r = await client.call("submitTurn", aTextTurn(text), opts());
    if (r.outcome.case !== "confirm") throw new Error(`expected CONFIRM, got ${r.outcome.case}`);
    return r.outcome.value.simulationId;
  }

  function confirm(simulationId: string, key?: string, accept = true) {
    const turn = aTextTurn("", key === undefined ? {} : { key });
    return client.call(
      "submitTurn",
      { envelope: turn.envelope, input: { case: "confirmation", value: { simulationId, accept } } },
      opts(),
    );
  }

  async function remindersLike(text: string): Promise<number> {
    const { rows } = await db.query("SELECT count(*)::int AS n FROM reminders.reminders WHERE text = $1", [text]);
    return rows[0].n as number;
  }

  it("simulates, confirms and executes: EXECUTED with the effect id, one reminder", async () => {
    const simulationId = await simulate("remind me to feed the cat at 8am");
    const r = await confirm(simulationId);
    expect(r.outcome.case).to.equal("executed");
    if (r.outcome.case !== "executed") return;
    expect(r.outcome.value.simulationId).to.equal(simulationId);
    expect(r.outcome.value.effectId).to.not.equal("");
    expect(await remindersLike("feed the cat")).to.equal(1);
  });

  it("performs one effect for 200 concurrent identical confirms", async () => {
    const simulationId = await simulate("remind me to call the bank at 10am");
    const results = await Promise.allSettled(
      Array.from({ length: 200 }, () => confirm(simulationId, "same-confirm-key")),
    );
    const executed = results.filter(
      (r): r is PromiseFulfilledResult<TurnResponse> => r.status === "fulfilled" && r.value.outcome.case === "executed",
    );
    const failures = results.filter((r) => r.status === "rejected") as PromiseRejectedResult[];
    // A duplicate either waits for the first and replays it, or is told to retry: never run twice.
    for (const f of failures) expect((f.reason as SeleneError).reason).to.equal(ReasonCode.IDEMPOTENCY_IN_FLIGHT);
    expect(executed.length).to.be.greaterThan(0);
    expect(new Set(executed.map((r) => (r.value.outcome.value as { effectId: string }).effectId)).size).to.equal(1);
    expect(await remindersLike("call the bank")).to.equal(1);
  });

  it("performs one effect when many different turns confirm the same simulation", async () => {
    const simulationId = await simulate("remind me to water the roses at 6pm");
    const results = await Promise.all(Array.from({ length: 20 }, () => confirm(simulationId)));
    const ids = new Set(
      results.map((r) => (r.outcome.case === "executed" ? r.outcome.value.effectId : r.outcome.case)),
    );
    expect([...ids]).to.have.length(1);
    expect(await remindersLike("water the roses")).to.equal(1);
  });

  it("replays the stored outcome for the same key and refuses the key with another request", async () => {
    const simulationId = await simulate("remind me to stretch at 3pm");
    const first = await confirm(simulationId, "replay-key");
    const again = await confirm(simulationId, "replay-key");
    expect(again).to.deep.equal(first);
    try {
      await client.call("submitTurn", aTextTurn("what time is it", { key: "replay-key" }), opts());
      expect.fail("the reused key passed");
    } catch (e) {
      expect((e as SeleneError).status).to.equal(status.FAILED_PRECONDITION);
      expect((e as SeleneError).reason).to.equal(ReasonCode.IDEMPOTENCY_KEY_REUSED);
    }
    expect(await remindersLike("stretch")).to.equal(1);
  });

  it("does nothing for a declined simulation, and refuses to execute it afterwards", async () => {
    const simulationId = await simulate("remind me to buy milk at 7pm");
    const declined = await confirm(simulationId, undefined, false);
    expect(declined.outcome.case).to.equal("refused");
    const late = await confirm(simulationId);
    expect(late.outcome.case).to.equal("refused");
    if (late.outcome.case === "refused")
      expect(late.outcome.value.reason).to.equal(ReasonCode.SIMULATION_ALREADY_RESOLVED);
    expect(await remindersLike("buy milk")).to.equal(0);
  });

  it("refuses to confirm a simulation that does not exist", async () => {
    try {
      await confirm("sim-000000000000000000000000");
      expect.fail("passed");
    } catch (e) {
      expect((e as SeleneError).reason).to.equal(ReasonCode.SIMULATION_NOT_FOUND);
    }
  });
});
