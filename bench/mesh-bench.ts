/**
 * `npm run bench:mesh`: what a turn through the mesh costs next to the engine call it ends in.
 * Starts the whole mesh once (compiled processes, mTLS, a throwaway database, ports shifted by
 * BENCH_PORT_OFFSET, default 3000, so that it runs beside `npm start`), then measures, each at 50
 * calls in flight for BENCH_SECONDS (default 10) after a 1 s warm-up:
 *   1. mesh answer turn: SubmitTurn "What is the capital of France?" to the router as the demo
 *      app (router -> nlp understand -> tools lookup, an answer with provenance), fresh ids per call;
 *   2. direct tools call: Invoke tools.lookup on the tools engine over grpc-js, as the router;
 *   3. pass-through proxy: the same Invoke through a raw-bytes grpc-js proxy in this process
 *      (one extra hop, none of the router's work);
 *   4. connect-node server: the same lookup served by connect-node in its own process, called with
 *      a connect-node gRPC transport (the grpc-js vs connect-node transport choice).
 * Prints a progress line per step, the table, CPU per call by process, the ratios and the failures;
 * exits 1 when more than 1% of a row's calls failed. Stops every process it started.
 *
 * Rows 2-4 present the router's certificate to an engine: the benchmark stands in for the router.
 * The mediation check (scripts/mediation-check.ts) scans services/ and deploy/ only, so this is
 * allowed here and nowhere in production code.
 */
import { type ChildProcess, fork } from "node:child_process";
import { availableParallelism, loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import type * as grpc from "@grpc/grpc-js";
import { measureAsync, type RunResult, table } from "./bench-harness.js";
import {
  auditAppendCall,
  type Call,
  connectLookupCall,
  counted,
  ErrorTally,
  grpcChannel,
  grpcLookupCall,
  meshTurnCall,
} from "./mesh-clients.js";
import { type CpuByLabel, cpuBetween, cpuSnapshot, HOST_LABEL, SELF_LABEL } from "./mesh-cpu.js";
import { startPassThroughProxy } from "./mesh-proxy.js";
import { type BenchMesh, LOCAL_SERVER_URL, startBenchMesh } from "./mesh-setup.js";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const WARMUP_SECONDS = 1;
const CONCURRENCY = 50;
const PORT_OFFSET = Number(process.env.BENCH_PORT_OFFSET ?? -25000);
const LOG_LEVEL = process.env.LOG_LEVEL ?? "info";
const QUESTION = "What is the capital of France?";
const QUERY = "what is the capital of france";
/** A row fails the run when more than this share of its calls failed. */
const MAX_ERROR_SHARE = 0.01;
const STEPS = 14;

/** One measured row. */
interface Row {
  /** Throughput and wall time per op count successful calls only; latencies include failures. */
  readonly result: RunResult;
  /** Calls made and failed, warm-up included (the table's label counts the measured ones). */
  readonly calls: number;
  readonly failed: number;
  readonly errors: ErrorTally;
  readonly cpu: CpuByLabel;
}

const say = (line: string) => process.stdout.write(`${line}\n`);

/** What to undo at the end (or on Ctrl-C), last first. */
const cleanups: Array<() => Promise<void>> = [];
async function cleanUp(): Promise<void> {
  for (const undo of cleanups.splice(0).reverse()) {
    await undo().catch((err: unknown) => say(`cleanup failed: ${err instanceof Error ? err.message : String(err)}`));
  }
}
/** Set on Ctrl-C: the load loops then park on a promise that never settles, leaving cleanup the event loop. */
let aborting = false;
const parked = new Promise<void>(() => {});
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    aborting = true;
    say(`${signal}: stopping`);
    void cleanUp().finally(() => process.exit(130));
  });
}

let step = 0;
async function timed<T>(title: string, work: () => Promise<T>, done: (value: T) => string): Promise<T> {
  step++;
  const t0 = performance.now();
  say(`[${step}/${STEPS}] ${title} ...`);
  const value = await work();
  say(`[${step}/${STEPS}] ${done(value)} (${((performance.now() - t0) / 1000).toFixed(1)}s)`);
  return value;
}

async function measureRow(name: string, call: Call, databaseName: string): Promise<Row> {
  // Fails fast, with the reason, when the row is miswired (every call would fail).
  await call();
  const errors = new ErrorTally();
  const countedCall = counted(call, errors);
  const fn = () => (aborting ? parked : countedCall());
  const warmup = await measureAsync("warm-up", fn, WARMUP_SECONDS, CONCURRENCY, 0);
  const warmupFailed = errors.count;
  const before = cpuSnapshot(databaseName);
  const run = await measureAsync(name, fn, SECONDS, CONCURRENCY, 0);
  const cpu = cpuBetween(before, cpuSnapshot(databaseName));
  const runFailed = errors.count - warmupFailed;
  const ok = run.ops - runFailed;
  const label = runFailed > 0 ? `${name} (${runFailed} errors)` : name;
  return {
    result: { ...run, name: label, ops: ok, opsPerSec: ok / run.seconds, meanUs: (run.seconds * 1e6) / ok },
    calls: warmup.ops + run.ops,
    failed: errors.count,
    errors,
    cpu,
  };
}

const ms = (us: number | undefined) => `${((us ?? 0) / 1000).toFixed(1)} ms`;

function rowLine(row: Row): string {
  const r = row.result;
  return `${r.opsPerSec.toFixed(0)} calls/s, p50 ${ms(r.p50us)}, p99 ${ms(r.p99us)}, ${row.failed} failed of ${row.calls}`;
}

/**
 * CPU µs per successful call, by process; the cores our processes kept busy on average, and the
 * cores the whole host kept busy (more than ours means load from outside the benchmark).
 */
function cpuTable(rows: readonly Row[]): string {
  const named = [SELF_LABEL, "router", "nlp", "tools", "audit", "connect-node", "postgres"];
  const header = `| run | ${named.join(" | ")} | other | total | cores busy (ours) | cores busy (host) |`;
  const lines = rows.map(({ result, cpu }) => {
    const per = (us: number) => (us / result.ops).toFixed(0);
    const cores = (us: number) => (us / (result.seconds * 1e6)).toFixed(2);
    const ours = [...cpu].filter(([label]) => label !== HOST_LABEL);
    const total = ours.reduce((a, [, us]) => a + us, 0);
    const other = ours.filter(([label]) => !named.includes(label)).reduce((a, [, us]) => a + us, 0);
    const cells = named.map((label) => per(cpu.get(label) ?? 0));
    return `| ${result.name} | ${cells.join(" | ")} | ${per(other)} | ${per(total)} | ${cores(total)} | ${cores(cpu.get(HOST_LABEL) ?? 0)} |`;
  });
  return [header, `|---|${"---:|".repeat(named.length + 4)}`, ...lines].join("\n");
}

function ratio(name: string, a: Row, b: Row): string {
  const r = a.result.opsPerSec / b.result.opsPerSec;
  return `${name}: ${r.toFixed(2)} (${(r * 100).toFixed(0)}%)`;
}

async function startConnectServer(pkiDir: string): Promise<{ port: number; child: ChildProcess }> {
  const script = fileURLToPath(new URL("./mesh-connect-server.js", import.meta.url));
  const child = fork(script, [pkiDir], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  cleanups.push(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    await exited;
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once("message", (m) => resolve((m as { port: number }).port));
    child.once("exit", (code) => reject(new Error(`the connect-node server exited with ${code}`)));
  });
  return { port, child };
}

async function main(): Promise<number> {
  say(
    `bench:mesh: ${CONCURRENCY} in flight, ${WARMUP_SECONDS} s warm-up + ${SECONDS} s per row, ` +
      `${availableParallelism()} cores, node ${process.version}, LOG_LEVEL=${LOG_LEVEL}, ` +
      `load average ${loadavg()[0]!.toFixed(2)}`,
  );
  const mesh: BenchMesh = await timed(
    "mesh (certificates, database, migrations, processes)",
    () =>
      startBenchMesh({
        portOffset: PORT_OFFSET,
        logLevel: LOG_LEVEL,
        say: (line) => say(`      ${line}`),
        serverUrl: process.env.DATABASE_URL || LOCAL_SERVER_URL,
      }),
    (m) => `mesh up, router at ${m.routerAddress}, logs in ${m.logDir}`,
  );
  cleanups.push(() => mesh.stop());
  const channels: grpc.Client[] = [];
  cleanups.push(async () => {
    for (const channel of channels) channel.close();
  });
  const channel = (address: string, presentAs: string, serverName: string) => {
    const c = grpcChannel(address, mesh.pkiDir, presentAs, serverName);
    channels.push(c);
    return c;
  };
  const db = mesh.databaseName;
  const rows: Row[] = [];
  const measure = (name: string, call: Call) =>
    timed(
      `${name}: measuring`,
      async () => {
        const row = await measureRow(name, call, db);
        rows.push(row);
        return row;
      },
      (row) => `${name}: ${rowLine(row)}`,
    );

  const turn = await measure(
    "mesh answer turn",
    meshTurnCall(channel(mesh.routerAddress, "demo-app", "router"), QUESTION),
  );
  const auditChannel = channel(mesh.auditAddress, "router", "audit");
  await measure("audit append, 1 event", auditAppendCall(auditChannel, 1));
  const appendTurn = await measure("audit append, 6 events", auditAppendCall(auditChannel, 6));
  // Audited against not audited, each on a freshly restarted router, so that neither row has the
  // other's warm-up: the first row above also warms the engines and PostgreSQL.
  const restartRouter = (audit: "on" | "off") =>
    timed(
      `router restarted with SELENE_AUDIT=${audit}`,
      async () => {
        await mesh.mesh.kill("router", "SIGTERM");
        await mesh.mesh.restart("router", { SELENE_AUDIT: audit });
      },
      () => `router serving, auditing ${audit}`,
    );
  await restartRouter("off");
  const unaudited = await measure(
    "mesh answer turn, audit off",
    meshTurnCall(channel(mesh.routerAddress, "demo-app", "router"), QUESTION),
  );
  await restartRouter("on");
  const audited = await measure(
    "mesh answer turn, audit on",
    meshTurnCall(channel(mesh.routerAddress, "demo-app", "router"), QUESTION),
  );
  // Off again, so that drift in the host's state over the three rows (the database's background
  // work after the append rows, say) does not favour either side.
  await restartRouter("off");
  const unauditedAgain = await measure(
    "mesh answer turn, audit off again",
    meshTurnCall(channel(mesh.routerAddress, "demo-app", "router"), QUESTION),
  );
  const direct = await measure(
    "direct tools call",
    grpcLookupCall(channel(mesh.toolsAddress, "router", "tools"), QUERY),
  );

  const proxy = await startPassThroughProxy(mesh.pkiDir, "tools", mesh.toolsAddress);
  cleanups.push(() => proxy.close());
  // The client of the proxy presents the router's certificate and expects the router's identity.
  const proxied = await measure(
    "pass-through proxy",
    grpcLookupCall(channel(proxy.address, "router", "router"), QUERY),
  );

  const connect = await startConnectServer(mesh.pkiDir);
  const connectNode = await measure(
    "connect-node server",
    connectLookupCall(`https://127.0.0.1:${connect.port}`, mesh.pkiDir, QUERY),
  );

  await timed("stopping", cleanUp, () => "stopped: proxy, connect-node server, mesh; database dropped");

  say(`\n${table(rows.map((r) => r.result))}\n`);
  say(`CPU per successful call (µs) by process, and average busy cores (of ${availableParallelism()}):\n`);
  say(`${cpuTable(rows)}\n`);
  say(ratio("mesh turn / direct tools call (throughput)", turn, direct));
  const offMean = (pick: (r: RunResult) => number) => (pick(unaudited.result) + pick(unauditedAgain.result)) / 2;
  const auditRatio = audited.result.opsPerSec / offMean((r) => r.opsPerSec);
  say(
    `mesh turn audited / not audited (throughput, against the mean of the two unaudited rows; target >= 0.75): ` +
      `${auditRatio.toFixed(2)} (${(auditRatio * 100).toFixed(0)}%)`,
  );
  say(
    `latency auditing adds to an answer turn: p50 +${ms((audited.result.p50us ?? 0) - offMean((r) => r.p50us ?? 0))}, ` +
      `p99 +${ms((audited.result.p99us ?? 0) - offMean((r) => r.p99us ?? 0))}; ` +
      `audit events appended per second in turn-sized batches: ${(appendTurn.result.opsPerSec * 6).toFixed(0)}`,
  );
  say(ratio("pass-through proxy / direct tools call", proxied, direct));
  say(ratio("connect-node / grpc-js direct tools call", connectNode, direct));

  let failedRows = 0;
  for (const row of rows) {
    if (row.failed === 0) continue;
    const share = row.failed / row.calls;
    if (share > MAX_ERROR_SHARE) failedRows++;
    say(`\n${row.result.name}: ${row.failed} of ${row.calls} calls failed (${(share * 100).toFixed(2)}%)`);
    for (const [message, n] of row.errors.top(3)) say(`  ${n} x ${message}`);
  }
  if (failedRows > 0) {
    say(`\nFAILED: ${failedRows} row(s) with more than ${MAX_ERROR_SHARE * 100}% failed calls`);
    return 1;
  }
  say(`\nno row above ${MAX_ERROR_SHARE * 100}% failed calls`);
  return 0;
}

let code = 1;
try {
  code = await main();
} catch (err) {
  say(`bench:mesh failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
} finally {
  await cleanUp();
}
process.exit(code);
