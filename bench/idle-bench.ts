/**
 * `npm run bench:idle`: what the mesh costs when nobody calls it. Starts the bench mesh (every
 * process of `npm start`, a throwaway database), waits `--settle` seconds for start-up work to end,
 * then reads the CPU each process and the database's sessions spend over `--seconds` with no
 * traffic at all: the cost of pollers, timers, keepalive pings and reconnects.
 *
 * Usage: npm run bench:idle -- [--port-offset -20000] [--settle 5] [--seconds 30]
 */
import { parseArgs } from "node:util";
import { cpuBetween, cpuSnapshot, HOST_LABEL, loadAverage } from "./mesh-cpu.js";
import { LOCAL_SERVER_URL, startBenchMesh } from "./mesh-setup.js";

const say = (line: string) => process.stdout.write(`${line}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const { values: flags } = parseArgs({
  options: {
    "port-offset": { type: "string", default: "-20000" },
    settle: { type: "string", default: "5" },
    seconds: { type: "string", default: "30" },
  },
});

async function main(): Promise<void> {
  const portOffset = Number(flags["port-offset"]);
  const settleSeconds = Number(flags.settle);
  const seconds = Number(flags.seconds);
  const mesh = await startBenchMesh({
    portOffset,
    logLevel: "warn",
    say: (line) => say(`  ${line}`),
    serverUrl: process.env.DATABASE_URL || LOCAL_SERVER_URL,
  });
  try {
    await sleep(settleSeconds * 1000);
    say(`load average before: ${loadAverage()}`);
    const before = cpuSnapshot(mesh.databaseName);
    await sleep(seconds * 1000);
    const spent = cpuBetween(before, cpuSnapshot(mesh.databaseName));
    say(`load average after: ${loadAverage()}`);
    say(`\nidle mesh, ${seconds} s with no calls, CPU ms per second of wall time:\n`);
    say("| process | CPU ms/s |");
    say("|---|---:|");
    let ours = 0;
    for (const [label, us] of [...spent].sort((a, b) => b[1] - a[1])) {
      if (label === HOST_LABEL) continue;
      ours += us;
      say(`| ${label} | ${(us / 1000 / seconds).toFixed(1)} |`);
    }
    say(`| all of the mesh | ${(ours / 1000 / seconds).toFixed(1)} |`);
    say(`| the whole host (others included) | ${((spent.get(HOST_LABEL) ?? 0) / 1000 / seconds).toFixed(1)} |`);
  } finally {
    await mesh.stop();
  }
}

await main();
