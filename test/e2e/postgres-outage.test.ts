import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { status } from "@grpc/grpc-js";
import { expect } from "chai";
import { type BenchMesh, startBenchMesh } from "../../bench/mesh-setup.js";
import { type OwnedPostgres, startOwnedPostgres } from "../../chaos/owned-postgres.js";
import { connectAddress } from "../../deploy/mesh-processes.js";
import { SeleneError } from "../../services/runtime/selene-error.js";
import { aConnectClient, type ConnectTestClient } from "../support/connect-client.js";
import { RUN_PORT_SHIFT } from "../support/mesh-fixture.js";
import { aTextTurn, aTurnClient } from "../support/turn-client.js";

const OFFSET = -23000;

/** What one call answered: "OK", or "STATUS REASON retryable|final". */
type Answer = string;

describe("mesh end to end: PostgreSQL stopped under load", function () {
  this.timeout(180_000);
  let dir: string;
  let postgres: OwnedPostgres;
  let mesh: BenchMesh;
  let grpc: ReturnType<typeof aTurnClient>;
  let connect: ConnectTestClient;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "selene-pg-outage-"));
    postgres = await startOwnedPostgres(join(dir, "pg"));
    mesh = await startBenchMesh({
      portOffset: OFFSET + RUN_PORT_SHIFT,
      logLevel: "info",
      say: () => {},
      serverUrl: postgres.url,
      ownsServer: true,
    });
    grpc = aTurnClient(mesh.routerAddress, mesh.pkiDir);
    connect = aConnectClient(connectAddress(OFFSET + RUN_PORT_SHIFT), mesh.pkiDir);
  });
  after(async () => {
    grpc?.close();
    connect?.close();
    await mesh?.stop();
    await postgres?.discard();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  async function grpcTurn(): Promise<Answer> {
    try {
      await grpc.call("submitTurn", aTextTurn("What is the capital of France?"), {
        deadline: Date.now() + 3000,
        correlationId: "pg-outage",
      });
      return "OK";
    } catch (e) {
      if (!(e instanceof SeleneError)) throw e;
      return `${status[e.status]} ${e.reasonName} ${e.retryable ? "retryable" : "final"}`;
    }
  }

  async function connectTurn(): Promise<Answer> {
    const turn = aTextTurn("What is the capital of France?");
    const body = JSON.stringify({
      envelope: { ...turn.envelope, contractVersion: { major: 1 } },
      text: turn.input.value,
    });
    const answer = await connect.post("/selene.os.v1.TurnService/SubmitTurn", body, { "connect-timeout-ms": "3000" });
    if (answer.status === 200) return "OK";
    const json = JSON.parse(answer.body.toString("utf8")) as {
      code: string;
      details: Array<{ debug: { reason: string; retryable?: boolean } }>;
    };
    const detail = json.details[0]!.debug;
    const reason = detail.reason.replace("REASON_CODE_", "");
    return `${json.code.toUpperCase()} ${reason} ${detail.retryable ? "retryable" : "final"}`;
  }

  it("answers UNAVAILABLE / DEPENDENCY_UNAVAILABLE (retryable) while it is down, never INTERNAL, and recovers", async () => {
    expect(await grpcTurn()).to.equal("OK");
    expect(await connectTurn()).to.equal("OK");
    const during = new Map<Answer, number>();
    let phase: "before" | "down" | "after" = "before";
    let running = true;
    const worker = async (turn: () => Promise<Answer>) => {
      while (running) {
        const answer = await turn();
        if (phase === "down" && answer !== "OK") during.set(answer, (during.get(answer) ?? 0) + 1);
      }
    };
    const workers = [grpcTurn, grpcTurn, grpcTurn, connectTurn, connectTurn].map(worker);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    phase = "down";
    await postgres.stop();
    await new Promise((resolve) => setTimeout(resolve, 4000));
    await postgres.start();
    phase = "after";
    let recovered = false;
    for (const until = Date.now() + 20_000; !recovered && Date.now() < until; ) {
      recovered = (await grpcTurn()) === "OK" && (await connectTurn()) === "OK";
    }
    running = false;
    await Promise.all(workers);

    const answers = [...during.keys()];
    expect(answers.length, "no call failed while PostgreSQL was down").to.be.greaterThan(0);
    expect(answers).to.include("UNAVAILABLE DEPENDENCY_UNAVAILABLE retryable");
    for (const answer of answers) {
      expect(answer, JSON.stringify([...during])).to.match(/^UNAVAILABLE [A-Z_]+_UNAVAILABLE retryable$/);
    }
    expect(recovered, "turns did not succeed again after PostgreSQL came back").to.equal(true);
  });
});
