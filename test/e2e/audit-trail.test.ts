import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { expect } from "chai";
import pg from "pg";
import { grpcAddress } from "../../deploy/mesh-processes.js";
import { type AuditRecord, Decision, Gate } from "../../gen/es/selene/audit/v1/audit_pb.js";
import { EngineService } from "../../gen/es/selene/engine/v1/engine_pb.js";
import { FreshnessState } from "../../gen/es/selene/kernel/v1/provenance_pb.js";
import { ReasonCode } from "../../gen/es/selene/kernel/v1/reason_pb.js";
import { connectAudit, operatorEnvelope } from "../../services/cli/cli-connection.js";
import { replayText } from "../../services/cli/replay-render.js";
import { replayTurns } from "../../services/cli/turn-replay.js";
import type { AuditClient } from "../../services/runtime/audit-client.js";
import { createBoundaryValidator } from "../../services/runtime/boundary-validator.js";
import type { SeleneError } from "../../services/runtime/selene-error.js";
import { metricsAddressVariable } from "../../services/runtime/service-config.js";
import { clientCredentials } from "../../services/runtime/tls-credentials.js";
import { createUnaryClient } from "../../services/runtime/unary-client.js";
import { spiffeIdOf } from "../../services/runtime/workload-identities.js";
import { startTestMesh, type TestMesh } from "../support/mesh-fixture.js";
import { aTextTurn, aTurnClient } from "../support/turn-client.js";

const OFFSET = -26500;

/** "GATE DECISION[ REASON]" of each record, in ledger order. */
function trailOf(records: readonly AuditRecord[]): string[] {
  return records.map((r) => {
    const e = r.event!;
    const reason = e.reason === ReasonCode.UNSPECIFIED ? "" : ` ${ReasonCode[e.reason]}`;
    return `${Gate[e.gate]} ${Decision[e.decision]}${reason}`;
  });
}

describe("mesh end to end: the audit trail of every turn", function () {
  this.timeout(120_000);
  let mesh: TestMesh;
  let client: ReturnType<typeof aTurnClient>;
  let audit: AuditClient;
  let db: pg.Pool;
  const opts = () => ({ deadline: Date.now() + 10_000, correlationId: "audit-e2e" });

  before(async () => {
    mesh = await startTestMesh(OFFSET);
    client = aTurnClient(mesh.routerAddress, mesh.pkiDir);
    audit = connectAudit({ flags: new Map(), words: [] }, mesh.env);
    db = new pg.Pool({ connectionString: mesh.layout.databaseUrl, max: 2 });
  });
  after(async () => {
    client?.close();
    audit?.close();
    await db?.end();
    await mesh?.stop();
  });

  /** The records of `correlationId` once there are at least `n` (appends off the request path). */
  async function eventually(correlationId: string, n: number): Promise<AuditRecord[]> {
    let records = await recordsOf(correlationId);
    for (const until = Date.now() + 5000; records.length < n && Date.now() < until; ) {
      await new Promise((r) => setTimeout(r, 100));
      records = await recordsOf(correlationId);
    }
    return records;
  }

  async function recordsOf(correlationId: string): Promise<AuditRecord[]> {
    const { records } = await audit.call(
      "listEvents",
      { envelope: operatorEnvelope("audit-e2e"), correlationId, pageSize: 1000 },
      opts(),
    );
    return records;
  }

  function selenectl(...args: string[]) {
    return spawnSync(process.execPath, [join(process.cwd(), "dist/services/cli/selenectl.js"), ...args], {
      env: { ...process.env, ...mesh.env },
      encoding: "utf8",
    });
  }

  /** A confirmation turn accepting `simulationId`. */
  async function confirm(simulationId: string) {
    const { envelope } = aTextTurn("");
    const input = { case: "confirmation" as const, value: { simulationId, accept: true } };
    const response = await client.call("submitTurn", { envelope, input }, opts());
    return { response, correlationId: envelope.correlationId };
  }

  async function turn(text: string) {
    const request = aTextTurn(text);
    const response = await client.call("submitTurn", request, opts());
    return { response, correlationId: request.envelope.correlationId };
  }

  it("ANSWER: validate, identity, understand, clarify (no question), answer; no access verdict without a policy", async () => {
    const { response, correlationId } = await turn("What is the capital of France?");
    expect(response.outcome.case).to.equal("answer");
    const records = await recordsOf(correlationId);
    expect(trailOf(records)).to.deep.equal([
      "VALIDATE PASS",
      "IDENTITY PASS",
      "UNDERSTAND PASS",
      "CLARIFY PASS",
      "ANSWER PASS",
    ]);
    expect(records.every((r) => r.tenantId === "demo")).to.equal(true);
    expect(records[2]!.event!.attributes).to.deep.include({ intent: "tools.lookup", kind: "READ" });
    expect(records[4]!.event!.attributes.capability).to.equal("tools.lookup");
  });

  it("CLARIFY: the question is the last decision, with its bytes recorded", async () => {
    const { response, correlationId } = await turn("remind me");
    expect(response.outcome.case).to.equal("clarify");
    expect(trailOf(await recordsOf(correlationId))).to.deep.equal([
      "VALIDATE PASS",
      "IDENTITY PASS",
      "UNDERSTAND PASS",
      "CLARIFY ASK CLARIFY_REQUIRED",
    ]);
  });

  it("CONFIRM then EXECUTED: the simulation asks; the confirmation passes before the commit", async () => {
    const simulated = await turn("remind me to check the audit at 9am");
    expect(simulated.response.outcome.case).to.equal("confirm");
    expect(trailOf(await recordsOf(simulated.correlationId))).to.deep.equal([
      "VALIDATE PASS",
      "IDENTITY PASS",
      "UNDERSTAND PASS",
      "CLARIFY PASS",
      "SIMULATE ASK SIMULATION_REQUIRED",
    ]);
    if (simulated.response.outcome.case !== "confirm") return;
    const confirmed = await confirm(simulated.response.outcome.value.simulationId);
    expect(confirmed.response.outcome.case).to.equal("executed");
    const records = await recordsOf(confirmed.correlationId);
    expect(trailOf(records.filter((r) => r.event!.actor.endsWith("/sa/router")))).to.deep.equal([
      "VALIDATE PASS",
      "IDENTITY PASS",
      "CONFIRM PASS",
      "COMMIT PASS",
    ]);
    // The outbox relays its state changes shortly after: created, leased, done.
    const outboxStates = async () =>
      (await recordsOf(confirmed.correlationId))
        .filter((r) => r.event!.actor.endsWith("/sa/outbox"))
        .map((r) => `${trailOf([r])[0]} ${r.event!.attributes.to_state}`);
    const until = Date.now() + 15_000;
    while ((await outboxStates()).length < 3 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    expect(await outboxStates()).to.deep.equal(["COMMIT PASS pending", "COMMIT PASS leased", "COMMIT PASS done"]);
  });

  it("REFUSED: an intent no engine serves is denied at the understand gate", async () => {
    const { response, correlationId } = await turn("send a message to Ana saying I'm late");
    expect(response.outcome.case).to.equal("refused");
    expect(trailOf(await recordsOf(correlationId))).to.deep.equal([
      "VALIDATE PASS",
      "IDENTITY PASS",
      "UNDERSTAND DENY CAPABILITY_UNKNOWN",
    ]);
  });

  it("a refused identity is recorded in the system chain, never in the claimed tenant's", async () => {
    const request = aTextTurn("what time is it", { tenantId: "acme" });
    const error = (await client.call("submitTurn", request, opts()).catch((e: unknown) => e)) as SeleneError;
    expect(error.reasonName).to.equal("TENANT_MISMATCH");
    const records = await eventually(request.envelope.correlationId, 2);
    expect(trailOf(records)).to.deep.equal(["VALIDATE PASS", "IDENTITY DENY TENANT_MISMATCH"]);
    expect(records.map((r) => r.tenantId)).to.deep.equal(["_system", "_system"]);
  });

  it("records a call the router's boundary refused (an engine's identity) in the system chain", async () => {
    const intruder = aTurnClient(mesh.routerAddress, mesh.pkiDir, "nlp");
    const correlationId = `intruder-${process.pid}`;
    try {
      const error = (await intruder
        .call("submitTurn", aTextTurn("what time is it"), { deadline: Date.now() + 5000, correlationId })
        .catch((e: unknown) => e)) as SeleneError;
      expect(error.reasonName).to.equal("CALLER_NOT_ALLOWED");
    } finally {
      intruder.close();
    }
    const records = await eventually(correlationId, 1);
    expect(trailOf(records)).to.deep.equal(["IDENTITY DENY CALLER_NOT_ALLOWED"]);
    expect(records[0]!.tenantId).to.equal("_system");
    expect(records[0]!.event!.attributes).to.deep.equal({
      caller: "spiffe://selene.local/ns/selene/sa/nlp",
      method: "/selene.os.v1.TurnService/SubmitTurn",
    });
  });

  for (const engine of ["tools", "calc"] as const) {
    it(`records ${engine}'s refusal of a caller other than the router (a mediation bypass)`, async () => {
      const correlationId = `bypass-${engine}-${process.pid}`;
      // The demo app goes around the router, straight to an engine.
      const direct = createUnaryClient(EngineService, {
        address: grpcAddress(engine, mesh.layout.portOffset),
        serverName: engine,
        credentials: clientCredentials(mesh.pkiDir, "demo-app", spiffeIdOf(engine)),
        validator: createBoundaryValidator(),
        faults: {
          unavailable: ReasonCode.ENGINE_UNAVAILABLE,
          deadlineExceeded: ReasonCode.ENGINE_DEADLINE_EXCEEDED,
          invalidResponse: ReasonCode.ENGINE_INVALID_RESPONSE,
        },
      });
      try {
        const error = (await direct
          .call(
            "describe",
            { envelope: operatorEnvelope(correlationId) },
            { deadline: Date.now() + 5000, correlationId },
          )
          .catch((e: unknown) => e)) as SeleneError;
        expect(error.reasonName).to.equal("MEDIATION_BYPASS");
      } finally {
        direct.close();
      }
      const records = await eventually(correlationId, 1);
      expect(trailOf(records)).to.deep.equal(["IDENTITY DENY MEDIATION_BYPASS"]);
      expect(records[0]!.tenantId).to.equal("_system");
      expect(records[0]!.event!.actor).to.equal(`spiffe://selene.local/ns/selene/sa/${engine}`);
      expect(records[0]!.event!.attributes).to.deep.equal({
        caller: "spiffe://selene.local/ns/clients/sa/demo-app",
        method: "/selene.engine.v1.EngineService/Describe",
      });
    });
  }

  it("replays to the same bytes twice, in another process, and as JSON", async () => {
    const { correlationId } = await turn("remind me");
    const inProcess = replayText(replayTurns(correlationId, await recordsOf(correlationId)));
    const first = selenectl("replay", correlationId);
    const second = selenectl("replay", correlationId);
    expect(first.status, first.stderr).to.equal(0);
    expect(first.stdout).to.equal(second.stdout);
    expect(first.stdout).to.equal(`${inProcess}\n`);
    expect(first.stdout).to.match(/no drift/);
    const json = selenectl("replay", correlationId, "--json");
    expect(json.stdout).to.equal(selenectl("replay", correlationId, "--json").stdout);
    expect(JSON.parse(json.stdout).drift).to.equal(false);
  });

  it("verifies a disputed answer's digests offline, and replays it to the same bytes in other processes", async () => {
    const { response, correlationId } = await turn("How tall is Mont Blanc?");
    expect(response.outcome.case).to.equal("answer");
    if (response.outcome.case !== "answer") return;
    // Equal trust: the fresher source won, and the answer says the value is disputed.
    expect(response.outcome.value.text).to.contain("Disputed: kb:almanac, kb:gazetteer disagree");
    expect(response.outcome.value.provenance?.conflicts.map((c) => c.chosenSourceId)).to.deep.equal(["kb:gazetteer"]);
    const verified = selenectl("provenance", "verify", correlationId);
    expect(verified.status, verified.stderr).to.equal(0);
    expect(verified.stdout).to.match(/1 recorded answer\(s\), every digest matches/);
    expect(selenectl("provenance", "verify", correlationId).stdout).to.equal(verified.stdout);
    const replayed = selenectl("replay", correlationId);
    expect(replayed.status, replayed.stderr).to.equal(0);
    expect(replayed.stdout).to.equal(selenectl("replay", correlationId).stdout);
    expect(replayed.stdout).to.equal(`${replayText(replayTurns(correlationId, await recordsOf(correlationId)))}\n`);
  });

  it("reports drift when a recorded engine output no longer gives the recorded decision", async () => {
    const { correlationId } = await turn("What is the capital of France?");
    const records = await recordsOf(correlationId);
    const understand = records.find((r) => r.event!.gate === Gate.UNDERSTAND)!;
    const answered = records.find((r) => r.event!.gate === Gate.ANSWER)!;
    // The nlp engine's recorded output now names another intent; the tools answer now says more.
    const bytes = Buffer.from(understand.event!.payload);
    const at = bytes.indexOf("tools.lookup");
    expect(at).to.be.greaterThan(-1);
    bytes.write("tools.lookuq", at);
    understand.event!.payload = bytes;
    answered.event!.payload = Buffer.concat([Buffer.from(answered.event!.payload), Buffer.from([0x0a, 0])]);
    const report = replayTurns(correlationId, records);
    expect(report.drift).to.equal(true);
    const drifted = report.turns.flatMap((t) => t.checks.filter((c) => c.drift).map((c) => c.gate));
    expect(drifted).to.include.members(["UNDERSTAND", "ANSWER outcome", "UNDERSTAND input", "ANSWER input"]);

    // The same change made in the ledger itself (by a superuser, triggers off): the CLI exits 1.
    const client = await db.connect();
    try {
      await client.query("set session_replication_role = replica");
      await client.query("update audit.events set payload = $1 where event_id = $2", [
        bytes,
        understand.event!.eventId,
      ]);
    } finally {
      await client.query("set session_replication_role = origin");
      client.release();
    }
    const replay = selenectl("replay", correlationId);
    expect(replay.status).to.equal(1);
    expect(replay.stdout).to.match(
      /DRIFT UNDERSTAND +recorded PASS tools\.lookup +replayed DENY CAPABILITY_UNKNOWN tools\.lookuq/,
    );
    const verify = selenectl("audit", "verify", "--tenant", "demo");
    expect(verify.status).to.equal(1);
    expect(verify.stdout).to.contain(`demo: BROKEN at sequence ${understand.sequence} (hash)`);
  });

  it("a fault: the gates passed, then FAIL with the reason at the gate it surfaced at; a read answered before falls back to its last good answer, marked stale", async () => {
    const remembered = await turn("what is the capital of Germany");
    expect(remembered.response.outcome.case).to.equal("answer");
    await mesh.mesh.kill("tools", "SIGKILL");
    try {
      // Never answered before: no last good answer to fall back to.
      const request = aTextTurn("What is the capital of Japan?");
      const error = (await client.call("submitTurn", request, opts()).catch((e: unknown) => e)) as SeleneError;
      expect(error.reasonName).to.equal("ENGINE_UNAVAILABLE");
      expect(trailOf(await eventually(request.envelope.correlationId, 5))).to.deep.equal([
        "VALIDATE PASS",
        "IDENTITY PASS",
        "UNDERSTAND PASS",
        "CLARIFY PASS",
        "ANSWER FAIL ENGINE_UNAVAILABLE",
      ]);
      const stale = await turn("what is the capital of Germany");
      if (stale.response.outcome.case !== "answer") throw new Error("expected ANSWER");
      const provenance = stale.response.outcome.value.provenance!;
      expect(provenance.freshness!.state).to.equal(FreshnessState.STALE);
      expect(provenance.sources.at(-1)!.id).to.equal("selene:last-good-answer");
      expect(provenance.sources.at(-1)!.uri).to.match(/^selene:\/\/router\/last-good-answer\?age_ms=\d+$/);
      const answered = (await eventually(stale.correlationId, 5)).at(-1)!.event!;
      expect(trailOf([{ event: answered } as AuditRecord])).to.deep.equal(["ANSWER PASS"]);
      expect(answered.attributes).to.deep.include({
        capability: "tools.lookup",
        engine: "tools",
        fallback: "last_good",
      });
      expect(Number(answered.attributes.stale_age_ms)).to.be.at.least(0);
      // The recorded payload is the stale response the outcome was built from: replay agrees.
      expect(selenectl("replay", stale.correlationId).status).to.equal(0);
    } finally {
      await mesh.mesh.restart("tools");
      // The router's channel to tools reconnects on its own backoff: wait until a read with no
      // fallback (the time) answers again.
      for (const until = Date.now() + 10_000; Date.now() < until; ) {
        const answered = await turn("what time is it").then(
          () => true,
          () => false,
        );
        if (answered) break;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  });

  it("fails an effect closed when the ledger is down, and still answers a read, degraded", async () => {
    const simulated = await turn("remind me to test the outage at 7am");
    if (simulated.response.outcome.case !== "confirm") throw new Error("expected CONFIRM");
    await mesh.mesh.kill("audit", "SIGKILL");
    try {
      const read = await turn("What is the capital of France?");
      expect(read.response.outcome.case).to.equal("answer");
      const error = (await confirm(simulated.response.outcome.value.simulationId).catch(
        (e: unknown) => e,
      )) as SeleneError;
      expect(error.reasonName).to.equal("AUDIT_UNAVAILABLE");
      const { rows } = await db.query("select count(*)::int as n from outbox.effects where simulation_id = $1", [
        simulated.response.outcome.value.simulationId,
      ]);
      expect(rows[0].n).to.equal(0);
      const log = spawnSync("grep", ["-c", "audit degraded", join(mesh.logDir, "router.log")], { encoding: "utf8" });
      expect(Number(log.stdout.trim())).to.be.greaterThan(0);
      const metrics = await (await fetch(`http://${mesh.env[metricsAddressVariable("router")]}/metrics`)).text();
      expect(metrics).to.match(/^selene_audit_degraded_total\{kind="turn"\} [1-9]/m);
    } finally {
      await mesh.mesh.restart("audit");
    }
  });
});
