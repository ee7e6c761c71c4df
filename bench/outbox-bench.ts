/**
 * `npm run bench:outbox`: outbox throughput on one Postgres, in one run, side by side:
 * 1. a raw single-row INSERT baseline at 8 clients (autocommit);
 * 2. `EffectStore.enqueue` at 8 clients, and its ratio to the raw INSERT rate;
 * 3. end to end: 8 producers enqueue `reminders.create` effects (payload: a real engine
 *    CommitRequest) while 4 in-process executor loops lease (batch 64), commit each through the
 *    reminders engine's store with its idempotency key, and ack. Reports effects done per second,
 *    enqueue-to-done latency, and checks that every effect made exactly one reminder.
 * The end-to-end row measures the outbox and engine store path without the gRPC hops.
 * Runs in a throwaway database `selene_bench_<random>`, dropped at the end.
 */

import { randomBytes } from "node:crypto";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import pg from "pg";
import { pino } from "pino";
import { migrateAll } from "../deploy/migrate.js";
import { createScratchDatabase, LOCAL_ADMIN_URL } from "../deploy/scratch-database.js";
import { CommitRequestSchema } from "../gen/es/selene/engine/v1/engine_pb.js";
import { effectDigest, normaliseEffect } from "../services/engines/reminders/reminder-effects.js";
import { createReminderStore } from "../services/engines/reminders/reminder-store.js";
import { commitInputOf } from "../services/engines/reminders/reminders-engine.js";
import { createEffectStore, type EffectStore } from "../services/outbox/effect-store.js";
import { DEFAULT_RETRY_POLICIES } from "../services/outbox/retry-policy.js";
import { sha256Digest } from "../services/runtime/content-digest.js";
import { CURRENT_CONTRACT_VERSION } from "../services/runtime/contract-version.js";
import { measureAsync, type RunResult, table } from "./bench-harness.js";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CLIENTS = 8;
const EXECUTORS = 4;
const BATCH = 64;
const LEASE_MS = 30_000;
const DRAIN_TIMEOUT_MS = 120_000;
/** Offered rate of the paced end-to-end row, effects/s over all producers. */
const OFFERED_RATE = Number(process.env.BENCH_OUTBOX_RATE ?? 1000);
const TENANT = "bench";

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A `reminders.create` CommitRequest as the router's confirm step serializes it. */
function commitPayload(key: string, n: number): Uint8Array {
  const fields = normaliseEffect("reminders.create", {
    text: `call mom about bench item ${n}`,
    when: "tomorrow 17:00",
  });
  const simulationId = key.slice("effect:".length);
  return toBinary(
    CommitRequestSchema,
    create(CommitRequestSchema, {
      envelope: {
        contractVersion: CURRENT_CONTRACT_VERSION,
        tenantId: TENANT,
        userId: "user-1",
        correlationId: simulationId,
        turnId: simulationId,
        idempotencyKey: key,
      },
      capability: "reminders.create",
      simulationId,
      fields: { ...fields },
      effectDigest: effectDigest("reminders.create", fields),
    }),
  );
}

interface EndToEnd {
  readonly result: RunResult;
  readonly enqueued: number;
  readonly done: number;
  readonly dedupedCommits: number;
  readonly doubleAcks: number;
}

/** Producers enqueue for SECONDS (paced at `rate`/s when given), executors drain until every effect is done. */
async function endToEnd(
  name: string,
  store: Pick<EffectStore, "enqueue" | "lease" | "ack">,
  execute: pg.Pool,
  rate: number | undefined,
  runId: string,
): Promise<EndToEnd> {
  const reminders = createReminderStore(execute);
  const enqueuedAt = new Map<string, number>();
  const doneAt = new Map<string, number>();
  let dedupedCommits = 0;
  let doubleAcks = 0;
  let producing = true;
  let counter = 0;
  const start = performance.now();
  const end = start + SECONDS * 1000;

  const producer = async (index: number) => {
    const interval = rate === undefined ? 0 : (1000 * CLIENTS) / rate;
    let next = start + (rate === undefined ? 0 : (index * interval) / CLIENTS);
    while (performance.now() < end) {
      if (rate !== undefined) {
        const wait = next - performance.now();
        if (wait > 0) await sleep(wait);
        next += interval;
        if (performance.now() >= end) break;
      }
      const n = counter++;
      const key = `effect:${runId}-${n}`;
      const payload = commitPayload(key, n);
      enqueuedAt.set(key, performance.now());
      await store.enqueue({
        tenantId: TENANT,
        idempotencyKey: key,
        effectType: "reminders.create",
        simulationId: key.slice("effect:".length),
        payload,
        payloadDigest: sha256Digest(payload),
      });
    }
  };

  const executor = async (index: number) => {
    const executorId = `bench-executor-${index}`;
    for (;;) {
      const leases = await store.lease({ executorId, maxEffects: BATCH, leaseMs: LEASE_MS });
      await Promise.all(
        leases.map(async (leased) => {
          const effect = leased.effect!;
          const result = await reminders.commit(commitInputOf(fromBinary(CommitRequestSchema, effect.payload)));
          if (result.deduplicated) dedupedCommits++;
          await store.ack({ effectId: effect.effectId, leaseToken: leased.leaseToken, resultId: result.effectId });
          if (doneAt.has(effect.idempotencyKey)) doubleAcks++;
          doneAt.set(effect.idempotencyKey, performance.now());
        }),
      );
      if (leases.length < BATCH) {
        if (!producing && doneAt.size >= enqueuedAt.size) return;
        if (performance.now() - start > SECONDS * 1000 + DRAIN_TIMEOUT_MS) return;
        await sleep(2);
      }
    }
  };

  const executors = Array.from({ length: EXECUTORS }, (_, i) => executor(i));
  await Promise.all(Array.from({ length: CLIENTS }, (_, i) => producer(i)));
  producing = false;
  await Promise.all(executors);

  const latencies: number[] = [];
  let lastDone = start;
  for (const [key, at] of doneAt) {
    latencies.push((at - enqueuedAt.get(key)!) * 1000);
    if (at > lastDone) lastDone = at;
  }
  const sorted = Float64Array.from(latencies).sort();
  const seconds = (lastDone - start) / 1000;
  return {
    result: {
      name,
      ops: doneAt.size,
      seconds,
      opsPerSec: doneAt.size / seconds,
      meanUs: (seconds * 1e6) / doneAt.size,
      p50us: percentile(sorted, 50),
      p95us: percentile(sorted, 95),
      p99us: percentile(sorted, 99),
    },
    enqueued: enqueuedAt.size,
    done: doneAt.size,
    dedupedCommits,
    doubleAcks,
  };
}

async function main(): Promise<void> {
  const db = await createScratchDatabase("selene_bench", process.env.DATABASE_URL || LOCAL_ADMIN_URL);
  say(`outbox bench: database ${db.name}, ${SECONDS} s per row, ${CLIENTS} clients, ${EXECUTORS} executors`);
  const pools: pg.Pool[] = [];
  let failed = false;
  try {
    await migrateAll(db.url, ["outbox", "reminders"], pino({ level: "silent" }));
    const produce = new pg.Pool({ connectionString: db.url, max: CLIENTS });
    const execute = new pg.Pool({ connectionString: db.url, max: EXECUTORS * 4 });
    pools.push(produce, execute);
    await produce.query(
      "create table bench_raw (id text primary key, tenant text, payload bytea, created_at timestamptz default now())",
    );
    const results: RunResult[] = [];

    say("step 1/4: raw INSERT baseline, 8 clients");
    let rawN = 0;
    const raw = await measureAsync(
      "raw INSERT, 8 clients",
      async () => {
        await produce.query("insert into bench_raw (id, tenant, payload) values ($1, $2, $3)", [
          `raw-${rawN++}`,
          TENANT,
          randomBytes(200),
        ]);
      },
      SECONDS,
      CLIENTS,
    );
    results.push(raw);
    // The same loop as a prepared statement: the enqueue uses one, so this is the strict baseline.
    const rawPrepared = await measureAsync(
      "raw INSERT prepared, 8 clients",
      async () => {
        await produce.query({
          name: "bench-raw-insert",
          text: "insert into bench_raw (id, tenant, payload) values ($1, $2, $3)",
          values: [`raw-${rawN++}`, TENANT, randomBytes(200)],
        });
      },
      SECONDS,
      CLIENTS,
    );
    results.push(rawPrepared);

    say("step 2/4: EffectStore.enqueue, 8 clients");
    const store = createEffectStore(produce, DEFAULT_RETRY_POLICIES);
    let enqN = 0;
    const enqueue = await measureAsync(
      "outbox enqueue, 8 clients",
      async () => {
        const payload = randomBytes(200);
        await store.enqueue({
          tenantId: TENANT,
          idempotencyKey: `enqueue-${enqN++}`,
          effectType: "bench.enqueue",
          simulationId: "sim",
          payload,
          payloadDigest: sha256Digest(payload),
        });
      },
      SECONDS,
      CLIENTS,
    );
    results.push(enqueue);
    // The enqueue-only effects must not reach the executors of step 3.
    await produce.query("truncate outbox.effects cascade");

    const runs: EndToEnd[] = [];
    say("step 3/4: end to end, 8 producers as fast as possible, 4 in-process executors");
    const execStore = createEffectStore(execute, DEFAULT_RETRY_POLICIES);
    const storeFor = { enqueue: store.enqueue, lease: execStore.lease, ack: execStore.ack };
    runs.push(await endToEnd("end to end, max offered (done/s, enqueue->done)", storeFor, execute, undefined, "max"));
    say(`step 4/4: end to end, 8 producers paced at ${OFFERED_RATE}/s, 4 in-process executors`);
    runs.push(
      await endToEnd(
        `end to end, ${OFFERED_RATE}/s offered (done/s, enqueue->done)`,
        storeFor,
        execute,
        OFFERED_RATE,
        "paced",
      ),
    );
    for (const run of runs) results.push(run.result);

    say("");
    say(table(results));
    say("");
    for (const [label, baseline] of [
      ["raw INSERT", raw],
      ["raw INSERT prepared", rawPrepared],
    ] as const) {
      const ratio = enqueue.opsPerSec / baseline.opsPerSec;
      const verdict = ratio >= 0.6 ? "met" : "NOT met";
      say(`enqueue / ${label} at 8 clients: ${(ratio * 100).toFixed(1)}% (target >= 60%: ${verdict})`);
    }
    const best = runs[0]!.result.opsPerSec;
    say(`end to end sustained: ${best.toFixed(0)} effects/s (target >= 1000/s: ${best >= 1000 ? "met" : "NOT met"})`);

    const counts = await execute.query<{
      reminders: string;
      distinct_ids: string;
      keys: string;
      done: string;
      other: string;
    }>(
      `select (select count(*) from reminders.reminders where tenant_id = $1) as reminders,
              (select count(distinct id) from reminders.reminders where tenant_id = $1) as distinct_ids,
              (select count(distinct idempotency_key) from reminders.processed_keys where tenant_id = $1) as keys,
              (select count(*) from outbox.effects where state = 'done') as done,
              (select count(*) from outbox.effects where state <> 'done') as other`,
      [TENANT],
    );
    const c = counts.rows[0]!;
    const enqueued = runs.reduce((s, r) => s + r.enqueued, 0);
    const done = runs.reduce((s, r) => s + r.done, 0);
    const deduped = runs.reduce((s, r) => s + r.dedupedCommits, 0);
    const doubleAcks = runs.reduce((s, r) => s + r.doubleAcks, 0);
    say(
      `duplicate check: effects enqueued ${enqueued}, acked ${done}, outbox done ${c.done} (not done ${c.other}), ` +
        `reminders ${c.reminders}, distinct reminder ids ${c.distinct_ids}, distinct keys ${c.keys}, ` +
        `deduplicated commits ${deduped}, double acks ${doubleAcks}`,
    );
    const n = String(enqueued);
    const ok =
      String(done) === n &&
      c.done === n &&
      c.other === "0" &&
      c.reminders === n &&
      c.distinct_ids === n &&
      c.keys === n &&
      deduped === 0 &&
      doubleAcks === 0;
    say(ok ? "duplicate check: OK, zero duplicates and zero lost effects" : "duplicate check: FAILED");
    failed = !ok;
  } finally {
    await Promise.all(pools.map((p) => p.end()));
    await db.drop();
  }
  if (failed) process.exitCode = 1;
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
