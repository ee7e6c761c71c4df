/**
 * `npm run bench:transport`: the floor of one hop on this host and the mesh's own cost above it,
 * at one call in flight. Four paths, each to a server in a process of its own, on loopback:
 *
 *   (a) raw TCP echo: the bytes of an Invoke request out and back, no TLS, no framing;
 *   (b) bare grpc-js unary over mTLS with the mesh's certificates (the floor of a gRPC hop);
 *   (c0) the same bare call to a real nlp engine process's Invoke: the engine's call boundary
 *        (peer identity, allow-list, validation, handler, response check, metrics, span) on top;
 *   (c) the router's engine client (services/router/engine-client.ts) calling that Invoke: the
 *        client's side of the boundary (encode, metadata, trace context, metrics, response
 *        validation) on top of (c0). (c) is the mesh's hop; (c) - (b) its overhead;
 *   (d) the router's resilient call of that engine as a turn makes it (catalog, registry, breakers,
 *        bulkhead, attempts, retry budget) on top of (c).
 *
 * Each path is timed back to back (`--calls`, the next call sent when the last one answered) and
 * with idle gaps (`--gap-calls` rounds, every call after `--gap-ms` of nothing running, the paths
 * taking turns), since a turn at 10 calls/s finds every process idle. Reports p50/p90/p99, the
 * client's and the server's CPU per call (back to back) and the engine's own time per call (its
 * RPC duration histogram).
 *
 * Usage: npm run bench:transport -- [--port-offset -20000] [--calls 2000] [--gap-calls 150] [--gap-ms 100]
 */
import { type ChildProcess, fork, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { meshEnv, meshProcesses } from "../deploy/mesh-processes.js";
import { ensurePki } from "../deploy/pki.js";
import { EngineService } from "../gen/es/selene/engine/v1/engine_pb.js";
import { createEngineClient } from "../services/router/engine-client.js";
import { createBoundaryValidator } from "../services/runtime/boundary-validator.js";
import { LOCAL_PORTS } from "../services/runtime/local-ports.js";
import { methodPath } from "../services/runtime/raw-service-definition.js";
import { spiffeIdOf } from "../services/runtime/workload-identities.js";
import { percentile } from "./bench-harness.js";
import type { Call } from "./mesh-clients.js";
import { loadAverage, processCpuMicros } from "./mesh-cpu.js";
import {
  bareMtlsChannel,
  bareUnaryCall,
  encodedInvoke,
  engineClientCall,
  tcpEchoCall,
  understandRequest,
} from "./transport-calls.js";
import {
  ECHO_SERVER_IDENTITY,
  startMtlsGrpcEcho,
  startTcpEcho,
  TRANSPORT_ECHO_PATH,
} from "./transport-echo-servers.js";
import { routerUnderstandCall } from "./transport-router-path.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const UTTERANCE = "What is the capital of France?";
const WARMUP_CALLS = 300;
const INVOKE_PATH = methodPath(EngineService.method.invoke);

const say = (line: string) => process.stdout.write(`${line}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const { values: flags } = parseArgs({
  options: {
    "port-offset": { type: "string", default: "-20000" },
    calls: { type: "string", default: "2000" },
    "gap-calls": { type: "string", default: "150" },
    "gap-ms": { type: "string", default: "100" },
    serve: { type: "string" },
    pki: { type: "string" },
  },
});

function intFlag(name: keyof typeof flags): number {
  const value = Number(flags[name]);
  if (!Number.isInteger(value)) throw new Error(`--${name} must be an integer, got ${flags[name]}`);
  return value;
}

/** One path under test: its call and the process serving it. */
interface Path {
  readonly name: string;
  readonly call: Call;
  readonly serverPid: number;
  /** Reads the server's own time spent on calls so far (seconds, calls), when it reports one. */
  readonly served?: () => Promise<{ seconds: number; calls: number }>;
}

/** Percentiles and per-call costs of one path. */
interface Row {
  readonly name: string;
  readonly backToBack: readonly number[];
  readonly gapped: number[];
  clientCpuUs: number;
  serverCpuUs: number;
  servedUs: number | undefined;
}

/** Child role: serve one echo until the parent goes away. */
async function serveEcho(kind: string): Promise<void> {
  const port = kind === "tcp" ? await startTcpEcho() : await startMtlsGrpcEcho(flags.pki ?? "");
  process.on("disconnect", () => process.exit(0));
  process.send?.({ port });
}

function forkEcho(kind: string, pkiDir: string): Promise<{ child: ChildProcess; port: number }> {
  const child = fork(fileURLToPath(import.meta.url), ["--serve", kind, "--pki", pkiDir], { stdio: "inherit" });
  return new Promise((resolve, reject) => {
    child.once("message", (m) => resolve({ child, port: (m as { port: number }).port }));
    child.once("exit", (code) => reject(new Error(`the ${kind} echo exited with ${code}`)));
  });
}

/** The engine's RPC duration histogram of Invoke, from its metrics port. */
async function servedInvoke(metricsAddress: string): Promise<{ seconds: number; calls: number }> {
  const text = await (await fetch(`http://${metricsAddress}/metrics`)).text();
  const read = (suffix: string) => {
    const line = text
      .split("\n")
      .find((l) => l.startsWith(`selene_rpc_server_duration_seconds_${suffix}{`) && l.includes(INVOKE_PATH));
    return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(" ") + 1));
  };
  return { seconds: read("sum"), calls: read("count") };
}

async function timed(call: Call): Promise<number> {
  const t0 = performance.now();
  await call();
  return performance.now() - t0;
}

async function backToBack(path: Path, calls: number): Promise<Row> {
  const served0 = await path.served?.();
  const client0 = process.cpuUsage();
  const server0 = processCpuMicros(path.serverPid) ?? 0;
  const latencies: number[] = [];
  for (let i = 0; i < calls; i++) latencies.push(await timed(path.call));
  const client = process.cpuUsage(client0);
  const server = (processCpuMicros(path.serverPid) ?? 0) - server0;
  const served1 = await path.served?.();
  const servedUs =
    served0 !== undefined && served1 !== undefined && served1.calls > served0.calls
      ? ((served1.seconds - served0.seconds) * 1e6) / (served1.calls - served0.calls)
      : undefined;
  return {
    name: path.name,
    backToBack: latencies,
    gapped: [],
    clientCpuUs: (client.user + client.system) / calls,
    serverCpuUs: server / calls,
    servedUs,
  };
}

function quantiles(ms: readonly number[]): [number, number, number] {
  const sorted = Float64Array.from(ms).sort();
  return [percentile(sorted, 50), percentile(sorted, 90), percentile(sorted, 99)];
}

function report(rows: readonly Row[], calls: number, gapCalls: number, gapMs: number): void {
  const f = (n: number) => n.toFixed(3);
  say("");
  say(
    `| path | back to back p50 / p90 / p99 ms | ${gapMs} ms gaps p50 / p90 / p99 ms | client CPU µs/call | server CPU µs/call | server's own time µs/call |`,
  );
  say("|---|---:|---:|---:|---:|---:|");
  for (const r of rows) {
    const b = quantiles(r.backToBack).map(f).join(" / ");
    const g = r.gapped.length === 0 ? "-" : quantiles(r.gapped).map(f).join(" / ");
    const served = r.servedUs === undefined ? "-" : r.servedUs.toFixed(0);
    say(`| ${r.name} | ${b} | ${g} | ${r.clientCpuUs.toFixed(0)} | ${r.serverCpuUs.toFixed(0)} | ${served} |`);
  }
  const [tcp, bare, engineBare, mesh, router] = rows as [Row, Row, Row, Row, Row];
  const p50 = (r: Row, gapped: boolean) => quantiles(gapped ? r.gapped : r.backToBack)[0];
  say("");
  say(`${calls} calls back to back, ${gapCalls} with gaps, per path.`);
  for (const gapped of gapCalls > 0 ? [false, true] : [false]) {
    const mode = gapped ? `with ${gapMs} ms gaps` : "back to back";
    const floor = p50(bare, gapped);
    say(
      `${mode}: floor of a gRPC hop (b) p50 ${f(floor)} ms (TCP alone ${f(p50(tcp, gapped))} ms); ` +
        `the mesh's hop (c) ${f(p50(mesh, gapped))} ms, ${f(p50(mesh, gapped) - floor)} ms above the floor: ` +
        `server side (c0 - b) ${f(p50(engineBare, gapped) - floor)} ms, client side (c - c0) ${f(p50(mesh, gapped) - p50(engineBare, gapped))} ms; ` +
        `the router's resilience layer (d - c) ${f(p50(router, gapped) - p50(mesh, gapped))} ms`,
    );
  }
}

async function main(): Promise<void> {
  if (flags.serve !== undefined) return serveEcho(flags.serve);
  const portOffset = intFlag("port-offset");
  const calls = intFlag("calls");
  const gapCalls = intFlag("gap-calls");
  const gapMs = intFlag("gap-ms");
  say(`load average at start: ${loadAverage()}`);
  const dir = mkdtempSync(join(tmpdir(), "selene-transport-"));
  const children: ChildProcess[] = [];
  const closers: Array<() => void> = [];
  const cleanup = () => {
    for (const close of closers) close();
    for (const child of children) child.kill("SIGTERM");
    rmSync(dir, { recursive: true, force: true });
  };
  process.once("SIGINT", () => {
    cleanup();
    process.exit(130);
  });
  try {
    const pkiDir = join(dir, "pki");
    await ensurePki({ dir: pkiDir });
    const tcp = await forkEcho("tcp", pkiDir);
    children.push(tcp.child);
    const grpcEcho = await forkEcho("grpc", pkiDir);
    children.push(grpcEcho.child);

    // The nlp engine owns no schema: the database URL is never used.
    const layout = {
      root: ROOT,
      pkiDir,
      databaseUrl: "postgres://unused@127.0.0.1/unused",
      portOffset,
      logLevel: "warn",
    };
    const nlp = meshProcesses(layout).find((p) => p.name === "nlp")!;
    const engine = spawn(nlp.command, [...nlp.args], {
      env: { ...process.env, ...meshEnv(layout), ...nlp.env },
      stdio: ["ignore", "inherit", "inherit"],
    });
    children.push(engine);
    const engineAddress = `127.0.0.1:${LOCAL_PORTS.nlp.grpc + portOffset}`;
    const metricsAddress = `127.0.0.1:${LOCAL_PORTS.nlp.metrics + portOffset}`;

    const request = understandRequest(UTTERANCE);
    const payload = encodedInvoke(request);
    const tcpCall = await tcpEchoCall(tcp.port, payload);
    closers.push(tcpCall.close);
    const echoChannel = bareMtlsChannel(`127.0.0.1:${grpcEcho.port}`, pkiDir, ECHO_SERVER_IDENTITY);
    const engineChannel = bareMtlsChannel(engineAddress, pkiDir, "nlp");
    const validator = createBoundaryValidator();
    const client = createEngineClient({ name: "nlp", spiffeId: spiffeIdOf("nlp") }, engineAddress, pkiDir, validator);
    const routerPath = routerUnderstandCall(ROOT, engineAddress, pkiDir, validator, request);
    closers.push(
      routerPath.close,
      () => echoChannel.close(),
      () => engineChannel.close(),
      () => client.close(),
    );
    if (!(await client.ready(Date.now() + 20_000))) throw new Error(`the nlp engine did not serve at ${engineAddress}`);

    const served = () => servedInvoke(metricsAddress);
    const paths: Path[] = [
      { name: "(a) raw TCP echo", call: tcpCall.call, serverPid: tcp.child.pid! },
      {
        name: "(b) bare grpc-js unary, mTLS",
        call: bareUnaryCall(echoChannel, TRANSPORT_ECHO_PATH, payload),
        serverPid: grpcEcho.child.pid!,
      },
      {
        name: "(c0) bare grpc-js unary -> nlp engine Invoke",
        call: bareUnaryCall(engineChannel, INVOKE_PATH, payload),
        serverPid: engine.pid!,
        served,
      },
      {
        name: "(c) engine client -> nlp engine Invoke (the mesh's hop)",
        call: engineClientCall(client, request),
        serverPid: engine.pid!,
        served,
      },
      {
        name: "(d) the router's resilient engine call -> nlp engine Invoke",
        call: routerPath.call,
        serverPid: engine.pid!,
        served,
      },
    ];
    say(`payload: an Invoke request of ${payload.length} bytes ("${UTTERANCE}")`);
    for (const path of paths) for (let i = 0; i < WARMUP_CALLS; i++) await path.call();
    const rows: Row[] = [];
    for (const path of paths) {
      rows.push(await backToBack(path, calls));
      say(`back to back: ${path.name} done`);
    }
    for (let round = 0; round < gapCalls; round++) {
      for (const [i, path] of paths.entries()) {
        await sleep(gapMs);
        rows[i]!.gapped.push(await timed(path.call));
      }
    }
    report(rows, calls, gapCalls, gapMs);
    say(`load average at end: ${loadAverage()}`);
  } finally {
    cleanup();
  }
}

await main();
