import { expect } from "chai";
import pg from "pg";
import { ROLES } from "../../deploy/grants-matrix.js";
import { effectDigest, normaliseEffect, ReminderError } from "../../services/engines/reminders/reminder-effects.js";
import {
  type CommitRequest,
  type CommitResult,
  createReminderStore,
  type ReminderStore,
  reminderIdFor,
} from "../../services/engines/reminders/reminder-store.js";
import { createMigratedTestDatabase, type MigratedTestDatabase } from "../support/test-database.js";

let keys = 0;

/** A valid create commit whose digest covers its fields; override only what the test is about. */
function aCommit(overrides: Partial<CommitRequest> = {}): CommitRequest {
  const capability = overrides.capability ?? "reminders.create";
  const fields = overrides.fields ?? { text: "call mom", when: "tomorrow 17:00" };
  keys += 1;
  return {
    tenantId: "tenant-a",
    userId: "user-1",
    idempotencyKey: `key-${keys}`,
    capability,
    fields,
    effectDigest: effectDigest(capability, normaliseEffect(capability, fields)),
    ...overrides,
  };
}

/** A cancel commit of the given reminder. */
function aCancel(reminderId: string, overrides: Partial<CommitRequest> = {}): CommitRequest {
  return aCommit({ capability: "reminders.cancel", fields: { reminder_id: reminderId }, ...overrides });
}

async function reasonOf(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(error, "expected a ReminderError").to.be.instanceOf(ReminderError);
  return (error as ReminderError).code;
}

describe("reminder store", () => {
  let database: MigratedTestDatabase;
  let pool: pg.Pool;
  let store: ReminderStore;

  before(async () => {
    database = await createMigratedTestDatabase(["reminders"]);
    // The engine's own login, as the service connects.
    pool = new pg.Pool({ connectionString: database.roleUrl(ROLES.reminders), max: 20 });
    store = createReminderStore(pool);
  });

  after(async () => {
    await pool?.end();
    await database?.drop();
  });

  async function processedKeys(tenantId: string, key: string): Promise<number> {
    const rows = await pool.query(
      "select 1 from reminders.processed_keys where tenant_id = $1 and idempotency_key = $2",
      [tenantId, key],
    );
    return rows.rowCount ?? 0;
  }

  it("creates a reminder under the id derived from tenant and key, with normalised fields", async () => {
    const request = aCommit({ fields: { text: "  call   mom ", when: "Tomorrow 17:00" } });
    const result = await store.commit(request);
    expect(result.effectId).to.equal(reminderIdFor("tenant-a", request.idempotencyKey));
    expect(result.effectId).to.match(/^r-[0-9a-f]{12}$/);
    expect(result.deduplicated).to.equal(false);
    expect(result.committedAt).to.be.instanceOf(Date);
    expect(result.summary).to.equal(`Reminder ${result.effectId} set: "call mom" at tomorrow 17:00`);
    const reminder = (await store.listReminders("tenant-a", "user-1")).find((r) => r.id === result.effectId);
    expect(reminder).to.include({ text: "call mom", due: "tomorrow 17:00", status: "active", cancelledAt: null });
  });

  it("cancels a reminder of the same tenant and user", async () => {
    const created = await store.commit(aCommit({ fields: { text: "water plants", when: "+PT20M" } }));
    const cancelled = await store.commit(aCancel(created.effectId));
    expect(cancelled).to.include({ effectId: created.effectId, deduplicated: false });
    expect(cancelled.summary).to.equal(`Cancelled reminder ${created.effectId} ("water plants")`);
    const reminder = (await store.listReminders("tenant-a", "user-1")).find((r) => r.id === created.effectId);
    expect(reminder?.status).to.equal("cancelled");
    expect(reminder?.cancelledAt).to.be.instanceOf(Date);
    expect(await reasonOf(store.commit(aCancel(created.effectId)))).to.equal("REMINDER_ALREADY_CANCELLED");
  });

  it("returns the first result, deduplicated, when the same key and request come again", async () => {
    const request = aCommit({ userId: "user-dedup", fields: { text: "pay rent", when: "monday 09:30" } });
    const first = await store.commit(request);
    const second = await store.commit({ ...request });
    expect(second).to.deep.equal({ ...first, deduplicated: true });
    expect(await store.listReminders("tenant-a", "user-dedup")).to.have.length(1);
  });

  it("refuses the same key with different fields and performs no effect", async () => {
    const request = aCommit({ userId: "user-reuse" });
    await store.commit(request);
    const fields = { text: "something else", when: "17:00" };
    const reused = {
      ...request,
      fields,
      effectDigest: effectDigest(request.capability, normaliseEffect(request.capability, fields)),
    };
    expect(await reasonOf(store.commit(reused))).to.equal("IDEMPOTENCY_KEY_REUSED");
    const texts = (await store.listReminders("tenant-a", "user-reuse")).map((r) => r.text);
    expect(texts).to.deep.equal(["call mom"]);
  });

  it("performs exactly one effect for 50 concurrent commits of one key, and all get its result", async () => {
    const request = aCommit({ userId: "user-race", fields: { text: "race", when: "today 20:00" } });
    const results: CommitResult[] = await Promise.all(Array.from({ length: 50 }, () => store.commit({ ...request })));
    expect(await store.listReminders("tenant-a", "user-race")).to.have.length(1);
    expect(results.filter((result) => !result.deduplicated)).to.have.length(1);
    const winner = results.find((result) => !result.deduplicated)!;
    for (const result of results) expect({ ...result, deduplicated: false }).to.deep.equal(winner);
  });

  it("keeps tenants apart: another tenant cannot cancel a reminder and records no key", async () => {
    const created = await store.commit(aCommit({ fields: { text: "tenant a only", when: "friday" } }));
    const intruder = aCancel(created.effectId, { tenantId: "tenant-b" });
    expect(await reasonOf(store.commit(intruder))).to.equal("REMINDER_NOT_FOUND");
    expect(await processedKeys("tenant-b", intruder.idempotencyKey)).to.equal(0);
    expect(await store.listReminders("tenant-b", "user-1")).to.deep.equal([]);
    const reminder = (await store.listReminders("tenant-a", "user-1")).find((r) => r.id === created.effectId);
    expect(reminder?.status).to.equal("active");
  });

  it("scopes reminder ids by tenant, so the same key in two tenants makes two reminders", async () => {
    const a = await store.commit(aCommit({ idempotencyKey: "shared-key", userId: "user-shared" }));
    const b = await store.commit(
      aCommit({ idempotencyKey: "shared-key", userId: "user-shared", tenantId: "tenant-b" }),
    );
    expect(a.deduplicated).to.equal(false);
    expect(b.deduplicated).to.equal(false);
    expect(a.effectId).to.not.equal(b.effectId);
  });

  it("does not record the key of a refused cancel, so the key stays usable", async () => {
    const missing = aCancel("r-000000000000");
    expect(await reasonOf(store.commit(missing))).to.equal("REMINDER_NOT_FOUND");
    expect(await processedKeys("tenant-a", missing.idempotencyKey)).to.equal(0);
    const created = await store.commit(aCommit());
    const retried = await store.commit(aCancel(created.effectId, { idempotencyKey: missing.idempotencyKey }));
    expect(retried).to.include({ effectId: created.effectId, deduplicated: false });
  });

  it("refuses bad requests before touching the database", async () => {
    const request = aCommit();
    expect(await reasonOf(store.commit({ ...request, effectDigest: `sha256:${"0".repeat(64)}` }))).to.equal(
      "EFFECT_DIGEST_MISMATCH",
    );
    expect(await reasonOf(store.commit({ ...request, capability: "reminders.snooze" }))).to.equal("UNKNOWN_CAPABILITY");
    expect(await reasonOf(store.commit({ ...request, fields: { text: "x" } }))).to.equal("MISSING_FIELD");
    expect(await reasonOf(store.commit({ ...request, fields: { text: "x", when: "someday" } }))).to.equal(
      "INVALID_FIELD",
    );
    expect(await reasonOf(store.commit({ ...request, fields: { text: "x", when: "17:00", at: "y" } }))).to.equal(
      "UNKNOWN_FIELD",
    );
    expect(await reasonOf(store.commit({ ...request, tenantId: "" }))).to.equal("MISSING_FIELD");
    expect(await processedKeys("tenant-a", request.idempotencyKey)).to.equal(0);
  });

  describe("row-level security", () => {
    it("shows and lets the engine's role write only the rows of the tenant its transaction is set for", async () => {
      await store.commit(aCommit({ tenantId: "tenant-rls", userId: "u-rls" }));
      const client = await pool.connect();
      try {
        // No tenant set: no rows, even with the right filter.
        expect(
          (await client.query("select 1 from reminders.reminders where tenant_id = 'tenant-rls'")).rowCount,
        ).to.equal(0);
        await client.query("begin");
        await client.query("select set_config('selene.tenant_id', 'tenant-other', true)");
        expect(
          (await client.query("select 1 from reminders.reminders where tenant_id = 'tenant-rls'")).rowCount,
        ).to.equal(0);
        const foreign = await client
          .query(
            "insert into reminders.reminders (id, tenant_id, user_id, text, due) values ('r-000000000000', 'tenant-rls', 'u', 't', 'now')",
          )
          .catch((e: unknown) => e);
        expect(foreign).to.include({ code: "42501" });
        await client.query("rollback");
        await client.query("begin");
        await client.query("select set_config('selene.tenant_id', 'tenant-rls', true)");
        expect(
          (await client.query("select 1 from reminders.reminders where tenant_id = 'tenant-rls'")).rowCount,
        ).to.equal(1);
        await client.query("rollback");
      } finally {
        client.release();
      }
      expect(await store.listReminders("tenant-rls", "u-rls")).to.have.length(1);
    });
  });
});
