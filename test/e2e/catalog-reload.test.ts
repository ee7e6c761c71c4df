/**
 * The engine catalog reloaded on a real mesh: the catalog directory is laid out as kubelet lays
 * out a ConfigMap volume (engines.json and resilience.json through a `..data` symlink swapped in
 * one rename), so every change here reaches the router as a ConfigMap edit would. The SDK's
 * example engine, started as its own process, is added by a catalog entry alone and serves turns;
 * a bad version is refused and the running one stays; an engine restarted as a build that no
 * longer agrees with the catalog has its capability withdrawn, then restored, each in the ledger;
 * and a change under load (an engine added, one removed) drops no turn.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { expect } from "chai";
import pg from "pg";
import { ensurePki } from "../../deploy/pki.js";
import { Decision, Gate } from "../../gen/es/selene/audit/v1/audit_pb.js";
import { ReasonCode } from "../../gen/es/selene/kernel/v1/reason_pb.js";
import { policyPath } from "../../services/runtime/policy/policy-file.js";
import { SeleneError } from "../../services/runtime/selene-error.js";
import { engineIdentity } from "../../services/runtime/workload-identities.js";
import { startTestMesh, type TestMesh } from "../support/mesh-fixture.js";
import { aTextTurn, aTurnClient, type TurnResponse } from "../support/turn-client.js";

const OFFSET = -31500;
const EXAMPLE = join("services", "engines", "python-sdk", "example", "notes_engine.py");
const WITHOUT_COUNT = join("test", "fixtures", "engines", "notes_without_count.py");

// biome-ignore lint/suspicious/noExplicitAny: the tests edit the policy files as free JSON.
type Json = Record<string, any>;

const shipped = (name: string): Json => JSON.parse(readFileSync(policyPath(name), "utf8"));

/** A running engine process and the address it listens on. */
interface EngineProcess {
  readonly address: string;
  stop(): Promise<void>;
}

describe("mesh end to end: the engine catalog reloaded", function () {
  this.timeout(180_000);
  let mesh: TestMesh;
  let db: pg.Pool;
  let client: ReturnType<typeof aTurnClient>;
  let catalogDir: string;
  let notes: EngineProcess | undefined;
  let notesPort = 0;
  let published = 0;
  const opts = (ms = 10_000) => ({ deadline: Date.now() + ms, correlationId: "e2e-catalog" });

  /** Publishes a catalog version the way kubelet updates a ConfigMap volume: one rename of `..data`. */
  function publish(files: { engines: Json; resilience: Json }): void {
    published += 1;
    const version = `..v${published}`;
    const dir = join(catalogDir, version);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir);
    writeFileSync(join(dir, "engines.json"), `${JSON.stringify(files.engines, null, 2)}\n`);
    writeFileSync(join(dir, "resilience.json"), `${JSON.stringify(files.resilience, null, 2)}\n`);
    symlinkSync(version, join(catalogDir, "..data_tmp"));
    renameSync(join(catalogDir, "..data_tmp"), join(catalogDir, "..data"));
  }

  /** The router's log lines with message `msg`. */
  function routerLines(msg: string): Json[] {
    return readFileSync(join(mesh.logDir, "router.log"), "utf8")
      .split("\n")
      .filter((line) => line.includes(`"msg":"${msg}"`))
      .map((line) => JSON.parse(line) as Json);
  }

  /** Waits until the router has logged `msg` `count` times. */
  async function routerLogged(msg: string, count: number): Promise<Json[]> {
    const until = Date.now() + 30_000;
    for (;;) {
      const lines = routerLines(msg);
      if (lines.length >= count) return lines;
      if (Date.now() > until) throw new Error(`the router logged "${msg}" ${lines.length} times, not ${count}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Starts `script` as the notes engine (its own process, its own certificate) on `port` (0: any). */
  async function startNotes(script: string, port: number): Promise<EngineProcess> {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      SELENE_PKI_DIR: mesh.pkiDir,
      SELENE_NOTES_ADDR: `127.0.0.1:${port}`,
      SELENE_NOTES_HEALTH_ADDR: "127.0.0.1:0",
      SELENE_NOTES_METRICS_ADDR: "127.0.0.1:0",
      SELENE_AUDIT_ADDR: mesh.env.SELENE_AUDIT_ADDR!,
      SELENE_PYTHON_STUBS: mesh.env.SELENE_PYTHON_STUBS!,
      PYTHONDONTWRITEBYTECODE: "1",
    };
    delete env.GRPC_VERBOSITY;
    const child: ChildProcess = spawn("/usr/bin/python3", [script], { stdio: ["ignore", "ignore", "pipe"], env });
    const lines: string[] = [];
    const listening = await new Promise<Json>((resolve, reject) => {
      createInterface({ input: child.stderr! }).on("line", (line) => {
        lines.push(line);
        const parsed = JSON.parse(line) as Json;
        if (parsed.msg === "listening") resolve(parsed);
      });
      child.once("exit", (code) => reject(new Error(`${script} exited with ${code}: ${lines.join("\n")}`)));
    });
    return {
      address: String(listening.addr),
      async stop() {
        if (child.exitCode !== null) return;
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGTERM");
        await exited;
      },
    };
  }

  const notesEntry = () => ({
    name: "notes",
    spiffeId: engineIdentity("notes").spiffeId,
    address: `127.0.0.1:${notesPort}`,
    capabilities: [
      { name: "notes.add", kind: "EFFECT" },
      { name: "notes.count", kind: "READ" },
    ],
  });
  const withNotes = (engines: Json): Json => ({ ...engines, engines: [...engines.engines, notesEntry()] });

  /** The catalog's audit records, oldest first. */
  async function catalogRecords(): Promise<Json[]> {
    const { rows } = await db.query(
      `select correlation_id, gate, decision, reason, attributes from audit.events
        where tenant_id = '_system' and correlation_id like 'catalog%' order by sequence`,
    );
    return rows;
  }

  /** Waits until the catalog's audit records satisfy `holds`. */
  async function recorded(holds: (rows: Json[]) => boolean): Promise<Json[]> {
    const until = Date.now() + 15_000;
    for (;;) {
      const rows = await catalogRecords();
      if (holds(rows)) return rows;
      if (Date.now() > until) throw new Error(`the ledger's catalog records: ${JSON.stringify(rows)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  before(async () => {
    catalogDir = mkdtempSync(join(tmpdir(), "selene-catalog-"));
    published = 0;
    publish({ engines: shipped("engines"), resilience: shipped("resilience") });
    symlinkSync(join("..data", "engines.json"), join(catalogDir, "engines.json"));
    symlinkSync(join("..data", "resilience.json"), join(catalogDir, "resilience.json"));
    mesh = await startTestMesh(OFFSET, "info", {
      SELENE_ENGINE_CATALOG: join(catalogDir, "engines.json"),
      SELENE_RESILIENCE_POLICY: join(catalogDir, "resilience.json"),
      SELENE_CATALOG_DRAIN_MS: "2000",
    });
    db = new pg.Pool({ connectionString: mesh.layout.databaseUrl, max: 2 });
    client = aTurnClient(mesh.routerAddress, mesh.pkiDir);
    // The new engine's certificate, from the mesh's CA: the router checks the SPIFFE id the catalog names.
    await ensurePki({ dir: mesh.pkiDir, engines: ["notes"] });
    notes = await startNotes(EXAMPLE, 0);
    notesPort = Number(notes.address.split(":").pop());
  });

  after(async () => {
    client?.close();
    await notes?.stop();
    await db?.end();
    await mesh?.stop();
    if (catalogDir !== undefined) rmSync(catalogDir, { recursive: true, force: true });
  });

  it("serves a new engine added by a catalog entry alone: a note taken, confirmed, executed and counted", async () => {
    const before = await client.call("submitTurn", aTextTurn("how many notes do I have"), opts());
    expect(before.outcome.case).to.equal("refused");
    if (before.outcome.case === "refused") expect(before.outcome.value.reason).to.equal(ReasonCode.CAPABILITY_UNKNOWN);

    publish({ engines: withNotes(shipped("engines")), resilience: shipped("resilience") });
    const [applied] = await routerLogged("engine catalog applied", 1);
    expect(applied).to.deep.include({ added: ["notes"], removed: [] });

    const simulated = await client.call("submitTurn", aTextTurn("take a note buy milk"), opts());
    expect(simulated.outcome.case).to.equal("confirm");
    if (simulated.outcome.case !== "confirm") return;
    expect(simulated.outcome.value.preview?.summary).to.contain("buy milk");
    const turn = aTextTurn("");
    const executed = await client.call(
      "submitTurn",
      {
        envelope: turn.envelope,
        input: { case: "confirmation", value: { simulationId: simulated.outcome.value.simulationId, accept: true } },
      },
      opts(),
    );
    expect(executed.outcome.case).to.equal("executed");
    const counted = await client.call("submitTurn", aTextTurn("how many notes do I have"), opts());
    expect(counted.outcome.case).to.equal("answer");
    if (counted.outcome.case === "answer") expect(counted.outcome.value.data.count).to.equal("1");

    const rows = await recorded((r) => r.some((row) => row.attributes.change === "catalog_applied"));
    const record = rows.find((row) => row.attributes.change === "catalog_applied")!;
    expect(record).to.deep.include({ correlation_id: "catalog", gate: Gate.OPERATOR, decision: Decision.PASS });
    expect(record.attributes).to.deep.include({ added: "notes", removed: "" });
  });

  it("refuses a version that fails its checks, naming the place, audits it, and keeps serving the running one", async () => {
    const broken = withNotes(shipped("engines"));
    broken.engines.at(-1).capabilities.push({ name: "tools.time", kind: "READ" });
    publish({ engines: broken, resilience: shipped("resilience") });
    const [refused] = await routerLogged("engine catalog refused; the previous one stays", 1);
    expect(refused).to.deep.include({ at: ".engines[4].capabilities[2].name" });
    expect(refused?.error).to.contain('"tools.time" is already at .engines[1].capabilities[1].name');

    const counted = await client.call("submitTurn", aTextTurn("how many notes do I have"), opts());
    expect(counted.outcome.case).to.equal("answer");
    const rows = await recorded((r) => r.some((row) => row.attributes.change === "catalog_refused"));
    const record = rows.find((row) => row.attributes.change === "catalog_refused")!;
    expect(record).to.deep.include({ gate: Gate.OPERATOR, decision: Decision.DENY, reason: ReasonCode.FIELD_INVALID });
    expect(record.attributes.at).to.equal(".engines[4].capabilities[2].name");
  });

  it("reads Describe again when an engine comes back as another build: the capability withdrawn, then restored, each audited", async () => {
    publish({ engines: withNotes(shipped("engines")), resilience: shipped("resilience") });
    await notes!.stop();
    notes = await startNotes(WITHOUT_COUNT, notesPort);
    // The first turn after the restart reconnects the channel; its Describe withdraws notes.count.
    const until = Date.now() + 20_000;
    let outcome: TurnResponse["outcome"] | undefined;
    while (Date.now() < until) {
      const r = await client.call("submitTurn", aTextTurn("how many notes do I have"), opts()).catch((e) => e);
      if (!(r instanceof SeleneError) && r.outcome.case === "refused") {
        outcome = r.outcome;
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(outcome?.case).to.equal("refused");
    if (outcome?.case === "refused") expect(outcome.value.reason).to.equal(ReasonCode.CAPABILITY_UNKNOWN);
    const withdrawn = await recorded((r) => r.some((row) => row.attributes.withdrawn === "not_described"));
    expect(withdrawn.find((row) => row.attributes.withdrawn === "not_described")).to.deep.include({
      correlation_id: "catalog-notes",
      gate: Gate.ANSWER,
      decision: Decision.DENY,
      reason: ReasonCode.CAPABILITY_UNKNOWN,
    });

    await notes!.stop();
    notes = await startNotes(EXAMPLE, notesPort);
    const back = Date.now() + 20_000;
    let answered = false;
    while (Date.now() < back && !answered) {
      const r = await client.call("submitTurn", aTextTurn("how many notes do I have"), opts()).catch((e) => e);
      answered = !(r instanceof SeleneError) && r.outcome.case === "answer";
      if (!answered) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(answered, "notes.count answered again").to.equal(true);
    const restored = await recorded((r) =>
      r.some((row) => row.correlation_id === "catalog-notes" && row.decision === Decision.PASS),
    );
    expect(restored.at(-1)).to.deep.include({ correlation_id: "catalog-notes", decision: Decision.PASS });
    expect(restored.at(-1)!.attributes).to.deep.include({ capability: "notes.count" });
  });

  it("drops no turn when the catalog changes under load: an engine added, another removed", async () => {
    // The bulkheads are raised so that this host's contention (two cores, shared) is not shed as
    // ENGINE_BUSY: the test is of the switch, not of load shedding (RESILIENCE.md has that).
    const roomy = shipped("resilience");
    for (const engine of Object.values(roomy.engines) as Json[]) engine.bulkhead.maxInFlight = 10_000;
    // From the shipped catalog (no notes) to one with notes and without calc, mid-run.
    const appliedBefore = routerLines("engine catalog applied").length;
    publish({ engines: shipped("engines"), resilience: roomy });
    await routerLogged("engine catalog applied", appliedBefore + 1);
    await waitUntil(async () => {
      const r = await client.call("submitTurn", aTextTurn("how many notes do I have"), opts());
      return r.outcome.case === "refused";
    });
    const withoutCalc = shipped("engines");
    withoutCalc.engines = withoutCalc.engines.filter((e: Json) => e.name !== "calc");
    const resilience = structuredClone(roomy);
    delete resilience.engines.calc;
    delete resilience.capabilities["calc.evaluate"];

    // Turns per second, open loop: the load the SLO is set for (deploy/slo.yaml, `npm run bench`).
    // Above what the host serves (about 150 a second on two shared cores), every turn in flight
    // shares the CPU and all of them finish late: the test would measure the overload, not the switch.
    const RATE = 100;
    const DURATION_MS = 6000;
    const SWITCH_AT_MS = 2500;
    const texts = ["What is the capital of France?", "calculate 2 + 3", "how many notes do I have"];
    const results: Array<{
      text: string;
      at: number;
      done?: number;
      outcome?: TurnResponse["outcome"];
      error?: unknown;
    }> = [];
    const pending: Promise<void>[] = [];
    const start = Date.now();
    let sent = 0;
    let publishedAt = Number.POSITIVE_INFINITY;
    await new Promise<void>((resolve) => {
      const tick = setInterval(() => {
        const elapsed = Date.now() - start;
        if (publishedAt === Number.POSITIVE_INFINITY && elapsed >= SWITCH_AT_MS) {
          publish({ engines: withNotes(withoutCalc), resilience });
          publishedAt = Date.now() - start;
        }
        const due = Math.min(Math.floor((elapsed * RATE) / 1000), (DURATION_MS * RATE) / 1000);
        for (; sent < due; sent++) {
          const text = texts[sent % texts.length]!;
          const entry: (typeof results)[number] = { text, at: Date.now() - start };
          results.push(entry);
          pending.push(
            client.call("submitTurn", aTextTurn(text), opts(30_000)).then(
              (r) => {
                entry.outcome = r.outcome;
                entry.done = Date.now() - start;
              },
              (e: unknown) => {
                entry.error = e;
                entry.done = Date.now() - start;
              },
            ),
          );
        }
        if (elapsed >= DURATION_MS) {
          clearInterval(tick);
          resolve();
        }
      }, 5);
    });
    await Promise.all(pending);
    const seconds = (Date.now() - start) / 1000;
    const applied = (await routerLogged("engine catalog applied", appliedBefore + 2)).at(-1);
    expect(applied).to.deep.include({ added: ["notes"], removed: ["calc"] });

    // Every turn answered: no gRPC error, whatever the switch did.
    const errors = results
      .filter((r) => r.error !== undefined)
      .map((r) => `${r.text} sent at ${r.at} ms, failed at ${r.done} ms: ${(r.error as Error).message}`);
    expect(errors, `${errors.length} turns failed, the first: ${errors.slice(0, 5).join("; ")}`).to.deep.equal([]);
    const outcomes = (text: string) =>
      results
        .filter((r) => r.text === text)
        .map((r) =>
          r.outcome!.case === "refused" ? `refused ${ReasonCode[r.outcome!.value.reason]}` : r.outcome!.case,
        );
    // The lookups never noticed; calc was answered, then (removed) refused; notes refused, then (added) answered.
    expect(new Set(outcomes(texts[0]!))).to.deep.equal(new Set(["answer"]));
    expect(new Set(outcomes(texts[1]!))).to.deep.equal(new Set(["answer", "refused CAPABILITY_UNKNOWN"]));
    expect(new Set(outcomes(texts[2]!))).to.deep.equal(new Set(["answer", "refused CAPABILITY_UNKNOWN"]));
    // Every turn answered before the new version was published was answered as the old one says.
    // (A turn is looked up when the router reads it, not when it was sent: under this load a turn
    // sent before the publish may reach the router after the switch, and is then the new one's.)
    const answeredBefore = results.filter((r) => r.done! < publishedAt);
    expect(answeredBefore.length, "turns answered before the switch").to.be.at.least(RATE);
    for (const r of answeredBefore) {
      expect(`${r.text} at ${r.at} ms: ${r.outcome!.case}`).to.equal(
        `${r.text} at ${r.at} ms: ${r.text === texts[2] ? "refused" : "answer"}`,
      );
    }
    const slowest = Math.max(...results.map((r) => r.done! - r.at));
    console.log(
      `      ${results.length} turns in ${seconds.toFixed(1)} s (${(results.length / seconds).toFixed(0)} turns/s), the catalog switched at ${publishedAt} ms, the slowest turn ${slowest} ms`,
    );
  });

  /** Polls `holds` until it is true (15 s at most). */
  async function waitUntil(holds: () => Promise<boolean>): Promise<void> {
    const until = Date.now() + 15_000;
    while (!(await holds())) {
      if (Date.now() > until) throw new Error("the condition never held");
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
});
