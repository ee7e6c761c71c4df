import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { create, toBinary } from "@bufbuild/protobuf";
import { Client, credentials, Metadata, status } from "@grpc/grpc-js";
import { expect } from "chai";
import { waitHealthy } from "../../deploy/health-probe.js";
import { grpcAddress, processEnv } from "../../deploy/mesh-processes.js";
import { DescribeRequestSchema } from "../../gen/es/selene/engine/v1/engine_pb.js";
import { ReasonCode } from "../../gen/es/selene/kernel/v1/reason_pb.js";
import { CURRENT_CONTRACT_VERSION } from "../../services/runtime/contract-version.js";
import { decodeStatusDetails, STATUS_DETAILS_KEY } from "../../services/runtime/error-status.js";
import { LOCAL_CONNECT_PORT, LOCAL_PORTS } from "../../services/runtime/local-ports.js";
import type { SeleneError } from "../../services/runtime/selene-error.js";
import { clientCredentials } from "../../services/runtime/tls-credentials.js";
import { spiffeIdOf } from "../../services/runtime/workload-identities.js";
import { RUN_PORT_SHIFT, startTestMesh, type TestMesh } from "../support/mesh-fixture.js";
import { aTextTurn, aTurnClient } from "../support/turn-client.js";

const OFFSET = -28000;
const ENGINES = ["nlp", "tools", "reminders", "calc"] as const;

interface CallResult {
  code: number;
  reason?: ReasonCode;
}

/** Calls Describe on an engine presenting `certName` (or no certificate at all). */
function describeAs(mesh: TestMesh, engine: string, certName: string | undefined): Promise<CallResult> {
  const creds =
    certName === undefined
      ? credentials.createSsl(readFileSync(join(mesh.pkiDir, "ca.crt")))
      : clientCredentials(mesh.pkiDir, certName, spiffeIdOf(engine));
  const client = new Client(grpcAddress(engine as "nlp", mesh.layout.portOffset), creds, {
    "grpc.ssl_target_name_override": engine,
  });
  const request = toBinary(
    DescribeRequestSchema,
    create(DescribeRequestSchema, {
      envelope: { contractVersion: CURRENT_CONTRACT_VERSION, correlationId: "mediation" },
    }),
  );
  return new Promise((resolve) =>
    client.makeUnaryRequest(
      "/selene.engine.v1.EngineService/Describe",
      (b: Buffer) => b,
      (b: Buffer) => b,
      Buffer.from(request),
      new Metadata(),
      { deadline: Date.now() + 3000 },
      (err) => {
        client.close();
        if (!err) return resolve({ code: status.OK });
        const raw = err.metadata?.get(STATUS_DETAILS_KEY)[0];
        resolve({ code: err.code, reason: raw instanceof Buffer ? decodeStatusDetails(raw)?.reason : undefined });
      },
    ),
  );
}

describe("mesh end to end: mediation by identity", function () {
  this.timeout(60_000);
  let mesh: TestMesh;

  before(async () => {
    mesh = await startTestMesh(OFFSET);
  });
  after(async () => {
    await mesh?.stop();
  });

  for (const engine of ENGINES) {
    it(`lets the router call the ${engine} engine`, async () => {
      expect(await describeAs(mesh, engine, "router")).to.deep.equal({ code: status.OK });
    });

    const caller = engine === "nlp" ? "tools" : "nlp";
    it(`denies the ${caller} engine's own identity calling ${engine} with MEDIATION_BYPASS`, async () => {
      expect(await describeAs(mesh, engine, caller)).to.deep.equal({
        code: status.PERMISSION_DENIED,
        reason: ReasonCode.MEDIATION_BYPASS,
      });
    });

    it(`denies the demo app calling ${engine} directly`, async () => {
      expect((await describeAs(mesh, engine, "demo-app")).reason).to.equal(ReasonCode.MEDIATION_BYPASS);
    });

    it(`refuses a caller without a certificate at TLS on ${engine}`, async () => {
      const result = await describeAs(mesh, engine, undefined);
      expect(result.code).to.equal(status.UNAVAILABLE);
      expect(result.reason).to.equal(undefined); // no handler ran, so no ErrorDetail
    });
  }

  it("denies an engine identity calling the router's public API", async () => {
    const client = aTurnClient(mesh.routerAddress, mesh.pkiDir, "nlp");
    try {
      await client.call("submitTurn", aTextTurn("what time is it"), {
        deadline: Date.now() + 3000,
        correlationId: "x",
      });
      expect.fail("the call passed");
    } catch (e) {
      expect((e as SeleneError).reason).to.equal(ReasonCode.CALLER_NOT_ALLOWED);
    } finally {
      client.close();
    }
  });

  describe("an engine past its deadline", () => {
    let blackHole: Server;
    const sockets = new Set<Socket>();
    let router: ReturnType<typeof spawn>;
    const SLOW_OFFSET = -27500 + RUN_PORT_SHIFT;

    before(async () => {
      // Accepts TCP and never answers: the engine call can only end at its deadline.
      blackHole = createServer((socket) => {
        sockets.add(socket);
        socket.on("close", () => sockets.delete(socket));
      });
      await new Promise<void>((resolve) => blackHole.listen(0, "127.0.0.1", resolve));
      const port = (blackHole.address() as { port: number }).port;
      router = spawn(process.execPath, [join(process.cwd(), "dist/services/router/main.js")], {
        env: {
          ...process.env,
          ...mesh.env,
          ...processEnv(mesh.layout, "router"),
          SELENE_TOOLS_ADDR: `127.0.0.1:${port}`,
          SELENE_ROUTER_ADDR: grpcAddress("router", SLOW_OFFSET),
          SELENE_ROUTER_HEALTH_ADDR: `127.0.0.1:${LOCAL_PORTS.router.health + SLOW_OFFSET}`,
          SELENE_ROUTER_METRICS_ADDR: `127.0.0.1:${LOCAL_PORTS.router.metrics + SLOW_OFFSET}`,
          SELENE_ROUTER_CONNECT_ADDR: `127.0.0.1:${LOCAL_CONNECT_PORT + SLOW_OFFSET}`,
          LOG_LEVEL: "warn",
        },
        stdio: "ignore",
      });
      const up = await waitHealthy(
        `127.0.0.1:${LOCAL_PORTS.router.health + SLOW_OFFSET}`,
        Date.now() + 20_000,
        () => router.exitCode === null,
      );
      expect(up, "second router started").to.equal(true);
    });
    after(async () => {
      if (router.exitCode === null) {
        router.kill("SIGTERM");
        await new Promise((resolve) => router.once("exit", resolve));
      }
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => blackHole.close(resolve));
    });

    it("answers ENGINE_DEADLINE_EXCEEDED before the turn's deadline, and keeps serving", async () => {
      const client = aTurnClient(grpcAddress("router", SLOW_OFFSET), mesh.pkiDir);
      try {
        const started = Date.now();
        const error = await client
          .call("submitTurn", aTextTurn("what is the capital of Italy"), {
            deadline: Date.now() + 1500,
            correlationId: "slow",
          })
          .then(
            () => undefined,
            (e: SeleneError) => e,
          );
        expect(error?.status).to.equal(status.DEADLINE_EXCEEDED);
        expect(error?.reason).to.equal(ReasonCode.ENGINE_DEADLINE_EXCEEDED); // the router answered, not the client's timer
        expect(Date.now() - started).to.be.lessThan(1500);
        const r = await client.call("submitTurn", aTextTurn("remind me"), {
          deadline: Date.now() + 3000,
          correlationId: "after",
        });
        expect(r.outcome.case).to.equal("clarify");
      } finally {
        client.close();
      }
    });
  });
});
