/**
 * `npm run images`: every image of the mesh, from Debian packages, with no registry. The root
 * filesystems come from mmdebstrap (base-rootfs.ts) and are imported once per key; the shared
 * application image and one image per workload are built on them with `podman build --pull=never`.
 * One progress line per image, then each image's digest. Layers carry the commit's time
 * (--timestamp), so building the same commit twice gives the same digests.
 *
 * Flags: --tag T (default dev), --export DIR (an OCI archive per image, `skopeo copy ... oci-archive:`,
 * for a registry of the operator's choosing), --only a,b (those images and what they build on).
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { CLUSTER_PACKAGES, ensureSystemPackages } from "../system-packages.js";
import { baseImageName, mmdebstrapArgs, ROOTFS, ROOTFS_EPOCH, type RootfsSpec } from "./base-rootfs.js";
import { imageExists, runTool } from "./container-tool.js";
import {
  applicationContainerfile,
  BUILD_LABEL,
  containerfileOf,
  IMAGES,
  type ImageSpec,
  imageReference,
  rootfsContainerfile,
} from "./image-catalog.js";
import { stageApplication } from "./stage-application.js";

/** Options of buildImages. */
export interface BuildImagesOptions {
  readonly root: string;
  readonly tag: string;
  /** Scratch space (root filesystem tarballs, the staged context, the build log). */
  readonly work: string;
  readonly only?: readonly string[];
  readonly exportDir?: string;
  readonly say: (line: string) => void;
}

/** One built image. */
export interface BuiltImage {
  readonly name: string;
  readonly reference: string;
  /** The image id: the digest of its configuration. */
  readonly id: string;
  /** The digest of its manifest, as a registry would name it. */
  readonly digest: string;
}

/** The time every layer of the application images carries: the commit's, else the root filesystems'. */
export function buildTimestamp(root: string): number {
  const fromEnv = Number(process.env.SOURCE_DATE_EPOCH);
  if (Number.isInteger(fromEnv) && fromEnv > 0) return fromEnv;
  const git = spawnSync("git", ["log", "-1", "--format=%ct"], { cwd: root, encoding: "utf8" });
  const commit = Number(git.stdout?.trim());
  return git.status === 0 && Number.isInteger(commit) && commit > 0 ? commit : ROOTFS_EPOCH;
}

/** Builds the images (all, or `only` of them); returns them in build order. */
export async function buildImages(options: BuildImagesOptions): Promise<BuiltImage[]> {
  const { root, say } = options;
  mkdirSync(options.work, { recursive: true });
  const log = join(options.work, "build.log");
  writeFileSync(log, "");
  const images = IMAGES.filter((spec) => options.only === undefined || options.only.includes(spec.name));
  const rootfsNeeded = [...new Set(images.map((spec) => spec.rootfs))].map((name) => ROOTFS[name]);
  const total = rootfsNeeded.length + (images.some((s) => s.rootfs === "selene") ? 1 : 0) + images.length;
  let step = 0;
  const progress = async <T>(title: string, work: () => Promise<[T, string]>): Promise<T> => {
    step++;
    const t0 = Date.now();
    say(`[${step}/${total}] ${title} ...`);
    const [value, done] = await work();
    say(`[${step}/${total}] ${title}: ${done} (${((Date.now() - t0) / 1000).toFixed(1)}s)`);
    return value;
  };

  const bases = new Map<string, string>();
  for (const spec of rootfsNeeded) {
    const name = baseImageName(spec, root);
    await progress(`root filesystem ${spec.name}`, async () => {
      if (await imageExists(name)) return [undefined, `${name} (cached)`];
      await buildRootfsImage(spec, name, options.work, root, log);
      return [undefined, `${name} (mmdebstrap ${spec.suite}: ${spec.packages.join(", ")})`];
    });
    bases.set(spec.name, name);
  }

  const timestamp = String(buildTimestamp(root));
  const build = (reference: string, containerfile: string, context: string) =>
    runTool(
      "podman",
      ["build", "--pull=never", "--layers", "--timestamp", timestamp, "-t", reference, "-f", containerfile, context],
      { logFile: log },
    );

  let application: string | undefined;
  if (bases.has("selene")) {
    application = `localhost/selene-app:${options.tag}`;
    const app = application;
    await progress("application layer", async () => {
      const { context } = stageApplication(root, options.work);
      const containerfile = join(options.work, "Containerfile.app");
      writeFileSync(containerfile, applicationContainerfile(bases.get("selene")!));
      await build(app, containerfile, context);
      return [undefined, app];
    });
  }

  const built: BuiltImage[] = [];
  for (const spec of images) {
    const reference = imageReference(spec, options.tag);
    const image = await progress(`image ${spec.name}`, async () => {
      const from = spec.rootfs === "selene" ? application! : bases.get(spec.rootfs)!;
      const containerfile = join(options.work, `Containerfile.${spec.name}`);
      writeFileSync(containerfile, containerfileOf(spec, from));
      // No COPY in a workload's Containerfile: an empty context.
      const empty = join(options.work, "empty");
      mkdirSync(empty, { recursive: true });
      await build(reference, containerfile, empty);
      const result = await describe(spec, reference);
      return [result, result.id.slice(0, 19)];
    });
    built.push(image);
  }

  // The images these replaced (same tags, older content) are dangling now: prune ours, and only ours.
  await runTool("podman", ["image", "prune", "--force", "--filter", `label=${BUILD_LABEL}`], { logFile: log });
  for (const image of built) say(`      ${image.reference.padEnd(42)} ${image.digest}`);
  if (options.exportDir !== undefined) {
    const dir = resolve(options.exportDir);
    mkdirSync(dir, { recursive: true });
    for (const image of built) {
      const archive = join(dir, `${image.name}.tar`);
      rmSync(archive, { force: true });
      await runTool(
        "skopeo",
        ["copy", "--quiet", `containers-storage:${image.reference}`, `oci-archive:${archive}:${image.reference}`],
        { logFile: log },
      );
      say(`      exported ${archive}`);
    }
  }
  return built;
}

async function buildRootfsImage(spec: RootfsSpec, name: string, work: string, root: string, log: string) {
  const dir = join(work, `rootfs-${spec.name}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  try {
    const tarball = join(dir, "rootfs.tar");
    await runTool("mmdebstrap", mmdebstrapArgs(spec, root, tarball), {
      logFile: log,
      env: { SOURCE_DATE_EPOCH: String(ROOTFS_EPOCH) },
    });
    writeFileSync(join(dir, "Containerfile"), rootfsContainerfile());
    await runTool(
      "podman",
      ["build", "--pull=never", "--timestamp", String(ROOTFS_EPOCH), "-t", name, "-f", join(dir, "Containerfile"), dir],
      { logFile: log },
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function describe(spec: ImageSpec, reference: string): Promise<BuiltImage> {
  const [id = "", digest = ""] = (
    await runTool("podman", ["image", "inspect", "--format", "{{.Id}} {{.Digest}}", reference])
  ).split(" ");
  return { name: spec.name, reference, id: `sha256:${id}`, digest };
}

async function main(argv: readonly string[]): Promise<void> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      tag: { type: "string", default: "dev" },
      export: { type: "string" },
      only: { type: "string" },
    },
  });
  const root = resolve(fileURLToPath(import.meta.url), "..", "..", "..", "..");
  const say = (line: string) => process.stdout.write(`${line}\n`);
  await ensureSystemPackages(CLUSTER_PACKAGES, say);
  await buildImages({
    root,
    tag: values.tag,
    work: join(root, ".selene", "images"),
    ...(values.only === undefined ? {} : { only: values.only.split(",") }),
    ...(values.export === undefined ? {} : { exportDir: values.export }),
    say,
  });
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`images: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
}
