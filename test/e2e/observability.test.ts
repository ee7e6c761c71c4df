import { readFileSync } from "node:fs";
import { join } from "node:path";
import { context, ROOT_CONTEXT, TraceFlags, trace } from "@opentelemetry/api";
import { expect } from "chai";
import { MESH_ORDER } from "../../deploy/mesh-processes.js";
import { metricsAddressVariable } from "../../services/runtime/service-config.js";
import { postJsonTurn } from "../support/json-port.js";
import { startTestMesh, type TestMesh } from "../support/mesh-fixture.js";
import { sampleValue } from "../support/prometheus-text.js";
import { aTextTurn, aTurnClient } from "../support/turn-client.js";

const OFFSET = -25500;
const INVOKE = "/selene.engine.v1.EngineService/Invoke";

type LogLine = Record<string, unknown>;

function aTraceId(seed: string): string {
  return seed.repeat(32).slice(0, 32);
}

describe("mesh end to end: trace context in every process's logs, /metrics on every process", function () {
  this.timeout(60_000);
  let mesh: TestMesh;
  let client: ReturnType<typeof aTurnClient>;

  before(async () => {
    // Debug level, so that every served call writes its "rpc ok" line.
    mesh = await startTestMesh(OFFSET, "debug");
    client = aTurnClient(mesh.routerAddress, mesh.pkiDir);
  });
  after(async () => {
    client?.close();
    await mesh?.stop();
  });

  /** Sends a turn as a client inside its own trace `traceId`; returns the turn's correlation id. */
  async function turnInTrace(text: string, traceId: string): Promise<string> {
    const turn = aTextTurn(text);
    const caller = trace.setSpanContext(ROOT_CONTEXT, {
      traceId,
      spanId: "1234567890abcdef",
      traceFlags: TraceFlags.SAMPLED,
      isRemote: true,
    });
    await context.with(caller, () =>
      client.call("submitTurn", turn, { deadline: Date.now() + 5000, correlationId: turn.envelope.correlationId }),
    );
    return turn.envelope.correlationId;
  }

  /** The lines of `process`'s log that name `traceId`, once there are some (logs are written asynchronously). */
  async function linesOfTrace(process: string, traceId: string): Promise<LogLine[]> {
    const until = Date.now() + 5000;
    for (;;) {
      const lines = readFileSync(join(mesh.logDir, `${process}.log`), "utf8")
        .split("\n")
        .filter((l) => l.includes(traceId))
        .map((l) => JSON.parse(l) as LogLine);
      if (lines.length > 0 || Date.now() > until) return lines;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  it("logs a turn's trace id in the router, nlp, tools and audit, with the turn's correlation id", async () => {
    const traceId = aTraceId("a1");
    const correlationId = await turnInTrace("What is the capital of France?", traceId);
    for (const process of ["router", "nlp", "tools", "audit"]) {
      const lines = await linesOfTrace(process, traceId);
      expect(lines, `${process} lines of trace ${traceId}`).to.not.be.empty;
      for (const line of lines) {
        expect(line.trace_id, process).to.equal(traceId);
        expect(line.span_id, process).to.match(/^[0-9a-f]{16}$/);
      }
      expect(
        lines.map((l) => l.correlation_id),
        process,
      ).to.include(correlationId);
    }
  });

  it("continues the trace of a Connect JSON turn's traceparent header through the router's engine calls", async () => {
    const traceId = aTraceId("d4");
    const body = JSON.stringify({
      envelope: {
        contractVersion: { major: 1 },
        tenantId: "demo",
        userId: "web",
        correlationId: "connect-traced",
        turnId: "connect-traced",
        idempotencyKey: "connect-traced",
      },
      text: "What is the capital of France?",
    });
    const { status } = await postJsonTurn(mesh, body, { traceparent: `00-${traceId}-1234567890abcdef-01` });
    expect(status).to.equal(200);
    for (const process of ["router", "nlp", "tools"]) {
      const lines = await linesOfTrace(process, traceId);
      expect(
        lines.map((l) => l.correlation_id),
        process,
      ).to.include("connect-traced");
    }
  });

  it("logs the trace id in the Python engine's line about a refused expression", async () => {
    const traceId = aTraceId("b2");
    await turnInTrace("calculate 1 / 0", traceId);
    const calc = await linesOfTrace("calc", traceId);
    expect(calc.map((l) => [l.msg, l.reason])).to.deep.include(["request refused", "FIELD_INVALID"]);
    expect(calc[0]?.parent_span_id).to.match(/^[0-9a-f]{16}$/);
    expect(await linesOfTrace("router", traceId)).to.not.be.empty;
  });

  it("serves /metrics on every process, the Python engine's included, with the turn's calls counted", async () => {
    await turnInTrace("What is the capital of France?", aTraceId("c3"));
    await turnInTrace("calculate 2 * 21", aTraceId("e5"));
    await turnInTrace("calculate 1 / 0", aTraceId("f6"));
    const scrapes = new Map<string, string>();
    for (const name of MESH_ORDER) {
      const response = await fetch(`http://${mesh.env[metricsAddressVariable(name)]}/metrics`);
      expect(response.status, name).to.equal(200);
      const text = await response.text();
      expect(text, name).to.match(/^process_cpu_(user_)?seconds_total /m);
      scrapes.set(name, text);
    }
    const router = scrapes.get("router") ?? "";
    const served = (name: string) =>
      sampleValue(scrapes.get(name) ?? "", "selene_rpc_server_requests_total", { method: INVOKE, code: "OK" });
    expect(
      sampleValue(router, "selene_rpc_server_requests_total", {
        method: "/selene.os.v1.TurnService/SubmitTurn",
        code: "OK",
      }),
    ).to.be.at.least(2);
    expect(
      sampleValue(router, "selene_rpc_client_requests_total", { target: "nlp", method: INVOKE, code: "OK" }),
    ).to.be.at.least(2);
    expect(served("nlp")).to.be.at.least(2);
    expect(served("tools")).to.be.at.least(2);
    expect(served("calc")).to.be.at.least(1);
    // The refused "1 / 0", by its reason code and gRPC status, in the Python engine's metrics.
    const calc = scrapes.get("calc") ?? "";
    const calcSample = (name: string, labels: Record<string, string>) => sampleValue(calc, name, labels);
    expect(calcSample("selene_rpc_server_errors_total", { method: INVOKE, reason: "FIELD_INVALID" })).to.be.at.least(1);
    expect(calcSample("selene_rpc_server_requests_total", { method: INVOKE, code: "INVALID_ARGUMENT" })).to.be.at.least(
      1,
    );
    expect(sampleValue(calc, "selene_rpc_server_duration_seconds_count", { method: INVOKE })).to.be.at.least(2);
  });
});
