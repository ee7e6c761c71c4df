import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create, toBinary } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { expect } from "chai";
import pg from "pg";
import { pino } from "pino";
import { migrate } from "../../deploy/migrate.js";
import { ensurePki } from "../../deploy/pki.js";
import {
  AppendEventsRequestSchema,
  type AuditEntry,
  AuditEntrySchema,
  Decision,
  Gate,
  ListChainsResponseSchema,
  ListEventsResponseSchema,
} from "../../gen/es/selene/audit/v1/audit_pb.js";
import { ReasonCode } from "../../gen/es/selene/kernel/v1/reason_pb.js";
import { storedRecordBytes } from "../../services/audit/record-size.js";
import { selenectl } from "../../services/cli/selenectl.js";
import { type AuditClient, createAuditClient } from "../../services/runtime/audit-client.js";
import { createBoundaryValidator } from "../../services/runtime/boundary-validator.js";
import { CURRENT_CONTRACT_VERSION } from "../../services/runtime/contract-version.js";
import type { RunningGrpcServer } from "../../services/runtime/grpc-server.js";
import { MAX_PAGE_ITEM_BYTES, RESPONSE_LIMIT_BYTES } from "../../services/runtime/response-page.js";
import type { SeleneError } from "../../services/runtime/selene-error.js";
import { spiffeIdOf } from "../../services/runtime/workload-identities.js";
import { startAuditServer } from "../support/audit-server.js";
import { createTestDatabase, type TestDatabase } from "../support/test-database.js";

const ROUTER = spiffeIdOf("router");
const AT_1_0 = { contractVersion: { major: 1, minor: 0 }, correlationId: "reader-1-0" };
const AT_NOW = { contractVersion: CURRENT_CONTRACT_VERSION, correlationId: "reader" };
let ids = 0;

/** An entry of `tenantId` whose payload has `payloadBytes` bytes. */
function anEntry(tenantId: string, payloadBytes = 0, attributes: Record<string, string> = {}): AuditEntry {
  ids += 1;
  return create(AuditEntrySchema, {
    tenantId,
    correlationId: `pages-${ids}`,
    turnId: `turn-${ids}`,
    event: {
      eventId: `pages/${tenantId}/${ids}`,
      gate: Gate.ANSWER,
      decision: Decision.PASS,
      actor: ROUTER,
      occurredAt: timestampFromMs(Date.now()),
      attributes,
      payload: new Uint8Array(payloadBytes).fill(ids % 251),
    },
  });
}

/** What the ledger would store of `entry`. */
function contentOf(entry: AuditEntry) {
  const { tenantId, correlationId, turnId } = entry;
  return { tenantId, correlationId, turnId, event: entry.event!, contractVersion: "1.1" };
}

describe("audit reads bounded by size", function () {
  this.timeout(60_000);
  let pkiDir: string;
  let database: TestDatabase;
  let pool: pg.Pool;
  let server: RunningGrpcServer;
  let writer: AuditClient;
  let reader: AuditClient;
  const options = () => ({ deadline: Date.now() + 20_000, correlationId: "pages" });

  before(async () => {
    pkiDir = await mkdtemp(join(tmpdir(), "selene-pages-pki-"));
    await ensurePki({ dir: pkiDir });
    database = await createTestDatabase();
    pool = new pg.Pool({ connectionString: database.url, max: 8 });
    await migrate(pool, "audit", pino({ level: "silent" }));
    server = await startAuditServer(pool, pkiDir);
    const address = `127.0.0.1:${server.port}`;
    writer = createAuditClient(address, pkiDir, "router", createBoundaryValidator());
    reader = createAuditClient(address, pkiDir, "operator", createBoundaryValidator());
  });

  after(async () => {
    writer?.close();
    reader?.close();
    await server?.shutdown(1000);
    await pool?.end();
    await database?.drop();
    await rm(pkiDir, { recursive: true, force: true });
  });

  async function append(entries: AuditEntry[]): Promise<void> {
    await writer.call("appendEvents", { envelope: { ...AT_NOW, correlationId: "writer" }, entries }, options());
  }

  async function failure(promise: Promise<unknown>): Promise<SeleneError> {
    return promise.then(
      () => expect.fail("the call succeeded"),
      (e: SeleneError) => e,
    );
  }

  it("pages records near the maximum size one by one, every response within the limit, every record once", async () => {
    const sizes = [57_344, 100, 57_344, 30_000, 30_000, 57_344, 0, 57_344];
    for (const size of sizes) await append([anEntry("big", size, { note: "n".repeat(1000), more: "m".repeat(1000) })]);
    const seen: bigint[] = [];
    let pageToken = "";
    let pages = 0;
    do {
      const page = await reader.call(
        "listEvents",
        { envelope: AT_NOW, tenantId: "big", pageSize: 1000, pageToken },
        options(),
      );
      expect(toBinary(ListEventsResponseSchema, page).length).to.be.at.most(RESPONSE_LIMIT_BYTES);
      seen.push(...page.records.map((r) => r.sequence));
      pageToken = page.nextPageToken;
      pages += 1;
    } while (pageToken !== "");
    expect(seen).to.deep.equal(sizes.map((_, i) => BigInt(i + 1)));
    // A near-maximum record fills a page alone; the small ones share.
    expect(pages).to.be.within(5, sizes.length);
  });

  it("pages a chain of small records by size, not by the count asked for", async () => {
    const batch = Array.from({ length: 64 }, () => anEntry("small", 0, { caller: ROUTER, method: "/x.Y/Z" }));
    for (let i = 0; i < 5; i++)
      await append(
        batch.map((e) =>
          create(AuditEntrySchema, { ...e, event: { ...e.event!, eventId: `${e.event!.eventId}/${i}` } }),
        ),
      );
    const sequences: bigint[] = [];
    let pageToken = "";
    do {
      const page = await reader.call(
        "listEvents",
        { envelope: AT_NOW, tenantId: "small", pageSize: 1000, pageToken },
        options(),
      );
      // 320 records of some 350 bytes are more than one response holds.
      expect(page.records.length).to.be.below(320);
      expect(toBinary(ListEventsResponseSchema, page).length).to.be.within(
        page.nextPageToken === "" ? 0 : RESPONSE_LIMIT_BYTES - 2048,
        RESPONSE_LIMIT_BYTES,
      );
      sequences.push(...page.records.map((r) => r.sequence));
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
    expect(sequences).to.deep.equal(Array.from({ length: 320 }, (_, i) => BigInt(i + 1)));
    const bySize = await reader.call(
      "listEvents",
      { envelope: AT_NOW, tenantId: "small", pageSize: 100, afterSequence: 10n },
      options(),
    );
    expect(bySize.records.map((r) => r.sequence)).to.deep.equal(Array.from({ length: 100 }, (_, i) => BigInt(i + 11)));
    const next = await reader.call(
      "listEvents",
      { envelope: AT_NOW, tenantId: "small", pageSize: 1000, pageToken: bySize.nextPageToken, afterSequence: 999n },
      options(),
    );
    expect(next.records[0]!.sequence).to.equal(111n);
  });

  it("refuses at append, with MESSAGE_TOO_LARGE at the entry, an event whose record would not fit a page", async () => {
    // A request within the message limit whose stored record (sequence, hashes, time added) is not.
    const entryOf = (fill: number) =>
      anEntry("big", 57_344, {
        ...Object.fromEntries(Array.from({ length: 7 }, (_, i) => [`k${i}`, "v".repeat(1000)])),
        fill: "f".repeat(fill),
      });
    let fill = 0;
    while (storedRecordBytes(contentOf(entryOf(fill))) <= MAX_PAGE_ITEM_BYTES) fill += 1;
    const entry = entryOf(fill);
    const request = create(AppendEventsRequestSchema, {
      envelope: { ...AT_NOW, correlationId: "writer" },
      entries: [entry],
    });
    expect(toBinary(AppendEventsRequestSchema, request).length).to.be.at.most(RESPONSE_LIMIT_BYTES);
    const error = await failure(append([anEntry("big", 0), entry]));
    expect(error.reason).to.equal(ReasonCode.MESSAGE_TOO_LARGE);
    expect(error.fieldPath).to.equal("entries[1]");
  });

  it("audit tail reads through the same pages: every record once, in order", async () => {
    const out: string[] = [];
    const io = { out: (t: string) => out.push(t), err: () => undefined, errIsTty: false };
    const connection = ["--pki", pkiDir, "--audit-addr", `127.0.0.1:${server.port}`];
    const code = await selenectl(
      ["audit", "tail", "--tenant", "small", "--from-start", "--limit", "300", ...connection],
      io,
    );
    expect(code).to.equal(0);
    expect(out.map((line) => line.split(" ")[1])).to.deep.equal(Array.from({ length: 300 }, (_, i) => `#${i + 1}`));
  });

  it("gives a 1.0 reader, which knows no token, a page as full as it asked or MESSAGE_TOO_LARGE naming page_size", async () => {
    const whole = await reader.call("listEvents", { envelope: AT_1_0, tenantId: "small", pageSize: 50 }, options());
    expect(whole.records.length).to.equal(50);
    expect(whole.nextPageToken).to.equal("");
    const tooMany = await failure(
      reader.call("listEvents", { envelope: AT_1_0, tenantId: "small", pageSize: 1000 }, options()),
    );
    expect(tooMany.reason).to.equal(ReasonCode.MESSAGE_TOO_LARGE);
    expect(tooMany.fieldPath).to.equal("page_size");
    // The last page may be short: it is the end.
    const last = await reader.call(
      "listEvents",
      { envelope: AT_1_0, tenantId: "small", pageSize: 100, afterSequence: 300n },
      options(),
    );
    expect(last.records.length).to.equal(20);
  });

  it("pages the chains by count and size, and gives a 1.0 reader every chain or a refusal", async () => {
    for (const tenant of ["c-1", "c-2", "c-3"]) await append([anEntry(tenant)]);
    const tenants: string[] = [];
    let pageToken = "";
    do {
      const page = await reader.call("listChains", { envelope: AT_NOW, pageSize: 2, pageToken }, options());
      expect(page.chains.length).to.be.at.most(2);
      expect(toBinary(ListChainsResponseSchema, page).length).to.be.at.most(RESPONSE_LIMIT_BYTES);
      tenants.push(...page.chains.map((c) => c.tenantId));
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
    expect(tenants).to.deep.equal(["big", "c-1", "c-2", "c-3", "small"]);
    const all = await reader.call("listChains", { envelope: AT_1_0 }, options());
    expect(all.chains.map((c) => c.tenantId)).to.deep.equal(tenants);
    const refused = await failure(reader.call("listChains", { envelope: AT_1_0, pageSize: 2 }, options()));
    expect(refused.reason).to.equal(ReasonCode.MESSAGE_TOO_LARGE);
  });

  it("refuses a page token it did not issue, or one of another tenant, as FIELD_INVALID at page_token", async () => {
    const page = await reader.call("listEvents", { envelope: AT_NOW, tenantId: "small", pageSize: 1 }, options());
    for (const [tenantId, pageToken] of [
      ["small", "garbage"],
      ["small", Buffer.from('["small","x"]').toString("base64url")],
      ["big", page.nextPageToken],
    ] as const) {
      const error = await failure(
        reader.call("listEvents", { envelope: AT_NOW, tenantId, pageSize: 1, pageToken }, options()),
      );
      expect(error.reason, pageToken).to.equal(ReasonCode.FIELD_INVALID);
      expect(error.fieldPath, pageToken).to.equal("page_token");
    }
  });

  it("verify names a changed record, and one the ledger cannot even send (a row changed behind the service)", async () => {
    for (const tenant of ["changed", "unsendable"]) {
      for (let batch = 0; batch < 5; batch++)
        await append(Array.from({ length: 60 }, () => anEntry(tenant, 0, { caller: ROUTER })));
    }
    const client = await pool.connect();
    try {
      // A superuser with triggers off: a valid change breaks the hash; an undefined reason code
      // breaks the contract, so the service refuses to send the page that holds it.
      await client.query("set session_replication_role = replica");
      await client.query(
        `update audit.events set attributes = '{"caller":"someone else"}' where tenant_id = 'changed' and sequence = 250`,
      );
      await client.query("update audit.events set reason = 1 where tenant_id = 'unsendable' and sequence = 200");
    } finally {
      await client.query("reset session_replication_role");
      client.release();
    }
    const out: string[] = [];
    const err: string[] = [];
    const io = { out: (t: string) => out.push(t), err: (t: string) => err.push(t), errIsTty: false };
    const connection = ["--pki", pkiDir, "--audit-addr", `127.0.0.1:${server.port}`];
    const changed = await selenectl(["audit", "verify", "--tenant", "changed", ...connection], io);
    const unsendable = await selenectl(["audit", "verify", "--tenant", "unsendable", ...connection], io);
    expect([changed, unsendable], err.join("\n")).to.deep.equal([1, 1]);
    expect(out).to.deep.equal([
      "changed: BROKEN at sequence 250 (hash); 249 records before it are intact",
      "unsendable: BROKEN at sequence 200 (unreadable); 199 records before it are intact",
    ]);
  });
});
