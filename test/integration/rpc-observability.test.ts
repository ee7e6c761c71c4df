import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server as HttpServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create, toBinary } from "@bufbuild/protobuf";
import { Client, Metadata } from "@grpc/grpc-js";
import { context, ROOT_CONTEXT, TraceFlags, trace } from "@opentelemetry/api";
import { expect } from "chai";
import { ensurePki } from "../../deploy/pki.js";
import { EngineService, type InvokeRequest, InvokeRequestSchema } from "../../gen/es/selene/engine/v1/engine_pb.js";
import { ReasonCode } from "../../gen/es/selene/kernel/v1/reason_pb.js";
import { createEngineClient, type EngineClient } from "../../services/router/engine-client.js";
import { implementService } from "../../services/runtime/boundary/grpc-adapter.js";
import { createBoundaryValidator } from "../../services/runtime/boundary-validator.js";
import { type RunningGrpcServer, startGrpcServer } from "../../services/runtime/grpc-server.js";
import { createLogger } from "../../services/runtime/logger.js";
import { metricsRegistry } from "../../services/runtime/metrics-registry.js";
import { type RunningMetricsServer, startMetricsServer } from "../../services/runtime/metrics-server.js";
import { SeleneError } from "../../services/runtime/selene-error.js";
import type { EngineHandlers } from "../../services/runtime/serve-engine.js";
import { startTelemetry } from "../../services/runtime/telemetry.js";
import { clientCredentials, serverCredentials } from "../../services/runtime/tls-credentials.js";
import { TRACEPARENT_KEY } from "../../services/runtime/trace-context.js";
import { createUnaryClient } from "../../services/runtime/unary-client.js";
import { allowOnly } from "../../services/runtime/unary-service.js";
import { spiffeIdOf } from "../../services/runtime/workload-identities.js";
import { anEnvelope, aReadResponse } from "../support/builders.js";
import { meshEngine } from "../support/mesh-engine.js";
import { sampleValue } from "../support/prometheus-text.js";

type LogLine = Record<string, unknown>;

const TRACE_ID = "0af7651916cd43dd8448eb211c80319c";
const CALLER_SPAN_ID = "b7ad6b7169203331";
const INVOKE = "/selene.engine.v1.EngineService/Invoke";
const HEX32 = /^[0-9a-f]{32}$/;

// Two real servers over mTLS, each built with the shared server adapter: a front engine (nlp's
// certificate) whose Invoke calls a back engine (tools' certificate) through the shared client adapter.
describe("trace context, logs and metrics through the shared RPC adapters", function () {
  this.timeout(30_000);
  let dir: string;
  let front: RunningGrpcServer;
  let back: RunningGrpcServer;
  let metrics: RunningMetricsServer;
  let frontClient: EngineClient;
  let backClient: EngineClient;
  const frontLines: LogLine[] = [];
  const backLines: LogLine[] = [];
  const backTraceparents: string[] = [];

  const capture = (lines: LogLine[]) => ({ write: (s: string) => lines.push(JSON.parse(s) as LogLine) });
  const unused = async (): Promise<never> => {
    throw new SeleneError(ReasonCode.INTERNAL, "not used by this test");
  };
  const anInvoke = (capability: string, correlationId: string): InvokeRequest =>
    create(InvokeRequestSchema, {
      envelope: anEnvelope({ correlationId }),
      capability,
      input: { case: "read", value: { args: { query: "capital of france" } } },
    });

  async function serve(name: "nlp" | "tools", handlers: EngineHandlers, lines: LogLine[]) {
    const logger = createLogger(name, "info", capture(lines));
    const implementation = implementService(EngineService, handlers, {
      validator: createBoundaryValidator(),
      logger,
      authorize: allowOnly([spiffeIdOf("router")], ReasonCode.MEDIATION_BYPASS),
      self: spiffeIdOf(name),
    });
    return startGrpcServer({
      address: "127.0.0.1:0",
      healthAddress: "127.0.0.1:0",
      credentials: serverCredentials(dir, name),
      services: [{ service: EngineService, implementation }],
      logger,
    });
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "selene-rpc-obs-"));
    await ensurePki({ dir });
    const validator = createBoundaryValidator();
    back = await serve(
      "tools",
      {
        async invoke(request, ctx) {
          backTraceparents.push(String(ctx.metadata.get(TRACEPARENT_KEY)[0]));
          ctx.logger.info("back handling");
          if (request.capability === "tools.fail") throw new SeleneError(ReasonCode.CAPABILITY_UNKNOWN, "no such tool");
          return aReadResponse();
        },
        describe: unused,
        simulate: unused,
        commit: unused,
      },
      backLines,
    );
    backClient = createEngineClient(meshEngine("tools"), `127.0.0.1:${back.port}`, dir, validator);
    front = await serve(
      "nlp",
      {
        async invoke(request, ctx) {
          ctx.logger.info("front handling");
          return backClient.call("invoke", request, {
            deadline: Date.now() + 5000,
            correlationId: ctx.correlationId,
          });
        },
        describe: unused,
        simulate: unused,
        commit: unused,
      },
      frontLines,
    );
    frontClient = createEngineClient(meshEngine("nlp"), `127.0.0.1:${front.port}`, dir, validator);
    metrics = await startMetricsServer("127.0.0.1:0", metricsRegistry(), createLogger("test", "silent"));
  });

  after(async () => {
    frontClient.close();
    backClient.close();
    await Promise.all([front.shutdown(100), back.shutdown(100), metrics.close()]);
    rmSync(dir, { recursive: true, force: true });
  });

  beforeEach(() => {
    frontLines.length = 0;
    backLines.length = 0;
    backTraceparents.length = 0;
  });

  /** Calls the front engine as the router would, inside the caller's own trace. */
  function callInTrace(capability: string, correlationId: string): Promise<unknown> {
    const caller = trace.setSpanContext(ROOT_CONTEXT, {
      traceId: TRACE_ID,
      spanId: CALLER_SPAN_ID,
      traceFlags: TraceFlags.SAMPLED,
      isRemote: true,
    });
    return context.with(caller, () =>
      frontClient.call("invoke", anInvoke(capability, correlationId), {
        deadline: Date.now() + 5000,
        correlationId,
      }),
    );
  }

  const line = (lines: LogLine[], msg: string) => {
    const found = lines.find((l) => l.msg === msg);
    expect(found, `log line "${msg}"`).to.not.equal(undefined);
    return found as LogLine;
  };

  async function scrape(path = "/metrics"): Promise<{ status: number; text: string; type: string | null }> {
    const response = await fetch(`http://127.0.0.1:${metrics.port}${path}`);
    return { status: response.status, text: await response.text(), type: response.headers.get("content-type") };
  }

  it("carries the caller's trace id through both hops, each hop under its own span id", async () => {
    await callInTrace("tools.lookup", "corr-traced");
    const frontLine = line(frontLines, "front handling");
    const backLine = line(backLines, "back handling");
    expect(frontLine).to.include({ trace_id: TRACE_ID, correlation_id: "corr-traced" });
    expect(backLine).to.include({ trace_id: TRACE_ID, correlation_id: "corr-traced" });
    expect(frontLine.span_id)
      .to.match(/^[0-9a-f]{16}$/)
      .and.not.equal(CALLER_SPAN_ID);
    expect(backLine.span_id)
      .to.match(/^[0-9a-f]{16}$/)
      .and.not.equal(frontLine.span_id);
    // The back hop's parent is the front hop's span: the outgoing call carried the active context.
    expect(backTraceparents).to.deep.equal([`00-${TRACE_ID}-${String(frontLine.span_id)}-01`]);
  });

  it("names the trace on a refusal's log line and passes the reason back", async () => {
    const error = await callInTrace("tools.fail", "corr-refused").catch((e: unknown) => e);
    expect((error as SeleneError).reason).to.equal(ReasonCode.CAPABILITY_UNKNOWN);
    for (const lines of [frontLines, backLines]) {
      expect(line(lines, "rpc refused")).to.include({
        trace_id: TRACE_ID,
        correlation_id: "corr-refused",
        reason: "CAPABILITY_UNKNOWN",
      });
    }
  });

  it("starts one new trace for a call that arrives without trace context, shared by both hops", async () => {
    const raw = new Client(`127.0.0.1:${front.port}`, clientCredentials(dir, "router", spiffeIdOf("nlp")), {
      "grpc.ssl_target_name_override": "nlp",
      "grpc.default_authority": "nlp",
    });
    try {
      const bytes = Buffer.from(toBinary(InvokeRequestSchema, anInvoke("tools.lookup", "corr-untraced")));
      await new Promise<void>((resolve, reject) =>
        raw.makeUnaryRequest(
          INVOKE,
          (b: Buffer) => b,
          (b: Buffer) => b,
          bytes,
          new Metadata(),
          { deadline: Date.now() + 5000 },
          (err) => (err ? reject(err) : resolve()),
        ),
      );
    } finally {
      raw.close();
    }
    const frontTrace = line(frontLines, "front handling").trace_id;
    expect(frontTrace).to.match(HEX32).and.not.equal(TRACE_ID);
    expect(line(backLines, "back handling").trace_id).to.equal(frontTrace);
  });

  it("counts and times calls by method, gRPC code and reason on /metrics, refusals included", async () => {
    const before = (await scrape()).text;
    await callInTrace("tools.lookup", "corr-m1");
    await callInTrace("tools.fail", "corr-m2").catch(() => {});
    // The back engine admits only the router: a call presenting the nlp certificate is refused.
    expect(await callBackAsNlp()).to.equal(ReasonCode.MEDIATION_BYPASS);
    const { status, text, type } = await scrape();
    expect(status).to.equal(200);
    expect(type).to.contain("text/plain");

    const delta = (name: string, labels: Record<string, string>) =>
      sampleValue(text, name, labels) - sampleValue(before, name, labels);
    const served = "selene_rpc_server_requests_total";
    const made = "selene_rpc_client_requests_total";
    // Front and back both serve EngineService/Invoke in this process, so each served call counts twice.
    expect(delta(served, { method: INVOKE, code: "OK" })).to.equal(2);
    expect(delta(served, { method: INVOKE, code: "FAILED_PRECONDITION" })).to.equal(2);
    expect(delta(served, { method: INVOKE, code: "PERMISSION_DENIED" })).to.equal(1);
    expect(delta("selene_rpc_server_errors_total", { method: INVOKE, reason: "CAPABILITY_UNKNOWN" })).to.equal(2);
    expect(delta("selene_rpc_server_errors_total", { method: INVOKE, reason: "MEDIATION_BYPASS" })).to.equal(1);
    expect(delta("selene_rpc_server_duration_seconds_count", { method: INVOKE })).to.equal(5);
    expect(delta("selene_rpc_server_duration_seconds_bucket", { method: INVOKE, le: "+Inf" })).to.equal(5);

    expect(delta(made, { target: "nlp", method: INVOKE, code: "OK" })).to.equal(1);
    expect(delta(made, { target: "tools", method: INVOKE, code: "OK" })).to.equal(1);
    expect(delta(made, { target: "tools", method: INVOKE, code: "FAILED_PRECONDITION" })).to.equal(1);
    expect(delta(made, { target: "tools", method: INVOKE, code: "PERMISSION_DENIED" })).to.equal(1);
    expect(
      delta("selene_rpc_client_errors_total", { target: "tools", method: INVOKE, reason: "CAPABILITY_UNKNOWN" }),
    ).to.equal(1);
    expect(delta("selene_rpc_client_duration_seconds_count", { target: "nlp", method: INVOKE })).to.equal(2);
    // Default process metrics ride along.
    expect(sampleValue(text, "process_cpu_user_seconds_total", {})).to.be.greaterThan(0);
    expect(sampleValue(text, "nodejs_eventloop_lag_seconds", {})).to.be.at.least(0);
  });

  it("serves nothing but /metrics", async () => {
    expect((await scrape("/")).status).to.equal(404);
    const post = await fetch(`http://127.0.0.1:${metrics.port}/metrics`, { method: "POST" });
    expect(post.status).to.equal(405);
  });

  it("exports the spans of both hops as one parent-child chain over OTLP/HTTP when export is on", async () => {
    const bodies: string[] = [];
    const receiver: HttpServer = createServer((request, response) => {
      let body = "";
      request.on("data", (chunk: Buffer) => {
        body += chunk.toString("utf8");
      });
      request.on("end", () => {
        bodies.push(body);
        response.writeHead(200, { "content-type": "application/json" }).end("{}");
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
    const { port } = receiver.address() as { port: number };
    const telemetry = startTelemetry(
      "nlp",
      { exporter: "otlp", url: `http://127.0.0.1:${port}/v1/traces` },
      createLogger("test", "silent"),
    );
    try {
      await callInTrace("tools.lookup", "corr-exported");
    } finally {
      await telemetry.shutdown();
      await new Promise<void>((resolve) => receiver.close(() => resolve()));
    }
    const spans = bodies.flatMap((b) => spansOf(JSON.parse(b)));
    expect(spans.map((s) => s.traceId))
      .to.have.length(4)
      .and.satisfy((ids: string[]) => ids.every((i) => i === TRACE_ID));
    const child = (parent: string) => spans.find((s) => s.parentSpanId === parent);
    const toFront = child(CALLER_SPAN_ID);
    const frontServer = child(toFront?.spanId ?? "-");
    const toBack = child(frontServer?.spanId ?? "-");
    const backServer = child(toBack?.spanId ?? "-");
    expect([toFront?.kind, frontServer?.kind, toBack?.kind, backServer?.kind]).to.deep.equal([3, 2, 3, 2]);
    expect(backServer?.name).to.equal(INVOKE);
    // Export is off again: the next call records nothing, yet still carries the trace.
    await callInTrace("tools.lookup", "corr-after");
    expect(line(backLines, "back handling").trace_id).to.equal(TRACE_ID);
  });

  /** Calls the back engine presenting nlp's certificate instead of the router's. */
  async function callBackAsNlp(): Promise<ReasonCode | undefined> {
    const client = createUnaryClient(EngineService, {
      address: `127.0.0.1:${back.port}`,
      serverName: "tools",
      credentials: clientCredentials(dir, "nlp", spiffeIdOf("tools")),
      validator: createBoundaryValidator(),
      faults: {
        unavailable: ReasonCode.ENGINE_UNAVAILABLE,
        deadlineExceeded: ReasonCode.ENGINE_DEADLINE_EXCEEDED,
        invalidResponse: ReasonCode.ENGINE_INVALID_RESPONSE,
      },
    });
    try {
      await client.call("invoke", anInvoke("tools.lookup", "corr-intruder"), {
        deadline: Date.now() + 5000,
        correlationId: "corr-intruder",
      });
      return undefined;
    } catch (e) {
      return (e as SeleneError).reason;
    } finally {
      client.close();
    }
  }
});

interface ExportedSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId?: string;
  readonly name: string;
  readonly kind: number;
}

/** The spans of an OTLP/JSON ExportTraceServiceRequest. */
function spansOf(body: { resourceSpans?: Array<{ scopeSpans?: Array<{ spans?: ExportedSpan[] }> }> }): ExportedSpan[] {
  return (body.resourceSpans ?? []).flatMap((r) => (r.scopeSpans ?? []).flatMap((s) => s.spans ?? []));
}
