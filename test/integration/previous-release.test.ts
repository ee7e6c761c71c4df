import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { assertCommitPresent, readPreviousRelease } from "../support/previous-release.js";

describe("the previous release of the code (proto/releases/code-releases.json)", function () {
  this.timeout(60_000);
  const root = process.cwd();
  let scratch: string;

  before(() => {
    scratch = mkdtempSync(join(tmpdir(), "selene-previous-release-"));
  });
  after(() => {
    rmSync(scratch, { recursive: true, force: true });
  });

  it("names a commit of this branch's history, older than its head", () => {
    const { commit } = readPreviousRelease(root);
    assertCommitPresent(root, commit);
    const ancestor = spawnSync("git", ["merge-base", "--is-ancestor", commit, "HEAD"], { cwd: root });
    expect(ancestor.status, `${commit} is not an ancestor of HEAD`).to.equal(0);
    const head = spawnSync("git", ["rev-parse", "HEAD"], { cwd: root, encoding: "utf8" }).stdout.trim();
    expect(head).to.not.equal(commit);
  });

  it("fails in a shallow clone, saying how to fetch the history", () => {
    const { commit } = readPreviousRelease(root);
    const clone = join(scratch, "shallow");
    const cloned = spawnSync("git", ["clone", "--quiet", "--depth", "1", `file://${root}`, clone], {
      encoding: "utf8",
    });
    expect(cloned.status, cloned.stderr).to.equal(0);
    expect(() => assertCommitPresent(clone, commit)).to.throw(
      `the previous release ${commit} (proto/releases/code-releases.json) is needed to build the N-1 router, ` +
        "but this clone is shallow: fetch the history with `git fetch --unshallow`",
    );
  });

  it("fails outside a git checkout, saying to clone with the history", () => {
    const { commit } = readPreviousRelease(root);
    expect(() => assertCommitPresent(scratch, commit)).to.throw(
      `is not a git checkout: clone the repository with its history`,
    );
  });
});
