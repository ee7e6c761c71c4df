/**
 * The Debian root filesystems the images build on, made by mmdebstrap from Debian's packages alone
 * (no container registry is involved). Each is keyed by everything that shapes it (suite, packages,
 * hooks, the files copied in): the key names the base image, so a base is built and imported once
 * per key and every later build finds it in podman's storage.
 *
 * Debian trixie: its nodejs (20.19) meets package.json's engines (bookworm's is 18); its
 * python3-grpcio 1.51 and python3-protobuf 3.21 run the code gen/python holds.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { MESH_PACKAGES } from "../system-packages.js";
import { rootfsContainerfile } from "./image-catalog.js";

/** One root filesystem. */
export interface RootfsSpec {
  readonly name: "selene" | "postgres";
  readonly suite: string;
  readonly packages: readonly string[];
  /** Files of the repository copied to /usr/local/bin, executable. */
  readonly binaries: readonly string[];
}

/** The Debian mirror; Debian's apt is the one package source these machines reach. */
export const DEBIAN_MIRROR = "http://deb.debian.org/debian";

/**
 * The modification time of every file in the tarball (mmdebstrap honours SOURCE_DATE_EPOCH): a fixed
 * instant, so the same packages give the same bytes.
 */
export const ROOTFS_EPOCH = 1_735_689_600; // 2025-01-01T00:00:00Z

/** The two root filesystems. */
export const ROOTFS: Readonly<Record<RootfsSpec["name"], RootfsSpec>> = Object.freeze({
  selene: {
    name: "selene",
    suite: "trixie",
    packages: ["nodejs", ...MESH_PACKAGES.map((p) => p.name)],
    binaries: [],
  },
  postgres: {
    name: "postgres",
    suite: "trixie",
    packages: ["postgresql"],
    binaries: ["deploy/images/postgres-standin"],
  },
});

// The user the images run as, with a home that does not exist; initdb needs the name to resolve.
const USER_HOOKS = [
  'echo "selene:x:10001:10001:selene:/nonexistent:/usr/sbin/nologin" >> "$1/etc/passwd"',
  'echo "selene:x:10001:" >> "$1/etc/group"',
];

/** The mmdebstrap arguments that build `spec` into `tarball`, with the repository at `root`. */
export function mmdebstrapArgs(spec: RootfsSpec, root: string, tarball: string): string[] {
  return [
    "--mode=unshare",
    "--variant=apt",
    "--format=tar",
    // Documentation, man pages and translations are dead weight in a container.
    "--dpkgopt=path-exclude=/usr/share/doc/*",
    "--dpkgopt=path-exclude=/usr/share/man/*",
    "--dpkgopt=path-exclude=/usr/share/locale/*",
    `--include=${spec.packages.join(",")}`,
    ...USER_HOOKS.map((hook) => `--customize-hook=${hook}`),
    ...spec.binaries.flatMap((file) => [
      `--customize-hook=copy-in ${join(root, file)} /usr/local/bin`,
      `--customize-hook=chmod 0755 "$1/usr/local/bin/${file.split("/").pop()}"`,
    ]),
    spec.suite,
    tarball,
    DEBIAN_MIRROR,
  ];
}

/** A short digest of everything that shapes `spec`'s tarball: the base image's tag. */
export function rootfsKey(spec: RootfsSpec, root: string): string {
  const hash = createHash("sha256");
  hash.update(JSON.stringify({ ...spec, epoch: ROOTFS_EPOCH, args: mmdebstrapArgs(spec, "", "") }));
  hash.update(rootfsContainerfile());
  for (const file of spec.binaries) hash.update(readFileSync(join(root, file)));
  return hash.digest("hex").slice(0, 16);
}

/** The local name of the base image of `spec`. */
export function baseImageName(spec: RootfsSpec, root: string): string {
  return `localhost/selene-rootfs-${spec.name}:${rootfsKey(spec, root)}`;
}
