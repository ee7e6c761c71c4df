import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { expect } from "chai";

// The compiled command lines (`npm test` builds before mocha), run as `npm run bench` / `npm run chaos` run them.
function run(script: string, args: string[]) {
  const r = spawnSync(process.execPath, [join(process.cwd(), "dist", script), ...args], {
    encoding: "utf8",
    timeout: 20_000,
  });
  return { code: r.status, stderr: r.stderr.trim(), stdout: r.stdout };
}

describe("bench and chaos command lines refuse bad input with exit code 2 and one line naming the field", () => {
  it("bench: a bad flag value", () => {
    const r = run("bench/turn-bench.js", ["-r", "fast"]);
    expect(r.code).to.equal(2);
    expect(r.stderr.split("\n")).to.have.length(1);
    expect(r.stderr).to.match(/^bench: -r\/--rps: /);
  });

  it("bench: an unknown flag, and an SLO file that does not exist", () => {
    expect(run("bench/turn-bench.js", ["--concurrncy", "3"]).stderr).to.match(/^bench: --concurrncy: /);
    const r = run("bench/turn-bench.js", ["--slo", "/nonexistent/slo.yaml"]);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.match(/^bench: \/nonexistent\/slo\.yaml: cannot read/);
  });

  it("chaos: a profile that does not exist", () => {
    const r = run("chaos/chaos-cli.js", ["--profile", "volcano"]);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.match(/^chaos: --profile: no profile "volcano"/);
  });

  it("chaos: lists the profiles", () => {
    const r = run("chaos/chaos-cli.js", ["--list"]);
    expect(r.code).to.equal(0);
    expect(r.stdout).to.match(/^smoke\s/m);
  });
});
