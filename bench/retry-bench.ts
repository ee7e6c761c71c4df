/**
 * `npm run bench:retry`: grpc-js's own retries (the service config's retryPolicy with
 * retryThrottling, gRPC proposal A6) against the router's (services/router/resilience:
 * runAttempts under a per-engine retry budget), on the same plaintext server that fails
 * no call, every other attempt, or every attempt. Reports, per client and fault: calls/s,
 * p50 and p99 latency, calls that succeeded, and attempts the server saw per call.
 * Both retry up to 3 attempts with 10 ms backoff doubling to 100 ms.
 */
import * as grpc from "@grpc/grpc-js";
import { runAttempts } from "../services/router/resilience/attempts.js";
import { createRetryBudget } from "../services/router/resilience/retry-budget.js";
import { rawMethod } from "../services/runtime/raw-service-definition.js";

const CALLS = Number(process.env.BENCH_CALLS ?? 4000);
const CONCURRENCY = 16;
const PATH = "/selene.bench.Flaky/Call";
const RETRY = { maxAttempts: 3, initialBackoffMs: 10, maxBackoffMs: 100, multiplier: 2 };

type Fault = "none" | "half" | "all";
let fault: Fault = "none";
let attempts = 0;

function startFlakyServer(): Promise<{ port: number; server: grpc.Server }> {
  const server = new grpc.Server();
  server.addService(
    {
      Call: rawMethod(PATH),
    },
    {
      Call: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
        attempts += 1;
        const fail = fault === "all" || (fault === "half" && attempts % 2 === 0);
        if (fail) callback({ code: grpc.status.UNAVAILABLE, details: "flaky" });
        else callback(null, call.request);
      },
    },
  );
  return new Promise((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, port) =>
      err ? reject(err) : resolve({ port, server }),
    ),
  );
}

/** grpc-js retrying by itself: the A6 retry policy and retry throttling in the service config. */
const SERVICE_CONFIG = JSON.stringify({
  methodConfig: [
    {
      name: [{ service: "selene.bench.Flaky" }],
      retryPolicy: {
        maxAttempts: RETRY.maxAttempts,
        initialBackoff: `${RETRY.initialBackoffMs / 1000}s`,
        maxBackoff: `${RETRY.maxBackoffMs / 1000}s`,
        backoffMultiplier: RETRY.multiplier,
        retryableStatusCodes: ["UNAVAILABLE"],
      },
    },
  ],
  retryThrottling: { maxTokens: 10, tokenRatio: 0.1 },
});

function unary(client: grpc.Client, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const call = client.makeUnaryRequest(
      PATH,
      (b: Buffer) => b,
      (b: Buffer) => b,
      Buffer.from("ping"),
      new grpc.Metadata(),
      { deadline: Date.now() + 2000 },
      (err) => (err ? reject(err) : resolve()),
    );
    signal?.addEventListener("abort", () => call.cancel(), { once: true });
  });
}

interface Row {
  readonly client: string;
  readonly fault: Fault;
  readonly perSecond: number;
  readonly p50Us: number;
  readonly p99Us: number;
  readonly succeeded: number;
  readonly attemptsPerCall: number;
}

async function measure(client: string, f: Fault, call: () => Promise<void>): Promise<Row> {
  fault = f;
  attempts = 0;
  const latencies: number[] = [];
  let succeeded = 0;
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < CALLS) {
        next += 1;
        const t = performance.now();
        await call().then(
          () => (succeeded += 1),
          () => undefined,
        );
        latencies.push((performance.now() - t) * 1000);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;
  return {
    client,
    fault: f,
    perSecond: CALLS / seconds,
    p50Us: at(0.5),
    p99Us: at(0.99),
    succeeded,
    attemptsPerCall: attempts / CALLS,
  };
}

async function main(): Promise<void> {
  const { port, server } = await startFlakyServer();
  const address = `127.0.0.1:${port}`;
  // Two target names for one server: grpc-js keeps its retry throttle in a process-wide map keyed
  // by target, and a channel to the same target without retryThrottling deletes it (so the result
  // would depend on which channel resolved last).
  const native = new grpc.Client(`ipv4:${address}`, grpc.credentials.createInsecure(), {
    "grpc.service_config": SERVICE_CONFIG,
    "grpc.enable_retries": 1,
  });
  const plain = new grpc.Client(address, grpc.credentials.createInsecure(), { "grpc.enable_retries": 0 });
  const budget = () => createRetryBudget({ ratio: 0.1, windowMs: 10_000, floor: 3 });
  const rows: Row[] = [];
  // Warm both paths up (JIT, connections) before anything is measured, so neither pays for going first.
  await measure("warm-up", "none", () => unary(native));
  await measure("warm-up", "none", () => unary(plain));
  for (const f of ["none", "half", "all"] as const) {
    rows.push(await measure("grpc-js retryPolicy + retryThrottling", f, () => unary(native)));
    const own = budget();
    rows.push(
      await measure("router: runAttempts + retry budget", f, () =>
        runAttempts(
          {
            retry: RETRY,
            hedgeAfterMs: undefined,
            deadline: Date.now() + 2000,
            budget: own,
            retryable: (e) => (e as grpc.ServiceError).code === grpc.status.UNAVAILABLE,
          },
          (_kind, signal) => unary(plain, signal),
        ),
      ),
    );
  }
  console.log(`retry bench: ${CALLS} calls per row, ${CONCURRENCY} in flight, plaintext loopback, max 3 attempts`);
  console.log("| client | server fails | calls/s | p50 | p99 | succeeded | attempts per call |");
  console.log("|---|---|---:|---:|---:|---:|---:|");
  const faults = { none: "no call", half: "every 2nd attempt", all: "every attempt" };
  for (const r of rows) {
    console.log(
      `| ${r.client} | ${faults[r.fault]} | ${r.perSecond.toFixed(0)} | ${(r.p50Us / 1000).toFixed(2)} ms | ${(r.p99Us / 1000).toFixed(2)} ms | ${((r.succeeded / CALLS) * 100).toFixed(1)}% | ${r.attemptsPerCall.toFixed(3)} |`,
    );
  }
  native.close();
  plain.close();
  server.forceShutdown();
}

await main();
