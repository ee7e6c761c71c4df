import { expect } from "chai";
import pg from "pg";
import { ReasonCode } from "../../gen/es/selene/kernel/v1/reason_pb.js";
import { CRASH_POINTS } from "../../services/router/crash-points.js";
import { SeleneError } from "../../services/runtime/selene-error.js";
import { startTestMesh, type TestMesh } from "../support/mesh-fixture.js";
import { aTextTurn, aTurnClient, type TurnResponse } from "../support/turn-client.js";

const OFFSET = -26000;
/** Short leases and claims, so that a crashed router's work comes back within the test. */
const FAST = { SELENE_EXECUTOR_LEASE_MS: "1000", SELENE_CLAIM_MARGIN_MS: "300" };

describe("mesh end to end: crashes on the commit path lose nothing and duplicate nothing", function () {
  this.timeout(180_000);
  let mesh: TestMesh;
  let db: pg.Pool;

  before(async () => {
    mesh = await startTestMesh(OFFSET);
    await mesh.mesh.kill("router", "SIGTERM");
    await mesh.mesh.restart("router", FAST);
    db = new pg.Pool({ connectionString: mesh.layout.databaseUrl, max: 2 });
  });
  after(async () => {
    await db?.end();
    await mesh?.stop();
  });

  async function withClient<T>(work: (client: ReturnType<typeof aTurnClient>) => Promise<T>): Promise<T> {
    const client = aTurnClient(mesh.routerAddress, mesh.pkiDir);
    try {
      return await work(client);
    } finally {
      client.close();
    }
  }

  const simulate = (text: string) =>
    withClient(async (client) => {
      const r = await client.call("submitTurn", aTextTurn(text), {
        deadline: Date.now() + 5000,
        correlationId: "crash",
      });
      if (r.outcome.case !== "confirm") throw new Error(`expected CONFIRM, got ${r.outcome.case}`);
      return r.outcome.value.simulationId;
    });

  const confirmOnce = (simulationId: string, key: string) =>
    withClient((client) => {
      const turn = aTextTurn("", { key });
      return client.call(
        "submitTurn",
        { envelope: turn.envelope, input: { case: "confirmation", value: { simulationId, accept: true } } },
        { deadline: Date.now() + 3000, correlationId: "crash" },
      );
    });

  /** Retries a confirmation with the same key until it is EXECUTED, as a client would. */
  async function confirmUntilExecuted(simulationId: string, key: string): Promise<TurnResponse> {
    const until = Date.now() + 30_000;
    for (;;) {
      try {
        const r = await confirmOnce(simulationId, key);
        if (r.outcome.case === "executed") return r;
        throw new Error(`unexpected outcome ${r.outcome.case}`);
      } catch (e) {
        if (!(e instanceof SeleneError) || !e.retryable || Date.now() > until) throw e;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
  }

  async function effectsOf(text: string): Promise<{ reminders: number; done: number; processed: number }> {
    const reminders = await db.query("SELECT count(*)::int AS n FROM reminders.reminders WHERE text = $1", [text]);
    const done = await db.query(
      `SELECT count(*)::int AS n FROM outbox.effects e JOIN router.simulations s ON s.simulation_id = e.simulation_id
       WHERE e.state = 'done' AND s.fields->>'text' = $1`,
      [text],
    );
    const processed = await db.query(
      `SELECT count(*)::int AS n FROM reminders.processed_keys p JOIN reminders.reminders r ON r.id = p.effect_id
       WHERE r.text = $1`,
      [text],
    );
    return { reminders: reminders.rows[0].n, done: done.rows[0].n, processed: processed.rows[0].n };
  }

  for (const point of CRASH_POINTS) {
    it(`recovers when the router is killed ${point.replace("-", " ")}: exactly one effect`, async () => {
      const text = `crash test ${point}`;
      const simulationId = await simulate(`remind me to ${text} at 9am`);
      await mesh.mesh.kill("router", "SIGTERM");
      await mesh.mesh.restart("router", { ...FAST, SELENE_CRASH_AT: point });
      const crashed = await confirmOnce(simulationId, `key-${point}`).then(
        () => undefined,
        (e: SeleneError) => e,
      );
      expect(crashed?.reason, "the call died with the router").to.equal(ReasonCode.DEPENDENCY_UNAVAILABLE);
      expect(await mesh.mesh.exited("router")).to.equal("SIGKILL"); // it killed itself at the crash point
      await mesh.mesh.restart("router", FAST);
      const r = await confirmUntilExecuted(simulationId, `key-${point}`);
      expect(r.outcome.case).to.equal("executed");
      expect(await effectsOf(text)).to.deep.equal({ reminders: 1, done: 1, processed: 1 });
    });
  }

  it("recovers when the router is killed holding the lease its enqueue handed back: the lease lapses, another executor performs it once", async () => {
    const text = "crash test enqueue and lease";
    const simulationId = await simulate(`remind me to ${text} at 9am`);
    await mesh.mesh.kill("router", "SIGTERM");
    await mesh.mesh.restart("router", { ...FAST, SELENE_CRASH_AT: "after-enqueue", SELENE_EXECUTOR_ID: "router-dead" });
    const crashed = await confirmOnce(simulationId, "key-enqueue-lease").then(
      () => undefined,
      (e: SeleneError) => e,
    );
    expect(crashed?.reason, "the call died with the router").to.equal(ReasonCode.DEPENDENCY_UNAVAILABLE);
    expect(await mesh.mesh.exited("router")).to.equal("SIGKILL");
    const effectOf = async () =>
      (
        await db.query(
          `SELECT e.state, e.attempts, e.lease_owner,
                  array(SELECT ev.from_state || '>' || ev.to_state || '#' || ev.attempt FROM outbox.effect_events ev
                        WHERE ev.effect_id = e.effect_id ORDER BY ev.event_id) AS history
           FROM outbox.effects e WHERE e.simulation_id = $1`,
          [simulationId],
        )
      ).rows;
    // The effect was stored already leased to the router that died (its name and its process's
    // instance), on its first attempt.
    const owner = /^router-dead~[0-9a-f]{12}$/;
    const [stored] = await effectOf();
    expect(stored.lease_owner).to.match(owner);
    expect({ ...stored, lease_owner: "" }).to.deep.equal({
      state: "leased",
      attempts: 1,
      lease_owner: "",
      history: ["pending>leased#1"],
    });
    // Restarted under the same name: a process of its own, which the dead one's lease is not handed back to.
    await mesh.mesh.restart("router", { ...FAST, SELENE_EXECUTOR_ID: "router-dead" });
    const r = await confirmUntilExecuted(simulationId, "key-enqueue-lease");
    expect(r.outcome.case).to.equal("executed");
    expect(await effectsOf(text)).to.deep.equal({ reminders: 1, done: 1, processed: 1 });
    const [done] = await effectOf();
    expect(done.lease_owner).to.match(owner).and.not.equal(stored.lease_owner);
    expect({ ...done, lease_owner: "" }).to.deep.equal({
      state: "done",
      attempts: 2,
      lease_owner: "",
      history: ["pending>leased#1", "leased>leased#2", "leased>done#2"],
    });
  });

  it("retries while the engine is down and performs the effect once when it is back", async () => {
    const text = "engine outage test";
    const simulationId = await simulate(`remind me to ${text} at 9am`);
    await mesh.mesh.kill("reminders");
    const during = await confirmOnce(simulationId, "key-engine-down").then(
      (r) => r.outcome.case,
      (e: SeleneError) => ReasonCode[e.reason],
    );
    expect(during).to.equal("DEADLINE_EXCEEDED"); // queued, not done yet
    await mesh.mesh.restart("reminders");
    const r = await confirmUntilExecuted(simulationId, "key-engine-down");
    expect(r.outcome.case).to.equal("executed");
    expect(await effectsOf(text)).to.deep.equal({ reminders: 1, done: 1, processed: 1 });
  });

  it("recovers when the outbox is killed: the confirmation fails retryably, then executes once", async () => {
    const text = "outbox outage test";
    const simulationId = await simulate(`remind me to ${text} at 9am`);
    await mesh.mesh.kill("outbox");
    const during = await confirmOnce(simulationId, "key-outbox-down").then(
      () => undefined,
      (e: SeleneError) => e,
    );
    expect(during?.retryable).to.equal(true);
    await mesh.mesh.restart("outbox");
    const r = await confirmUntilExecuted(simulationId, "key-outbox-down");
    expect(r.outcome.case).to.equal("executed");
    expect(await effectsOf(text)).to.deep.equal({ reminders: 1, done: 1, processed: 1 });
  });

  it("dead-letters a permanent failure and performs nothing", async () => {
    const simulationId = await simulate("cancel reminder r-000000000000");
    const r = await confirmOnce(simulationId, "key-dead-letter");
    expect(r.outcome.case).to.equal("refused");
    if (r.outcome.case === "refused") expect(r.outcome.value.reason).to.equal(ReasonCode.EFFECT_DEAD_LETTERED);
    const { rows } = await db.query("SELECT state FROM outbox.effects WHERE simulation_id = $1", [simulationId]);
    expect(rows).to.deep.equal([{ state: "dead_letter" }]);
  });
});
