import { randomBytes } from "node:crypto";
import { create, toBinary } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { expect } from "chai";
import pg from "pg";
import { ROLES } from "../../deploy/grants-matrix.js";
import { ReasonCode } from "../../gen/es/selene/kernel/v1/reason_pb.js";
import {
  type Effect,
  EffectState,
  type LeasedEffect,
  LeasedEffectSchema,
  LeaseResponseSchema,
  ListDeadLettersResponseSchema,
} from "../../gen/es/selene/outbox/v1/outbox_pb.js";
import { EFFECT_BYTES_SQL } from "../../services/outbox/effect-sql.js";
import { createEffectStore, type EffectStore, type EnqueueInput } from "../../services/outbox/effect-store.js";
import { parseRetryPolicies } from "../../services/outbox/retry-policy.js";
import { sha256Digest } from "../../services/runtime/content-digest.js";
import { framedBytes, RESPONSE_LIMIT_BYTES } from "../../services/runtime/response-page.js";
import { SeleneError } from "../../services/runtime/selene-error.js";
import { createMigratedTestDatabase, type MigratedTestDatabase } from "../support/test-database.js";

const START = Date.parse("2030-01-01T00:00:00.000Z");
// "test.flaky" retries 3 times with a 1 s base; "test.once" gets one attempt; others use the defaults.
const POLICIES = parseRetryPolicies("test.flaky=3:1000:60000,test.once=1:100:100");

let keys = 0;

/** A valid enqueue whose digest covers its payload; override only what the test is about. */
function anEffect(overrides: Partial<EnqueueInput> = {}): EnqueueInput {
  keys += 1;
  const payload = overrides.payload ?? randomBytes(32);
  return {
    tenantId: "tenant-a",
    idempotencyKey: `effect:sim-${keys}`,
    effectType: "reminders.create",
    simulationId: `sim-${keys}`,
    payload,
    payloadDigest: sha256Digest(payload),
    ...overrides,
  };
}

async function reasonOf(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(error, "expected a SeleneError").to.be.instanceOf(SeleneError);
  return (error as SeleneError).reasonName;
}

function ms(timestamp: Effect["nextAttemptAt"]): number {
  return timestampDate(timestamp!).getTime();
}

describe("outbox effect store", () => {
  let database: MigratedTestDatabase;
  /** The outbox's own login, as the service connects. */
  let pool: pg.Pool;
  /** The migrating login, to clear effects between tests. */
  let admin: pg.Pool;
  let store: EffectStore;
  let clock = START;
  let jitter = 0.5;

  before(async () => {
    database = await createMigratedTestDatabase(["outbox"]);
    pool = new pg.Pool({ connectionString: database.roleUrl(ROLES.outbox), max: 20 });
    admin = new pg.Pool({ connectionString: database.url, max: 1 });
    store = createEffectStore(pool, POLICIES, { now: () => new Date(clock), random: () => jitter });
  });

  beforeEach(async () => {
    clock = START;
    jitter = 0.5;
    // The history is a protected ledger and keeps its rows; effect ids never repeat, so each test
    // reads only its own effects' history.
    await admin.query("truncate outbox.effects");
  });

  after(async () => {
    await pool?.end();
    await admin?.end();
    await database?.drop();
  });

  async function events(effectId: string): Promise<Array<{ from: string | null; to: string; attempt: number }>> {
    const rows = await pool.query<{ from_state: string | null; to_state: string; attempt: number }>(
      "select from_state, to_state, attempt from outbox.effect_events where effect_id = $1 order by event_id",
      [effectId],
    );
    return rows.rows.map((row) => ({ from: row.from_state, to: row.to_state, attempt: row.attempt }));
  }

  async function leaseOne(executorId = "executor-1", leaseMs = 30_000): Promise<LeasedEffect> {
    const leases = await store.lease({ executorId, maxEffects: 1, leaseMs });
    expect(leases, "expected one due effect").to.have.length(1);
    return leases[0]!;
  }

  describe("enqueue", () => {
    it("stores a pending effect with its payload, due now, with no history yet", async () => {
      const input = anEffect();
      const { effect, created } = await store.enqueue(input);
      expect(created).to.equal(true);
      expect(effect.effectId).to.not.equal("");
      expect(effect).to.include({
        tenantId: "tenant-a",
        idempotencyKey: input.idempotencyKey,
        effectType: "reminders.create",
        simulationId: input.simulationId,
        payloadDigest: input.payloadDigest,
        state: EffectState.PENDING,
        attempts: 0,
        resultId: "",
      });
      expect(Buffer.from(effect.payload).equals(Buffer.from(input.payload))).to.equal(true);
      expect(ms(effect.nextAttemptAt)).to.equal(START);
      expect(ms(effect.createdAt)).to.equal(START);
      // The row records its creation; the history starts with the first transition.
      expect(await events(effect.effectId)).to.deep.equal([]);
    });

    it("returns the stored effect, created false, for the same key and payload", async () => {
      const input = anEffect();
      const first = await store.enqueue(input);
      clock += 5000;
      const second = await store.enqueue({ ...input, payload: Buffer.from(input.payload) });
      expect(second.created).to.equal(false);
      expect(second.effect.effectId).to.equal(first.effect.effectId);
      expect(ms(second.effect.createdAt)).to.equal(START);
      expect(await events(first.effect.effectId)).to.have.length(0); // a replay changes nothing
    });

    it("refuses the same key with another payload as IDEMPOTENCY_KEY_REUSED", async () => {
      const input = anEffect();
      await store.enqueue(input);
      const other = randomBytes(32);
      const error = await store
        .enqueue({ ...input, payload: other, payloadDigest: sha256Digest(other) })
        .catch((e) => e);
      expect(error).to.be.instanceOf(SeleneError);
      expect(error).to.include({ reason: ReasonCode.IDEMPOTENCY_KEY_REUSED, fieldPath: "envelope.idempotency_key" });
      expect(await reasonOf(store.enqueue({ ...input, simulationId: "sim-other" }))).to.equal("IDEMPOTENCY_KEY_REUSED");
    });

    it("keeps the keys of different tenants apart", async () => {
      const input = anEffect();
      const a = await store.enqueue(input);
      const b = await store.enqueue({ ...input, tenantId: "tenant-b" });
      expect(b.created).to.equal(true);
      expect(b.effect.effectId).to.not.equal(a.effect.effectId);
    });

    it("refuses a digest that is not the sha256 of the payload as FIELD_INVALID on payload_digest", async () => {
      const input = anEffect();
      const error = await store.enqueue({ ...input, payloadDigest: sha256Digest("something else") }).catch((e) => e);
      expect(error).to.include({ reason: ReasonCode.FIELD_INVALID, fieldPath: "payload_digest" });
      const count = await pool.query("select 1 from outbox.effects");
      expect(count.rowCount).to.equal(0);
    });

    it("stores one effect for 200 concurrent enqueues of one key", async () => {
      const input = anEffect();
      const results = await Promise.all(Array.from({ length: 200 }, () => store.enqueue(input)));
      expect(new Set(results.map((r) => r.effect.effectId)).size).to.equal(1);
      expect(results.filter((r) => r.created)).to.have.length(1);
      const rows = await pool.query("select effect_id from outbox.effects");
      expect(rows.rowCount).to.equal(1);
      expect(await events(results[0]!.effect.effectId)).to.have.length(0);
    });
  });

  describe("enqueue with a lease", () => {
    const asked = { executorId: "executor-1", leaseMs: 30_000 };

    it("stores a new effect leased to the asking executor, recorded as Lease records it, and acks it DONE", async () => {
      const { effect, created, lease } = await store.enqueue(anEffect({ lease: asked }));
      expect(created).to.equal(true);
      expect(effect).to.include({ state: EffectState.LEASED, attempts: 1 });
      expect(lease?.token).to.match(/^[0-9a-f-]{36}$/);
      expect(lease?.expiresAt.getTime()).to.equal(START + 30_000);
      const owner = await admin.query("select lease_owner from outbox.effects where effect_id = $1", [effect.effectId]);
      expect(owner.rows[0].lease_owner).to.equal("executor-1");
      expect(await store.lease({ executorId: "executor-2", maxEffects: 10, leaseMs: 30_000 })).to.deep.equal([]);

      clock += 10;
      const done = await store.ack({ effectId: effect.effectId, leaseToken: lease!.token, resultId: "r-1" });
      expect(done).to.include({ state: EffectState.DONE, resultId: "r-1", attempts: 1 });
      expect(await events(effect.effectId)).to.deep.equal([
        { from: "pending", to: "leased", attempt: 1 },
        { from: "leased", to: "done", attempt: 1 },
      ]);
    });

    it("returns an effect already stored under the key as it is, never leased by the replay", async () => {
      const input = anEffect();
      const first = await store.enqueue(input);
      const replay = await store.enqueue({ ...input, lease: asked });
      expect(replay.created).to.equal(false);
      expect(replay.lease).to.equal(undefined);
      expect(replay.effect).to.include({ effectId: first.effect.effectId, state: EffectState.PENDING, attempts: 0 });
      const leasedInput = anEffect({ lease: asked });
      const leasedFirst = await store.enqueue(leasedInput);
      const leasedReplay = await store.enqueue({ ...leasedInput, lease: { executorId: "executor-2", leaseMs: 1000 } });
      expect(leasedReplay.lease).to.equal(undefined);
      expect(await events(leasedFirst.effect.effectId)).to.have.length(1); // the replay changes nothing
    });

    describe("a replay from the executor holding the effect's lease (its first answer lost)", () => {
      it("gets the same lease back, token and expiry, while it is live, and changes nothing", async () => {
        const input = anEffect({ lease: asked });
        const first = await store.enqueue(input);
        clock += 29_999;
        const replay = await store.enqueue({ ...input, lease: { ...asked, leaseMs: 5000 } });
        expect(replay.created).to.equal(false);
        expect(replay.lease).to.deep.equal(first.lease);
        expect(replay.effect).to.deep.equal(first.effect); // what the lost answer said
        expect(await events(first.effect.effectId)).to.deep.equal([{ from: "pending", to: "leased", attempt: 1 }]);
        // One lease: its token acks once, a second ack with it is a replay of the first.
        const done = await store.ack({
          effectId: first.effect.effectId,
          leaseToken: replay.lease!.token,
          resultId: "r-1",
        });
        expect(done).to.include({ state: EffectState.DONE, attempts: 1 });
        const again = await store.ack({
          effectId: first.effect.effectId,
          leaseToken: first.lease!.token,
          resultId: "r-1",
        });
        expect(again).to.deep.equal(done);
      });

      it("gets no lease from another executor's replay, and the other executor's Lease cannot take it", async () => {
        const input = anEffect({ lease: asked });
        const first = await store.enqueue(input);
        const other = await store.enqueue({ ...input, lease: { executorId: "executor-2", leaseMs: 30_000 } });
        expect(other.created).to.equal(false);
        expect(other.lease).to.equal(undefined);
        expect(other.effect).to.include({ effectId: first.effect.effectId, state: EffectState.LEASED });
        expect(await store.lease({ executorId: "executor-2", maxEffects: 10, leaseMs: 30_000 })).to.deep.equal([]);
        const plain = await store.enqueue({ ...input, lease: undefined });
        expect(plain.lease, "a replay that asks for no lease gets none").to.equal(undefined);
      });

      it("gets no lease once the effect is done, nor once it was nacked back to pending", async () => {
        const input = anEffect({ lease: asked });
        const first = await store.enqueue(input);
        await store.ack({ effectId: first.effect.effectId, leaseToken: first.lease!.token, resultId: "r-1" });
        const afterDone = await store.enqueue(input);
        expect(afterDone.lease).to.equal(undefined);
        expect(afterDone.effect).to.include({ state: EffectState.DONE, resultId: "r-1" });

        const flaky = anEffect({ effectType: "test.flaky", lease: asked });
        const failed = await store.enqueue(flaky);
        await store.nack({
          effectId: failed.effect.effectId,
          leaseToken: failed.lease!.token,
          error: "engine down",
          reason: ReasonCode.DEPENDENCY_UNAVAILABLE,
          retryable: true,
        });
        const afterNack = await store.enqueue(flaky);
        expect(afterNack.lease).to.equal(undefined);
        expect(afterNack.effect).to.include({ state: EffectState.PENDING, attempts: 1 });
      });

      it("gets no lease once it lapsed: the effect is due, and a Lease takes it with a new token and attempt", async () => {
        const input = anEffect({ lease: { executorId: "executor-1", leaseMs: 1000 } });
        const first = await store.enqueue(input);
        clock += 1000;
        const lapsed = await store.enqueue(input);
        expect(lapsed.lease).to.equal(undefined);
        expect(lapsed.effect).to.include({ state: EffectState.LEASED, attempts: 1 });
        const next = await leaseOne("executor-1", 1000);
        expect(next.effect).to.include({ effectId: first.effect.effectId, attempts: 2 });
        expect(next.leaseToken).to.not.equal(first.lease!.token);
        // The new lease is live and this executor's: a replay now gets that one back, not the first.
        const replay = await store.enqueue(input);
        expect(replay.lease?.token).to.equal(next.leaseToken);
        expect(replay.lease?.expiresAt.getTime()).to.equal(ms(next.leaseExpiresAt));
        expect(
          await reasonOf(store.ack({ effectId: first.effect.effectId, leaseToken: first.lease!.token, resultId: "r" })),
        ).to.equal("LEASE_NOT_HELD");
      });

      it("gets no lease when the effect is leased to another executor after the first lease lapsed", async () => {
        const input = anEffect({ lease: { executorId: "executor-1", leaseMs: 1000 } });
        await store.enqueue(input);
        clock += 1000;
        const taken = await leaseOne("executor-2", 30_000);
        const replay = await store.enqueue(input);
        expect(replay.lease).to.equal(undefined);
        const theirs = await store.enqueue({ ...input, lease: { executorId: "executor-2", leaseMs: 30_000 } });
        expect(theirs.lease?.token).to.equal(taken.leaseToken);
      });
    });

    it("gives an effect whose enqueued lease lapsed (its executor died) to another executor, once", async () => {
      const { effect, lease } = await store.enqueue(anEffect({ lease: { executorId: "executor-1", leaseMs: 1000 } }));
      clock += 999;
      expect(await store.lease({ executorId: "executor-2", maxEffects: 10, leaseMs: 1000 })).to.deep.equal([]);
      clock += 1;
      const second = await leaseOne("executor-2", 1000);
      expect(second.effect).to.include({ effectId: effect.effectId, state: EffectState.LEASED, attempts: 2 });
      const stale = { effectId: effect.effectId, leaseToken: lease!.token, resultId: "r-1" };
      expect(await reasonOf(store.ack(stale))).to.equal("LEASE_NOT_HELD");
      await store.ack({ ...stale, leaseToken: second.leaseToken });
      expect(await events(effect.effectId)).to.deep.equal([
        { from: "pending", to: "leased", attempt: 1 },
        { from: "leased", to: "leased", attempt: 2 },
        { from: "leased", to: "done", attempt: 2 },
      ]);
    });

    it("dead-letters an effect whose enqueued lease lapsed on its last allowed attempt", async () => {
      const input = anEffect({ effectType: "test.once", lease: { executorId: "executor-1", leaseMs: 1000 } });
      const { effect } = await store.enqueue(input);
      clock += 1000;
      expect(await store.lease({ executorId: "executor-2", maxEffects: 10, leaseMs: 1000 })).to.deep.equal([]);
      expect(await store.get("tenant-a", effect.effectId)).to.include({ state: EffectState.DEAD_LETTER, attempts: 1 });
    });

    it("never lets another executor's Lease take an effect enqueued leased, leasing concurrently", async () => {
      let enqueuing = true;
      const takenByOther: string[] = [];
      const other = (async () => {
        while (enqueuing) {
          const leases = await store.lease({ executorId: "executor-2", maxEffects: 100, leaseMs: 30_000 });
          takenByOther.push(...leases.map((l) => l.effect!.effectId));
        }
      })();
      const mine = await Promise.all(Array.from({ length: 50 }, () => store.enqueue(anEffect({ lease: asked }))));
      enqueuing = false;
      await other;
      expect(mine.every((r) => r.lease !== undefined)).to.equal(true);
      expect(takenByOther).to.deep.equal([]);
    });

    it("stores and leases one effect for 50 concurrent leased enqueues of one key: one lease, handed to each", async () => {
      const input = anEffect({ lease: asked });
      const results = await Promise.all(Array.from({ length: 50 }, () => store.enqueue(input)));
      expect(results.filter((r) => r.created)).to.have.length(1);
      expect(new Set(results.map((r) => r.lease?.token))).to.deep.equal(new Set([results[0]!.lease!.token]));
      expect(new Set(results.map((r) => r.effect.effectId)).size).to.equal(1);
      expect(await events(results[0]!.effect.effectId)).to.have.length(1);
    });

    it("hands one effect's lease to one executor of two enqueuing it concurrently, never to both", async () => {
      const input = anEffect();
      const results = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          store
            .enqueue({ ...input, lease: { executorId: `executor-${i % 2}`, leaseMs: 30_000 } })
            .then((r) => ({ i, r })),
        ),
      );
      const holders = new Set(results.filter(({ r }) => r.lease !== undefined).map(({ i }) => i % 2));
      expect(holders.size).to.equal(1);
      expect(new Set(results.map(({ r }) => r.lease?.token).filter((t) => t !== undefined)).size).to.equal(1);
    });
  });

  describe("lease and ack", () => {
    it("leases a due effect once, with a token and an expiry, and acks it DONE", async () => {
      const { effect } = await store.enqueue(anEffect());
      const leased = await leaseOne("executor-1", 30_000);
      expect(leased.effect!.effectId).to.equal(effect.effectId);
      expect(leased.effect).to.include({ state: EffectState.LEASED, attempts: 1 });
      expect(leased.leaseToken).to.match(/^[0-9a-f-]{36}$/);
      expect(ms(leased.leaseExpiresAt)).to.equal(START + 30_000);
      expect(await store.lease({ executorId: "executor-2", maxEffects: 10, leaseMs: 30_000 })).to.deep.equal([]);

      clock += 10;
      const done = await store.ack({ effectId: effect.effectId, leaseToken: leased.leaseToken, resultId: "r-1" });
      expect(done).to.include({ state: EffectState.DONE, resultId: "r-1", attempts: 1 });
      expect(ms(done.updatedAt)).to.equal(START + 10);
      expect((await store.get("tenant-a", effect.effectId)).state).to.equal(EffectState.DONE);
      expect(await events(effect.effectId)).to.deep.equal([
        { from: "pending", to: "leased", attempt: 1 },
        { from: "leased", to: "done", attempt: 1 },
      ]);
    });

    it("returns a done effect unchanged to a replayed ack with the same result, and refuses another result", async () => {
      const { effect } = await store.enqueue(anEffect());
      const leased = await leaseOne();
      const ack = { effectId: effect.effectId, leaseToken: leased.leaseToken, resultId: "r-1" };
      const first = await store.ack(ack);
      clock += 1000;
      const replay = await store.ack(ack);
      expect(replay).to.include({ state: EffectState.DONE, resultId: "r-1" });
      expect(ms(replay.updatedAt)).to.equal(ms(first.updatedAt));
      expect(await reasonOf(store.ack({ ...ack, resultId: "r-2" }))).to.equal("LEASE_NOT_HELD");
      expect(await events(effect.effectId)).to.have.length(2); // leased, done: the replay adds nothing
    });

    it("leases oldest due first and at most maxEffects", async () => {
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        ids.push((await store.enqueue(anEffect())).effect.effectId);
        clock += 1;
      }
      const leases = await store.lease({ executorId: "executor-1", maxEffects: 3, leaseMs: 1000 });
      expect(leases.map((l) => l.effect!.effectId)).to.deep.equal(ids.slice(0, 3));
    });

    it("does not lease an effect enqueued in the future of the clock", async () => {
      clock += 1000;
      await store.enqueue(anEffect());
      clock -= 1;
      expect(await store.lease({ executorId: "executor-1", maxEffects: 10, leaseMs: 1000 })).to.deep.equal([]);
    });

    it("gives an effect whose lease lapsed to another executor, and refuses the stale token", async () => {
      const { effect } = await store.enqueue(anEffect());
      const first = await leaseOne("executor-1", 1000);
      clock += 999;
      expect(await store.lease({ executorId: "executor-2", maxEffects: 10, leaseMs: 1000 })).to.deep.equal([]);
      clock += 1;
      const second = await leaseOne("executor-2", 1000);
      expect(second.effect).to.include({ effectId: effect.effectId, state: EffectState.LEASED, attempts: 2 });
      expect(second.leaseToken).to.not.equal(first.leaseToken);

      const stale = { effectId: effect.effectId, leaseToken: first.leaseToken, resultId: "r-1" };
      expect(await reasonOf(store.ack(stale))).to.equal("LEASE_NOT_HELD");
      const nack = { effectId: effect.effectId, leaseToken: first.leaseToken, error: "x", reason: 0, retryable: true };
      expect(await reasonOf(store.nack(nack))).to.equal("LEASE_NOT_HELD");
      const done = await store.ack({ ...stale, leaseToken: second.leaseToken });
      expect(done.state).to.equal(EffectState.DONE);
      expect(await events(effect.effectId)).to.deep.equal([
        { from: "pending", to: "leased", attempt: 1 },
        { from: "leased", to: "leased", attempt: 2 },
        { from: "leased", to: "done", attempt: 2 },
      ]);
    });

    it("dead-letters an effect whose lease lapsed on its last allowed attempt", async () => {
      const { effect } = await store.enqueue(anEffect({ effectType: "test.once" }));
      await leaseOne("executor-1", 1000);
      clock += 1000;
      expect(await store.lease({ executorId: "executor-2", maxEffects: 10, leaseMs: 1000 })).to.deep.equal([]);
      const dead = await store.get("tenant-a", effect.effectId);
      expect(dead).to.include({ state: EffectState.DEAD_LETTER, attempts: 1, lastReason: ReasonCode.LEASE_NOT_HELD });
      expect(dead.lastError).to.contain("lapsed");
    });

    it("never hands the same effect to two executors leasing concurrently from 100 pending effects", async () => {
      for (let i = 0; i < 100; i++) await store.enqueue(anEffect());
      const taken = new Map<string, string[]>();
      async function drain(executorId: string): Promise<void> {
        for (;;) {
          const leases = await store.lease({ executorId, maxEffects: 7, leaseMs: 60_000 });
          if (leases.length === 0) return;
          for (const lease of leases)
            taken.set(lease.effect!.effectId, [...(taken.get(lease.effect!.effectId) ?? []), executorId]);
        }
      }
      // Two executors, each with three concurrent lease loops.
      await Promise.all(["executor-1", "executor-2"].flatMap((id) => [drain(id), drain(id), drain(id)]));
      expect(taken.size).to.equal(100);
      for (const [effectId, holders] of taken) expect(holders, effectId).to.have.length(1);
      const byExecutor = new Set([...taken.values()].map((holders) => holders[0]));
      expect(byExecutor.size).to.equal(2);
      const rows = await pool.query<{ n: string }>("select count(*) as n from outbox.effects where attempts = 1");
      expect(Number(rows.rows[0]!.n)).to.equal(100);
    });
  });

  describe("responses bounded by size", () => {
    /** The effect's payload is as large as the contract allows. */
    const LARGEST = 49_152;

    it("leases no more effects than one response holds, and every effect in turn", async () => {
      const ids: string[] = [];
      for (let i = 0; i < 5; i++)
        ids.push((await store.enqueue(anEffect({ payload: randomBytes(LARGEST) }))).effect.effectId);
      const leased: string[] = [];
      for (let round = 0; round < 10 && leased.length < ids.length; round++) {
        const leases = await store.lease({ executorId: "executor-1", maxEffects: 100, leaseMs: 60_000 });
        const bytes = toBinary(LeaseResponseSchema, create(LeaseResponseSchema, { leases }));
        expect(bytes.length, `round ${round}`).to.be.at.most(RESPONSE_LIMIT_BYTES);
        // Two effects of 48 KiB never fit 64 KiB together.
        expect(leases.length, `round ${round}`).to.equal(1);
        leased.push(...leases.map((l) => l.effect!.effectId));
      }
      expect(leased).to.have.members(ids);
      expect(leased.length).to.equal(ids.length);
      // The ones left out by size were not touched: each has one lease in its history.
      for (const id of ids) expect((await events(id)).filter((e) => e.to === "leased").length).to.equal(1);
    });

    it("bounds the lease by the stored bytes from above: the SQL estimate of a row is never below its encoding", async () => {
      const { effect } = await store.enqueue(anEffect({ payload: randomBytes(1000), simulationId: "s-é😀" }));
      const [lease] = await store.lease({ executorId: "e".repeat(128), maxEffects: 1, leaseMs: 1000 });
      const nacked = await store.nack({
        effectId: effect.effectId,
        leaseToken: lease!.leaseToken,
        error: "😀".repeat(2048),
        reason: ReasonCode.ENGINE_REJECTED,
        retryable: true,
      });
      const { rows } = await pool.query<{ bytes: number }>(
        `select ${EFFECT_BYTES_SQL}::int as bytes from outbox.effects where effect_id = $1`,
        [effect.effectId],
      );
      const leased = create(LeasedEffectSchema, {
        effect: nacked,
        leaseToken: lease!.leaseToken,
        leaseExpiresAt: lease!.leaseExpiresAt,
      });
      // Framed as an element of LeaseResponse.leases.
      expect(rows[0]!.bytes).to.be.at.least(framedBytes(toBinary(LeasedEffectSchema, leased).length));
    });

    it("pages dead letters by size: every page fits one response, and the pages hold every dead letter once", async () => {
      const ids = new Set<string>();
      for (let i = 0; i < 4; i++) {
        const { effect } = await store.enqueue(anEffect({ payload: randomBytes(LARGEST), effectType: "test.once" }));
        const [lease] = await store.lease({ executorId: "executor-1", maxEffects: 1, leaseMs: 1000 });
        await store.nack({
          effectId: effect.effectId,
          leaseToken: lease!.leaseToken,
          error: "no",
          reason: ReasonCode.ENGINE_REJECTED,
          retryable: false,
        });
        ids.add(effect.effectId);
        clock += 1000;
      }
      const seen: string[] = [];
      let pageToken = "";
      do {
        const page = await store.listDeadLetters({ pageSize: 500, pageToken });
        const bytes = toBinary(ListDeadLettersResponseSchema, create(ListDeadLettersResponseSchema, page));
        expect(bytes.length).to.be.at.most(RESPONSE_LIMIT_BYTES);
        expect(page.effects.length).to.equal(1);
        seen.push(...page.effects.map((e) => e.effectId));
        pageToken = page.nextPageToken;
      } while (pageToken !== "");
      expect(seen).to.have.members([...ids]);
      expect(seen.length).to.equal(ids.size);
    });
  });

  describe("nack", () => {
    it("schedules a retryable failure with jittered backoff, not leasable before it is due", async () => {
      const { effect } = await store.enqueue(anEffect({ effectType: "test.flaky" }));
      let leased = await leaseOne();
      // Attempt 1 of "test.flaky": ceiling 1000 ms; jitter 0.5 draws 500 ms.
      const retry = await store.nack({
        effectId: effect.effectId,
        leaseToken: leased.leaseToken,
        error: "engine unavailable",
        reason: ReasonCode.ENGINE_UNAVAILABLE,
        retryable: true,
      });
      expect(retry).to.include({ state: EffectState.PENDING, attempts: 1, lastError: "engine unavailable" });
      expect(retry.lastReason).to.equal(ReasonCode.ENGINE_UNAVAILABLE);
      expect(ms(retry.nextAttemptAt)).to.equal(START + 500);
      clock += 499;
      expect(await store.lease({ executorId: "executor-1", maxEffects: 10, leaseMs: 1000 })).to.deep.equal([]);
      clock += 1;
      leased = await leaseOne();
      expect(leased.effect!.attempts).to.equal(2);

      // Attempt 2: ceiling 2000 ms; jitter 0.25 draws 500 ms.
      jitter = 0.25;
      const again = await store.nack({
        effectId: effect.effectId,
        leaseToken: leased.leaseToken,
        error: "engine timed out",
        reason: ReasonCode.ENGINE_DEADLINE_EXCEEDED,
        retryable: true,
      });
      expect(ms(again.nextAttemptAt)).to.equal(clock + 500);
    });

    it("dead-letters the effect with its last error once the attempts are spent", async () => {
      const { effect } = await store.enqueue(anEffect({ effectType: "test.flaky" }));
      let last: Effect | undefined;
      for (let attempt = 1; attempt <= 3; attempt++) {
        const leased = await leaseOne();
        expect(leased.effect!.attempts).to.equal(attempt);
        last = await store.nack({
          effectId: effect.effectId,
          leaseToken: leased.leaseToken,
          error: `failure ${attempt}`,
          reason: ReasonCode.ENGINE_FAILED,
          retryable: true,
        });
        clock += 60_000;
      }
      expect(last).to.include({ state: EffectState.DEAD_LETTER, attempts: 3, lastError: "failure 3" });
      expect(last!.lastReason).to.equal(ReasonCode.ENGINE_FAILED);
      expect(await store.lease({ executorId: "executor-1", maxEffects: 10, leaseMs: 1000 })).to.deep.equal([]);
      const history = await events(effect.effectId);
      expect(history.at(-1)).to.deep.equal({ from: "leased", to: "dead_letter", attempt: 3 });
    });

    it("dead-letters a permanent failure at once, and answers a replayed nack unchanged", async () => {
      const { effect } = await store.enqueue(anEffect());
      const leased = await leaseOne();
      const nack = {
        effectId: effect.effectId,
        leaseToken: leased.leaseToken,
        error: "no such reminder",
        reason: ReasonCode.ENGINE_REJECTED,
        retryable: false,
      };
      const dead = await store.nack(nack);
      expect(dead).to.include({ state: EffectState.DEAD_LETTER, attempts: 1, lastError: "no such reminder" });
      clock += 1000;
      const replay = await store.nack(nack);
      expect(ms(replay.updatedAt)).to.equal(ms(dead.updatedAt));
      expect(await events(effect.effectId)).to.have.length(2); // leased, dead letter: the replay adds nothing
    });

    it("refuses an unknown effect as EFFECT_NOT_FOUND and an invented token as LEASE_NOT_HELD", async () => {
      const { effect } = await store.enqueue(anEffect());
      await leaseOne();
      const ack = { effectId: effect.effectId, leaseToken: "not-a-token", resultId: "r-1" };
      expect(await reasonOf(store.ack(ack))).to.equal("LEASE_NOT_HELD");
      expect(await reasonOf(store.ack({ ...ack, effectId: "no-such-effect" }))).to.equal("EFFECT_NOT_FOUND");
      const nack = { ...ack, effectId: "no-such-effect", error: "", reason: 0, retryable: true };
      expect(await reasonOf(store.nack(nack))).to.equal("EFFECT_NOT_FOUND");
    });
  });

  describe("get", () => {
    it("hides another tenant's effect as EFFECT_NOT_FOUND", async () => {
      const { effect } = await store.enqueue(anEffect());
      expect((await store.get("tenant-a", effect.effectId)).effectId).to.equal(effect.effectId);
      expect(await reasonOf(store.get("tenant-b", effect.effectId))).to.equal("EFFECT_NOT_FOUND");
    });
  });

  describe("dead letters", () => {
    /** Enqueues an effect of `tenantId`, leases it and fails it for good at the current clock. */
    async function aDeadLetter(tenantId = "tenant-a"): Promise<Effect> {
      const { effect } = await store.enqueue(anEffect({ tenantId }));
      const leases = await store.lease({ executorId: "executor-1", maxEffects: 1, leaseMs: 1000 });
      expect(leases[0]!.effect!.effectId).to.equal(effect.effectId);
      return store.nack({
        effectId: effect.effectId,
        leaseToken: leases[0]!.leaseToken,
        error: "refused",
        reason: ReasonCode.ENGINE_REJECTED,
        retryable: false,
      });
    }

    it("lists dead letters newest first in keyset pages, filtered by tenant when asked", async () => {
      const ids: string[] = [];
      for (const tenant of ["tenant-a", "tenant-b", "tenant-a", "tenant-a", "tenant-b"]) {
        ids.push((await aDeadLetter(tenant)).effectId);
        clock += 1000;
      }
      await store.enqueue(anEffect()); // pending: never listed
      const seen: string[] = [];
      let pageToken = "";
      let pages = 0;
      do {
        const page = await store.listDeadLetters({ pageSize: 2, pageToken });
        expect(page.effects.length).to.be.at.most(2);
        seen.push(...page.effects.map((e) => e.effectId));
        pageToken = page.nextPageToken;
        pages += 1;
      } while (pageToken !== "");
      expect(seen).to.deep.equal([...ids].reverse());
      expect(pages).to.equal(3);

      const onlyB = await store.listDeadLetters({ tenantId: "tenant-b", pageSize: 0, pageToken: "" });
      expect(onlyB.effects.map((e) => e.effectId)).to.deep.equal([ids[4], ids[1]]);
      expect(onlyB.nextPageToken).to.equal("");
    });

    it("keeps effects that died at the same instant apart across pages", async () => {
      const ids = [await aDeadLetter(), await aDeadLetter(), await aDeadLetter()].map((e) => e.effectId);
      const first = await store.listDeadLetters({ pageSize: 2, pageToken: "" });
      const second = await store.listDeadLetters({ pageSize: 2, pageToken: first.nextPageToken });
      const listed = [...first.effects, ...second.effects].map((e) => e.effectId);
      expect(listed).to.have.members(ids);
      expect(new Set(listed).size).to.equal(3);
      expect(second.nextPageToken).to.equal("");
    });

    it("refuses a page token it did not issue as FIELD_INVALID", async () => {
      for (const pageToken of ["garbage", Buffer.from('["x","y"]').toString("base64url"), "e30"]) {
        const error = await store.listDeadLetters({ pageSize: 10, pageToken }).catch((e) => e);
        expect(error, pageToken).to.include({ reason: ReasonCode.FIELD_INVALID, fieldPath: "page_token" });
      }
    });

    it("retries a dead letter as a pending effect with its attempts reset, leasable at once", async () => {
      const dead = await aDeadLetter();
      clock += 5000;
      const retried = await store.retryDeadLetter(dead.effectId);
      expect(retried).to.include({ state: EffectState.PENDING, attempts: 0 });
      expect(ms(retried.nextAttemptAt)).to.equal(clock);
      const leased = await leaseOne();
      expect(leased.effect).to.include({ effectId: dead.effectId, attempts: 1 });
      expect(await reasonOf(store.retryDeadLetter(dead.effectId))).to.equal("EFFECT_STATE_CONFLICT");
      expect(await reasonOf(store.retryDeadLetter("no-such-effect"))).to.equal("EFFECT_NOT_FOUND");
    });

    it("discards a dead letter for good, recording why, and answers a replayed discard unchanged", async () => {
      const dead = await aDeadLetter();
      const discarded = await store.discardDeadLetter(dead.effectId, "customer cancelled");
      expect(discarded.state).to.equal(EffectState.DISCARDED);
      expect((await store.discardDeadLetter(dead.effectId, "again")).state).to.equal(EffectState.DISCARDED);
      expect(await reasonOf(store.retryDeadLetter(dead.effectId))).to.equal("EFFECT_STATE_CONFLICT");
      const last = await pool.query<{ to_state: string; error: string }>(
        "select to_state, error from outbox.effect_events where effect_id = $1 order by event_id desc limit 1",
        [dead.effectId],
      );
      expect(last.rows[0]).to.deep.equal({ to_state: "discarded", error: "customer cancelled" });
      expect((await store.listDeadLetters({ pageSize: 10, pageToken: "" })).effects).to.deep.equal([]);

      const { effect: pending } = await store.enqueue(anEffect());
      expect(await reasonOf(store.discardDeadLetter(pending.effectId, "no"))).to.equal("EFFECT_STATE_CONFLICT");
    });
  });

  describe("the schema", () => {
    it("refuses an UPDATE of an effect's payload, digest or identity", async () => {
      const { effect } = await store.enqueue(anEffect());
      for (const set of [
        "payload = '\\x00'::bytea",
        `payload_digest = '${sha256Digest("x")}'`,
        "tenant_id = 'tenant-z'",
        "idempotency_key = 'other'",
        "effect_type = 'calc.run'",
      ]) {
        const error = await pool
          .query(`update outbox.effects set ${set} where effect_id = $1`, [effect.effectId])
          .catch((e: unknown) => e);
        expect(error, set).to.include({ code: "23001" });
      }
      // Mutable columns still change.
      await pool.query("update outbox.effects set last_error = 'note' where effect_id = $1", [effect.effectId]);
      expect((await store.get("tenant-a", effect.effectId)).lastError).to.equal("note");
    });

    it("keeps the history append-only", async () => {
      const { effect } = await store.enqueue(anEffect());
      expect(await store.lease({ executorId: "x", maxEffects: 10, leaseMs: 1000 })).to.have.length.at.least(1);
      expect(await events(effect.effectId)).to.have.length(1);
      const rewrite = (db: pg.Pool) =>
        db
          .query("update outbox.effect_events set error = 'rewritten' where effect_id = $1", [effect.effectId])
          .catch((e: unknown) => e);
      // The outbox's role has no UPDATE on its history; the owner's logins are stopped by the guard.
      expect(await rewrite(pool)).to.include({ code: "42501" });
      expect(await rewrite(admin)).to.include({ code: "23001" });
    });
  });

  describe("purgeDone", () => {
    it("deletes done and discarded effects older than the retention, and keeps their history", async () => {
      const old = await store.enqueue(anEffect());
      const oldLease = await leaseOne();
      await store.ack({ effectId: old.effect.effectId, leaseToken: oldLease.leaseToken, resultId: "r-old" });
      const discarded = await store.enqueue(anEffect());
      const lease = await leaseOne();
      const fail = { error: "", reason: ReasonCode.ENGINE_REJECTED, retryable: false };
      await store.nack({ effectId: discarded.effect.effectId, leaseToken: lease.leaseToken, ...fail });
      await store.discardDeadLetter(discarded.effect.effectId, "not needed");
      clock += 2 * 3600_000;
      const recent = await store.enqueue(anEffect());
      const recentLease = await leaseOne();
      await store.ack({ effectId: recent.effect.effectId, leaseToken: recentLease.leaseToken, resultId: "r-new" });
      const dead = await store.enqueue(anEffect());
      const deadLease = await leaseOne();
      await store.nack({ effectId: dead.effect.effectId, leaseToken: deadLease.leaseToken, ...fail });
      // Pending effects are never final, whatever their age.
      const stillPending = await store.enqueue(anEffect());
      clock += 30 * 60_000; // the retention cut-off is now 90 minutes after the old effects finished

      expect(await store.purgeDone(3600_000)).to.equal(2);
      const left = await pool.query<{ effect_id: string }>("select effect_id from outbox.effects order by effect_id");
      expect(left.rows.map((r) => r.effect_id)).to.have.members([
        stillPending.effect.effectId,
        recent.effect.effectId,
        dead.effect.effectId,
      ]);
      expect(await events(old.effect.effectId)).to.deep.equal([
        { from: "pending", to: "leased", attempt: 1 },
        { from: "leased", to: "done", attempt: 1 },
      ]);
      expect((await events(discarded.effect.effectId)).map((event) => event.to)).to.deep.equal([
        "leased",
        "dead_letter",
        "discarded",
      ]);
      expect(await store.purgeDone(3600_000)).to.equal(0);
    });
  });
});
