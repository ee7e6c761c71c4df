import { X509Certificate } from "node:crypto";
import { EventEmitter, on } from "node:events";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { ensurePki } from "../../deploy/pki.js";
import { CapabilityKind, EngineService } from "../../gen/es/selene/engine/v1/engine_pb.js";
import { createEngineClient, type EngineClient } from "../../services/router/engine-client.js";
import { type RunningConnectServer, startConnectServer } from "../../services/runtime/boundary/connect-server.js";
import { grpcImplementation } from "../../services/runtime/boundary/grpc-adapter.js";
import { createServiceBoundary, type ServiceBoundary } from "../../services/runtime/boundary/service-boundary.js";
import { createBoundaryValidator } from "../../services/runtime/boundary-validator.js";
import { describeEngine } from "../../services/runtime/engine-description.js";
import { type RunningGrpcServer, startGrpcServer } from "../../services/runtime/grpc-server.js";
import { createLogger } from "../../services/runtime/logger.js";
import { type CredentialReload, serverCredentials, tlsContextOptions } from "../../services/runtime/tls-credentials.js";
import { allowOnly } from "../../services/runtime/unary-service.js";
import { spiffeIdOf } from "../../services/runtime/workload-identities.js";
import { aConnectClient } from "../support/connect-client.js";
import { meshEngine } from "../support/mesh-engine.js";
import { servedSerial } from "../support/served-serial.js";

type LogLine = Record<string, unknown>;

const serialOf = async (dir: string, name: string) =>
  new X509Certificate(await readFile(join(dir, `${name}.crt`))).serialNumber;

// A server whose certificates rotate under a client that keeps running: both ends must present the
// re-issued certificates on new connections, and connections past their age end without a failed call.
describe("certificate rotation without a restart", function () {
  this.timeout(30_000);
  let dir: string;
  let boundary: ServiceBoundary;
  let grpc: RunningGrpcServer;
  let connect: RunningConnectServer;
  let client: EngineClient;
  const lines: LogLine[] = [];
  const reloads = new EventEmitter();
  const describeRequest = { envelope: { contractVersion: { major: 1, minor: 0 }, correlationId: "rotation" } };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "selene-rotation-"));
    await ensurePki({ dir });
    const logger = createLogger("nlp", "info", { write: (s: string) => lines.push(JSON.parse(s) as LogLine) });
    const unused = async (): Promise<never> => {
      throw new Error("not used");
    };
    boundary = createServiceBoundary(
      EngineService,
      {
        describe: async () => describeEngine("nlp", [{ name: "nlp.understand", kind: CapabilityKind.UNDERSTAND }]),
        invoke: unused,
        simulate: unused,
        commit: unused,
      },
      {
        validator: createBoundaryValidator(),
        logger,
        authorize: allowOnly([spiffeIdOf("router")]),
        self: spiffeIdOf("nlp"),
      },
    );
    const onReload = (event: CredentialReload) => reloads.emit("reload", event);
    grpc = await startGrpcServer({
      address: "127.0.0.1:0",
      healthAddress: "127.0.0.1:0",
      credentials: serverCredentials(dir, "nlp", { refreshIntervalMs: 25, onReload }),
      services: [{ service: EngineService, implementation: grpcImplementation(boundary) }],
      logger,
      maxConnectionAgeMs: 400,
    });
    connect = await startConnectServer({
      address: "127.0.0.1:0",
      pkiDir: dir,
      name: "router",
      boundaries: [boundary],
      logger,
      credentials: { refreshIntervalMs: 25, onReload },
      maxConnectionAgeMs: 400,
    });
    client = createEngineClient(meshEngine("nlp"), `127.0.0.1:${grpc.port}`, dir, createBoundaryValidator(), {
      refreshIntervalMs: 25,
    });
  });

  after(async () => {
    client?.close();
    await grpc?.shutdown(100);
    await connect?.close(100);
    await rm(dir, { recursive: true, force: true });
  });

  /** Resolves once both servers have put the current certificates of `names` in service. */
  async function rotated(names: readonly string[]): Promise<void> {
    const pending = new Set(names);
    for await (const [event] of on(reloads, "reload") as AsyncIterable<[CredentialReload]>) {
      if (event.outcome === "rotated" && event.serialNumber === (await serialOf(dir, event.name))) {
        pending.delete(event.name);
      }
      if (pending.size === 0) return;
    }
  }

  const callerSerials = () =>
    lines.filter((l) => l.msg === "caller certificate").map((l) => String(l.serial_number).toUpperCase());

  it("presents re-issued certificates on new connections, on the gRPC and the Connect port, to a running client", async () => {
    const call = () => client.call("describe", describeRequest, { deadline: Date.now() + 5000, correlationId: "r" });
    await call();
    const routerBefore = await serialOf(dir, "router");
    expect(callerSerials()).to.deep.equal([routerBefore]);
    const material = tlsContextOptions(dir, "demo-app");
    expect(await servedSerial(`127.0.0.1:${grpc.port}`, material)).to.equal(await serialOf(dir, "nlp"));
    expect(await servedSerial(`127.0.0.1:${connect.port}`, material)).to.equal(routerBefore);

    const inService = rotated(["nlp", "router"]);
    await ensurePki({ dir, rotate: true });
    await inService;
    const routerAfter = await serialOf(dir, "router");
    expect(routerAfter).to.not.equal(routerBefore);

    // New connections to both ports get the new server certificates.
    expect(await servedSerial(`127.0.0.1:${grpc.port}`, material)).to.equal(await serialOf(dir, "nlp"));
    expect(await servedSerial(`127.0.0.1:${connect.port}`, material)).to.equal(routerAfter);

    // The same client, never recreated, presents the new certificate once its connection is past its age.
    let failures = 0;
    for (const until = Date.now() + 10_000; !callerSerials().includes(routerAfter) && Date.now() < until; ) {
      await call().catch(() => failures++);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(callerSerials()).to.deep.equal([routerBefore, routerAfter]);
    expect(failures, "calls failed while the connection was replaced").to.equal(0);

    const https = aConnectClient(`127.0.0.1:${connect.port}`, dir, "router");
    try {
      const answer = await https.post("/selene.engine.v1.EngineService/Describe", JSON.stringify(describeRequest));
      expect(answer.status).to.equal(200);
    } finally {
      https.close();
    }
  });
});
