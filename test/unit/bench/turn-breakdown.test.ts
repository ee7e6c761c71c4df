import { expect } from "chai";
import type { CallRecord } from "../../../bench/load/call-record.js";
import { spansOfRequest } from "../../../bench/load/span-receiver.js";
import { buildTurnBreakdown, ROUTER_OWN_ROW, TRANSPORT_ROW } from "../../../bench/load/turn-breakdown.js";

const T0_MS = 1_765_000_000_000;
const ns = (ms: number) => String(Math.round((T0_MS + ms) * 1e6));
const kv = (key: string, value: Record<string, unknown>) => ({ key, value });

/** One OTLP JSON export of a turn: the router's span 1..9 ms, a claim 1.2..2, an nlp call 3..6 served 4..5. */
function anExport(traceId: string) {
  const span = (
    spanId: string,
    parentSpanId: string,
    name: string,
    kind: number,
    from: number,
    to: number,
    cpu?: number,
  ) => ({
    traceId,
    spanId,
    parentSpanId,
    name,
    kind,
    startTimeUnixNano: ns(from),
    endTimeUnixNano: ns(to),
    attributes: [
      ...(kind === 3 ? [kv("server.address", { stringValue: "nlp" })] : []),
      ...(cpu === undefined ? [] : [kv("selene.cpu_us", { intValue: String(cpu) })]),
    ],
  });
  const resource = (service: string) => ({ attributes: [kv("service.name", { stringValue: `selene-${service}` })] });
  return {
    resourceSpans: [
      {
        resource: resource("router"),
        scopeSpans: [
          {
            spans: [
              span("r", "client", "/selene.os.v1.TurnService/SubmitTurn", 2, 1, 9, 800),
              span("c", "r", "db turn claim", 1, 1.2, 2, 100),
              span("n", "r", "/selene.engine.v1.EngineService/Invoke", 3, 3, 6),
            ],
          },
        ],
      },
      {
        resource: resource("nlp"),
        scopeSpans: [{ spans: [span("s", "n", "/selene.engine.v1.EngineService/Invoke", 2, 4, 5, 300)] }],
      },
    ],
  };
}

const aRecord = (traceId: string, latencyMs: number): CallRecord => ({
  startMs: 0,
  latencyNs: latencyMs * 1e6,
  code: 0,
  error: "",
  step: "answer",
  fixtureId: "capital",
  tenant: "demo",
  traceId,
  startEpochMs: T0_MS,
});

describe("turn breakdown", () => {
  it("reads the OTLP JSON export: service, kind, times and attributes", () => {
    const spans = spansOfRequest(anExport("t1"));
    expect(spans.map((s) => `${s.service} ${s.kind} ${s.name}`)).to.deep.equal([
      "router 2 /selene.os.v1.TurnService/SubmitTurn",
      "router 1 db turn claim",
      "router 3 /selene.engine.v1.EngineService/Invoke",
      "nlp 2 /selene.engine.v1.EngineService/Invoke",
    ]);
    expect(spans[1]!.attributes).to.deep.equal({ "selene.cpu_us": 100 });
    expect(spans[0]!.endNs - spans[0]!.startNs).to.be.closeTo(8e6, 1e3);
  });

  it("splits a turn into the transport, the router's own work and each step, in the turn's order", () => {
    const spans = [...spansOfRequest(anExport("t1")), ...spansOfRequest(anExport("t2"))];
    const breakdown = buildTurnBreakdown([aRecord("t1", 10), aRecord("t2", 10), aRecord("t3", 50)], spans, 1);
    expect(breakdown.outcomes.map((o) => o.outcome)).to.deep.equal(["answer"]);
    const answer = breakdown.outcomes[0]!;
    expect(answer.turns).to.equal(2); // t3's spans never arrived
    const rows = Object.fromEntries(answer.rows.map((r) => [r.label, r]));
    expect(answer.rows.map((r) => r.label)).to.deep.equal([
      TRANSPORT_ROW,
      ROUTER_OWN_ROW,
      "router SubmitTurn",
      "router db turn claim",
      "router -> nlp Invoke",
      "nlp Invoke",
    ]);
    expect(rows[TRANSPORT_ROW]!.wallP50Ns).to.be.closeTo(2e6, 1e3); // 10 ms at the client, 8 in the router
    expect(rows[ROUTER_OWN_ROW]!.wallP50Ns).to.be.closeTo(4.2e6, 1e3); // 8 ms less the claim (0.8) and the call (3)
    expect(rows["nlp Invoke"]!.cpuUs).to.equal(300);
    expect(rows["router -> nlp Invoke"]!.cpuUs).to.equal(undefined);
    expect(answer.cpuUs).to.equal(1100); // the served spans: router 800 + nlp 300
    expect(answer.typical.bars[0]).to.deep.include({ label: "client SubmitTurn", depth: 0, startNs: 0 });
    expect(answer.typical.bars.find((b) => b.label === "nlp Invoke")).to.deep.include({ depth: 3 });
  });
});
