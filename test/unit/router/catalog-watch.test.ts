import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { watchCatalogFiles } from "../../../services/router/catalog-watch.js";
import { createLogger } from "../../../services/runtime/logger.js";

/** Resolves at the watch's next call of onChange. */
function nextChange(): { onChange: () => void; changed: Promise<void>; count: () => number } {
  let calls = 0;
  let resolve = () => {};
  const changed = new Promise<void>((r) => (resolve = r));
  return {
    onChange: () => {
      calls += 1;
      resolve();
    },
    changed,
    count: () => calls,
  };
}

describe("catalog watch", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "selene-catalog-watch-"));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it("sees a file replaced by a rename, and gathers a burst of events into one change", async () => {
    const file = join(dir, "engines.json");
    await writeFile(file, "{}");
    const change = nextChange();
    const watch = watchCatalogFiles([file], change.onChange, createLogger("test", "silent"), 50);
    try {
      await writeFile(join(dir, "engines.json.tmp"), '{"version":1}');
      await rename(join(dir, "engines.json.tmp"), file);
      await writeFile(join(dir, "other.tmp"), "x");
      await change.changed;
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(change.count()).to.equal(1);
    } finally {
      watch.close();
    }
  });

  it("sees a Kubernetes ConfigMap volume swap its ..data symlink", async () => {
    // The layout kubelet writes: engines.json -> ..data/engines.json, ..data -> ..<timestamp>/.
    await mkdir(join(dir, "..2026_01_01"));
    await writeFile(join(dir, "..2026_01_01", "engines.json"), "{}");
    await symlink("..2026_01_01", join(dir, "..data"));
    await symlink(join("..data", "engines.json"), join(dir, "engines.json"));
    const change = nextChange();
    const watch = watchCatalogFiles([join(dir, "engines.json")], change.onChange, createLogger("test", "silent"), 50);
    try {
      await mkdir(join(dir, "..2026_01_02"));
      await writeFile(join(dir, "..2026_01_02", "engines.json"), '{"version":1}');
      await symlink("..2026_01_02", join(dir, "..data_tmp"));
      await rename(join(dir, "..data_tmp"), join(dir, "..data"));
      await change.changed;
      expect(change.count()).to.equal(1);
    } finally {
      watch.close();
    }
  });
});
