/**
 * The previous release on both sides of today's mesh, each a separate process built from
 * proto/releases/v1.0.binpb at run time (protobuf's descriptor pool, no protoc):
 *   - an engine that announces v1.0 alone in Describe (test/support/old-engine/v1_0_calc_engine.py,
 *     in the calc engine's place) keeps being routed: the router speaks 1.0 to it;
 *   - a v1.0 client (test/support/old-client/v1_0_demo_client.py) runs the demo conversation: every
 *     turn reaches its outcome, decodes with the 1.0 schema without a field 1.0 does not know, and
 *     carries the deprecation warning.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
import { PYTHON } from "../../deploy/mesh-processes.js";
import { startTestMesh, type TestMesh } from "../support/mesh-fixture.js";
import { aTextTurn, aTurnClient } from "../support/turn-client.js";

const OFFSET = -29500;
const IMAGE = join("proto", "releases", "v1.0.binpb");

interface OldTurn {
  readonly turn: number;
  readonly outcome?: string;
  readonly error?: string;
  readonly unknown_fields?: boolean;
  readonly deprecation?: string;
  readonly text?: string;
}

describe("mesh end to end: a v1.0 engine and a v1.0 client", function () {
  this.timeout(120_000);
  let mesh: TestMesh;

  before(async () => {
    mesh = await startTestMesh(
      OFFSET,
      "info",
      {},
      {
        calc: { command: PYTHON, args: [join("test", "support", "old-engine", "v1_0_calc_engine.py"), IMAGE] },
      },
    );
  });
  after(async () => {
    await mesh?.stop();
  });

  it("routes a turn of today's client to the engine that announces v1.0, speaking 1.0 to it", async () => {
    const client = aTurnClient(mesh.routerAddress, mesh.pkiDir);
    try {
      const response = await client.call("submitTurn", aTextTurn("What is (3 + 4) * 2?"), {
        deadline: Date.now() + 10_000,
        correlationId: "old-engine",
      });
      expect(response.outcome.case).to.equal("answer");
      expect(response.outcome.case === "answer" && response.outcome.value.text).to.contain("14");
    } finally {
      client.close();
    }
    expect(readFileSync(join(mesh.logDir, "calc.log"), "utf8")).to.contain("v1.0 calc engine serving");
    const described = readFileSync(join(mesh.logDir, "router.log"), "utf8")
      .split("\n")
      .filter((line) => line.includes('"engine described"') && line.includes('"engine":"calc"'));
    expect(described).to.have.length(1);
    expect(described[0]).to.contain('"contract_version":"1.0"');
  });

  it("runs the demo conversation of a v1.0 client, classes built from the v1.0 release image", () => {
    const run = spawnSync(
      PYTHON,
      [
        join("test", "support", "old-client", "v1_0_demo_client.py"),
        IMAGE,
        mesh.routerAddress,
        mesh.pkiDir,
        String(process.pid),
      ],
      { encoding: "utf8", timeout: 60_000 },
    );
    expect(run.status, run.stderr + run.stdout).to.equal(0);
    const turns = run.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as OldTurn);
    expect(turns.map((t) => t.outcome)).to.deep.equal(["answer", "clarify", "confirm", "executed", "answer"]);
    for (const turn of turns) {
      expect(turn.unknown_fields, `turn ${turn.turn} held fields 1.0 does not know`).to.equal(false);
      expect(turn.deprecation).to.equal("contract 1.0 is deprecated; current is 1.1");
    }
    expect(turns[0]!.text).to.contain("Paris");
    expect(turns[4]!.text).to.contain("14");
  });
});
