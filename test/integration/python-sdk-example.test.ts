/**
 * The Python engine SDK's example engine (services/engines/python-sdk/example/notes_engine.py),
 * started as its own process with a certificate of its own, passes the engine conformance suite
 * as every engine of the mesh does: contract, identities, boundary, Simulate, Commit idempotency.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { expect } from "chai";
import { readSamples } from "../../conformance/conformance-samples.js";
import { runConformance } from "../../conformance/run-conformance.js";
import { ensurePki } from "../../deploy/pki.js";
import { parseEngineCatalog } from "../../services/runtime/policy/engine-catalog.js";
import { engineIdentity } from "../../services/runtime/workload-identities.js";

const EXAMPLE = join("services", "engines", "python-sdk", "example", "notes_engine.py");
const SAMPLES = join("test", "fixtures", "conformance", "notes.json");

describe("the Python SDK's example engine", function () {
  this.timeout(120_000);
  let pkiDir: string;
  let child: ChildProcess | undefined;
  let address: string;
  const logLines: Record<string, unknown>[] = [];

  before(async () => {
    pkiDir = await mkdtemp(join(tmpdir(), "selene-notes-pki-"));
    await ensurePki({ dir: pkiDir, engines: ["notes"] });
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      SELENE_PKI_DIR: pkiDir,
      SELENE_NOTES_ADDR: "127.0.0.1:0",
      SELENE_NOTES_HEALTH_ADDR: "127.0.0.1:0",
      SELENE_NOTES_METRICS_ADDR: "127.0.0.1:0",
      SELENE_AUDIT_ADDR: "127.0.0.1:1", // no ledger here: refusals are dropped, counted and logged
      PYTHONDONTWRITEBYTECODE: "1",
    };
    delete env.GRPC_VERBOSITY;
    const started = spawn("/usr/bin/python3", [EXAMPLE], {
      cwd: process.cwd(),
      stdio: ["ignore", "ignore", "pipe"],
      env,
    });
    child = started;
    const listening = new Promise<Record<string, unknown>>((resolve, reject) => {
      createInterface({ input: started.stderr! }).on("line", (line) => {
        const parsed = JSON.parse(line) as Record<string, unknown>;
        logLines.push(parsed);
        if (parsed.msg === "listening") resolve(parsed);
      });
      started.once("exit", (code) =>
        reject(new Error(`the example engine exited with ${code}: ${JSON.stringify(logLines)}`)),
      );
    });
    address = String((await listening).addr);
  });

  after(async () => {
    if (child !== undefined && child.exitCode === null) {
      const exited = new Promise((resolve) => child!.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    }
    if (pkiDir !== undefined) await rm(pkiDir, { recursive: true, force: true });
  });

  it("starts as engine-notes under its own SPIFFE id", () => {
    const listening = logLines.find((line) => line.msg === "listening")!;
    expect(listening).to.include({ component: "engine-notes", spiffe_id: engineIdentity("notes").spiffeId });
  });

  it("passes every case of the conformance suite", async () => {
    // The notes engine's catalog entry, as an author would add it to policy/engines.json.
    const entry = {
      name: "notes",
      spiffeId: engineIdentity("notes").spiffeId,
      address,
      capabilities: [
        { name: "notes.add", kind: "EFFECT" },
        { name: "notes.count", kind: "READ" },
      ],
    };
    const catalog = parseEngineCatalog({ version: 1, engines: [entry] }, "notes-catalog.json");
    const run = await runConformance({
      target: { address, engine: "notes", spiffeId: engineIdentity("notes").spiffeId, pkiDir },
      samples: readSamples(SAMPLES),
      catalog: { file: "notes-catalog.json", catalog },
    });
    const failed = run.results.filter((r) => r.status === "failed").map((r) => `${r.name}: ${r.message}`);
    expect(failed).to.deep.equal([]);
    expect(run.results.filter((r) => r.status === "skipped").map((r) => r.name)).to.deep.equal([]);
    const names = run.results.map((r) => r.name);
    expect(names).to.include.members([
      "Commit notes.add twice under one idempotency key performs one effect and gives the same answer",
      "Commit notes.add refuses another request under a used idempotency key with FAILED_PRECONDITION, IDEMPOTENCY_KEY_REUSED at envelope.idempotency_key",
      "Describe agrees with the engine catalog: the same capabilities as the engine's entry, each of the same kind",
    ]);
    expect(names.some((name) => name.startsWith("Invoke notes.count"))).to.equal(true);
    expect(run.results.length).to.be.greaterThan(45);
  });

  it("stops on SIGTERM with exit code 0", async () => {
    const exited = new Promise<number | null>((resolve) => child!.once("exit", (code) => resolve(code)));
    child!.kill("SIGTERM");
    expect(await exited).to.equal(0);
  });
});
