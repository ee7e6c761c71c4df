/**
 * `npm run baseline`: records today's contracts as the baseline that buf breaking
 * compares against. Run it only when releasing a contract version on purpose
 * (docs/CONTRACTS.md), never to silence a breaking-change failure.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { BASELINE_IMAGE, IMAGE_ARGS } from "./contract-checks.js";

const result = spawnSync(join("node_modules", ".bin", "buf"), [...IMAGE_ARGS, "-o", BASELINE_IMAGE], {
  stdio: "inherit",
});
process.exit(result.status ?? 1);
