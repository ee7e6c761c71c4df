/**
 * `npm run test:cluster`: the mesh on containers, end to end. Builds the images (npm run images),
 * renders k8s/overlays/podman (the dev overlay plus what podman cannot do) with the real
 * `kubectl kustomize`, creates the Secrets with `podman secret create` (certificates from a PKI of
 * the run's own, random database passwords), then `podman kube play`s the database, the migrations
 * and the workloads on a network of their own; runs the demo conversation and a short `npm run bench`
 * through the router's published port (held to the error budget of deploy/cluster/cluster-slo.yaml),
 * `selenectl audit verify` in the toolbox; stops every container with SIGTERM, callers first, and
 * requires each to exit 0 (drained); `podman kube down`s everything and checks
 * that no pod, container, secret, volume or network of the run is left. Exit 0 when all of it passed.
 *
 * Flags: --bench-duration 15s (the bench's -z), --keep (leave the mesh running, also after a failure).
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { parseAllDocuments } from "yaml";
import { SeleneError } from "../../services/runtime/selene-error.js";
import { runDemoConversation } from "../demo-conversation.js";
import { waitHealthy } from "../health-probe.js";
import { buildImages } from "../images/build-images.js";
import { runTool } from "../images/container-tool.js";
import { ensurePki } from "../pki.js";
import { CLUSTER_PACKAGES, ensureSystemPackages } from "../system-packages.js";
import { type KubeObject, kubePlayPhases, podOf } from "./kube-play-documents.js";
import { containerState, containersOf, saveLogs, waitExited } from "./pod-containers.js";
import { certificateSecret, databaseSecrets, PASSWORD_LOGINS, type PodmanSecret } from "./podman-secrets.js";
import { leftovers, teardownRun } from "./teardown-run.js";

const root = resolve(fileURLToPath(import.meta.url), "..", "..", "..", "..");
const work = join(root, ".selene", "cluster");
const NETWORK = "selene-cluster";
/** The router's published ports (k8s/overlays/podman/patches/router-published-ports.yaml). */
const ROUTER_GRPC = "127.0.0.1:31051";
const ROUTER_HEALTH = "127.0.0.1:31151";
/** Workloads with a certificate of their own name; the toolbox mounts the operator's. */
const CERTIFICATE_WORKLOADS = ["router", "nlp", "tools", "reminders", "calc", "outbox", "audit"];
/** Stop order: callers before the called, the database last. */
const STOP_ORDER = ["router", "toolbox", "outbox", "nlp", "tools", "reminders", "calc", "audit", "postgres"];

const { values } = parseArgs({
  options: { "bench-duration": { type: "string", default: "15s" }, keep: { type: "boolean", default: false } },
});
const say = (line: string) => process.stdout.write(`${line}\n`);
const STEPS = 11;
let step = 0;
async function timed<T>(title: string, work: () => Promise<T>, done: (value: T) => string): Promise<T> {
  step++;
  const t0 = Date.now();
  say(`[${step}/${STEPS}] ${title} ...`);
  const value = await work();
  say(`[${step}/${STEPS}] ${done(value)} (${((Date.now() - t0) / 1000).toFixed(1)}s)`);
  return value;
}

const podman = (...args: string[]) => runTool("podman", args, { logFile: join(work, "podman.log") });

/** The rendered podman overlay, by the real kubectl. */
function renderOverlay(): KubeObject[] {
  const render = spawnSync("kubectl", ["kustomize", join(root, "k8s", "overlays", "podman")], {
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  if (render.status !== 0) throw new Error(`kubectl kustomize failed: ${render.stderr.trim()}`);
  return parseAllDocuments(render.stdout).map((document) => document.toJS() as KubeObject);
}

function writeDocuments(name: string, objects: readonly KubeObject[]): string {
  const file = join(work, `${name}.json`);
  // JSON is YAML: one object per document.
  writeFileSync(file, objects.map((object) => JSON.stringify(object)).join("\n---\n"));
  return file;
}

async function createSecrets(secrets: readonly PodmanSecret[]): Promise<void> {
  const dir = join(work, "secrets");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (const secret of secrets) {
    const file = join(dir, `${secret.name}.json`);
    writeFileSync(file, secret.content, { mode: 0o600 });
    await podman("secret", "create", secret.name, file);
  }
  rmSync(dir, { recursive: true, force: true });
}

async function main(): Promise<void> {
  const started = Date.now();
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  await timed(
    "Debian packages",
    () => ensureSystemPackages(CLUSTER_PACKAGES, say),
    (installed) => (installed.length === 0 ? "packages present" : `installed ${installed.join(" ")}`),
  );
  await timed(
    "images",
    () => buildImages({ root, tag: "dev", work: join(root, ".selene", "images"), say: (l) => say(`      ${l}`) }),
    (built) => `${built.length} images built`,
  );
  const phases = await timed(
    "render k8s/overlays/podman (kubectl kustomize)",
    async () => kubePlayPhases(renderOverlay()),
    (p) => `${p.database.length + p.migrations.length + p.workloads.length} objects for podman kube play`,
  );
  const files = {
    database: writeDocuments("database", phases.database),
    migrations: writeDocuments("migrations", phases.migrations),
    workloads: writeDocuments("workloads", phases.workloads),
  };
  const pods = [
    ...[...phases.database, ...phases.workloads]
      .filter((o) => o.kind === "Deployment")
      .map((o) => podOf(o.metadata.name)),
    ...phases.migrations.map((o) => o.metadata.name),
  ];
  const pkiDir = join(work, "pki");
  const passwords = Object.fromEntries(PASSWORD_LOGINS.map((login) => [login, randomBytes(18).toString("hex")]));
  const secrets = [
    ...CERTIFICATE_WORKLOADS.map((name) => ({ secretName: `${name}-tls`, identity: name })),
    { secretName: "operator-tls", identity: "operator" },
  ];
  const volumesBefore = new Set((await podman("volume", "ls", "--format", "{{.Name}}")).split("\n"));
  const secretNames = [...secrets.map((s) => s.secretName), ...databaseSecrets("x", passwords).map((s) => s.name)];
  const volumeNames = [...secretNames, ...phases.emptyDirVolumes, ...phases.configMapVolumes];
  // A run that was interrupted may have left its pods, secrets and network: start clean.
  await teardownRun(NETWORK, files, secretNames, volumeNames);

  let failure: unknown;
  try {
    await timed(
      "secrets and network",
      async () => {
        await ensurePki({ dir: pkiDir });
        await createSecrets([
          ...secrets.map((s) => certificateSecret(s.secretName, s.identity, pkiDir)),
          ...databaseSecrets(podOf("postgres"), passwords),
        ]);
        await podman("network", "create", NETWORK);
      },
      () => `${secretNames.length} secrets (podman secret create), network ${NETWORK}`,
    );
    await timed(
      "database and migrations (podman kube play)",
      async () => {
        await podman("kube", "play", "--network", NETWORK, files.database);
        await podman("kube", "play", "--network", NETWORK, files.migrations);
        const code = await waitExited("migrations-migrations", Date.now() + 180_000);
        if (code !== 0) throw new Error(`the migrations pod exited with ${code} (logs in ${join(work, "logs")})`);
      },
      () => "migrations applied; the service logins have their passwords",
    );
    await timed(
      "workloads (podman kube play)",
      async () => {
        await podman("kube", "play", "--network", NETWORK, files.workloads);
        if (!(await waitHealthy(ROUTER_HEALTH, Date.now() + 120_000, () => true))) {
          throw new Error(`the router's published health port ${ROUTER_HEALTH} never said SERVING`);
        }
        const peers = CERTIFICATE_WORKLOADS.map((name) => `${podOf(name)}:7080`);
        await podman(
          "exec",
          `${podOf("toolbox")}-toolbox`,
          "/usr/bin/node",
          "/opt/selene/dist/deploy/cluster/wait-healthy.js",
          ...peers,
        );
      },
      () => `every workload SERVING; router on ${ROUTER_GRPC}`,
    );
    const demo = await timed(
      "demo conversation through the published port",
      () => demoWithRetries(pkiDir),
      (d) => `demo done (${d.responses.length} turns)`,
    );
    for (const line of demo.lines.filter((l) => l !== "")) say(`      ${line}`);
    if (!demo.responses.some((r) => r.outcome.case === "executed")) throw new Error("the demo executed no effect");
    await timed(
      `npm run bench -- -z ${values["bench-duration"]} through the published port`,
      async () => {
        const bench = spawnSync(
          "npm",
          [
            "run",
            "--silent",
            "bench",
            "--",
            "--host",
            ROUTER_GRPC,
            "--cacert",
            join(pkiDir, "ca.crt"),
            "--cert",
            join(pkiDir, "demo-app.crt"),
            "--key",
            join(pkiDir, "demo-app.key"),
            "-z",
            values["bench-duration"],
            "--name",
            "selene on podman",
            "--tags",
            JSON.stringify({ environment: "podman kube play, k8s/overlays/podman" }),
            "--slo",
            join(root, "deploy", "cluster", "cluster-slo.yaml"),
            "--output",
            join(work, "bench"),
          ],
          { cwd: root, stdio: "inherit" },
        );
        if (bench.status !== 0) throw new Error(`npm run bench exited with ${bench.status}`);
      },
      () => `bench: no errors (deploy/cluster/cluster-slo.yaml); report in ${join(work, "bench")}`,
    );
    await timed(
      "selenectl audit verify in the toolbox",
      () => podman("exec", `${podOf("toolbox")}-toolbox`, "selenectl", "audit", "verify"),
      (out) => out.split("\n").at(-1) ?? "verified",
    );
    if (values.keep) {
      await saveLogs(pods, join(work, "logs"));
      say(`      --keep: the mesh stays up; remove it with podman kube down ${Object.values(files).join(" ")}`);
      return;
    }
    await timed(
      "SIGTERM: every container drains and exits 0",
      async () => {
        const exits: string[] = [];
        for (const deployment of STOP_ORDER) {
          // The containers, not the pod: the pod's network stays up while they drain, so their
          // connections close as in a cluster (a stopped pod's vanish unannounced, and PostgreSQL's
          // smart shutdown would wait for those sessions).
          for (const container of await containersOf(podOf(deployment))) {
            await podman("stop", "--time", "30", container);
            const { exitCode } = await containerState(container);
            if (exitCode !== 0) exits.push(`${container} exited ${exitCode}`);
          }
        }
        if (exits.length > 0) throw new Error(`not drained: ${exits.join(", ")}`);
      },
      () => "every container exited 0 on SIGTERM",
    );
  } catch (err) {
    failure = err;
  } finally {
    if (!values.keep) {
      // After the stop, so the logs end with each process's drain.
      await saveLogs(pods, join(work, "logs")).catch(() => undefined);
      await timed(
        "podman kube down",
        async () => {
          await teardownRun(NETWORK, files, secretNames, volumeNames);
          return leftovers(NETWORK, pods, secretNames, volumesBefore);
        },
        (left) => (left.length === 0 ? "nothing left behind" : `LEFT BEHIND: ${left.join(", ")}`),
      ).then((left) => {
        if (left.length > 0 && failure === undefined) failure = new Error(`left behind: ${left.join(", ")}`);
      });
    }
  }
  if (failure !== undefined) throw failure;
  say(`test:cluster passed in ${((Date.now() - started) / 1000).toFixed(1)}s`);
}

/**
 * The demo conversation, tried again (from its first turn, under new ids) when a turn fails with a
 * retryable error, as a client would: a pod that restarted while the mesh came up leaves the router's
 * channel to it backing off for some seconds.
 */
async function demoWithRetries(pkiDir: string): ReturnType<typeof runDemoConversation> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await runDemoConversation(ROUTER_GRPC, pkiDir, `cluster${Date.now().toString(36)}`);
    } catch (err) {
      if (!(err instanceof SeleneError && err.retryable) || attempt >= 3) throw err;
      say(`      ${err.message}: trying the conversation again in 5 s`);
      await new Promise((r) => setTimeout(r, 5000));
    }
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`test:cluster failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
