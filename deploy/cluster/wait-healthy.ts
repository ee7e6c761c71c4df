/**
 * `node dist/deploy/cluster/wait-healthy.js ADDR... [--timeout-seconds N]`: waits until every address's
 * plaintext health port says SERVING (the call a kubelet gRPC probe makes). The podman run execs it in
 * the toolbox container, on the pods' network: podman runs no probes of the gRPC kind.
 * Exit 0 when all are SERVING, 1 naming those that are not by the deadline.
 */
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { checkHealth } from "../health-probe.js";

/** Polls every address until all are SERVING or `deadline` passes; returns those still not SERVING. */
export async function waitAllHealthy(addresses: readonly string[], deadline: number): Promise<string[]> {
  let pending = [...addresses];
  while (pending.length > 0 && Date.now() < deadline) {
    const results = await Promise.all(pending.map((address) => checkHealth(address, 1000)));
    pending = pending.filter((_, i) => !results[i]);
    if (pending.length > 0) await new Promise((r) => setTimeout(r, 500));
  }
  return pending;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { "timeout-seconds": { type: "string", default: "120" } },
  });
  const pending = await waitAllHealthy(positionals, Date.now() + Number(values["timeout-seconds"]) * 1000);
  if (pending.length > 0) process.stderr.write(`not SERVING: ${pending.join(" ")}\n`);
  process.exit(pending.length === 0 ? 0 : 1);
}
