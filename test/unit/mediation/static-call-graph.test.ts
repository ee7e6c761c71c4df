import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { findMediationViolations } from "../../../scripts/mediation-check.js";

const root = process.cwd();

describe("static call graph: only the router creates engine clients", () => {
  let copy: string;

  beforeEach(() => {
    copy = mkdtempSync(join(tmpdir(), "selene-mediation-"));
    cpSync(join(root, "services"), join(copy, "services"), { recursive: true });
    cpSync(join(root, "deploy"), join(copy, "deploy"), { recursive: true });
  });
  afterEach(() => rmSync(copy, { recursive: true, force: true }));

  it("finds no violation in the code base", () => {
    expect(findMediationViolations(root)).to.deep.equal([]);
  });

  it("fails when an engine imports the engine client module", () => {
    writeFileSync(
      join(copy, "services/engines/nlp/sneaky.ts"),
      'import { createEngineClient } from "../../router/engine-client.js";\nvoid createEngineClient;\n',
    );
    expect(findMediationViolations(copy)).to.deep.equal([
      {
        file: "services/engines/nlp/sneaky.ts",
        rule: "imports-engine-client",
        detail: "imports ../../router/engine-client.js",
      },
    ]);
  });

  it("fails when code outside the router builds its own engine client", () => {
    mkdirSync(join(copy, "services/outbox"), { recursive: true });
    writeFileSync(
      join(copy, "services/outbox/direct.ts"),
      [
        'import { EngineService } from "../../gen/es/selene/engine/v1/engine_pb.js";',
        'import { createUnaryClient } from "../runtime/unary-client.js";',
        "export const c = (o: never) => createUnaryClient(EngineService, o);",
      ].join("\n"),
    );
    expect(findMediationViolations(copy).map((v) => [v.file, v.rule])).to.deep.equal([
      ["services/outbox/direct.ts", "creates-engine-client"],
    ]);
  });

  it("fails when a Python module outside the router uses the engine stub", () => {
    writeFileSync(join(copy, "services/engines/calc/peer.py"), "stub = engine_pb2_grpc.EngineServiceStub(channel)\n");
    expect(findMediationViolations(copy).map((v) => v.rule)).to.deep.equal(["python-engine-stub"]);
  });
});
