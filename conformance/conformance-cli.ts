/**
 * `npm run conformance -- --target ADDR --engine NAME [--pki DIR] [--spiffe-id ID]
 *  [--samples FILE] [--catalog FILE] [--report-dir DIR]`, also `selenectl engine conformance`
 * with the same options: checks an engine from outside, as the router would call it, with one
 * progress line per case. Writes conformance-<engine>.json and conformance-<engine>.xml (JUnit)
 * into the report directory. Exit code 0 when no case failed, 1 when one did, 2 for bad usage.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { loadEngineCatalog } from "../services/runtime/policy/engine-catalog.js";
import { PolicyError } from "../services/runtime/policy/policy-file.js";
import { findIdentity, TRUST_DOMAIN } from "../services/runtime/workload-identities.js";
import type { ConformanceCatalog } from "./conformance-case.js";
import { NO_SAMPLES, readSamples, SamplesError } from "./conformance-samples.js";
import { summarize, toJsonReport } from "./json-report.js";
import { toJunitXml } from "./junit-report.js";
import { runConformance } from "./run-conformance.js";

/** How `npm run conformance` is called; selenectl passes its own command words. */
export const NPM_PROGRAM = "npm run conformance --";

const usage = (program: string) => `usage: ${program} --target HOST:PORT --engine NAME [options]

  --target HOST:PORT  the engine's mTLS gRPC address
  --engine NAME       its workload name: the TLS server name and the engine_id its Describe gives
  --pki DIR           the PKI directory (ca.crt, router.crt/key and the other identities'); default .selene/pki
  --spiffe-id ID      the SPIFFE id the engine must present; default spiffe://${TRUST_DOMAIN}/ns/selene/sa/NAME
  --samples FILE      sample inputs per capability (JSON); without it the capability cases are skipped
  --catalog FILE      the engine catalog (such as policy/engines.json) Describe must agree with; without it that case is skipped
  --report-dir DIR    write conformance-NAME.json and conformance-NAME.xml (JUnit) there
`;

/** The parsed command line. */
export interface ConformanceArgs {
  readonly target: string;
  readonly engine: string;
  readonly pkiDir: string;
  readonly spiffeId: string;
  readonly samples?: string;
  readonly catalog?: string;
  readonly reportDir?: string;
}

/** Thrown for a command line that cannot run. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** Parses the command line. */
export function parseConformanceArgs(argv: readonly string[]): ConformanceArgs {
  let values: Record<string, string | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        target: { type: "string" },
        engine: { type: "string" },
        pki: { type: "string" },
        "spiffe-id": { type: "string" },
        samples: { type: "string" },
        catalog: { type: "string" },
        "report-dir": { type: "string" },
      },
      strict: true,
    }));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const { target, engine } = values;
  if (target === undefined || engine === undefined) throw new UsageError("--target and --engine are required");
  if (!/^[^:\s]+:\d+$/.test(target)) throw new UsageError(`--target "${target}" is not HOST:PORT`);
  return {
    target,
    engine,
    pkiDir: resolve(values.pki ?? ".selene/pki"),
    spiffeId:
      values["spiffe-id"] ?? findIdentity(engine)?.spiffeId ?? `spiffe://${TRUST_DOMAIN}/ns/selene/sa/${engine}`,
    samples: values.samples,
    catalog: values.catalog,
    reportDir: values["report-dir"],
  };
}

/** Reads the catalog named by --catalog; a file that fails its checks is bad usage. */
function readCatalog(file: string): ConformanceCatalog {
  try {
    return { file, catalog: loadEngineCatalog(file) };
  } catch (e) {
    if (e instanceof PolicyError) throw new UsageError(e.message);
    throw e;
  }
}

/**
 * Runs the suite as the command line says; resolves with the exit code. Both `npm run
 * conformance` and `selenectl engine conformance` are this function; `program` names the
 * command in the usage text, and bad usage goes to `err` (selenectl's stderr).
 */
export async function conformanceMain(
  argv: readonly string[],
  out: (line: string) => void,
  program = NPM_PROGRAM,
  err: (line: string) => void = out,
): Promise<number> {
  let args: ConformanceArgs;
  let samples = NO_SAMPLES;
  let catalog: ConformanceCatalog | undefined;
  try {
    args = parseConformanceArgs(argv);
    if (args.samples !== undefined) samples = readSamples(args.samples);
    if (args.catalog !== undefined) catalog = readCatalog(args.catalog);
  } catch (e) {
    if (!(e instanceof UsageError || e instanceof SamplesError)) throw e;
    err(`${e.message}\n\n${usage(program)}`);
    return 2;
  }
  out(`engine conformance: ${args.engine} at ${args.target} (${args.spiffeId})`);
  const run = await runConformance({
    target: { address: args.target, engine: args.engine, spiffeId: args.spiffeId, pkiDir: args.pkiDir },
    samples,
    catalog,
    progress: out,
  });
  if (args.reportDir !== undefined) {
    mkdirSync(args.reportDir, { recursive: true });
    writeFileSync(join(args.reportDir, `conformance-${args.engine}.json`), toJsonReport(run));
    writeFileSync(join(args.reportDir, `conformance-${args.engine}.xml`), toJunitXml(run));
  }
  const { total, passed, failed, skipped } = summarize(run.results);
  out(`${args.engine}: ${passed}/${total} passed, ${failed} failed, ${skipped} skipped in ${run.durationMs} ms`);
  return failed === 0 ? 0 : 1;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  conformanceMain(process.argv.slice(2), (line) => process.stdout.write(`${line}\n`)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`conformance run failed: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exitCode = 2;
    },
  );
}
