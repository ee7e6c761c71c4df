/**
 * `npm run bench`: the load tool. Sends the benchmark corpus (bench/corpus/turns-v1.yaml) as
 * SubmitTurn calls with ghz's knobs, writes a ghz-shaped JSON report, an HTML report and a summary
 * under .selene/bench/<stamp>/, checks deploy/slo.yaml, and exits 1 when a budget is missed (2 on
 * a bad flag or file). By default it starts its own mesh (compiled processes, embedded PostgreSQL
 * unless DATABASE_URL is set, ports shifted by --port-offset, default -20000) with a client
 * certificate per corpus tenant; `--host 127.0.0.1:50051` aims it at a running mesh instead.
 *
 * Usage: npm run bench -- [-c 20] [--connections 1] [-n N | -z 30s] [-r 100 (0: no limit)] [-t 20s]
 *   [--skipFirst N] [--warmup 2s] [--retries 0] [--name NAME] [--tags '{"k":"v"}']
 *   [--host ADDR --cacert F --cert F --key F --tenant demo] [--corpus FILE] [--slo FILE]
 *   [--output DIR] [--ghz-web URL [--project ID]] [--port-offset N] [--seed N] [--trace-every 10]
 *
 * On its own mesh it also receives the mesh's spans (an OTLP/HTTP receiver in this process, every
 * process exporting to it) for every --trace-every-th turn (0: none), and reports where those
 * turns' time went: a table per outcome in summary.txt, and a waterfall of a typical turn per
 * outcome in report.html.
 */
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { pkiFiles } from "../services/runtime/tls-credentials.js";
import { spiffeIdOf } from "../services/runtime/workload-identities.js";
import { parseDurationMs } from "./load/duration-text.js";
import { buildGhzReport, type GhzOptions } from "./load/ghz-report.js";
import { postToGhzWeb } from "./load/ghz-web-ingest.js";
import { intFlag, LOAD_FLAG_SPEC, loadOptionsFrom, parseFlags, tagsFlag } from "./load/load-flags.js";
import { type LoadTarget, runLoadSession } from "./load/load-session.js";
import { runStamp, writeReportFiles } from "./load/report-files.js";
import { reportSummary } from "./load/report-summary.js";
import { runTags } from "./load/run-tags.js";
import { checkReport, loadSlo } from "./load/slo-budgets.js";
import { type SpanReceiver, startSpanReceiver } from "./load/span-receiver.js";
import { buildTurnBreakdown } from "./load/turn-breakdown.js";
import { loadCorpus } from "./load/turn-corpus.js";
import { USAGE_EXIT_CODE, UsageError } from "./load/usage-error.js";
import { type BenchMesh, startBenchMesh } from "./mesh-setup.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const CALL = "selene.os.v1.TurnService.SubmitTurn";

const say = (line: string) => process.stdout.write(`${line}\n`);
/** How often the mesh's span exporters send, ms (OTEL_BSP_SCHEDULE_DELAY). */
const SPAN_DELAY_MS = 250;

const FLAGS = {
  ...LOAD_FLAG_SPEC,
  host: { type: "string" },
  cacert: { type: "string" },
  cert: { type: "string" },
  key: { type: "string" },
  cname: { type: "string" },
  tenant: { type: "string" },
  corpus: { type: "string" },
  slo: { type: "string" },
  output: { type: "string", short: "o" },
  "ghz-web": { type: "string" },
  project: { type: "string" },
  "port-offset": { type: "string" },
  seed: { type: "string" },
  "trace-every": { type: "string" },
  warmup: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

async function main(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseFlags(argv, FLAGS);
  if (values.help) {
    say("usage: npm run bench -- [ghz-style flags]; see the header of bench/turn-bench.ts and README.md");
    return 0;
  }
  if (positionals.length > 1) throw new UsageError("host", `one host expected, got ${positionals.join(" ")}`);
  const host = values.host ?? positionals[0];
  // A paced default: the SLO is a promise at a stated load, not at whatever saturates the host.
  const load = loadOptionsFrom(values, { concurrency: 20, duration: "30s", timeout: "20s", retries: 0, rps: 100 });
  const corpus = loadCorpus(resolve(values.corpus ?? join(ROOT, "bench", "corpus", "turns-v1.yaml")));
  const budgets = loadSlo(resolve(values.slo ?? join(ROOT, "deploy", "slo.yaml")));
  const portOffset = intFlag(values["port-offset"], "--port-offset", -50000, 10000, -20000);
  const seed = intFlag(values.seed, "--seed", 0, 2 ** 31, 7);
  const traceEvery = intFlag(values["trace-every"], "--trace-every", 0, 1_000_000, 10);
  const warmupMs = parseDurationMs(values.warmup ?? (host === undefined ? "2s" : "0s"), "--warmup");
  if (values.project !== undefined && values["ghz-web"] === undefined)
    throw new UsageError("--project", "needs --ghz-web URL");
  if (values.cname !== undefined && values.cname !== "router")
    throw new UsageError("--cname", "the router's server name is router");
  const extraTags = tagsFlag(values.tags);

  let mesh: BenchMesh | undefined;
  let receiver: SpanReceiver | undefined;
  const abort = new AbortController();
  process.once("SIGINT", () => abort.abort());
  process.once("SIGTERM", () => abort.abort());
  try {
    let target: LoadTarget;
    if (host !== undefined) {
      const tenant = values.tenant ?? corpus.tenants[0]!.tenant;
      const entry = corpus.tenants.find((t) => t.tenant === tenant);
      const defaults = pkiFiles(join(ROOT, ".selene", "pki"), entry?.client ?? "demo-app");
      target = {
        address: host,
        tenants: [
          {
            tenant,
            files: {
              ca: values.cacert ?? defaults.ca,
              cert: values.cert ?? defaults.cert,
              key: values.key ?? defaults.key,
            },
          },
        ],
      };
      say(`bench: ${host} as tenant ${tenant}`);
    } else {
      say(
        `bench: starting a mesh at port offset ${portOffset} (DATABASE_URL ${process.env.DATABASE_URL ? "set" : "unset: embedded PostgreSQL"})`,
      );
      const tenantMap = corpus.tenants.map((t) => `${spiffeIdOf(t.client)}=${t.tenant}`).join(",");
      receiver = traceEvery > 0 ? await startSpanReceiver() : undefined;
      const tracing: Record<string, string> =
        receiver === undefined
          ? {}
          : { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: String(SPAN_DELAY_MS) };
      mesh = await startBenchMesh({
        portOffset,
        logLevel: process.env.LOG_LEVEL ?? "warn",
        say: (line) => say(`  ${line}`),
        serverUrl: process.env.DATABASE_URL || undefined,
        env: { SELENE_CLIENT_TENANTS: tenantMap, ...tracing },
      });
      const pkiDir = mesh.pkiDir;
      target = {
        address: mesh.routerAddress,
        tenants: corpus.tenants.map((t) => ({ tenant: t.tenant, files: pkiFiles(pkiDir, t.client) })),
      };
    }
    const plan = load.total !== undefined ? `-n ${load.total}` : `-z ${(load.durationMs ?? 0) / 1000}s`;
    say(
      `bench: corpus v${corpus.version} (${corpus.fixtures.length} fixtures, ${target.tenants.length} tenants), ` +
        `-c ${load.concurrency} --connections ${load.connections} ${plan}${load.rps ? ` -r ${load.rps}` : ""}, warm-up ${warmupMs / 1000}s`,
    );
    const { run } = await runLoadSession(target, {
      corpus,
      load,
      connections: load.connections,
      seed,
      warmupMs,
      signal: abort.signal,
      ...(receiver === undefined ? {} : { traceEvery }),
    });
    const first = target.tenants[0]!.files;
    const options: GhzOptions = {
      call: CALL,
      host: target.address,
      cacert: first.ca,
      cert: first.cert,
      key: first.key,
      cname: "router",
      rps: load.rps ?? 0,
      concurrency: load.concurrency,
      connections: load.connections,
      total: load.total ?? 0,
      duration: Math.round((load.durationMs ?? 0) * 1e6),
      timeout: Math.round(load.timeoutMs * 1e6),
      skipFirst: load.skipFirst,
      metadata: {},
      name: values.name ?? `selene ${CALL.split(".").at(-1)} corpus v${corpus.version}`,
    };
    const built = buildGhzReport(run, {
      name: options.name,
      options,
      tags: runTags(host === undefined ? "local-mesh" : "external", { corpus: `v${corpus.version}`, ...extraTags }),
      corpus: { path: corpus.path.replace(ROOT, ""), version: corpus.version },
    });
    let report = built;
    if (receiver !== undefined) {
      // The exporters send what they hold every SPAN_DELAY_MS: wait for the last turns' spans.
      await new Promise((r) => setTimeout(r, 4 * SPAN_DELAY_MS));
      const records = run.records.slice(load.skipFirst);
      const traces = new Set(records.flatMap((r) => (r.traceId === undefined ? [] : [r.traceId])));
      const breakdown = buildTurnBreakdown(records, receiver.spansOf(traces), traceEvery);
      report = { ...built, selene: { ...built.selene, breakdown } };
    }
    const verdicts = checkReport(budgets, report);
    const dir = resolve(values.output ?? join(ROOT, ".selene", "bench", runStamp(new Date(run.startedAtMs))));
    const files = writeReportFiles(dir, report, verdicts);
    say("");
    say(reportSummary(report, verdicts));
    say("");
    say(`reports: ${files.jsonPath} (ghz JSON), ${files.htmlPath}, ${files.summaryPath}`);
    if (values["ghz-web"] !== undefined) {
      const code = await postToGhzWeb(values["ghz-web"], values.project, files.json);
      say(`ghz-web: ingested (HTTP ${code})`);
    }
    const missed = verdicts.filter((v) => !v.ok);
    if (run.endReason === "cancel") return 130;
    if (missed.length > 0) {
      say(`SLO missed: ${missed.map((v) => v.label).join(", ")}`);
      return 1;
    }
    say(`SLO met (${verdicts.length} budgets)`);
    return 0;
  } finally {
    await mesh?.stop();
    await receiver?.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof UsageError) {
      process.stderr.write(`bench: ${err.message}\n`);
      process.exit(USAGE_EXIT_CODE);
    }
    process.stderr.write(`bench failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
