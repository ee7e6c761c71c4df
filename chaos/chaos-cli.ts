/**
 * `npm run chaos`: runs chaos profiles (chaos/profiles/*.yaml, all of them unless --profile names
 * some) against a fresh mesh each, on an embedded PostgreSQL this run owns, with the benchmark's
 * load engine and corpus. Writes <profile>.json and summary.txt per run under
 * .selene/chaos/<stamp>/ (or --output), prints a summary, and exits 1 when a profile fails (2 on a
 * bad flag or profile).
 *
 * Usage: npm run chaos -- [--profile smoke,engine-latency] [--list] [--port-offset=-19000] (negative numbers need the = form)
 *   [--output DIR] [--corpus FILE] [--slo FILE] [--keep-logs]  (the processes' logs, beside the reports)
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { intFlag, parseFlags } from "../bench/load/load-flags.js";
import { runStamp } from "../bench/load/report-files.js";
import { runTags } from "../bench/load/run-tags.js";
import { loadSlo } from "../bench/load/slo-budgets.js";
import { loadCorpus } from "../bench/load/turn-corpus.js";
import { USAGE_EXIT_CODE, UsageError } from "../bench/load/usage-error.js";
import { type ChaosProfile, loadProfile } from "./chaos-profile.js";
import { type ChaosReport, runProfile } from "./chaos-run.js";
import { overallTable, profileSummary } from "./chaos-summary.js";
import { startOwnedPostgres } from "./owned-postgres.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const PROFILE_DIR = join(ROOT, "chaos", "profiles");
const CALL = "selene.os.v1.TurnService.SubmitTurn";
const say = (line: string) => process.stdout.write(`${line}\n`);

const FLAGS = {
  profile: { type: "string", short: "p" },
  list: { type: "boolean" },
  "port-offset": { type: "string" },
  output: { type: "string", short: "o" },
  corpus: { type: "string" },
  slo: { type: "string" },
  "keep-logs": { type: "boolean" },
  trace: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

function profilesNamed(names: string | undefined): ChaosProfile[] {
  const all = readdirSync(PROFILE_DIR)
    .filter((f) => f.endsWith(".yaml"))
    .map((f) => f.slice(0, -5))
    .sort();
  const wanted = names === undefined || names === "all" ? all : names.split(",").map((n) => n.trim());
  for (const name of wanted) {
    if (!all.includes(name)) throw new UsageError("--profile", `no profile "${name}" (have: ${all.join(", ")})`);
  }
  return wanted.map((name) => loadProfile(join(PROFILE_DIR, `${name}.yaml`)));
}

async function main(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseFlags(argv, FLAGS);
  if (values.help) {
    say(
      "usage: npm run chaos -- [--profile NAME[,NAME...]|all] [--list] [--port-offset N] [--output DIR] [--keep-logs [--trace N]]",
    );
    return 0;
  }
  if (positionals.length > 0) throw new UsageError("arguments", `unexpected ${positionals.join(" ")}`);
  const profiles = profilesNamed(values.profile);
  if (values.list) {
    for (const p of profiles) say(`${p.name.padEnd(20)} ${p.description}`);
    return 0;
  }
  const corpus = loadCorpus(resolve(values.corpus ?? join(ROOT, "bench", "corpus", "turns-v1.yaml")));
  const sloPath = resolve(values.slo ?? join(ROOT, "deploy", "slo.yaml"));
  const budget = loadSlo(sloPath).find((b) => b.rpc === CALL && b.outcome === undefined);
  if (budget === undefined) throw new UsageError(sloPath, `needs a budget for ${CALL} without an outcome`);
  const portOffset = intFlag(values["port-offset"], "--port-offset", -50000, 10000, -19000);
  const outDir = resolve(values.output ?? join(ROOT, ".selene", "chaos", runStamp(new Date())));
  mkdirSync(outDir, { recursive: true });

  const abort = new AbortController();
  process.once("SIGINT", () => abort.abort());
  process.once("SIGTERM", () => abort.abort());
  const work = mkdtempSync(join(tmpdir(), "selene-chaos-"));
  const started = Date.now();
  say(`chaos: ${profiles.length} profile(s): ${profiles.map((p) => p.name).join(", ")}; reports in ${outDir}`);
  const postgres = await startOwnedPostgres(join(work, "pg"));
  const reports: ChaosReport[] = [];
  try {
    for (const [i, profile] of profiles.entries()) {
      if (abort.signal.aborted) break;
      const seconds = (profile.beforeMs + profile.faultMs + profile.afterMs) / 1000;
      say(`[${i + 1}/${profiles.length}] ${profile.name}: ${profile.description} (${seconds} s of load)`);
      const report = await runProfile(profile, {
        corpus,
        budget,
        postgres,
        portOffset,
        tags: runTags("chaos-local", { corpus: `v${corpus.version}` }),
        say,
        signal: abort.signal,
        keepLogsDir: values["keep-logs"] ? outDir : undefined,
        traceEvery: values.trace === undefined ? undefined : intFlag(values.trace, "--trace", 1, 1000, 1),
      });
      reports.push(report);
      writeFileSync(join(outDir, `${profile.name}.json`), `${JSON.stringify(report, null, 2)}\n`);
      say(profileSummary(report));
    }
  } finally {
    await postgres.discard();
    rmSync(work, { recursive: true, force: true });
  }
  const summary = [
    ...reports.map(profileSummary),
    "",
    overallTable(reports),
    "",
    `total ${((Date.now() - started) / 1000).toFixed(0)} s`,
  ].join("\n\n");
  writeFileSync(join(outDir, "summary.txt"), `${summary}\n`);
  say("");
  say(overallTable(reports));
  say(
    `chaos: ${reports.filter((r) => r.pass).length} of ${reports.length} passed in ${((Date.now() - started) / 1000).toFixed(0)} s; ${join(outDir, "summary.txt")}`,
  );
  if (abort.signal.aborted) return 130;
  return reports.every((r) => r.pass) && reports.length === profiles.length ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof UsageError) {
      process.stderr.write(`chaos: ${err.message}\n`);
      process.exit(USAGE_EXIT_CODE);
    }
    process.stderr.write(`chaos failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
