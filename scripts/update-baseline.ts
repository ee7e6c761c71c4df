/**
 * `npm run baseline`: records today's contracts as the image of the current contract version
 * (proto/releases/v<major>.<minor>.binpb, the version declared in
 * proto/selene/kernel/v1/version.proto), which buf breaking compares against from then on, beside
 * every earlier release. Run it only when releasing a contract version on purpose
 * (docs/CONTRACTS.md), never to silence a breaking-change failure; it never touches an older
 * release's image.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { CURRENT_CONTRACT_VERSION } from "../services/runtime/contract-version.js";
import { IMAGE_ARGS, releaseImage } from "./contract-checks.js";

const image = releaseImage(CURRENT_CONTRACT_VERSION);
const result = spawnSync(join("node_modules", ".bin", "buf"), [...IMAGE_ARGS, "-o", image], { stdio: "inherit" });
if (result.status === 0) process.stdout.write(`recorded the contracts as ${image}\n`);
process.exit(result.status ?? 1);
