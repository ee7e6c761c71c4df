import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { expect } from "chai";
import pg from "pg";
import { pino } from "pino";
import { migrate } from "../../deploy/migrate.js";
import { AuditEventSchema, Decision, Gate } from "../../gen/es/selene/audit/v1/audit_pb.js";
import { ReasonCode } from "../../gen/es/selene/kernel/v1/reason_pb.js";
import { type AuditLedger, createAuditLedger, type LedgerEntry } from "../../services/audit/audit-ledger.js";
import { genesisHash, linkOfRecord, recordHash } from "../../services/runtime/audit-chain/chain-hash.js";
import { SeleneError } from "../../services/runtime/selene-error.js";
import { A_DIGEST, NOT_DIGESTS } from "../support/builders.js";
import { createTestDatabase, type TestDatabase } from "../support/test-database.js";

let ids = 0;

function anEntry(tenantId: string, overrides: MessageInitShape<typeof AuditEventSchema> = {}): LedgerEntry {
  ids += 1;
  return {
    tenantId,
    correlationId: `corr-${Math.ceil(ids / 3)}`,
    turnId: `turn-${ids}`,
    contractVersion: "1.0",
    event: create(AuditEventSchema, {
      eventId: `test/${ids}`,
      gate: Gate.UNDERSTAND,
      decision: Decision.PASS,
      reason: ReasonCode.UNSPECIFIED,
      actor: "spiffe://selene.local/ns/selene/sa/router",
      occurredAt: timestampFromMs(Date.parse("2030-01-01T00:00:00.000Z") + ids),
      attributes: { intent: "kb.lookup", é: "accent", a: "first" },
      inputDigest: `sha256:${"ab".repeat(32)}`,
      payload: new Uint8Array([1, 2, ids % 256]),
      ...overrides,
    }),
  };
}

describe("audit ledger", () => {
  let database: TestDatabase;
  let pool: pg.Pool;
  let ledger: AuditLedger;

  before(async () => {
    database = await createTestDatabase();
    pool = new pg.Pool({ connectionString: database.url, max: 20 });
    await migrate(pool, "audit", pino({ level: "silent" }));
    ledger = createAuditLedger(pool);
  });

  after(async () => {
    await pool.end();
    await database.drop();
  });

  it("chains a tenant's records from its genesis, each hash recomputable outside the database", async () => {
    const entries = [anEntry("chain-a"), anEntry("chain-a"), anEntry("chain-a")];
    const appended = await ledger.append(entries);
    expect(appended.map((r) => r.sequence)).to.deep.equal([1n, 2n, 3n]);
    const records = await Promise.all(entries.map((e) => ledger.record(e.event.eventId)));
    expect(records.map((r) => r!.hash)).to.deep.equal(appended.map((a) => a.hash));
    expect(records[0]!.prevHash).to.equal(genesisHash("chain-a"));
    for (const [i, record] of records.entries()) {
      expect(recordHash(linkOfRecord(record!))).to.equal(record!.hash);
      if (i > 0) expect(record!.prevHash).to.equal(records[i - 1]!.hash);
    }
    expect(await ledger.verify("chain-a")).to.deep.include({ intact: true, recordsChecked: 3n });
  });

  it("stores an event id once: the same content returns the stored record, other content is refused", async () => {
    const entry = anEntry("chain-b");
    const [first] = await ledger.append([entry]);
    const [again] = await ledger.append([entry]);
    expect(again!.sequence).to.equal(first!.sequence);
    expect(again!.hash).to.equal(first!.hash);
    const changed = { ...entry, event: create(AuditEventSchema, { ...entry.event, decision: Decision.DENY }) };
    const error = await ledger.append([changed]).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(SeleneError);
    expect((error as SeleneError).reasonName).to.equal("AUDIT_EVENT_CONFLICT");
    expect((await ledger.chains("", 1000)).chains.find((c) => c.tenantId === "chain-b")?.sequence).to.equal(1n);
  });

  it("refuses only the conflicting append of a group written together", async () => {
    const stored = anEntry("group");
    await ledger.append([stored]);
    const conflicting = {
      ...stored,
      event: create(AuditEventSchema, { ...stored.event, reason: ReasonCode.INTERNAL }),
    };
    const results = await Promise.allSettled([
      ledger.append([anEntry("group")]),
      ledger.append([conflicting]),
      ledger.append([anEntry("group"), anEntry("group")]),
    ]);
    expect(results.map((r) => r.status)).to.deep.equal(["fulfilled", "rejected", "fulfilled"]);
    expect(((results[1] as PromiseRejectedResult).reason as SeleneError).reasonName).to.equal("AUDIT_EVENT_CONFLICT");
    expect(await ledger.verify("group")).to.deep.include({ intact: true, recordsChecked: 4n });
  });

  it("keeps one linear chain per tenant under 200 concurrent appends over several tenants", async () => {
    const tenants = ["conc-a", "conc-b", "conc-c"];
    const batches = Array.from({ length: 200 }, (_, i) => [anEntry(tenants[i % 3]!), anEntry(tenants[(i + 1) % 3]!)]);
    await Promise.all(batches.map((batch) => ledger.append(batch)));
    for (const tenant of tenants) {
      const verdict = await ledger.verify(tenant);
      expect(verdict.intact, `${tenant}: first bad ${verdict.firstBadSequence} (${verdict.problem})`).to.equal(true);
      const appended = batches.flat().filter((entry) => entry.tenantId === tenant).length;
      expect(verdict.recordsChecked).to.equal(BigInt(appended));
    }
  });

  it("lists one correlation id's records across tenants in tenant, then sequence order", async () => {
    ids = 3000; // corr-1001 for the next three entries
    await ledger.append([anEntry("list-b"), anEntry("list-a"), anEntry("list-b")]);
    const { records } = await ledger.list({
      tenantId: "",
      correlationId: "corr-1001",
      after: undefined,
      pageSize: 100,
    });
    expect(records.map((r) => `${r.tenantId}:${r.sequence}`)).to.deep.equal(["list-a:1", "list-b:1", "list-b:2"]);
    // Pages of one record continue across tenants by position, then end.
    const first = await ledger.list({ tenantId: "", correlationId: "corr-1001", after: undefined, pageSize: 1 });
    expect(first.next).to.deep.equal({ tenantId: "list-a", sequence: 1n });
    const second = await ledger.list({ tenantId: "", correlationId: "corr-1001", after: first.next, pageSize: 2 });
    expect(second.records.map((r) => `${r.tenantId}:${r.sequence}`)).to.deep.equal(["list-b:1", "list-b:2"]);
    expect(second.next).to.equal(undefined);
  });

  it("stores a digest only as sha256: and 64 lower-case hex digits (the database's check)", async () => {
    for (const inputDigest of NOT_DIGESTS) {
      const error = await ledger.append([anEntry("chain-digest", { inputDigest })]).catch((e: unknown) => e);
      expect((error as { code?: string }).code, inputDigest).to.equal("23514"); // check_violation
    }
    const [stored] = await ledger.append([anEntry("chain-digest", { inputDigest: A_DIGEST })]);
    expect(stored!.sequence).to.equal(1n);
  });

  it("refuses UPDATE, DELETE and TRUNCATE on the events", async () => {
    for (const sql of ["update audit.events set reason = 1", "delete from audit.events", "truncate audit.events"]) {
      const error = await pool.query(sql).catch((e: unknown) => e);
      expect((error as { message?: string }).message, sql).to.match(/append-only/);
    }
  });

  it("names the first tampered row, and a removed tail", async () => {
    await ledger.append([anEntry("tamper"), anEntry("tamper"), anEntry("tamper"), anEntry("tamper")]);
    const client = await pool.connect();
    try {
      // A superuser can switch triggers off: exactly what verification must catch.
      await client.query("set session_replication_role = replica");
      await client.query("update audit.events set reason = 700 where tenant_id = 'tamper' and sequence = 3");
      const verdict = await ledger.verify("tamper");
      expect(verdict).to.deep.include({ intact: false, firstBadSequence: 3n, problem: "hash", recordsChecked: 2n });
      await client.query("update audit.events set reason = 0 where tenant_id = 'tamper' and sequence = 3");
      expect((await ledger.verify("tamper")).intact).to.equal(true);
      await client.query("delete from audit.events where tenant_id = 'tamper' and sequence = 4");
      expect(await ledger.verify("tamper")).to.deep.include({ intact: false, firstBadSequence: 4n, problem: "head" });
    } finally {
      await client.query("set session_replication_role = origin");
      client.release();
    }
  });
});
