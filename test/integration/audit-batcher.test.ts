import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { expect } from "chai";
import pg from "pg";
import { pino } from "pino";
import { migrate } from "../../deploy/migrate.js";
import { ensurePki } from "../../deploy/pki.js";
import { type AuditEntry, AuditEntrySchema, Decision, Gate } from "../../gen/es/selene/audit/v1/audit_pb.js";
import { createAuditBatcher } from "../../services/router/audit-batcher.js";
import { type AuditClient, createAuditClient } from "../../services/runtime/audit-client.js";
import { createBoundaryValidator } from "../../services/runtime/boundary-validator.js";
import type { RunningGrpcServer } from "../../services/runtime/grpc-server.js";
import type { SeleneError } from "../../services/runtime/selene-error.js";
import { spiffeIdOf } from "../../services/runtime/workload-identities.js";
import { startAuditServer } from "../support/audit-server.js";
import { createTestDatabase, type TestDatabase } from "../support/test-database.js";

let ids = 0;

/** A turn's entries: `n` gate decisions under one correlation id. */
function aTurn(n: number, actor = spiffeIdOf("router")): AuditEntry[] {
  ids += 1;
  return Array.from({ length: n }, (_, i) =>
    create(AuditEntrySchema, {
      tenantId: "batch",
      correlationId: `turn-${ids}`,
      turnId: `turn-${ids}`,
      event: {
        eventId: `batch/turn-${ids}/a/${i + 1}`,
        gate: Gate.VALIDATE,
        decision: Decision.PASS,
        actor,
        occurredAt: timestampFromMs(Date.now()),
      },
    }),
  );
}

describe("router audit batcher", () => {
  let pkiDir: string;
  let database: TestDatabase;
  let pool: pg.Pool;
  let server: RunningGrpcServer;
  let client: AuditClient;
  let calls = 0;

  before(async () => {
    pkiDir = await mkdtemp(join(tmpdir(), "selene-batcher-pki-"));
    await ensurePki({ dir: pkiDir });
    database = await createTestDatabase();
    pool = new pg.Pool({ connectionString: database.url, max: 8 });
    await migrate(pool, "audit", pino({ level: "silent" }));
    server = await startAuditServer(pool, pkiDir);
    const real = createAuditClient(`127.0.0.1:${server.port}`, pkiDir, "router", createBoundaryValidator());
    // The real client, counting its calls.
    client = {
      call: (method, request, options) => {
        calls += 1;
        return real.call(method, request, options);
      },
      ready: (deadline) => real.ready(deadline),
      onReconnect: (listener) => real.onReconnect(listener),
      close: () => real.close(),
    };
  });

  after(async () => {
    client?.close();
    await server?.shutdown(1000);
    await pool?.end();
    await database?.drop();
    await rm(pkiDir, { recursive: true, force: true });
  });

  async function stored(): Promise<number> {
    return (await pool.query("select count(*)::int as n from audit.events where tenant_id = 'batch'")).rows[0].n;
  }

  it("stores 40 concurrent turns' entries in fewer calls than turns, each turn told when its are stored", async () => {
    const append = createAuditBatcher(client);
    const before = await stored();
    calls = 0;
    await Promise.all(Array.from({ length: 40 }, () => append(aTurn(6), Date.now() + 5000)));
    expect(await stored()).to.equal(before + 240);
    expect(calls).to.be.lessThan(40);
    expect(calls).to.be.greaterThanOrEqual(Math.ceil(240 / 64));
  });

  it("fails only the turn whose entries the ledger refuses", async () => {
    const append = createAuditBatcher(client);
    const before = await stored();
    const results = await Promise.allSettled([
      append(aTurn(3), Date.now() + 5000),
      append(aTurn(3), Date.now() + 5000),
      append(aTurn(2, spiffeIdOf("nlp")), Date.now() + 5000), // the actor is not the caller
      append(aTurn(3), Date.now() + 5000),
    ]);
    expect(results.map((r) => r.status)).to.deep.equal(["fulfilled", "fulfilled", "rejected", "fulfilled"]);
    expect(((results[2] as PromiseRejectedResult).reason as SeleneError).reasonName).to.equal("FIELD_INVALID");
    expect(await stored()).to.equal(before + 9);
  });

  it("answers AUDIT_UNAVAILABLE at the turn's deadline when the ledger cannot be reached", async () => {
    const unreachable = createAuditClient("127.0.0.1:1", pkiDir, "router", createBoundaryValidator());
    try {
      const started = Date.now();
      const error = (await createAuditBatcher(unreachable)(aTurn(1), Date.now() + 300).catch(
        (e: unknown) => e,
      )) as SeleneError;
      expect(error.reasonName).to.equal("AUDIT_UNAVAILABLE");
      expect(Date.now() - started).to.be.lessThan(2000);
    } finally {
      unreachable.close();
    }
  });
});
