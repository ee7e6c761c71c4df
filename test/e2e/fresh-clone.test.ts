/**
 * The README's first command on a fresh clone: the commit under test cloned into a private (0700)
 * temporary directory, `npm ci && npm start` run there exactly as a new user would, with
 * DATABASE_URL unset (so the embedded PostgreSQL, run by its own OS account when we are root),
 * the demo conversation's outcomes checked, then Ctrl-C (SIGINT to the process group, as a
 * terminal sends it) and no process of the clone left afterwards.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "chai";
import { relocatedDataDir } from "../../deploy/postgres-binaries.js";
import { RUN_PORT_SHIFT } from "../support/mesh-fixture.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const OFFSET = -20500 + RUN_PORT_SHIFT;

/** The README's first command: the first line of its first code block, without the comment. */
function readmeFirstCommand(): string {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const block = /```sh\n([^\n]*)\n/.exec(readme);
  return (block?.[1] ?? "").replace(/#.*$/, "").trim();
}

/** Processes whose command line names `needle` (this test's own excepted). */
function processesNaming(needle: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8").replaceAll("\0", " ").trim();
      if (cmdline.includes(needle)) found.push(`${entry}: ${cmdline}`);
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

describe("a fresh clone: the README's first command", function () {
  // npm ci (from npm's cache), the build, initdb and the mesh: minutes on a small machine.
  this.timeout(900_000);
  let dir: string;
  let clone: string;
  let child: ChildProcess | undefined;
  let output = "";

  before(() => {
    dir = mkdtempSync(join(tmpdir(), "selene-fresh-"));
    clone = join(dir, "selene");
    const head = execFileSync("git", ["-C", ROOT, "rev-parse", "HEAD"], { encoding: "utf8" }).trim();
    execFileSync("git", ["clone", "--quiet", "--no-checkout", ROOT, clone]);
    execFileSync("git", ["-C", clone, "checkout", "--quiet", "--detach", head]);
  });

  after(async () => {
    if (child !== undefined && child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      process.kill(-child.pid, "SIGKILL");
    }
    rmSync(dir, { recursive: true, force: true });
    rmSync(relocatedDataDir(join(clone, ".selene", "pg")), { recursive: true, force: true });
  });

  it("is the whole set-up: the README's first line is npm ci && npm start", () => {
    expect(readmeFirstCommand()).to.equal("npm ci && npm start");
    expect((statSync(dir).mode & 0o777).toString(8)).to.equal("700");
  });

  it("shows the demo and serves, with DATABASE_URL unset, and leaves no process after Ctrl-C", async () => {
    const env: NodeJS.ProcessEnv = {};
    for (const [name, value] of Object.entries(process.env)) {
      // Nothing of the suite's own npm run or database leaks in; npm's cache is used as it is.
      if (!name.startsWith("npm_") && !["DATABASE_URL", "SELENE_HOME", "INIT_CWD"].includes(name)) env[name] = value;
    }
    Object.assign(env, {
      SELENE_PORT_OFFSET: String(OFFSET),
      npm_config_prefer_offline: "true",
      npm_config_audit: "false",
      npm_config_fund: "false",
    });
    // The README's command as a shell runs it, in a process group of its own as a terminal gives it.
    child = spawn("sh", ["-c", readmeFirstCommand()], {
      cwd: clone,
      env,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const exited = new Promise<string>((done) => child!.once("exit", (code, signal) => done(String(code ?? signal))));
    child.stdout!.on("data", (chunk: Buffer) => {
      output += chunk.toString("utf8");
    });
    child.stderr!.on("data", (chunk: Buffer) => {
      output += chunk.toString("utf8");
    });
    await new Promise<void>((done, fail) => {
      const poll = setInterval(() => {
        if (/\[7\/7\] serving: gRPC/.test(output)) {
          clearInterval(poll);
          done();
        } else if (child!.exitCode !== null) {
          clearInterval(poll);
          fail(new Error(`npm start exited ${child!.exitCode} before serving:\n${output.slice(-4000)}`));
        }
      }, 250);
    });

    const outcomes = output
      .split("\n")
      .map((line) => /^\s+(ANSWER|CLARIFY|CONFIRM|EXECUTED|REFUSED)\s/.exec(line)?.[1])
      .filter((o) => o !== undefined);
    expect(outcomes, output).to.deep.equal(["ANSWER", "CLARIFY", "CONFIRM", "EXECUTED", "ANSWER"]);
    // The last answer is the Python engine's, on the code of gen/python.
    expect(output).to.match(/ANSWER\s+.*14/);
    expect(output).to.contain("system packages present");
    expect(output).not.to.match(/^\s+at .+:\d+:\d+\)?$/m);

    process.kill(-child.pid!, "SIGINT");
    // The shell, like a terminal's, ends on the SIGINT itself; the launcher stopped cleanly first.
    expect(await exited, output.slice(-3000)).to.be.oneOf(["0", "SIGINT"]);
    expect(output).to.contain("stopped: every process exited, postgres shut down");
    // Nothing of the clone runs any more: no mesh process, no npm, no postgres on its data directory.
    for (let waited = 0; processesNaming(clone).length > 0 && waited < 5000; waited += 100) {
      await new Promise((done) => setTimeout(done, 100));
    }
    expect(processesNaming(clone)).to.deep.equal([]);
    expect(processesNaming(relocatedDataDir(join(clone, ".selene", "pg")))).to.deep.equal([]);
  });
});
