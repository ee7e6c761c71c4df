/**
 * Runs one chaos profile: a fresh mesh with fault proxies, the corpus load for the whole timeline
 * (before, fault, after), the faults applied and cleared on schedule, then the effect ledger, the
 * health of every process, and the verdicts.
 */
import { cpSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { type CallRecord, codeName } from "../bench/load/call-record.js";
import { buildGhzReport, type GhzReport, sliceStats } from "../bench/load/ghz-report.js";
import { runLoadSession } from "../bench/load/load-session.js";
import type { SloBudget } from "../bench/load/slo-budgets.js";
import { startSpanReceiver } from "../bench/load/span-receiver.js";
import type { TurnCorpus } from "../bench/load/turn-corpus.js";
import { checkHealth } from "../deploy/health-probe.js";
import { metricsAddress } from "../deploy/mesh-processes.js";
import { postgresAnswers } from "../deploy/postgres-answers.js";
import { pkiFiles } from "../services/runtime/tls-credentials.js";
import { spiffeIdOf } from "../services/runtime/workload-identities.js";
import {
  baselineHolds,
  type CriterionVerdict,
  errorRateBetween,
  judge,
  otherErrorRateBetween,
  readsRecoverySeconds,
  recoverySeconds,
} from "./chaos-criteria.js";
import { startChaosMesh } from "./chaos-mesh.js";
import { CHAOS_ENGINES, type ChaosProfile } from "./chaos-profile.js";
import type { EffectLedger } from "./effect-ledger.js";
import { readEffectLedger } from "./effect-ledger.js";
import { applyFaults, clearFaults, describeFault, type FaultEvent } from "./fault-plan.js";
import type { OwnedPostgres } from "./owned-postgres.js";
import {
  attemptsPerCall,
  type ResilienceScrape,
  scrapeEventLoopLag,
  scrapeRouterResilience,
  transitionsTo,
  worstOverrun,
} from "./router-resilience.js";

/** Load before the timeline starts, discarded: connections, JIT and caches warm up. */
const WARMUP_MS = 2000;

/** The JSON report of one profile's run. */
export interface ChaosReport {
  readonly profile: string;
  readonly description: string;
  readonly pass: boolean;
  readonly date: string;
  readonly durationS: number;
  readonly faults: readonly string[];
  /** The window, in seconds since the load started. */
  readonly faultWindowS: { readonly from: number; readonly to: number };
  readonly calls: number;
  readonly errors: number;
  readonly errorDistribution: Record<string, number>;
  readonly ledger: EffectLedger;
  readonly recoveryS: number | null;
  readonly unhealthy: readonly string[];
  /** Connections each fault proxy accepted over the run (reconnections show up here). */
  readonly proxyConnections: Record<string, number>;
  readonly verdicts: readonly CriterionVerdict[];
  readonly events: ReadonlyArray<{ readonly atS: number; readonly what: string }>;
  /** The run's load in ghz's report shape, without the per-call details. */
  readonly load: Omit<GhzReport, "details">;
  /** The calls started in the fault window, per step (the outcome each had to end in): what the fault cost each kind of turn. */
  readonly faultWindowSteps: Record<string, { calls: number; errors: number; p50Ms: number; p99Ms: number }>;
  /** The same for the calls started in the 5 s after the fault cleared: what recovery looked like. */
  readonly afterFaultSteps: ChaosReport["faultWindowSteps"];
  /** The calls started after the fault cleared that failed (the first 50): what recovery waited on. */
  readonly failuresAfterFault: ReadonlyArray<{ atS: number; step: string; code: string; error: string }>;
}

/** What a run needs from the command line. */
export interface RunContext {
  readonly corpus: TurnCorpus;
  readonly budget: SloBudget;
  readonly postgres: OwnedPostgres;
  readonly portOffset: number;
  readonly tags: Record<string, string>;
  readonly say: (line: string) => void;
  readonly signal: AbortSignal;
  /** Copy the mesh's process logs here (a directory per profile) before the mesh is removed. */
  readonly keepLogsDir?: string | undefined;
  /** Sample every this-many turns and keep their spans beside the logs (needs keepLogsDir). */
  readonly traceEvery?: number | undefined;
}

/** Waits `ms`, or less when the run is aborted. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

/** The engine a profile's faults break (a proxy on its link or its process); undefined when none. */
function faultedEngine(profile: ChaosProfile): string | undefined {
  for (const f of profile.faults) {
    const name =
      f.kind === "proxy" || f.kind === "streams"
        ? f.link.replace(/^router-/, "")
        : f.kind === "process"
          ? f.target
          : "";
    if ((CHAOS_ENGINES as readonly string[]).includes(name)) return name;
  }
  return undefined;
}

/** Runs `profile`; the mesh is stopped whatever happens. */
export async function runProfile(profile: ChaosProfile, context: RunContext): Promise<ChaosReport> {
  const { say } = context;
  const started = Date.now();
  const tenantMap = context.corpus.tenants.map((t) => `${spiffeIdOf(t.client)}=${t.tenant}`).join(",");
  await context.postgres.start();
  const tracing = context.keepLogsDir !== undefined && context.traceEvery !== undefined;
  const receiver = tracing ? await startSpanReceiver() : undefined;
  const mesh = await startChaosMesh({
    portOffset: context.portOffset,
    postgres: context.postgres,
    clientTenants: tenantMap,
    say: (line) => say(`    ${line}`),
    streamLinks: profile.faults.flatMap((f) => (f.kind === "streams" ? [f.link] : [])),
    env:
      receiver === undefined
        ? {}
        : { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: "200" },
  });
  try {
    const { bench } = mesh;
    const totalMs = profile.beforeMs + profile.faultMs + profile.afterMs;
    const load = {
      concurrency: profile.load.concurrency,
      total: undefined,
      durationMs: totalMs,
      rps: profile.load.rps,
      timeoutMs: profile.load.timeoutMs,
      retries: profile.load.retries,
    };
    const events: FaultEvent[] = [];
    let faultFromMs = 0;
    let faultToMs = 0;
    let timeline: Promise<void> = Promise.resolve();
    // The router's resilience metrics when the fault begins and when it clears.
    const routerMetrics = metricsAddress("router", context.portOffset);
    const empty: ResilienceScrape = { calls: {}, attempts: {}, transitions: {}, overrunMaxMs: {} };
    let atFault = empty;
    let atClear = empty;
    // The faults follow the measured run's clock, which starts after the warm-up.
    const startTimeline = () => {
      timeline = (async () => {
        await pause(profile.beforeMs, context.signal);
        atFault = await scrapeRouterResilience(routerMetrics);
        faultFromMs = Date.now();
        events.push(...(await applyFaults(profile.faults, mesh, context.postgres)));
        say(`    fault: ${profile.faults.map(describeFault).join("; ")}`);
        await pause(Math.max(0, faultFromMs + profile.faultMs - Date.now()), context.signal);
        faultToMs = Date.now();
        atClear = await scrapeRouterResilience(routerMetrics);
        events.push(...(await clearFaults(profile.faults, mesh, context.postgres)));
        say("    fault cleared");
      })();
    };
    // With the logs kept: every 500 ms, the event-loop delay of this process (the load and every
    // proxy), the router and the outbox, so a slow recovery can be told from a stalled process.
    const lags: Array<Record<string, unknown>> = [];
    const ownLag = monitorEventLoopDelay({ resolution: 10 });
    let lagTimer: NodeJS.Timeout | undefined;
    if (context.keepLogsDir !== undefined) {
      ownLag.enable();
      lagTimer = setInterval(() => {
        const at = Date.now();
        const own = { p99Ms: ownLag.percentile(99) / 1e6, maxMs: ownLag.max / 1e6 };
        ownLag.reset();
        void Promise.all([
          scrapeEventLoopLag(metricsAddress("router", context.portOffset)),
          scrapeEventLoopLag(metricsAddress("outbox", context.portOffset)),
        ]).then(([router, outbox]) => lags.push({ at, chaos: own, router, outbox }));
      }, 500);
    }
    const { run, warmupAcknowledged } = await runLoadSession(
      {
        address: bench.routerAddress,
        tenants: context.corpus.tenants.map((t) => ({ tenant: t.tenant, files: pkiFiles(bench.pkiDir, t.client) })),
      },
      {
        corpus: context.corpus,
        load,
        connections: 1,
        seed: 11,
        warmupMs: WARMUP_MS,
        signal: context.signal,
        onMeasuredStart: startTimeline,
        ...(receiver === undefined ? {} : { traceEvery: context.traceEvery }),
        onTick: (line, elapsedMs) => {
          if (Math.round(elapsedMs / 1000) % 5 === 0) say(`  ${line}`);
        },
      },
    );
    await timeline;
    clearInterval(lagTimer);
    ownLag.disable();
    const atEnd = await scrapeRouterResilience(routerMetrics);
    const engine = faultedEngine(profile);
    // Fault times relative to the load's clock (the measured run started when the timeline did).
    const rel = (atMs: number) => atMs - run.startedAtMs;
    const budget = scaledBudget(context.budget, profile.criteria.latencyBudgetFactor);
    const records: readonly CallRecord[] = run.records;
    if (context.keepLogsDir !== undefined) {
      // Every call, one line each, times relative to the fault clearing: what a slow recovery is traced from.
      const lines = records.map((r) =>
        JSON.stringify({
          atMs: Math.round(r.startMs - rel(faultToMs)),
          ms: Math.round(r.latencyNs / 1e5) / 10,
          step: r.step,
          code: r.code,
          error: r.error,
          ...(r.traceId === undefined ? {} : { traceId: r.traceId }),
        }),
      );
      writeFileSync(join(context.keepLogsDir, `${profile.name}-calls.ndjson`), `${lines.join("\n")}\n`);
      const lagLines = lags.map(({ at, ...rest }) => JSON.stringify({ atMs: (at as number) - faultToMs, ...rest }));
      writeFileSync(join(context.keepLogsDir, `${profile.name}-lag.ndjson`), `${lagLines.join("\n")}\n`);
      if (receiver !== undefined) {
        // The exporters send every 200 ms: wait for the last turns' spans.
        await pause(1000, context.signal);
        const traced = new Set(records.flatMap((r) => (r.traceId === undefined ? [] : [r.traceId])));
        const spans = receiver.spansOf(traced).map((span) => JSON.stringify(span));
        writeFileSync(join(context.keepLogsDir, `${profile.name}-spans.ndjson`), `${spans.join("\n")}\n`);
      }
    }
    const faultErrorRate = errorRateBetween(records, rel(faultFromMs), rel(faultToMs));
    // Windows end with the planned load: later calls are only retries of unacknowledged confirmations.
    const loadEndMs = Math.min(run.wallNs / 1e6, totalMs);
    const recovery = recoverySeconds(records, rel(faultToMs), loadEndMs, budget, profile.criteria.steadySeconds);
    // A restarted process: recovery counted from when it served again, not from when it was started.
    const serving = events.filter((e) => e.what.endsWith("SERVING again")).at(-1)?.atMs ?? faultToMs;
    const recoveryAfterServing = recoverySeconds(
      records,
      rel(Math.max(serving, faultFromMs)),
      loadEndMs,
      budget,
      profile.criteria.steadySeconds,
    );
    // Reads: from the fault clearing, or from the restarted process serving when that came later.
    const readsRecovery = readsRecoverySeconds(
      records,
      rel(Math.max(serving, faultToMs)),
      loadEndMs,
      profile.criteria.steadySeconds,
    );
    say("    counting effects ...");
    const ledger = await readEffectLedger(bench.databaseUrl, [...warmupAcknowledged, ...run.acknowledged], 30_000);
    const unhealthy: string[] = [];
    for (const p of bench.processes) {
      if (!bench.mesh.running(p.name) || !(await checkHealth(p.healthAddress, 2000))) unhealthy.push(p.name);
    }
    if (!(await postgresAnswers(bench.databaseUrl))) unhealthy.push("postgres");
    const baseline = baselineHolds(records, rel(faultFromMs), budget);
    const verdicts = judge(profile.criteria, {
      baseline,
      ledger,
      faultErrorRate,
      recoveryS: recovery,
      recoveryAfterServingS: recoveryAfterServing,
      readsRecoveryS: readsRecovery,
      unhealthy,
      otherErrorRate: otherErrorRateBetween(records, rel(faultFromMs), rel(faultToMs)),
      deadlineOverrun: worstOverrun(atEnd),
      ...(engine === undefined
        ? {}
        : {
            attempts: { engine, ...attemptsPerCall(engine, atFault, atClear) },
            breaker: {
              engine,
              opened: transitionsTo(engine, "open", atFault, atClear),
              closed: transitionsTo(engine, "closed", atClear, atEnd),
            },
          }),
    });
    const ghz = buildGhzReport(run, {
      name: `chaos ${profile.name}`,
      options: {
        call: "selene.os.v1.TurnService.SubmitTurn",
        host: bench.routerAddress,
        cacert: "",
        cert: "",
        key: "",
        cname: "router",
        rps: load.rps,
        concurrency: load.concurrency,
        connections: 1,
        total: 0,
        duration: totalMs * 1e6,
        timeout: load.timeoutMs * 1e6,
        skipFirst: 0,
        metadata: {},
        name: `chaos ${profile.name}`,
      },
      tags: { ...context.tags, profile: profile.name },
      corpus: { path: context.corpus.path, version: context.corpus.version },
    });
    const { details: _details, ...loadReport } = ghz;
    return {
      profile: profile.name,
      description: profile.description,
      pass: verdicts.every((v) => v.pass),
      date: new Date(started).toISOString(),
      durationS: (Date.now() - started) / 1000,
      faults: profile.faults.map(describeFault),
      faultWindowS: { from: rel(faultFromMs) / 1000, to: rel(faultToMs) / 1000 },
      calls: ghz.count,
      errors: ghz.selene.overall.errors,
      errorDistribution: ghz.errorDistribution,
      ledger,
      recoveryS: recovery ?? null,
      unhealthy,
      proxyConnections: Object.fromEntries([...mesh.proxies].map(([link, p]) => [link, p.stats().accepted])),
      verdicts,
      events: events.map((e) => ({ atS: rel(e.atMs) / 1000, what: e.what })),
      load: loadReport,
      faultWindowSteps: byStep(records.filter((r) => r.startMs >= rel(faultFromMs) && r.startMs < rel(faultToMs))),
      afterFaultSteps: byStep(records.filter((r) => r.startMs >= rel(faultToMs) && r.startMs < rel(faultToMs) + 5000)),
      failuresAfterFault: records
        .filter((r) => r.error !== "" && r.startMs >= rel(faultToMs))
        .slice(0, 50)
        .map((r) => ({
          atS: (r.startMs - rel(faultToMs)) / 1000,
          step: r.step,
          code: codeName(r.code),
          error: r.error.slice(0, 200),
        })),
    };
  } finally {
    // A stopped process must be continued before it can be stopped for good.
    for (const f of profile.faults)
      if (f.kind === "process" && f.action === "stop") mesh.bench.mesh.signal(f.target, "SIGCONT");
    await context.postgres.start();
    if (context.keepLogsDir !== undefined) {
      // Stopped first, so that every process has written its last lines.
      await mesh.bench.mesh.stop();
      cpSync(mesh.bench.logDir, join(context.keepLogsDir, `${profile.name}-logs`), { recursive: true });
    }
    await mesh.stop();
    await receiver?.close();
  }
}

/** Calls, failures and the successful calls' p50 and p99 per step. */
function byStep(records: readonly CallRecord[]): ChaosReport["faultWindowSteps"] {
  const steps = [...new Set(records.map((r) => r.step))].sort();
  return Object.fromEntries(
    steps.map((step) => {
      const stats = sliceStats(records.filter((r) => r.step === step));
      return [step, { calls: stats.count, errors: stats.errors, p50Ms: stats.p50 / 1e6, p99Ms: stats.p99 / 1e6 }];
    }),
  );
}

function scaledBudget(budget: SloBudget, factor: number): SloBudget {
  const scale = (ns: number | undefined) => (ns === undefined ? undefined : ns * factor);
  return { ...budget, p50: scale(budget.p50), p95: scale(budget.p95), p99: scale(budget.p99) };
}
