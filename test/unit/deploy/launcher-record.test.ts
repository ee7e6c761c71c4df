import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { LauncherRecord, LauncherRunningError, reclaimLeftovers } from "../../../deploy/launcher-record.js";

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A pid that no process has: a child that already exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ["-e", ""]);
  await new Promise((done) => child.once("exit", done));
  return child.pid!;
}

describe("launcher record", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "selene-launcher-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("records the launcher and every pid it starts, and clears", () => {
    const file = join(dir, "launcher.json");
    const record = new LauncherRecord(file);
    record.add(11);
    record.add(12);
    expect(JSON.parse(readFileSync(file, "utf8"))).to.deep.equal({ launcher: process.pid, pids: [11, 12] });
    record.clear();
    expect(existsSync(file)).to.equal(false);
  });

  it("stops what a dead launcher left running of this checkout, and nothing else", async () => {
    const file = join(dir, "launcher.json");
    // A leftover runs code of the checkout (`dir` stands for it); a bystander does not.
    const leftover = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)", join(dir, "service.js")]);
    const bystander = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"]);
    try {
      writeFileSync(file, JSON.stringify({ launcher: await deadPid(), pids: [leftover.pid, bystander.pid] }));
      expect(await reclaimLeftovers(file, dir)).to.deep.equal([leftover.pid]);
      expect(alive(leftover.pid!)).to.equal(false);
      expect(alive(bystander.pid!)).to.equal(true);
      expect(existsSync(file)).to.equal(false);
    } finally {
      leftover.kill("SIGKILL");
      bystander.kill("SIGKILL");
    }
  });

  it("names a launcher that still runs, and stops nothing", async () => {
    const file = join(dir, "launcher.json");
    const launcher = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"]);
    try {
      writeFileSync(file, JSON.stringify({ launcher: launcher.pid, pids: [] }));
      const error = await reclaimLeftovers(file, dir).catch((err: unknown) => err);
      expect(error).to.be.instanceOf(LauncherRunningError);
      expect((error as Error).message).to.contain(`kill -INT ${launcher.pid}`);
    } finally {
      launcher.kill("SIGKILL");
    }
  });

  it("has nothing to do without a record", async () => {
    expect(await reclaimLeftovers(join(dir, "none.json"), dir)).to.deep.equal([]);
  });
});
