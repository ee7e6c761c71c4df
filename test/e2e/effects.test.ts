import { create, toBinary } from "@bufbuild/protobuf";
import { Client, type ServiceError, status } from "@grpc/grpc-js";
import { expect } from "chai";
import pg from "pg";
import { startStreamFaultProxy } from "../../chaos/stream-fault-proxy.js";
import { grpcAddress } from "../../deploy/mesh-processes.js";
import { Decision, Gate } from "../../gen/es/selene/audit/v1/audit_pb.js";
import { ReasonCode } from "../../gen/es/selene/kernel/v1/reason_pb.js";
import { SubmitTurnRequestSchema } from "../../gen/es/selene/os/v1/turn_pb.js";
import { decodeStatusDetails, REASON_KEY, STATUS_DETAILS_KEY } from "../../services/runtime/error-status.js";
import type { SeleneError } from "../../services/runtime/selene-error.js";
import { addressVariable } from "../../services/runtime/service-config.js";
import { clientCredentials } from "../../services/runtime/tls-credentials.js";
import { spiffeIdOf } from "../../services/runtime/workload-identities.js";
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

  async function simulate(text: string, userId?: string): Promise<string> {
    const r = await client.call("submitTurn", aTextTurn(text, userId === undefined ? {} : { userId }), opts());
    if (r.outcome.case !== "confirm") throw new Error(`expected CONFIRM, got ${r.outcome.case}`);
    return r.outcome.value.simulationId;
  }

  function confirm(simulationId: string, key?: string, accept = true, userId?: string) {
    const turn = aTextTurn("", { ...(key === undefined ? {} : { key }), ...(userId === undefined ? {} : { userId }) });
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

  /** A confirmation by `userId` as raw gRPC: the status, message and trailers exactly as they came. */
  async function rawConfirm(simulationId: string, userId: string, accept = true) {
    const { envelope } = aTextTurn("", { userId });
    const request = create(SubmitTurnRequestSchema, {
      envelope,
      input: { case: "confirmation", value: { simulationId, accept } },
    });
    const raw = new Client(mesh.routerAddress, clientCredentials(mesh.pkiDir, "demo-app", spiffeIdOf("router")), {
      "grpc.ssl_target_name_override": "router",
    });
    try {
      const err = await new Promise<ServiceError | null>((resolve) =>
        raw.makeUnaryRequest(
          "/selene.os.v1.TurnService/SubmitTurn",
          (b: Buffer) => b,
          (b: Buffer) => b,
          Buffer.from(toBinary(SubmitTurnRequestSchema, request)),
          (e) => resolve(e),
        ),
      );
      if (err === null) throw new Error("the confirmation was not refused");
      return {
        correlationId: envelope.correlationId,
        code: err.code,
        message: err.details,
        reason: err.metadata.get(REASON_KEY),
        details: err.metadata.get(STATUS_DETAILS_KEY)[0] as Buffer,
      };
    } finally {
      raw.close();
    }
  }

  /** The router's CONFIRM records of a correlation id, once there are any (appended off the request path). */
  async function confirmRecords(correlationId: string) {
    const query = () =>
      db.query(
        "SELECT decision, reason, attributes FROM audit.events WHERE correlation_id = $1 AND gate = $2 ORDER BY sequence",
        [correlationId, Gate.CONFIRM],
      );
    let { rows } = await query();
    for (const until = Date.now() + 5000; rows.length === 0 && Date.now() < until; ) {
      await new Promise((r) => setTimeout(r, 100));
      ({ rows } = await query());
    }
    return rows as { decision: number; reason: number; attributes: Record<string, string> }[];
  }

  it("refuses another user's confirmation exactly as a missing simulation, audits it, and still executes the owner's once", async () => {
    const simulationId = await simulate("remind me to renew the passport at 11am", "alice");
    const missing = await rawConfirm("sim-000000000000000000000000", "mallory");
    for (const accept of [true, false]) {
      const stolen = await rawConfirm(simulationId, "mallory", accept);
      // Nothing tells the two apart: status, message, reason trailer and ErrorDetail bytes.
      expect(stolen.code).to.equal(status.NOT_FOUND);
      expect(stolen.message).to.equal(missing.message);
      expect(stolen.reason).to.deep.equal(missing.reason);
      expect(stolen.details.equals(missing.details), "ErrorDetail bytes").to.equal(true);
      expect(decodeStatusDetails(stolen.details)?.reason).to.equal(ReasonCode.SIMULATION_NOT_FOUND);
      // The ledger says which it was.
      expect(await confirmRecords(stolen.correlationId)).to.deep.equal([
        {
          decision: Decision.DENY,
          reason: ReasonCode.ACCESS_DENIED,
          attributes: { simulation_id: simulationId, user_id: "mallory", owner_user_id: "alice" },
        },
      ]);
    }
    expect((await confirmRecords(missing.correlationId)).map((r) => r.reason)).to.deep.equal([
      ReasonCode.SIMULATION_NOT_FOUND,
    ]);
    const effects = await db.query("SELECT count(*)::int AS n FROM outbox.effects WHERE simulation_id = $1", [
      simulationId,
    ]);
    expect(effects.rows[0].n).to.equal(0);
    expect(await remindersLike("renew the passport")).to.equal(0);

    const first = await confirm(simulationId, undefined, true, "alice");
    const again = await confirm(simulationId, undefined, true, "alice");
    expect(first.outcome.case).to.equal("executed");
    expect(again.outcome).to.deep.equal(first.outcome);
    expect(await remindersLike("renew the passport")).to.equal(1);
  });

  it("executes an effect whose Enqueue answer was lost at once: grpc-js's retry gets the lease back, not after the 30 s lease", async () => {
    // The router reaches the outbox through a proxy that loses the answer of every second Enqueue.
    const proxy = await startStreamFaultProxy("outbox", grpcAddress("outbox", mesh.layout.portOffset));
    proxy.arm(mesh.pkiDir);
    try {
      await mesh.mesh.kill("router", "SIGTERM");
      await mesh.mesh.restart("router", { [addressVariable("outbox")]: proxy.address });
      proxy.setFault({ loseAnswerEvery: 2, loseAnswerOf: "Enqueue" });
      const before = await confirm(await simulate("remind me to check the mail at 1pm"));
      expect(before.outcome.case, "the 1st Enqueue is answered").to.equal("executed");
      const simulationId = await simulate("remind me to lock the door at 10pm");
      // The 2nd Enqueue stores the effect leased to the router's executor; its answer is lost and
      // grpc-js sends it again (the 3rd). Within the turn's deadline (5 s), not the lease's 30 s.
      const r = await confirm(simulationId);
      expect(r.outcome.case).to.equal("executed");
      expect(proxy.stats()).to.include({ lost: 1 });
      const { rows } = await db.query(
        `SELECT e.state, e.attempts, e.lease_owner,
                array(SELECT ev.from_state || '>' || ev.to_state || '#' || ev.attempt FROM outbox.effect_events ev
                      WHERE ev.effect_id = e.effect_id ORDER BY ev.event_id) AS history
         FROM outbox.effects e WHERE e.simulation_id = $1`,
        [simulationId],
      );
      // Performed on its first attempt, under the lease the lost answer carried: no lease lapsed.
      expect(rows).to.have.length(1);
      expect(rows[0]).to.deep.include({ state: "done", attempts: 1, history: ["pending>leased#1", "leased>done#1"] });
      expect(rows[0].lease_owner).to.match(/^router-.+~[0-9a-f]{12}$/);
      expect(await remindersLike("lock the door")).to.equal(1);
    } finally {
      await mesh.mesh.kill("router", "SIGTERM");
      await mesh.mesh.restart("router");
      await proxy.close();
    }
  });
});
