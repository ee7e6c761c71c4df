/**
 * Turns the rendered podman overlay into what `podman kube play` runs, in three phases: the database,
 * the migrations (the Job's pod template as a Pod: podman ignores Jobs), then every other workload and
 * the ConfigMaps they read. Kinds podman ignores (Services, NetworkPolicies, Certificates, ...) are
 * left out; the Secrets are created with `podman secret create` (podman-secrets.ts).
 *
 * podman 4.3 makes an emptyDir a named volume of the volume's own name, shared by every pod that uses
 * the name (each workload's `tmp` would be one directory): each is renamed after its pod here. A
 * ConfigMap mounted as a volume becomes a named volume of the ConfigMap's name, which `podman kube
 * down` leaves: those names are listed too, for the teardown.
 */

import { MESH_ORDER } from "../mesh-processes.js";

/** A rendered Kubernetes object. */
export interface KubeObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly labels?: Readonly<Record<string, string>> };
  readonly spec?: unknown;
  readonly data?: unknown;
}

/** The documents of each phase, in play order, and the named volumes their emptyDirs and ConfigMap volumes become. */
export interface KubePlayPhases {
  readonly database: KubeObject[];
  readonly migrations: KubeObject[];
  readonly workloads: KubeObject[];
  readonly emptyDirVolumes: string[];
  readonly configMapVolumes: string[];
}

/** The Deployment that stands in for the database. */
export const DATABASE_DEPLOYMENT = "postgres";

interface JobSpec {
  template: { metadata?: { labels?: Record<string, string> }; spec: Record<string, unknown> };
}

/** The Pod that runs a Job's pod template once. */
export function jobAsPod(job: KubeObject): KubeObject {
  const template = (job.spec as JobSpec).template;
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: job.metadata.name, labels: { ...template.metadata?.labels } },
    spec: { ...template.spec, restartPolicy: "Never" },
  };
}

interface PodSpec {
  volumes?: { name: string; emptyDir?: unknown; configMap?: { name: string } }[];
  containers?: { volumeMounts?: { name: string }[] }[];
  initContainers?: { volumeMounts?: { name: string }[] }[];
}

/** The pod spec of a Pod, or of a Deployment's template. */
function podSpecOf(object: KubeObject): PodSpec {
  const spec = object.spec as { template?: { spec: PodSpec } } & PodSpec;
  return object.kind === "Pod" ? spec : (spec.template?.spec ?? {});
}

/** `object` (a Pod or a Deployment) with each emptyDir volume renamed `<prefix>-<name>`; returns the new names. */
export function uniqueEmptyDirs(object: KubeObject, prefix: string): { object: KubeObject; volumes: string[] } {
  const copy = structuredClone(object);
  const pod = podSpecOf(copy);
  const renamed = new Map<string, string>();
  for (const volume of pod.volumes ?? []) {
    if (volume.emptyDir === undefined) continue;
    renamed.set(volume.name, `${prefix}-${volume.name}`);
    volume.name = `${prefix}-${volume.name}`;
  }
  for (const container of [...(pod.containers ?? []), ...(pod.initContainers ?? [])]) {
    for (const mount of container.volumeMounts ?? []) mount.name = renamed.get(mount.name) ?? mount.name;
  }
  return { object: copy, volumes: [...renamed.values()] };
}

/** Splits the rendered objects into the phases `podman kube play` runs. */
export function kubePlayPhases(objects: readonly KubeObject[]): KubePlayPhases {
  const phases: KubePlayPhases = {
    database: [],
    migrations: [],
    workloads: [],
    emptyDirVolumes: [],
    configMapVolumes: [],
  };
  const unique = (object: KubeObject, pod: string) => {
    const result = uniqueEmptyDirs(object, pod);
    phases.emptyDirVolumes.push(...result.volumes);
    for (const name of configMapVolumesOf(result.object)) {
      if (!phases.configMapVolumes.includes(name)) phases.configMapVolumes.push(name);
    }
    return result.object;
  };
  for (const object of objects) {
    const { name } = object.metadata;
    if (object.kind === "Job") phases.migrations.push(unique(jobAsPod(object), name));
    else if (object.kind === "Deployment" && name === DATABASE_DEPLOYMENT)
      phases.database.push(unique(object, podOf(name)));
    else if (object.kind === "ConfigMap") phases.workloads.unshift(object);
    else if (object.kind === "Deployment") phases.workloads.push(unique(object, podOf(name)));
  }
  // Callees before callers, as npm start orders the processes: a pod's name resolves only once the
  // pod exists, and the router would otherwise start with its channels to the engines backing off.
  const rank = (object: KubeObject) => {
    const index = (MESH_ORDER as readonly string[]).indexOf(object.metadata.name);
    return object.kind === "ConfigMap" ? -1 : index === -1 ? MESH_ORDER.length : index;
  };
  phases.workloads.sort((a, b) => rank(a) - rank(b));
  if (phases.database.length !== 1) throw new Error(`expected one ${DATABASE_DEPLOYMENT} Deployment`);
  if (phases.migrations.length !== 1) throw new Error("expected one Job (the migrations)");
  return phases;
}

/** The ConfigMaps `object` (a Pod or a Deployment) mounts as volumes. */
export function configMapVolumesOf(object: KubeObject): string[] {
  const pod = podSpecOf(object);
  return (pod.volumes ?? []).flatMap((volume) => (volume.configMap === undefined ? [] : [volume.configMap.name]));
}

/** The name podman gives the one pod of Deployment `name`. */
export function podOf(deployment: string): string {
  return `${deployment}-pod-0`;
}

/** The name podman gives container `container` of pod `pod`. */
export function containerOf(pod: string, container: string): string {
  return `${pod}-${container}`;
}
