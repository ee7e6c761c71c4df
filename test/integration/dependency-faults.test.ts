import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { status } from "@grpc/grpc-js";
import { expect } from "chai";
import pg from "pg";
import { pino } from "pino";
import { ensurePki } from "../../deploy/pki.js";
import { EngineService } from "../../gen/es/selene/engine/v1/engine_pb.js";
import { ReasonCode } from "../../gen/es/selene/kernel/v1/reason_pb.js";
import { createEngineClient } from "../../services/router/engine-client.js";
import { startConnectServer } from "../../services/runtime/boundary/connect-server.js";
import { grpcImplementation } from "../../services/runtime/boundary/grpc-adapter.js";
import { createServiceBoundary } from "../../services/runtime/boundary/service-boundary.js";
import { toSeleneError } from "../../services/runtime/boundary/to-selene-error.js";
import { createBoundaryValidator } from "../../services/runtime/boundary-validator.js";
import { createDatabasePool } from "../../services/runtime/database-pool.js";
import { startGrpcServer } from "../../services/runtime/grpc-server.js";
import { SeleneError } from "../../services/runtime/selene-error.js";
import { serverCredentials } from "../../services/runtime/tls-credentials.js";
import { allowOnly } from "../../services/runtime/unary-service.js";
import { spiffeIdOf } from "../../services/runtime/workload-identities.js";
import { aConnectClient } from "../support/connect-client.js";
import { meshEngine } from "../support/mesh-engine.js";
import { createTestDatabase, type TestDatabase } from "../support/test-database.js";

const silent = pino({ level: "silent" });

async function failureOf(work: () => Promise<unknown>): Promise<unknown> {
  try {
    await work();
  } catch (e) {
    return e;
  }
  throw new Error("expected the work to fail");
}

/** A TCP port that accepts connections and never says a word (a server that hangs during its start). */
async function silentPort(): Promise<{ server: Server; sockets: Set<Socket>; port: number }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => sockets.add(socket));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, sockets, port: (server.address() as { port: number }).port };
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

function expectDependencyUnavailable(e: unknown): void {
  const error = toSeleneError(e);
  expect(error.reason, String(e)).to.equal(ReasonCode.DEPENDENCY_UNAVAILABLE);
  expect(error.status).to.equal(status.UNAVAILABLE);
  expect(error.retryable).to.equal(true);
  expect(error.message).to.not.contain("ECONN"); // the cause stays in the logs
}

describe("dependency faults are UNAVAILABLE and retryable, never a bare INTERNAL", function () {
  this.timeout(30_000);
  let db: TestDatabase;
  let admin: pg.Pool;

  before(async () => {
    db = await createTestDatabase();
    admin = new pg.Pool({ connectionString: db.url, max: 2 });
  });
  after(async () => {
    await admin?.end();
    await db?.drop();
  });

  it("classifies a session PostgreSQL ended (57P01 admin_shutdown, as on a stop)", async () => {
    const pool = createDatabasePool(db.url, silent, 1);
    try {
      const client = await pool.connect();
      const { rows } = await client.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
      const sleeping = failureOf(() => client.query("SELECT pg_sleep(10)"));
      await new Promise((resolve) => setTimeout(resolve, 100));
      await admin.query("SELECT pg_terminate_backend($1)", [rows[0]!.pid]);
      const e = await sleeping;
      client.release(e as Error);
      expect((e as { code?: string }).code).to.equal("57P01");
      expectDependencyUnavailable(e);
    } finally {
      await pool.end();
    }
  });

  it("classifies a refused connection", async () => {
    const pool = createDatabasePool(`postgres://postgres@127.0.0.1:${await closedPort()}/x`, silent, 1);
    try {
      expectDependencyUnavailable(await failureOf(() => pool.query("SELECT 1")));
    } finally {
      await pool.end();
    }
  });

  it("classifies a connection that does not open in time", async () => {
    const hung = await silentPort();
    const pool = new pg.Pool({
      connectionString: `postgres://postgres@127.0.0.1:${hung.port}/x`,
      connectionTimeoutMillis: 200,
    });
    try {
      expectDependencyUnavailable(await failureOf(() => pool.query("SELECT 1")));
    } finally {
      await pool.end();
      for (const socket of hung.sockets) socket.destroy();
      await new Promise((resolve) => hung.server.close(resolve));
    }
  });

  it("classifies a statement past the pool's query timeout", async () => {
    const pool = new pg.Pool({ connectionString: db.url, max: 1, query_timeout: 100 });
    try {
      expectDependencyUnavailable(await failureOf(() => pool.query("SELECT pg_sleep(2)")));
    } finally {
      await pool.end();
    }
  });

  it("keeps a bug a bug: a SQL error of our own, or any other throw, is INTERNAL; a SeleneError passes", async () => {
    const sqlError = await failureOf(() => admin.query("SELEC 1"));
    expect(toSeleneError(sqlError).reason).to.equal(ReasonCode.INTERNAL);
    expect(toSeleneError(new TypeError("x is undefined")).reason).to.equal(ReasonCode.INTERNAL);
    const refused = new SeleneError(ReasonCode.TENANT_MISMATCH, "no");
    expect(toSeleneError(refused)).to.equal(refused);
  });

  describe("through the call boundary, on both protocols", () => {
    let dir: string;
    let pool: pg.Pool;
    let grpc: Awaited<ReturnType<typeof startGrpcServer>>;
    let connect: Awaited<ReturnType<typeof startConnectServer>>;

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), "selene-dependency-"));
      await ensurePki({ dir });
      // The handler's database is down: nothing listens where its pool points.
      pool = createDatabasePool(`postgres://postgres@127.0.0.1:${await closedPort()}/x`, silent, 1);
      const unused = async (): Promise<never> => {
        throw new Error("not used");
      };
      const boundary = createServiceBoundary(
        EngineService,
        {
          async describe() {
            await pool.query("SELECT 1");
            return {};
          },
          invoke: unused,
          simulate: unused,
          commit: unused,
        },
        {
          validator: createBoundaryValidator(),
          logger: silent,
          authorize: allowOnly([spiffeIdOf("router")]),
          self: spiffeIdOf("nlp"),
        },
      );
      grpc = await startGrpcServer({
        address: "127.0.0.1:0",
        healthAddress: "127.0.0.1:0",
        credentials: serverCredentials(dir, "nlp"),
        services: [{ service: EngineService, implementation: grpcImplementation(boundary) }],
        logger: silent,
      });
      connect = await startConnectServer({
        address: "127.0.0.1:0",
        pkiDir: dir,
        name: "router",
        boundaries: [boundary],
        logger: silent,
      });
    });
    after(async () => {
      await grpc?.shutdown(100);
      await connect?.close(100);
      await pool?.end();
      await rm(dir, { recursive: true, force: true });
    });

    const describeRequest = { envelope: { contractVersion: { major: 1, minor: 0 }, correlationId: "dep" } };

    it("answers a gRPC call whose database is down UNAVAILABLE, DEPENDENCY_UNAVAILABLE, retryable", async () => {
      const client = createEngineClient(meshEngine("nlp"), `127.0.0.1:${grpc.port}`, dir, createBoundaryValidator());
      try {
        const e = (await failureOf(() =>
          client.call("describe", describeRequest, { deadline: Date.now() + 5000, correlationId: "dep" }),
        )) as SeleneError;
        expect([status[e.status], e.reasonName, e.retryable]).to.deep.equal([
          "UNAVAILABLE",
          "DEPENDENCY_UNAVAILABLE",
          true,
        ]);
      } finally {
        client.close();
      }
    });

    it("answers the same over Connect JSON: 503 unavailable with the same ErrorDetail", async () => {
      const client = aConnectClient(`127.0.0.1:${connect.port}`, dir, "router");
      try {
        const answer = await client.post("/selene.engine.v1.EngineService/Describe", JSON.stringify(describeRequest));
        expect(answer.status).to.equal(503);
        const body = JSON.parse(answer.body.toString("utf8")) as {
          code: string;
          details: Array<{ debug: { reason: string; retryable: boolean } }>;
        };
        expect(body.code).to.equal("unavailable");
        expect(body.details[0]?.debug).to.include({ reason: "REASON_CODE_DEPENDENCY_UNAVAILABLE", retryable: true });
      } finally {
        client.close();
      }
    });
  });
});
