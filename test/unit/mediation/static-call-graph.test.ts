import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { findMediationViolations } from "../../../scripts/mediation-check.js";

const root = process.cwd();

describe("static call graph: only the router creates engine clients, no service reaches into another", () => {
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
      {
        file: "services/engines/nlp/sneaky.ts",
        rule: "imports-service-internals",
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

  /** Writes `lines` to `path` in the copy and returns the copy's violations. */
  function violationsWith(path: string, ...lines: string[]) {
    writeFileSync(join(copy, path), `${lines.join("\n")}\n`);
    return findMediationViolations(copy);
  }

  it("fails when an engine imports the router", () => {
    expect(
      violationsWith(
        "services/engines/tools/peek.ts",
        'import type { TurnHandler } from "../../router/turn-pipeline.js";',
      ),
    ).to.deep.equal([
      {
        file: "services/engines/tools/peek.ts",
        rule: "imports-service-internals",
        detail: "imports ../../router/turn-pipeline.js",
      },
    ]);
  });

  it("fails when the cli imports a file of another service", () => {
    expect(
      violationsWith("services/cli/peek.ts", 'import { createAuditService } from "../audit/audit-service.js";'),
    ).to.deep.equal([
      { file: "services/cli/peek.ts", rule: "imports-service-internals", detail: "imports ../audit/audit-service.js" },
    ]);
  });

  it("lets the cli, and no other service, import the engine conformance suite", () => {
    const suite = 'import { conformanceMain } from "../../conformance/conformance-cli.js";';
    expect(violationsWith("services/cli/conformance-too.ts", suite)).to.deep.equal([]);
    expect(violationsWith("services/outbox/probe.ts", suite)).to.deep.equal([
      {
        file: "services/outbox/probe.ts",
        rule: "imports-service-internals",
        detail: "imports ../../conformance/conformance-cli.js",
      },
    ]);
  });

  it("fails when an engine imports another engine, or the runtime imports a service", () => {
    writeFileSync(join(copy, "services/runtime/peek.ts"), 'export { readRouterConfig } from "../router/config.js";\n');
    expect(
      violationsWith("services/engines/tools/peek.ts", 'import { understand } from "../nlp/understand.js";').map(
        (v) => [v.file, v.rule],
      ),
    ).to.deep.equal([
      ["services/engines/tools/peek.ts", "imports-service-internals"],
      ["services/runtime/peek.ts", "imports-service-internals"],
    ]);
  });

  it("fails on a folder that only looks like the shared runtime", () => {
    mkdirSync(join(copy, "services/runtime-extra"), { recursive: true });
    writeFileSync(join(copy, "services/runtime-extra/x.ts"), "export const x = 1;\n");
    expect(violationsWith("services/cli/peek.ts", 'import { x } from "../runtime-extra/x.js";')).to.deep.equal([
      { file: "services/cli/peek.ts", rule: "imports-service-internals", detail: "imports ../runtime-extra/x.js" },
    ]);
  });

  it("passes a service importing its own files, the shared runtime, generated code and packages", () => {
    expect(
      violationsWith(
        "services/engines/nlp/fine.ts",
        'import pg from "pg";',
        'import { ReasonCode } from "../../../gen/es/selene/kernel/v1/reason_pb.js";',
        'import { chooseClarify } from "../../runtime/turn-decisions/clarify-rule.js";',
        'import { SeleneError } from "../../runtime/selene-error.js";',
        'import { understand } from "./understand.js";',
        "void [pg, ReasonCode, chooseClarify, SeleneError, understand];",
      ),
    ).to.deep.equal([]);
  });
});
