import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { readSamples } from "../../conformance/conformance-samples.js";
import type { EngineTarget } from "../../conformance/engine-caller.js";
import { ENGINE_METHODS } from "../../conformance/engine-requests.js";
import { type ConformanceRun, runConformance } from "../../conformance/run-conformance.js";
import { grpcAddress } from "../../deploy/mesh-processes.js";
import { loadEngineCatalog } from "../../services/runtime/policy/engine-catalog.js";
import { IDENTITIES, spiffeIdOf } from "../../services/runtime/workload-identities.js";
import { type BrokenEngine, startBrokenEngine } from "../support/broken-engine.js";
import { startTestMesh, type TestMesh } from "../support/mesh-fixture.js";

const OFFSET = -30000;
const ENGINES = ["nlp", "tools", "reminders", "calc"] as const;

const samplesOf = (engine: string) => join(process.cwd(), "test/fixtures/conformance", `${engine}.json`);
const CATALOG_FILE = join(process.cwd(), "policy", "engines.json");
const catalog = () => ({ file: CATALOG_FILE, catalog: loadEngineCatalog(CATALOG_FILE) });
const namesWith = (run: ConformanceRun, status: string) =>
  run.results.filter((r) => r.status === status).map((r) => r.name);

/** Runs `program` (a script and its leading words) with `args`; resolves with its exit code and output. */
function runProgram(program: string[], args: string[]): Promise<{ code: number | null; stdout: string }> {
  const child = spawn(process.execPath, [...program, ...args], {
    cwd: process.cwd(),
    stdio: ["ignore", "pipe", "inherit"],
  });
  let stdout = "";
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString("utf8");
  });
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, stdout })));
}

/** `npm run conformance`'s program. */
const conformanceCli = (args: string[]) => runProgram(["--import", "tsx", "conformance/conformance-cli.ts"], args);
/** `selenectl engine conformance`, compiled (npm test builds dist/ before the end-to-end tests). */
const selenectlConformance = (args: string[]) =>
  runProgram(["dist/services/cli/selenectl.js", "engine", "conformance"], args);

describe("the engine conformance suite", function () {
  this.timeout(120_000);
  let mesh: TestMesh;
  let reportDir: string;

  before(async () => {
    mesh = await startTestMesh(OFFSET, "warn");
    reportDir = mkdtempSync(join(tmpdir(), "selene-conformance-"));
  });
  after(async () => {
    await mesh?.stop();
    rmSync(reportDir, { recursive: true, force: true });
  });

  const targetOf = (engine: (typeof ENGINES)[number]): EngineTarget => ({
    address: grpcAddress(engine, mesh.layout.portOffset),
    engine,
    spiffeId: spiffeIdOf(engine),
    pkiDir: mesh.pkiDir,
  });

  for (const engine of ENGINES) {
    it(`passes every case against the ${engine} engine, as a separate process of the mesh`, async () => {
      const run = await runConformance({
        target: targetOf(engine),
        samples: readSamples(samplesOf(engine)),
        catalog: catalog(),
      });
      const failed = run.results.filter((r) => r.status === "failed").map((r) => `${r.name}: ${r.message}`);
      expect(failed).to.deep.equal([]);
      // Only reminders.cancel has no sample: it needs a reminder that exists.
      expect(namesWith(run, "skipped").every((name) => name.includes("reminders.cancel"))).to.equal(true);
      expect(namesWith(run, "passed")).to.include(
        "Describe agrees with the engine catalog: the same capabilities as the engine's entry, each of the same kind",
      );
      expect(namesWith(run, "passed").length).to.be.greaterThan(45);
    });
  }

  it("runs as `npm run conformance`: a progress line per case, JSON and JUnit reports, exit code 0", async () => {
    const { code, stdout } = await conformanceCli([
      ...["--target", grpcAddress("calc", mesh.layout.portOffset), "--engine", "calc", "--pki", mesh.pkiDir],
      ...["--samples", samplesOf("calc"), "--report-dir", reportDir],
    ]);
    expect(code, stdout).to.equal(0);
    const report = JSON.parse(readFileSync(join(reportDir, "conformance-calc.json"), "utf8"));
    expect(report.summary.failed).to.equal(0);
    const progress = stdout.split("\n").filter((line) => /^\[\d+\/\d+\] (PASS|FAIL|SKIP) /.test(line));
    expect(progress.length).to.equal(report.summary.total);
    const xml = readFileSync(join(reportDir, "conformance-calc.xml"), "utf8");
    expect(xml).to.include(`<testsuite name="conformance: calc" tests="${report.summary.total}" failures="0"`);
  });

  it("runs as `selenectl engine conformance` from the compiled output: the same lines, reports and exit code", async () => {
    const args = [
      ...["--target", grpcAddress("reminders", mesh.layout.portOffset), "--engine", "reminders", "--pki", mesh.pkiDir],
      ...["--samples", samplesOf("reminders"), "--catalog", CATALOG_FILE, "--report-dir", reportDir],
    ];
    const { code, stdout } = await selenectlConformance(args);
    expect(code, stdout).to.equal(0);
    const report = JSON.parse(readFileSync(join(reportDir, "conformance-reminders.json"), "utf8"));
    expect(report.summary.failed).to.equal(0);
    const names = report.cases
      .filter((c: { status: string }) => c.status === "passed")
      .map((c: { name: string }) => c.name);
    expect(names).to.include(
      "Commit reminders.create refuses another request under a used idempotency key with FAILED_PRECONDITION, IDEMPOTENCY_KEY_REUSED at envelope.idempotency_key",
    );
    const progress = stdout.split("\n").filter((line) => /^\[\d+\/\d+\] (PASS|FAIL|SKIP) /.test(line));
    expect(progress.length).to.equal(report.summary.total);
    expect(stdout).to.match(/^reminders: \d+\/\d+ passed, 0 failed, \d+ skipped in \d+ ms$/m);
  });

  describe("against a broken engine (accepts unknown fields, answers any caller, commits twice under one key)", () => {
    let broken: BrokenEngine;
    let target: EngineTarget;

    before(async () => {
      broken = await startBrokenEngine(mesh.pkiDir);
      target = { address: broken.address, engine: "reminders", spiffeId: spiffeIdOf("reminders"), pkiDir: mesh.pkiDir };
    });
    after(async () => {
      await broken?.stop();
    });

    it("fails exactly the cases it breaks, each named", async () => {
      const run = await runConformance({ target, samples: readSamples(samplesOf("reminders")), catalog: catalog() });
      const expected = [
        ...ENGINE_METHODS.flatMap((method) => [
          `${method} refuses an unknown field at the top level with INVALID_ARGUMENT, UNKNOWN_FIELD at 999`,
          `${method} refuses an unknown field inside the envelope with INVALID_ARGUMENT, UNKNOWN_FIELD at envelope.99`,
        ]),
        // Describe and Simulate answer the bytes with unknown fields; Invoke and Commit still refuse them (for
        // another reason: not served, digest mismatch), the same way each time.
        "Describe gives the same error bytes for the same refused bytes",
        "Simulate gives the same error bytes for the same refused bytes",
        ...IDENTITIES.filter((identity) => identity.name !== "router").map(
          (identity) =>
            `refuses the ${identity.name} identity (${identity.spiffeId}) on every method with PERMISSION_DENIED, MEDIATION_BYPASS`,
        ),
        "Commit reminders.create twice under one idempotency key performs one effect and gives the same answer",
        "Commit reminders.create cut off by its deadline and retried under its key performs one effect",
        "Commit reminders.create refuses another request under a used idempotency key with FAILED_PRECONDITION, IDEMPOTENCY_KEY_REUSED at envelope.idempotency_key",
        // It describes reminders.create only; the catalog gives the reminders engine reminders.cancel too.
        "Describe agrees with the engine catalog: the same capabilities as the engine's entry, each of the same kind",
      ];
      expect(namesWith(run, "failed").sort()).to.deep.equal(expected.sort());
      const commitTwice = run.results.find((r) => r.name.startsWith("Commit reminders.create twice"));
      expect(commitTwice?.message).to.match(/two commits under one key performed two effects/);
      const agrees = run.results.find((r) => r.name.startsWith("Describe agrees with the engine catalog"));
      expect(agrees?.message).to.equal(
        `${CATALOG_FILE}: reminders.cancel (EFFECT) is in the catalog but not described`,
      );
    });

    for (const [how, program] of [
      ["npm run conformance", conformanceCli],
      ["selenectl engine conformance", selenectlConformance],
    ] as const) {
      it(`makes \`${how}\` exit 1, with the failures in its JSON and JUnit reports`, async () => {
        const { code, stdout } = await program([
          ...["--target", broken.address, "--engine", "reminders", "--pki", mesh.pkiDir],
          ...["--samples", samplesOf("reminders"), "--catalog", CATALOG_FILE, "--report-dir", reportDir],
        ]);
        expect(code, stdout).to.equal(1);
        expect(stdout).to.match(/FAIL identity: refuses the nlp identity/);
        expect(stdout).to.match(
          /FAIL commit: Commit reminders.create refuses another request under a used idempotency key/,
        );
        const report = JSON.parse(readFileSync(join(reportDir, "conformance-reminders.json"), "utf8"));
        expect(report.summary.failed).to.equal(25);
        const xml = readFileSync(join(reportDir, "conformance-reminders.xml"), "utf8");
        expect(xml.match(/<failure /g)?.length).to.equal(25);
      });
    }
  });
});
