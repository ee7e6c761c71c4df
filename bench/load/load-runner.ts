/**
 * The load engine shared by `npm run bench` and `npm run chaos`: `concurrency` workers walk the
 * corpus schedule and send SubmitTurn over the tenants' channels, with ghz's knobs (total or
 * duration, a global rate, a per-call timeout). An `executed` fixture is two calls: the text, then
 * the confirmation of the CONFIRM outcome's simulation, retried with the same idempotency key on a
 * retryable status (as a real client would) up to `retries` times. Every call is recorded; every
 * EXECUTED outcome is kept as an acknowledged effect.
 */
import { randomBytes } from "node:crypto";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { ReasonCode } from "../../gen/es/selene/kernel/v1/reason_pb.js";
import {
  type SubmitTurnRequest,
  SubmitTurnRequestSchema,
  type SubmitTurnResponse,
  SubmitTurnResponseSchema,
  TurnService,
} from "../../gen/es/selene/os/v1/turn_pb.js";
import { CONTRACT_SURFACE, CONTRACT_SURFACE_KEY } from "../../services/runtime/contract-surface.js";
import { CURRENT_CONTRACT_VERSION } from "../../services/runtime/contract-version.js";
import { methodPath } from "../../services/runtime/raw-service-definition.js";
import { CORRELATION_KEY } from "../../services/runtime/unary-service.js";
import { type CallRecord, RETRYABLE_CODES } from "./call-record.js";
import { createLatencyHistogram, percentileNs, recordLatencyNs } from "./latency-histogram.js";
import type { TenantChannels } from "./turn-channels.js";
import type { ScheduledTurn, StepOutcome } from "./turn-corpus.js";

/** ghz's knobs, and ours. */
export interface LoadOptions {
  /** Workers (ghz -c). */
  readonly concurrency: number;
  /** Stop after this many calls (ghz -n); with durationMs, whichever comes first. */
  readonly total: number | undefined;
  /** Stop starting calls after this long (ghz -z). */
  readonly durationMs: number | undefined;
  /** Calls per second over all workers (ghz -r); undefined for as fast as possible. */
  readonly rps: number | undefined;
  /** Per-call deadline (ghz -t). */
  readonly timeoutMs: number;
  /** Retries of a confirmation after a retryable status, same idempotency key (not a ghz flag). */
  readonly retries: number;
}

/** An effect the load saw acknowledged (an EXECUTED outcome). */
export interface AcknowledgedEffect {
  readonly tenant: string;
  readonly effectId: string;
  readonly simulationId: string;
}

/** Counters for a progress line. */
export interface LoadProgress {
  readonly elapsedMs: number;
  readonly calls: number;
  readonly errors: number;
  /** Calls completed since the previous tick, per second. */
  readonly recentRps: number;
  readonly recentP50Ns: number;
  readonly recentP99Ns: number;
}

/** A finished run. */
export interface LoadRun {
  /** Wall clock at the start, ms since the epoch, and the performance clock at that moment. */
  readonly startedAtMs: number;
  readonly wallNs: number;
  readonly endReason: "normal" | "timeout" | "cancel";
  readonly records: readonly CallRecord[];
  readonly acknowledged: readonly AcknowledgedEffect[];
}

/** Hooks of a run. */
export interface LoadHooks {
  /** Called about once a second. */
  readonly onTick?: (progress: LoadProgress) => void;
  /** Aborting stops the workers after their current call (endReason "cancel"). */
  readonly signal?: AbortSignal;
  /** Prefix of every idempotency key and unique token, so runs never collide. */
  readonly runId: string;
  /**
   * Every this-many turns is sent with a sampled W3C trace context (the others with an unsampled
   * one), so the mesh records the spans of those turns alone; undefined sends no trace context.
   */
  readonly traceEvery?: number;
}

const SUBMIT_PATH = methodPath(TurnService.method.submitTurn);
const serialize = (message: SubmitTurnRequest) => {
  const bytes = toBinary(SubmitTurnRequestSchema, message);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
};
const deserialize = (bytes: Buffer) => fromBinary(SubmitTurnResponseSchema, bytes);

interface Sent {
  readonly code: number;
  readonly response: SubmitTurnResponse | undefined;
  readonly message: string;
}

/** A W3C traceparent: a new trace, sampled or not. */
function newTraceparent(sampled: boolean): { traceId: string; header: string } {
  const traceId = randomBytes(16).toString("hex");
  return { traceId, header: `00-${traceId}-${randomBytes(8).toString("hex")}-${sampled ? "01" : "00"}` };
}

function send(
  channel: grpc.Client,
  request: SubmitTurnRequest,
  timeoutMs: number,
  correlation: string,
  traceparent: string | undefined,
): Promise<Sent> {
  const metadata = new grpc.Metadata();
  metadata.set(CORRELATION_KEY, correlation);
  // A client of this code base: its counts name every reason as the router gave it (ENGINE_CIRCUIT_OPEN,
  // ENGINE_BUSY), not as a 1.1 client is told it.
  metadata.set(CONTRACT_SURFACE_KEY, CONTRACT_SURFACE);
  if (traceparent !== undefined) metadata.set("traceparent", traceparent);
  return new Promise((resolve) =>
    channel.makeUnaryRequest(
      SUBMIT_PATH,
      serialize,
      deserialize,
      request,
      metadata,
      { deadline: Date.now() + timeoutMs },
      (err, response) =>
        resolve(
          err
            ? { code: err.code ?? grpc.status.UNKNOWN, response: undefined, message: err.details || err.message }
            : { code: grpc.status.OK, response, message: "" },
        ),
    ),
  );
}

/** The error text of an OK call whose outcome is not the expected one; empty when it is. */
function outcomeError(expected: StepOutcome, response: SubmitTurnResponse | undefined): string {
  const got = response?.outcome.case;
  if (got === expected) return "";
  const reason = got === "refused" ? ` (${ReasonCode[response!.outcome.value.reason as ReasonCode]})` : "";
  return `expected ${expected}, got ${got ?? "nothing"}${reason}`;
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs the load until the total or the duration is reached, or the signal aborts. */
export async function runLoad(
  tenants: readonly TenantChannels[],
  schedule: readonly ScheduledTurn[],
  options: LoadOptions,
  hooks: LoadHooks,
): Promise<LoadRun> {
  const startedAtMs = Date.now();
  const t0 = performance.now();
  const records: CallRecord[] = [];
  const acknowledged: AcknowledgedEffect[] = [];
  let started = 0;
  let nextSequence = 0;
  let errors = 0;
  let endReason: LoadRun["endReason"] = "normal";
  const stopAt = options.durationMs === undefined ? Number.POSITIVE_INFINITY : t0 + options.durationMs;
  const intervalMs = options.rps === undefined ? 0 : 1000 / options.rps;

  const finished = (): boolean => {
    if (hooks.signal?.aborted) {
      endReason = "cancel";
      return true;
    }
    if (performance.now() >= stopAt) {
      endReason = "timeout";
      return true;
    }
    return options.total !== undefined && started >= options.total;
  };

  // Under a rate, slots are handed out one interval apart, like a ticker that drops missed ticks:
  // when every worker was blocked (a stalled server), the load resumes at the rate, not in a burst.
  let nextSlotAt = t0;
  /** Claims the next call slot (waiting for it under a rate); false when the run is over, unless `pastEnd`. */
  async function claimSlot(pastEnd = false): Promise<boolean> {
    if (finished() && !pastEnd) return false;
    started++;
    if (intervalMs > 0) {
      const now = performance.now();
      const at = Math.max(nextSlotAt, now);
      nextSlotAt = at + intervalMs;
      if (at > now) await pause(at - now);
    }
    return true;
  }

  let recent = createLatencyHistogram();
  let recentCalls = 0;
  async function call(
    channel: grpc.Client,
    request: SubmitTurnRequest,
    step: StepOutcome,
    turn: ScheduledTurn,
    sampled: boolean | undefined,
  ): Promise<Sent> {
    const trace = sampled === undefined ? undefined : newTraceparent(sampled);
    const begin = performance.now();
    const sent = await send(channel, request, options.timeoutMs, request.envelope!.correlationId, trace?.header);
    const latencyNs = Math.round((performance.now() - begin) * 1e6);
    const error = sent.code === grpc.status.OK ? outcomeError(step, sent.response) : sent.message;
    if (error !== "") errors++;
    recordLatencyNs(recent, latencyNs);
    recentCalls++;
    records.push({
      startMs: begin - t0,
      latencyNs,
      code: sent.code,
      error,
      step,
      fixtureId: turn.fixture.id,
      tenant: tenants[turn.tenantIndex]!.tenant,
      ...(sampled === true ? { traceId: trace!.traceId, startEpochMs: performance.timeOrigin + begin } : {}),
    });
    return sent;
  }

  async function worker(workerId: number): Promise<void> {
    const own = (i: number) => tenants[i]!.channels[workerId % tenants[i]!.channels.length]!;
    while (await claimSlot()) {
      const sequence = nextSequence++;
      const sampled = hooks.traceEvery === undefined ? undefined : sequence % hooks.traceEvery === 0;
      const turn = schedule[sequence % schedule.length]!;
      const channel = own(turn.tenantIndex);
      const id = `${hooks.runId}-${sequence}`;
      const envelope = (key: string) => ({
        contractVersion: CURRENT_CONTRACT_VERSION,
        tenantId: tenants[turn.tenantIndex]!.tenant,
        userId: `load-${workerId}`,
        correlationId: key,
        turnId: key,
        idempotencyKey: key,
      });
      const text = turn.fixture.text.replaceAll("{{unique}}", `u${id.replace(/[^a-z0-9]/gi, "").toLowerCase()}`);
      const first = await call(
        channel,
        create(SubmitTurnRequestSchema, { envelope: envelope(`${id}-t`), input: { case: "text", value: text } }),
        turn.fixture.expect === "executed" ? "confirm" : turn.fixture.expect,
        turn,
        sampled,
      );
      if (turn.fixture.expect !== "executed" || first.response?.outcome.case !== "confirm") continue;
      const simulationId = first.response.outcome.value.simulationId;
      const confirmation = create(SubmitTurnRequestSchema, {
        envelope: envelope(`${id}-c`),
        input: { case: "confirmation", value: { simulationId, accept: true } },
      });
      for (let attempt = 0; ; attempt++) {
        // Retries take slots under the rate like any call (so they cannot storm a recovering
        // mesh), but go on past the run's end: an unacknowledged confirmation is what they are for.
        if (!(await claimSlot(attempt > 0))) break;
        const sent = await call(channel, confirmation, "executed", turn, sampled);
        if (sent.response?.outcome.case === "executed") {
          const { effectId } = sent.response.outcome.value;
          acknowledged.push({ tenant: tenants[turn.tenantIndex]!.tenant, effectId, simulationId });
        }
        if (!RETRYABLE_CODES.has(sent.code) || attempt >= options.retries || hooks.signal?.aborted) break;
        // Exponential backoff with full jitter, capped at 2 s.
        await pause(Math.random() * Math.min(2000, 100 * 2 ** (attempt + 1)));
      }
    }
  }

  const tick = setInterval(() => {
    const elapsedMs = performance.now() - t0;
    hooks.onTick?.({
      elapsedMs,
      calls: records.length,
      errors,
      recentRps: recentCalls,
      recentP50Ns: percentileNs(recent, 50),
      recentP99Ns: percentileNs(recent, 99),
    });
    recent = createLatencyHistogram();
    recentCalls = 0;
  }, 1000);
  try {
    await Promise.all(Array.from({ length: options.concurrency }, (_, i) => worker(i)));
  } finally {
    clearInterval(tick);
  }
  return {
    startedAtMs,
    wallNs: Math.round((performance.now() - t0) * 1e6),
    endReason,
    records,
    acknowledged,
  };
}
