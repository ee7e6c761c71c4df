import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { parseDurationMs } from "../../../bench/load/duration-text.js";
import { LOAD_FLAG_SPEC, loadOptionsFrom, parseFlags, tagsFlag } from "../../../bench/load/load-flags.js";
import { loadSlo } from "../../../bench/load/slo-budgets.js";
import { drawSchedule, loadCorpus } from "../../../bench/load/turn-corpus.js";
import { UsageError } from "../../../bench/load/usage-error.js";
import { loadProfile } from "../../../chaos/chaos-profile.js";

const DEFAULTS = { concurrency: 20, duration: "30s", timeout: "20s", retries: 0 };

function fieldOf(work: () => unknown): string {
  try {
    work();
  } catch (e) {
    if (e instanceof UsageError) return e.field;
    throw e;
  }
  throw new Error("no UsageError");
}

describe("load inputs: flags, corpus, SLO file, chaos profiles", () => {
  let dir: string;
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "selene-load-inputs-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("reads ghz's flags with ghz's defaults and units", () => {
    const { values } = parseFlags(
      ["-c", "7", "-n", "100", "-r", "50", "-t", "500ms", "--connections", "3"],
      LOAD_FLAG_SPEC,
    );
    const o = loadOptionsFrom(values, DEFAULTS);
    expect(o).to.include({
      concurrency: 7,
      total: 100,
      durationMs: undefined,
      rps: 50,
      timeoutMs: 500,
      connections: 3,
    });
    expect(loadOptionsFrom({}, DEFAULTS).durationMs).to.equal(30_000);
    expect(loadOptionsFrom({}, { ...DEFAULTS, rps: 100 }).rps).to.equal(100);
    expect(loadOptionsFrom({ rps: "0" }, { ...DEFAULTS, rps: 100 }).rps).to.equal(undefined);
    expect(parseDurationMs("1m30s", "x")).to.equal(90_000);
    expect(tagsFlag('{"env":"ci"}')).to.deep.equal({ env: "ci" });
  });

  it("names the flag at fault", () => {
    expect(fieldOf(() => loadOptionsFrom({ rps: "fast" }, DEFAULTS))).to.equal("-r/--rps");
    expect(fieldOf(() => loadOptionsFrom({ concurrency: "0" }, DEFAULTS))).to.equal("-c/--concurrency");
    expect(fieldOf(() => loadOptionsFrom({ duration: "10 parsecs" }, DEFAULTS))).to.equal("-z/--duration");
    expect(fieldOf(() => parseFlags(["--bogus"], LOAD_FLAG_SPEC))).to.equal("--bogus");
    expect(fieldOf(() => tagsFlag('{"n":1}'))).to.equal("--tags");
  });

  it("loads the shipped corpus, covering every outcome, and draws the same schedule for the same seed", () => {
    const corpus = loadCorpus(join(process.cwd(), "bench", "corpus", "turns-v1.yaml"));
    expect(new Set(corpus.fixtures.map((f) => f.expect))).to.deep.equal(
      new Set(["answer", "clarify", "confirm", "refused", "executed"]),
    );
    expect(corpus.tenants.length).to.be.at.least(2);
    const a = drawSchedule(corpus, 3, 9, 200).map((s) => `${s.fixture.id}/${s.tenantIndex}`);
    const b = drawSchedule(corpus, 3, 9, 200).map((s) => `${s.fixture.id}/${s.tenantIndex}`);
    expect(a).to.deep.equal(b);
    expect(new Set(a).size).to.be.greaterThan(10);
  });

  it("names the corpus field at fault", () => {
    const bad = file(
      "bad-corpus.yaml",
      "version: 1\ntenants: [{tenant: demo, client: demo-app}]\nfixtures: [{id: a, intent: x, expect: maybe, text: hi}]\n",
    );
    expect(fieldOf(() => loadCorpus(bad))).to.equal(`${bad}.fixtures[0].expect`);
  });

  it("loads deploy/slo.yaml and names the SLO field at fault", () => {
    expect(loadSlo(join(process.cwd(), "deploy", "slo.yaml")).length).to.be.at.least(1);
    const bad = file("bad-slo.yaml", "version: 1\nbudgets:\n  - rpc: a.B\n    p99: soon\n");
    expect(fieldOf(() => loadSlo(bad))).to.equal(`${bad}.budgets[0].p99`);
    const typo = file("typo-slo.yaml", "version: 1\nbudgets:\n  - rpc: a.B\n    p98: 1s\n");
    expect(fieldOf(() => loadSlo(typo))).to.equal(`${typo}.budgets[0].p98`);
  });

  it("names the profile field at fault", () => {
    const text = (fault: string) =>
      `name: p\ndescription: d\nload: {concurrency: 1, rps: 1, timeout: 1s}\nphases: {before: 1s, fault: 1s, after: 1s}\nfaults: [${fault}]\ncriteria: {duplicate_effects: 0, lost_effects: 0, max_error_rate_during_fault: 1, recover_within: 1s}\n`;
    expect(loadProfile(file("p.yaml", text("{kind: process, target: router, action: kill}"))).faults).to.have.length(1);
    expect(fieldOf(() => loadProfile(file("p.yaml", text("{kind: proxy, link: router-moon, mode: reset}"))))).to.equal(
      `${join(dir, "p.yaml")}.faults[0].link`,
    );
    expect(fieldOf(() => loadProfile(file("p.yaml", text("{kind: process, target: router, action: nap}"))))).to.equal(
      `${join(dir, "p.yaml")}.faults[0].action`,
    );
  });
});
