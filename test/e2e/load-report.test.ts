import { spawnSync } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { buildGhzReport, GHZ_PERCENTAGES, type GhzReport } from "../../bench/load/ghz-report.js";
import { postToGhzWeb } from "../../bench/load/ghz-web-ingest.js";
import type { LoadRun } from "../../bench/load/load-runner.js";
import { runLoadSession } from "../../bench/load/load-session.js";
import { type SpanReceiver, startSpanReceiver } from "../../bench/load/span-receiver.js";
import { buildTurnBreakdown, ROUTER_OWN_ROW, TRANSPORT_ROW } from "../../bench/load/turn-breakdown.js";
import { loadCorpus } from "../../bench/load/turn-corpus.js";
import { pkiFiles } from "../../services/runtime/tls-credentials.js";
import { startTestMesh, type TestMesh } from "../support/mesh-fixture.js";

const OFFSET = -26500;
const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/;
const RFC3339_NANO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/;
const GO_CODE_NAMES = new Set([
  "OK",
  "Canceled",
  "Unknown",
  "InvalidArgument",
  "DeadlineExceeded",
  "NotFound",
  "AlreadyExists",
  "PermissionDenied",
  "ResourceExhausted",
  "FailedPrecondition",
  "Aborted",
  "OutOfRange",
  "Unimplemented",
  "Internal",
  "Unavailable",
  "DataLoss",
  "Unauthenticated",
]);

const isInt = (v: unknown) => typeof v === "number" && Number.isInteger(v) && v >= 0;

/** Checks a report against ghz's JSON report, field by field and type by type (shared/reference/ghz-report.md). */
function expectGhzShape(report: Record<string, unknown>): void {
  expect(report.name).to.be.a("string");
  expect(["normal", "cancel", "timeout"]).to.include(report.endReason);
  expect(report.date).to.be.a("string").and.match(RFC3339);
  const options = report.options as Record<string, unknown>;
  for (const key of ["call", "host", "cacert", "cert", "key", "name"])
    expect(options[key], `options.${key}`).to.be.a("string");
  for (const key of ["rps", "concurrency", "connections", "total", "skipFirst"])
    expect(options[key], `options.${key}`).to.be.a("number");
  for (const key of ["duration", "timeout"]) expect(isInt(options[key]), `options.${key} is integer ns`).to.equal(true);
  expect(options.metadata).to.be.an("object");
  for (const key of ["count", "total", "average", "fastest", "slowest"])
    expect(isInt(report[key]), `${key} is integer ns`).to.equal(true);
  expect(report.rps).to.be.a("number");
  expect((report.rps as number) * ((report.total as number) / 1e9)).to.be.closeTo(report.count as number, 1);
  for (const [error, n] of Object.entries(report.errorDistribution as object)) {
    expect(error).to.be.a("string");
    expect(isInt(n)).to.equal(true);
  }
  const codes = report.statusCodeDistribution as Record<string, number>;
  for (const [code, n] of Object.entries(codes)) {
    expect(GO_CODE_NAMES.has(code), code).to.equal(true);
    expect(isInt(n)).to.equal(true);
  }
  expect(Object.values(codes).reduce((a, b) => a + b, 0)).to.equal(report.count);
  const latencies = report.latencyDistribution as Array<Record<string, unknown>>;
  expect(latencies.map((l) => l.percentage)).to.deep.equal([...GHZ_PERCENTAGES]);
  for (const l of latencies) expect(isInt(l.latency)).to.equal(true);
  const histogram = report.histogram as Array<Record<string, unknown>>;
  expect(histogram).to.have.length(11);
  expect(histogram[0]!.mark).to.be.closeTo((report.fastest as number) / 1e9, 1e-9);
  expect(histogram[10]!.mark).to.be.closeTo((report.slowest as number) / 1e9, 1e-9);
  for (const b of histogram) {
    expect(b.mark).to.be.a("number").below(60); // seconds, not nanoseconds
    expect(isInt(b.count)).to.equal(true);
    expect(b.frequency).to.be.a("number").within(0, 1);
  }
  const details = report.details as Array<Record<string, unknown>>;
  expect(details).to.have.length(report.count as number);
  for (const d of details) {
    expect(d.timestamp).to.be.a("string").and.match(RFC3339_NANO);
    expect(isInt(d.latency)).to.equal(true);
    expect(d.error).to.be.a("string");
    expect(GO_CODE_NAMES.has(d.status as string)).to.equal(true);
  }
  for (const [k, v] of Object.entries(report.tags as object)) {
    expect(k).to.be.a("string");
    expect(v).to.be.a("string");
  }
}

describe("load tool against a real mesh: ghz report and ghz-web ingest", function () {
  this.timeout(120_000);
  let mesh: TestMesh;
  let run: LoadRun;
  let report: GhzReport;
  let receiver: SpanReceiver;
  const corpus = loadCorpus(join(process.cwd(), "bench", "corpus", "turns-v1.yaml"));

  before(async () => {
    receiver = await startSpanReceiver();
    // Every process exports its spans to the receiver, as `npm run bench` sets its mesh up.
    mesh = await startTestMesh(OFFSET, "info", {
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: receiver.url,
      OTEL_BSP_SCHEDULE_DELAY: "100",
    });
    // The test mesh maps the demo app alone to a tenant (demo).
    ({ run } = await runLoadSession(
      { address: mesh.routerAddress, tenants: [{ tenant: "demo", files: pkiFiles(mesh.pkiDir, "demo-app") }] },
      {
        corpus,
        load: { concurrency: 4, total: 120, durationMs: undefined, rps: undefined, timeoutMs: 5000, retries: 0 },
        connections: 2,
        seed: 3,
        warmupMs: 0,
        traceEvery: 3,
        onTick: () => {},
      },
    ));
    report = buildGhzReport(run, {
      name: "e2e",
      options: {
        call: "selene.os.v1.TurnService.SubmitTurn",
        host: mesh.routerAddress,
        cacert: "ca.crt",
        cert: "demo-app.crt",
        key: "demo-app.key",
        cname: "router",
        rps: 0,
        concurrency: 4,
        connections: 2,
        total: 120,
        duration: 0,
        timeout: 5e9,
        skipFirst: 0,
        metadata: {},
        name: "e2e",
      },
      tags: { git: "test", environment: "e2e" },
      corpus: { path: corpus.path, version: corpus.version },
    });
  });
  after(async () => {
    await mesh?.stop();
    await receiver?.close();
  });

  it("makes every corpus call end in its expected outcome, executions included", () => {
    expect(run.endReason).to.equal("normal");
    expect(report.count).to.be.at.least(120);
    expect(report.errorDistribution).to.deep.equal({});
    expect(report.statusCodeDistribution).to.deep.equal({ OK: report.count });
    expect(Object.keys(report.selene.steps).sort()).to.include.members(["answer", "clarify", "confirm", "executed"]);
    expect(run.acknowledged.length).to.equal(report.selene.steps.executed?.count);
  });

  it("writes a report of ghz's shape, field by field and type by type", () => {
    expectGhzShape(JSON.parse(JSON.stringify(report)) as Record<string, unknown>);
    expect(report.selene.latencyP999).to.be.at.least(report.latencyDistribution[6]!.latency * 0.99);
  });

  it("breaks the sampled turns into their steps from the mesh's own spans", async () => {
    const sampled = run.records.filter((r) => r.traceId !== undefined);
    expect(sampled.length).to.be.greaterThan(20);
    expect(run.records.length / sampled.length).to.be.within(2, 4); // every third turn, both calls of a confirmation
    const traces = new Set(sampled.map((r) => r.traceId!));
    // The exporters send every 100 ms: wait until every sampled call's router span has arrived.
    const arrived = () =>
      new Set(
        receiver
          .spansOf(traces)
          .filter((s) => s.name.endsWith("/SubmitTurn") && s.kind === 2)
          .map((s) => s.traceId),
      );
    for (let i = 0; i < 50 && arrived().size < traces.size; i++) await new Promise((r) => setTimeout(r, 100));
    expect(arrived().size).to.equal(traces.size);

    const breakdown = buildTurnBreakdown(run.records, receiver.spansOf(traces), 3);
    const answer = breakdown.outcomes.find((o) => o.outcome === "answer")!;
    const labels = answer.rows.map((r) => r.label);
    for (const step of [
      TRANSPORT_ROW,
      ROUTER_OWN_ROW,
      "router SubmitTurn",
      "router db turn claim",
      "router -> nlp Invoke",
      "nlp Invoke",
      "tools Invoke",
      "router audit append",
      "router db turn complete",
    ])
      expect(labels, step).to.include(step);
    // The steps ran in the turn's order (the nlp call goes out while the claim is written, the tools
    // call after both), and the engines' served calls carry their CPU time.
    expect(labels.indexOf("router db turn claim")).to.be.lessThan(labels.indexOf("tools Invoke"));
    expect(labels.indexOf("router -> nlp Invoke")).to.be.lessThan(labels.indexOf("tools Invoke"));
    expect(labels.indexOf("nlp Invoke")).to.be.lessThan(labels.indexOf("router db turn complete"));
    expect(answer.rows.find((r) => r.label === "nlp Invoke")!.cpuUs).to.be.greaterThan(0);
    expect(answer.cpuUs).to.be.greaterThan(0);
    const whole = answer.rows.find((r) => r.label === "router SubmitTurn")!;
    expect(whole.wallP50Ns).to.be.lessThan(answer.latencyP50Ns * 1.5);
    // The typical turn's waterfall: the client's call first, every span inside it in time.
    const bars = answer.typical.bars;
    expect(bars[0]!.label).to.equal("client SubmitTurn");
    expect(bars.length).to.be.greaterThan(6);
    for (const bar of bars.slice(1)) expect(bar.startNs).to.be.within(-1e6, bars[0]!.durationNs + 1e6);
    const executed = breakdown.outcomes.find((o) => o.outcome === "executed")!;
    expect(executed.rows.map((r) => r.label)).to.include.members(["router -> outbox Enqueue", "router effect wait"]);
  });

  it("fails `npm run bench` (exit 1, the budget named) when a budget of the SLO file is missed, and passes it otherwise", () => {
    const dir = mkdtempSync(join(tmpdir(), "selene-slo-"));
    try {
      const bench = (p50: string) => {
        const slo = join(dir, `slo-${p50}.yaml`);
        writeFileSync(
          slo,
          `version: 1\nbudgets:\n  - rpc: selene.os.v1.TurnService.SubmitTurn\n    p50: ${p50}\n    error_rate: 0.001\n`,
        );
        const files = pkiFiles(mesh.pkiDir, "demo-app");
        const args = ["--host", mesh.routerAddress, "--cacert", files.ca, "--cert", files.cert, "--key", files.key];
        args.push("--tenant", "demo", "-n", "30", "-c", "2", "-r", "0", "--slo", slo, "-o", join(dir, p50));
        return spawnSync(process.execPath, [join(process.cwd(), "dist", "bench", "turn-bench.js"), ...args], {
          encoding: "utf8",
          timeout: 60_000,
        });
      };
      const missed = bench("1ms");
      expect(missed.status, missed.stderr).to.equal(1);
      expect(missed.stdout).to.match(/MISS SubmitTurn p50/);
      expect(missed.stdout).to.match(/^SLO missed: SubmitTurn p50$/m);
      const met = bench("10s");
      expect(met.status, met.stdout + met.stderr).to.equal(0);
      expect(met.stdout).to.match(/^SLO met \(2 budgets\)$/m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe("ghz-web ingest", () => {
    let server: Server;
    let base: string;
    const seen: Array<{ method: string; url: string; type: string; body: string }> = [];
    before(async () => {
      server = createServer((req: IncomingMessage, res) => {
        let body = "";
        req.on("data", (c) => {
          body += c;
        });
        req.on("end", () => {
          seen.push({ method: req.method!, url: req.url!, type: req.headers["content-type"] ?? "", body });
          const known = req.method === "POST" && /^\/api\/(projects\/[^/]+\/)?ingest$/.test(req.url!);
          res.writeHead(known ? 201 : 404, { "content-type": "application/json" }).end(known ? '{"id":1}' : "{}");
        });
      });
      server.listen(0, "127.0.0.1");
      await once(server, "listening");
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    });
    after(() => server.close());

    it("posts the raw JSON report to /api/ingest, or to /api/projects/<id>/ingest", async () => {
      const json = JSON.stringify(report);
      expect(await postToGhzWeb(base, undefined, json)).to.equal(201);
      expect(await postToGhzWeb(base, "42", json)).to.equal(201);
      expect(seen.map((s) => [s.method, s.url])).to.deep.equal([
        ["POST", "/api/ingest"],
        ["POST", "/api/projects/42/ingest"],
      ]);
      for (const s of seen) {
        expect(s.type).to.equal("application/json");
        expect(s.body).to.equal(json);
      }
    });

    it("fails with the status when ghz-web refuses", async () => {
      const refused = await postToGhzWeb(`${base}nowhere`, undefined, "{}").then(
        () => undefined,
        (e: Error) => e.message,
      );
      expect(refused).to.match(/^ghz-web answered 404/);
    });
  });
});
