import { spawn } from "node:child_process";
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
import { ReasonCode } from "../../gen/es/selene/kernel/v1/reason_pb.js";
import { type AuditClient, createAuditClient } from "../../services/runtime/audit-client.js";
import { createBoundaryValidator } from "../../services/runtime/boundary-validator.js";
import { CURRENT_CONTRACT_VERSION } from "../../services/runtime/contract-version.js";
import type { RunningGrpcServer } from "../../services/runtime/grpc-server.js";
import { spiffeIdOf } from "../../services/runtime/workload-identities.js";
import { startAuditServer } from "../support/audit-server.js";
import { createTestDatabase, type TestDatabase } from "../support/test-database.js";

/** The fuzzer's finding: this many refusals in the _system chain made `audit verify` fail. */
const REFUSALS = 100_000;
/** AppendEvents takes at most 64 entries; engines send their refusals in such batches. */
const BATCH = 64;
const IN_FLIGHT = 8;
/** The verifier's heap: far less than 100,000 records would take held at once. */
const HEAP_MB = 96;

/** Refusal `n` as an engine records it (services/runtime/refusal-audit.ts). */
function aRefusal(n: number): AuditEntry {
  return create(AuditEntrySchema, {
    tenantId: "_system",
    correlationId: `fuzz-${n}`,
    event: {
      eventId: `nlp/refused/scale/${n}`,
      gate: n % 3 === 0 ? Gate.IDENTITY : Gate.VALIDATE,
      decision: Decision.DENY,
      reason: n % 3 === 0 ? ReasonCode.MEDIATION_BYPASS : ReasonCode.MALFORMED_MESSAGE,
      actor: spiffeIdOf("nlp"),
      occurredAt: timestampFromMs(1_900_000_000_000 + n),
      attributes: { caller: spiffeIdOf("tools"), method: "/selene.engine.v1.EngineService/Invoke" },
    },
  });
}

/** Runs selenectl as its own process with a small heap; resolves with its exit code and output. */
function selenectl(args: readonly string[]): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(
    process.execPath,
    [`--max-old-space-size=${HEAP_MB}`, "--import", "tsx", join("services", "cli", "selenectl.ts"), ...args],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let out = "";
  let err = "";
  child.stdout.on("data", (chunk: Buffer) => {
    out += chunk.toString("utf8");
  });
  child.stderr.on("data", (chunk: Buffer) => {
    err += chunk.toString("utf8");
  });
  return new Promise((resolve) => child.once("close", (code) => resolve({ code, out, err })));
}

describe("selenectl audit verify at scale", function () {
  this.timeout(20 * 60_000);
  let pkiDir: string;
  let database: TestDatabase;
  let pool: pg.Pool;
  let server: RunningGrpcServer;
  let engine: AuditClient;
  let router: AuditClient;

  before(async () => {
    pkiDir = await mkdtemp(join(tmpdir(), "selene-verify-pki-"));
    await ensurePki({ dir: pkiDir });
    database = await createTestDatabase();
    pool = new pg.Pool({ connectionString: database.url, max: 12 });
    await migrate(pool, "audit", pino({ level: "silent" }));
    server = await startAuditServer(pool, pkiDir);
    const address = `127.0.0.1:${server.port}`;
    engine = createAuditClient(address, pkiDir, "nlp", createBoundaryValidator());
    router = createAuditClient(address, pkiDir, "router", createBoundaryValidator());

    // Through the real AppendEvents path, as the engines record refusals: batches of 64, a few in flight.
    const envelope = { contractVersion: CURRENT_CONTRACT_VERSION, correlationId: "refusals" };
    let next = 0;
    const worker = async () => {
      while (next < REFUSALS) {
        const from = next;
        next = Math.min(REFUSALS, next + BATCH);
        const entries = Array.from({ length: next - from }, (_, i) => aRefusal(from + i + 1));
        await engine.call(
          "appendEvents",
          { envelope, entries },
          { deadline: Date.now() + 60_000, correlationId: "refusals" },
        );
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  });

  after(async () => {
    engine?.close();
    router?.close();
    await server?.shutdown(1000);
    await pool?.end();
    await database?.drop();
    await rm(pkiDir, { recursive: true, force: true });
  });

  const connection = () => ["--pki", pkiDir, "--audit-addr", `127.0.0.1:${server.port}`];

  it(`walks a _system chain of ${REFUSALS} refusals in bounded memory, with a progress line`, async () => {
    const run = await selenectl(["audit", "verify", "--tenant", "_system", ...connection()]);
    expect(run.err, run.err).not.to.match(/INTERNAL|invalid response/);
    expect(run.code, run.err).to.equal(0);
    expect(run.out.trim()).to.equal(`_system: intact, ${REFUSALS} records`);
    // stderr is not a terminal: one progress line per step, counting up to the head.
    const progress = run.err.split("\n").filter((line) => line.startsWith("verifying _system: "));
    expect(progress.length).to.be.at.least(1);
    expect(progress.at(-1)).to.match(new RegExp(`^verifying _system: \\d+/${REFUSALS} records \\(\\d+%\\)$`));
  });

  it("walks a chain of records near the maximum size, one a page", async () => {
    const envelope = { contractVersion: CURRENT_CONTRACT_VERSION, correlationId: "big" };
    for (let i = 1; i <= 12; i++) {
      const entry = create(AuditEntrySchema, {
        tenantId: "big",
        correlationId: `big-${i}`,
        event: {
          eventId: `router/big/${i}`,
          gate: Gate.ANSWER,
          decision: Decision.PASS,
          actor: spiffeIdOf("router"),
          occurredAt: timestampFromMs(1_900_000_000_000 + i),
          attributes: { note: "n".repeat(1024), more: "m".repeat(1024) },
          payload: new Uint8Array(57_344).fill(i),
        },
      });
      await router.call(
        "appendEvents",
        { envelope, entries: [entry] },
        { deadline: Date.now() + 20_000, correlationId: "big" },
      );
    }
    const run = await selenectl(["audit", "verify", "--tenant", "big", ...connection()]);
    expect(run.code, run.err).to.equal(0);
    expect(run.out.trim()).to.equal("big: intact, 12 records");
  });
});
