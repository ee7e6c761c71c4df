import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import pg from "pg";
import { pino } from "pino";
import { migrate } from "../../deploy/migrate.js";
import { ensurePki } from "../../deploy/pki.js";
import { relayOnce } from "../../services/outbox/audit-relay.js";
import { createEffectStore, type EffectStore } from "../../services/outbox/effect-store.js";
import { DEFAULT_RETRY_POLICIES } from "../../services/outbox/retry-policy.js";
import { type AuditClient, createAuditClient } from "../../services/runtime/audit-client.js";
import { createBoundaryValidator } from "../../services/runtime/boundary-validator.js";
import { sha256Digest } from "../../services/runtime/content-digest.js";
import type { RunningGrpcServer } from "../../services/runtime/grpc-server.js";
import { spiffeIdOf } from "../../services/runtime/workload-identities.js";
import { startAuditServer } from "../support/audit-server.js";
import { createTestDatabase, type TestDatabase } from "../support/test-database.js";

describe("outbox -> audit relay", () => {
  let pkiDir: string;
  let database: TestDatabase;
  let pool: pg.Pool;
  let server: RunningGrpcServer;
  let audit: AuditClient;
  let store: EffectStore;
  const logger = pino({ level: "silent" });

  /** Relays until nothing is due; returns how many changes went. */
  async function settle(): Promise<number> {
    const once = () => relayOnce(pool, audit, { actor: spiffeIdOf("outbox"), callTimeoutMs: 5000 });
    let total = 0;
    for (let n = await once(); n > 0; n = await once()) total += n;
    return total;
  }

  /**
   * Relays until `expected` changes went. Transaction ids are the server's, not the database's:
   * a transaction open in another database of the server holds changes back until it ends.
   */
  async function settleAtLeast(expected: number): Promise<number> {
    let total = 0;
    for (const until = Date.now() + 15_000; total < expected && Date.now() < until; ) {
      total += await settle();
      if (total < expected) await new Promise((r) => setTimeout(r, 50));
    }
    return total;
  }

  async function enqueueAndLease(correlationId: string) {
    const payload = randomBytes(16);
    const key = `effect:${randomBytes(4).toString("hex")}`;
    await store.enqueue({
      tenantId: "relay",
      idempotencyKey: key,
      effectType: "reminders.create",
      simulationId: key.slice(7),
      payload,
      payloadDigest: sha256Digest(payload),
      correlationId,
    });
    const [leased] = await store.lease({ executorId: "test", maxEffects: 1, leaseMs: 30_000 });
    return leased!;
  }

  async function auditedStates(correlationId: string): Promise<string[]> {
    const { rows } = await pool.query(
      "select attributes->>'to_state' as state from audit.events where correlation_id = $1 order by sequence",
      [correlationId],
    );
    return rows.map((r) => r.state as string);
  }

  before(async () => {
    pkiDir = await mkdtemp(join(tmpdir(), "selene-relay-pki-"));
    await ensurePki({ dir: pkiDir });
    database = await createTestDatabase();
    pool = new pg.Pool({ connectionString: database.url, max: 8 });
    await migrate(pool, "outbox", logger);
    await migrate(pool, "audit", logger);
    store = createEffectStore(pool, DEFAULT_RETRY_POLICIES);
    server = await startAuditServer(pool, pkiDir);
    audit = createAuditClient(`127.0.0.1:${server.port}`, pkiDir, "outbox", createBoundaryValidator());
  });

  after(async () => {
    audit?.close();
    await server?.shutdown(1000);
    await pool?.end();
    await database?.drop();
    await rm(pkiDir, { recursive: true, force: true });
  });

  it("records creation, lease and done of an effect under the enqueuing correlation id", async () => {
    const leased = await enqueueAndLease("corr-done");
    await store.ack({ effectId: leased.effect!.effectId, leaseToken: leased.leaseToken, resultId: "r1" });
    expect(await settleAtLeast(2)).to.equal(2);
    expect(await auditedStates("corr-done")).to.deep.equal(["pending", "leased", "done"]);
  });

  it("never passes over a change that commits after a later one", async () => {
    const early = await enqueueAndLease("corr-early");
    const late = await enqueueAndLease("corr-late");
    expect(await settleAtLeast(2)).to.equal(2);
    // A transaction that started first (the older id) is still open when a younger one commits.
    const slow = await pool.connect();
    try {
      await slow.query("begin");
      await slow.query("select pg_current_xact_id()");
      await store.ack({ effectId: late.effect!.effectId, leaseToken: late.leaseToken, resultId: "late" });
      await slow.query(
        "insert into outbox.effect_events (effect_id, at, from_state, to_state, attempt) values ($1, now(), 'leased', 'leased', 1)",
        [early.effect!.effectId],
      );
      expect(await settle()).to.equal(0); // the younger commit waits for the older transaction
      await slow.query("commit");
      expect(await settleAtLeast(2)).to.equal(2);
    } finally {
      slow.release();
    }
    expect(await auditedStates("corr-late")).to.deep.equal(["pending", "leased", "done"]);
    expect(await auditedStates("corr-early")).to.deep.equal(["pending", "leased", "leased"]);
  });

  it("resumes from its cursor: nothing is sent twice", async () => {
    const before = (await pool.query("select count(*)::int as n from audit.events")).rows[0].n as number;
    expect(await settle()).to.equal(0);
    expect((await pool.query("select count(*)::int as n from audit.events")).rows[0].n).to.equal(before);
  });
});
