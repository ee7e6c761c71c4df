/**
 * A client of the v1.0 release against today's mesh: a Python program whose message classes come
 * from proto/releases/v1.0.binpb at run time (test/support/old-client/v1_0_demo_client.py), in its
 * own process, runs the demo conversation over mTLS. Every turn must reach the outcome today's
 * client reaches, decode with the 1.0 schema without a field 1.0 does not know, and carry the
 * deprecation warning.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { expect } from "chai";
import { PYTHON } from "../../deploy/mesh-processes.js";
import { startTestMesh, type TestMesh } from "../support/mesh-fixture.js";

const OFFSET = -29500;

interface OldTurn {
  readonly turn: number;
  readonly outcome?: string;
  readonly error?: string;
  readonly unknown_fields?: boolean;
  readonly deprecation?: string;
  readonly text?: string;
}

describe("mesh end to end: a v1.0 client", function () {
  this.timeout(120_000);
  let mesh: TestMesh;

  before(async () => {
    mesh = await startTestMesh(OFFSET);
  });
  after(async () => {
    await mesh?.stop();
  });

  it("runs the demo conversation with classes built from the v1.0 release image", () => {
    const run = spawnSync(
      PYTHON,
      [
        join("test", "support", "old-client", "v1_0_demo_client.py"),
        join("proto", "releases", "v1.0.binpb"),
        mesh.routerAddress,
        mesh.pkiDir,
        String(process.pid),
      ],
      { encoding: "utf8", timeout: 60_000 },
    );
    expect(run.status, run.stderr).to.equal(0);
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
