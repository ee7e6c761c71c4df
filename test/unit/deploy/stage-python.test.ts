import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { PYTHON_SOURCE_DIRS, stagePythonEngines } from "../../../deploy/images/stage-python.js";

const ROOT = process.cwd();

describe("staging the Python engines for the images", () => {
  let opt: string;

  before(() => {
    opt = mkdtempSync(join(tmpdir(), "selene-stage-python-"));
    stagePythonEngines(ROOT, opt);
  });
  after(() => rmSync(opt, { recursive: true, force: true }));

  it("stages the SDK and the calc engine, every source and no test", () => {
    for (const dir of PYTHON_SOURCE_DIRS) {
      const sources = readdirSync(join(ROOT, dir)).filter((f) => f.endsWith(".py") && !f.startsWith("test_"));
      expect(readdirSync(join(opt, dir)).sort(), dir).to.deep.equal(sources.sort());
    }
    expect(existsSync(join(opt, "services/engines/python-sdk/selene_engine/__init__.py"))).to.equal(true);
    expect(existsSync(join(opt, "services/engines/python-sdk/tests"))).to.equal(false);
    expect(existsSync(join(opt, "gen/python/selene/engine/v1/engine_pb2.py"))).to.equal(true);
  });

  it("gives a tree the calc engine starts from: it imports the SDK and the stubs, then asks for its certificates", () => {
    cpSync(join(ROOT, "policy"), join(opt, "policy"), { recursive: true }); // staged for every image
    const env = { PATH: process.env.PATH, SELENE_PKI_DIR: join(opt, "no-pki") };
    const run = spawnSync("/usr/bin/python3", ["-B", join(opt, "services/engines/calc/calc_engine.py")], {
      cwd: opt,
      env,
      encoding: "utf8",
      timeout: 20_000,
    });
    expect(run.status, run.stderr).to.equal(2);
    expect(run.stderr).to.contain("cannot load the mTLS files");
  });
});
