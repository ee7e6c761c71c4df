/**
 * Ends a podman run: `podman kube down` of its documents, its secrets, the named volumes kube play
 * made for secrets and emptyDirs, its network; then lists whatever of it podman still holds.
 */
import { runTool } from "../images/container-tool.js";

const podman = (...args: string[]) => runTool("podman", args);

/** Removes the run's pods (kube down), secrets, volumes and network; what is already gone is no error. */
export async function teardownRun(
  network: string,
  files: Readonly<Record<string, string>>,
  secretNames: readonly string[],
  volumeNames: readonly string[],
): Promise<void> {
  for (const file of [files.workloads, files.migrations, files.database]) {
    await runTool("podman", ["kube", "down", file!], { okCodes: [0, 125] }).catch(() => undefined);
  }
  for (const name of secretNames) await runTool("podman", ["secret", "rm", name]).catch(() => undefined);
  // kube play mounts each secret and emptyDir through a named volume, which kube down may leave.
  for (const name of volumeNames) await runTool("podman", ["volume", "rm", "--force", name]).catch(() => undefined);
  await runTool("podman", ["network", "rm", "--force", network]).catch(() => undefined);
}

/** Everything of the run that podman still holds: pods, containers, secrets, networks, volumes. */
export async function leftovers(
  network: string,
  pods: readonly string[],
  secrets: readonly string[],
  volumesBefore: ReadonlySet<string>,
): Promise<string[]> {
  const list = async (...args: string[]) => (await podman(...args)).split("\n").filter((line) => line !== "");
  const found: string[] = [];
  const podNames = await list("pod", "ps", "--format", "{{.Name}}");
  found.push(...podNames.filter((name) => pods.includes(name)).map((name) => `pod ${name}`));
  const containers = await list("ps", "-a", "--format", "{{.Names}}");
  found.push(
    ...containers.filter((name) => pods.some((pod) => name.startsWith(`${pod}-`))).map((name) => `container ${name}`),
  );
  const secretNames = await list("secret", "ls", "--format", "{{.Name}}");
  found.push(...secretNames.filter((name) => secrets.includes(name)).map((name) => `secret ${name}`));
  const networks = await list("network", "ls", "--format", "{{.Name}}");
  if (networks.includes(network)) found.push(`network ${network}`);
  const volumes = await list("volume", "ls", "--format", "{{.Name}}");
  found.push(...volumes.filter((name) => !volumesBefore.has(name)).map((name) => `volume ${name}`));
  return found;
}
