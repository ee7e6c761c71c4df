/**
 * The Debian packages the project needs beyond Node and npm, in one place: what the mesh needs at
 * run time (`npm start`, `npm test`, CI) and what the container cluster needs (`npm run images`,
 * `npm run test:cluster`). Before anything starts, the missing ones are installed with apt-get
 * when this process may (root, or sudo without a password), with a progress line saying so;
 * otherwise it stops with one message naming the exact command to run.
 *
 * Usage: tsx deploy/system-packages.ts [--cluster]   (what .ci/run calls)
 */
import { spawn, spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

/** A Debian package and what it is for. */
export interface SystemPackage {
  readonly name: string;
  readonly purpose: string;
}

/**
 * What the mesh runs on besides Node: the Python engines' libraries (services/engines/python-sdk), which
 * bring /usr/bin/python3 with them. The images' root filesystem installs the same list.
 */
export const MESH_PACKAGES: readonly SystemPackage[] = Object.freeze([
  { name: "python3-grpcio", purpose: "the calc engine's gRPC server and the mTLS it serves (brings python3)" },
  { name: "python3-protobuf", purpose: "the messages of gen/python, built from their descriptors" },
  { name: "python3-prometheus-client", purpose: "the calc engine's /metrics" },
]);

/** What building images and running the mesh on containers need (everything from Debian, no registry). */
export const CLUSTER_PACKAGES: readonly SystemPackage[] = Object.freeze([
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

/** What the machine says about the packages and about who may install them. */
export interface PackageFacts {
  /** Names of the wanted packages that dpkg does not report installed, in list order. */
  readonly missing: readonly string[];
  /** Whether apt-get and dpkg are there (a Debian or Ubuntu machine). */
  readonly hasApt: boolean;
  /** Whether this process runs as root. */
  readonly isRoot: boolean;
  /** Whether `sudo -n` works (sudo without a password). */
  readonly passwordlessSudo: boolean;
}

/** What to do: nothing, install (each command an argv), or stop with a message for people. */
export type PackagePlan =
  | { readonly kind: "present" }
  | { readonly kind: "install"; readonly missing: readonly string[]; readonly commands: readonly string[][] }
  | { readonly kind: "blocked"; readonly missing: readonly string[]; readonly message: string };

/** The decision, from the facts alone. */
export function planPackages(facts: PackageFacts): PackagePlan {
  const missing = [...facts.missing];
  if (missing.length === 0) return { kind: "present" };
  const names = missing.join(" ");
  if (!facts.hasApt) {
    return {
      kind: "blocked",
      missing,
      message:
        `missing system packages (${names}) and no apt-get on this machine: install their equivalents ` +
        "with the system's package manager, then run this command again",
    };
  }
  if (!facts.isRoot && !facts.passwordlessSudo) {
    return {
      kind: "blocked",
      missing,
      message: `missing Debian packages; run \`sudo apt-get update && sudo apt-get install -y ${names}\`, then run this command again`,
    };
  }
  const sudo = facts.isRoot ? [] : ["sudo", "-n"];
  return {
    kind: "install",
    missing,
    commands: [
      [...sudo, "apt-get", "update", "-qq"],
      [...sudo, "apt-get", "install", "-y", "-qq", "--no-install-recommends", ...missing],
    ],
  };
}

/** The names among `names` that dpkg reports installed. */
export function installedPackages(names: readonly string[]): Set<string> {
  // dpkg-query's own format language, not a template string.
  const format = ["$", "{Package} $", "{db:Status-Status}\\n"].join("");
  const result = spawnSync("dpkg-query", ["-W", "-f", format, ...names], { encoding: "utf8" });
  const present = new Set<string>();
  for (const line of (result.stdout ?? "").split("\n")) {
    const [name, status] = line.split(" ");
    if (name !== undefined && status === "installed") present.add(name);
  }
  return present;
}

function succeeds(command: string, args: readonly string[]): boolean {
  const run = spawnSync(command, args, { stdio: "ignore" });
  return run.error === undefined && run.status === 0;
}

/** Asks this machine: which packages are missing, and who may install them. */
export function machineFacts(packages: readonly SystemPackage[]): PackageFacts {
  const hasApt = succeeds("apt-get", ["--version"]) && succeeds("dpkg-query", ["--version"]);
  const names = packages.map((p) => p.name);
  const installed = hasApt ? installedPackages(names) : new Set<string>();
  const missing = names.filter((name) => !installed.has(name));
  const isRoot = process.getuid?.() === 0;
  const passwordlessSudo = !isRoot && missing.length > 0 && succeeds("sudo", ["-n", "true"]);
  return { missing, hasApt, isRoot, passwordlessSudo };
}

/** Missing packages that cannot be installed from here; the message says what to run. */
export class SystemPackagesError extends Error {
  override readonly name = "SystemPackagesError";
}

/**
 * Runs one command, forwarding SIGINT/SIGTERM to it, so an interrupted install leaves no apt-get
 * behind; resolves with its stderr on success, rejects naming the command otherwise.
 */
function runForwardingSignals(argv: readonly string[]): Promise<void> {
  return new Promise((resolveRun, reject) => {
    const [command, ...args] = argv as [string, ...string[]];
    const child = spawn(command, args, {
      stdio: ["ignore", "ignore", "pipe"],
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    });
    let stderr = "";
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr = (stderr + chunk.toString("utf8")).slice(-4000);
    });
    let interrupted: NodeJS.Signals | undefined;
    const forward = (signal: NodeJS.Signals) => {
      interrupted = signal;
      child.kill(signal);
    };
    process.on("SIGINT", forward);
    process.on("SIGTERM", forward);
    child.once("error", (err) => {
      process.off("SIGINT", forward);
      process.off("SIGTERM", forward);
      reject(new SystemPackagesError(`${argv.join(" ")} could not run: ${err.message}`));
    });
    child.once("close", (code, signal) => {
      process.off("SIGINT", forward);
      process.off("SIGTERM", forward);
      if (interrupted !== undefined) {
        reject(new SystemPackagesError(`interrupted (${interrupted}) while running ${argv.join(" ")}`));
      } else if (code === 0) {
        resolveRun();
      } else {
        reject(new SystemPackagesError(`${argv.join(" ")} failed (${code ?? signal}): ${stderr.trim()}`));
      }
    });
  });
}

/**
 * Makes sure `packages` are installed: returns the names it installed (none when all are there),
 * saying one progress line before installing; throws SystemPackagesError when it may not install.
 */
export async function ensureSystemPackages(
  packages: readonly SystemPackage[],
  say: (line: string) => void,
  facts: PackageFacts = machineFacts(packages),
): Promise<readonly string[]> {
  const plan = planPackages(facts);
  if (plan.kind === "present") return [];
  if (plan.kind === "blocked") throw new SystemPackagesError(plan.message);
  say(`      installing ${plan.missing.join(" ")} (apt-get${facts.isRoot ? "" : " via sudo"}) ...`);
  for (const command of plan.commands) await runForwardingSignals(command);
  const still = machineFacts(packages).missing;
  if (still.length > 0) throw new SystemPackagesError(`apt-get finished but ${still.join(" ")} is still missing`);
  return plan.missing;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const packages = process.argv.includes("--cluster") ? CLUSTER_PACKAGES : MESH_PACKAGES;
  ensureSystemPackages(packages, (line) => process.stdout.write(`${line}\n`)).then(
    (installed) => {
      process.stdout.write(
        installed.length === 0
          ? "system packages: all present\n"
          : `system packages: installed ${installed.join(" ")}\n`,
      );
    },
    (err: unknown) => {
      process.stderr.write(`system packages: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
