/**
 * The container images of the mesh, as data: which root filesystem each builds on and what it runs.
 * Every Selene image is one shared application layer (compiled code, production node_modules, SQL
 * migrations, Python stubs) on the Debian base, plus its own entrypoint; `selene-postgres` is the
 * stand-in database of the podman run (test:cluster) and is never deployed to a cluster.
 */

/** Where the images are named: the manifests under k8s/ use the same names. */
export const IMAGE_REPOSITORY = "ghcr.io/selene-os";

/** A label on every image the build makes, so that its superseded images can be pruned alone. */
export const BUILD_LABEL = "io.selene-os.build=images";

/** Where the application tree lives inside every Selene image. */
export const APP_DIR = "/opt/selene";

/** The unprivileged user every image runs as (k8s/base pins the same ids). */
export const RUN_AS = "10001:10001";

/** One image. */
export interface ImageSpec {
  /** Its short name, also the workload's name. */
  readonly name: string;
  /** The root filesystem it builds on. */
  readonly rootfs: "selene" | "postgres";
  /** What it runs (exec form: the process is PID 1 and gets SIGTERM itself). */
  readonly entrypoint: readonly string[];
  /** Its own environment, on top of the base's. */
  readonly env?: Readonly<Record<string, string>>;
  /** One line saying what it is, kept in the image's description label. */
  readonly description: string;
}

const node = (script: string) => ["/usr/bin/node", `${APP_DIR}/dist/${script}`];

/** Every image `npm run images` builds, in build order. */
export const IMAGES: readonly ImageSpec[] = Object.freeze([
  { name: "router", rootfs: "selene", entrypoint: node("services/router/main.js"), description: "the router" },
  { name: "nlp", rootfs: "selene", entrypoint: node("services/engines/nlp/main.js"), description: "the nlp engine" },
  {
    name: "tools",
    rootfs: "selene",
    entrypoint: node("services/engines/tools/main.js"),
    description: "the tools engine",
  },
  {
    name: "reminders",
    rootfs: "selene",
    entrypoint: node("services/engines/reminders/main.js"),
    description: "the reminders engine",
  },
  {
    name: "calc",
    rootfs: "selene",
    entrypoint: ["/usr/bin/python3", `${APP_DIR}/services/engines/calc/calc_engine.py`],
    // The root filesystem is read-only: no bytecode cache to write.
    env: { SELENE_PYTHON_STUBS: `${APP_DIR}/gen/python`, PYTHONDONTWRITEBYTECODE: "1" },
    description: "the calc engine (Python)",
  },
  { name: "outbox", rootfs: "selene", entrypoint: node("services/outbox/main.js"), description: "the outbox" },
  { name: "audit", rootfs: "selene", entrypoint: node("services/audit/main.js"), description: "the audit ledger" },
  {
    name: "migrations",
    rootfs: "selene",
    entrypoint: node("deploy/migrate-job.js"),
    description: "the migrations Job, and the wait-for-migrations init container",
  },
  {
    name: "toolbox",
    rootfs: "selene",
    entrypoint: ["/usr/local/bin/toolbox-idle"],
    description: "the operator toolbox: selenectl, run with kubectl exec",
  },
  {
    name: "selene-postgres",
    rootfs: "postgres",
    entrypoint: ["/usr/local/bin/postgres-standin"],
    description: "PostgreSQL for the podman run only (a cluster runs CloudNativePG)",
  },
]);

/** The image's full reference with `tag`. */
export function imageReference(spec: ImageSpec, tag: string): string {
  return `${IMAGE_REPOSITORY}/${spec.name}:${tag}`;
}

/**
 * The Containerfile of `spec`, built on `from` (the shared application image, or the postgres base).
 * No RUN step: every layer is copied content, so the same inputs give the same bytes.
 */
export function containerfileOf(spec: ImageSpec, from: string): string {
  const env = Object.entries(spec.env ?? {}).map(([key, value]) => `ENV ${key}=${JSON.stringify(value)}`);
  return [
    `FROM ${from}`,
    ...env,
    `LABEL ${BUILD_LABEL}`,
    `LABEL org.opencontainers.image.title=${JSON.stringify(spec.name)}`,
    `LABEL org.opencontainers.image.description=${JSON.stringify(spec.description)}`,
    `USER ${RUN_AS}`,
    `ENTRYPOINT ${JSON.stringify(spec.entrypoint)}`,
    "",
  ].join("\n");
}

/** The Containerfile of the shared application image: the staged tree copied onto the Selene base. */
export function applicationContainerfile(base: string): string {
  return [
    `FROM ${base}`,
    `LABEL ${BUILD_LABEL}`,
    `COPY opt/ ${APP_DIR}/`,
    "COPY bin/ /usr/local/bin/",
    `WORKDIR ${APP_DIR}`,
    "ENV NODE_ENV=production",
    `USER ${RUN_AS}`,
    "",
  ].join("\n");
}

/** The Containerfile that turns a root filesystem tarball into a base image (no layer but the tarball). */
export function rootfsContainerfile(): string {
  return ["FROM scratch", `LABEL ${BUILD_LABEL}`, "ADD rootfs.tar /", `USER ${RUN_AS}`, ""].join("\n");
}
