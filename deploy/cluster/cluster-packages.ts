/**
 * The Debian packages that building images and running the mesh on containers need, in one list,
 * each with why; `npm run images` and `npm run test:cluster` install what is missing with apt-get.
 * This machine reaches Debian's apt and no container registry: everything here comes from Debian.
 */
import { spawnSync } from "node:child_process";

/** A Debian package and what it is for. */
export interface ClusterPackage {
  readonly name: string;
  readonly purpose: string;
}

/** Every package, in install order. */
export const CLUSTER_PACKAGES: readonly ClusterPackage[] = Object.freeze([
  { name: "mmdebstrap", purpose: "builds the images' root filesystems from Debian packages" },
  { name: "uidmap", purpose: "newuidmap/newgidmap for mmdebstrap --mode=unshare" },
  { name: "podman", purpose: "builds the images (podman build) and runs the manifests (podman kube play)" },
  { name: "runc", purpose: "the OCI runtime podman uses here (crun refuses the hybrid cgroup layout)" },
  { name: "catatonit", purpose: "the init of podman's local pod infra image (no registry for a pause image)" },
  { name: "netavark", purpose: "podman's network backend: the user network the pods share" },
  { name: "aardvark-dns", purpose: "name resolution between pods on that network" },
  { name: "iptables", purpose: "netavark's firewall driver: published ports and the network's NAT" },
  { name: "skopeo", purpose: "exports the images as OCI archives (npm run images -- --export DIR)" },
]);

/** What to do about one package. */
export type PackageDecision = "present" | "install";

/** For each package, whether it is there or must be installed, given the installed names. */
export function decidePackages(
  packages: readonly ClusterPackage[],
  installed: ReadonlySet<string>,
): ReadonlyMap<string, PackageDecision> {
  return new Map(packages.map((p) => [p.name, installed.has(p.name) ? "present" : "install"]));
}

/** The names among `names` that dpkg reports installed. */
export function installedPackages(names: readonly string[]): Set<string> {
  // dpkg-query's own format language, not a template string.
  const format = ["$", "{Package} $", "{db:Status-Status}\\n"].join("");
  const result = spawnSync("dpkg-query", ["-W", "-f", format, ...names], {
    encoding: "utf8",
  });
  const present = new Set<string>();
  for (const line of (result.stdout ?? "").split("\n")) {
    const [name, status] = line.split(" ");
    if (name !== undefined && status === "installed") present.add(name);
  }
  return present;
}

/** Thrown when packages are missing and cannot be installed from here. */
export class ClusterPackagesError extends Error {
  override readonly name = "ClusterPackagesError";
}

/** Installs the missing packages with apt-get (as root), printing one progress line; returns their names. */
export function ensureClusterPackages(say: (line: string) => void): string[] {
  const decisions = decidePackages(CLUSTER_PACKAGES, installedPackages(CLUSTER_PACKAGES.map((p) => p.name)));
  const missing = [...decisions].filter(([, decision]) => decision === "install").map(([name]) => name);
  if (missing.length === 0) return [];
  const command = `apt-get install -y ${missing.join(" ")}`;
  if (process.getuid?.() !== 0) throw new ClusterPackagesError(`missing Debian packages; as root run: ${command}`);
  say(`      installing ${missing.join(" ")} (apt-get) ...`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  for (const args of [
    ["update", "-qq"],
    ["install", "-y", "-qq", ...missing],
  ]) {
    const run = spawnSync("apt-get", args, { env, encoding: "utf8" });
    if (run.status !== 0) throw new ClusterPackagesError(`apt-get ${args[0]} failed:\n${run.stderr.trim()}`);
  }
  return missing;
}
