/** The pods that rendered manifests would run, as the network sees them (see k8s-network-policy.ts). */
import type { IDeployment } from "kubernetes-models/apps/v1/Deployment";
import type { IJob } from "kubernetes-models/batch/v1/Job";
import type { NetworkPolicyObject, PodModel } from "./k8s-network-policy.js";
import type { Manifest } from "./kubectl-kustomize.js";

// Labels and container ports that the CloudNativePG operator gives to the primary instance pod of a
// Cluster; the manifests only declare the Cluster, so the pod is described here.
const CNPG_PORTS = { postgresql: 5432, status: 8000, metrics: 9187 };

/**
 * One pod per Deployment (replicas share labels and ports) and per Job, and one primary pod per
 * CloudNativePG Cluster.
 */
export function podsFromManifests(objects: readonly Manifest[]): PodModel[] {
  return objects.flatMap((object): PodModel[] => {
    const namespace = object.metadata.namespace ?? "default";
    if (object.kind === "Deployment" || object.kind === "Job") {
      const template = (object as unknown as IDeployment | IJob).spec!.template;
      const ports: Record<string, number> = {};
      for (const container of template.spec?.containers ?? []) {
        for (const port of container.ports ?? []) if (port.name !== undefined) ports[port.name] = port.containerPort;
      }
      return [{ name: object.metadata.name, namespace, labels: template.metadata?.labels ?? {}, ports }];
    }
    if (object.apiVersion === "postgresql.cnpg.io/v1" && object.kind === "Cluster") {
      const labels = {
        "cnpg.io/cluster": object.metadata.name,
        "cnpg.io/instanceRole": "primary",
        "cnpg.io/podRole": "instance",
      };
      return [{ name: object.metadata.name, namespace, labels, ports: CNPG_PORTS }];
    }
    return [];
  });
}

/** The NetworkPolicy objects among rendered manifests. */
export function networkPoliciesOf(objects: readonly Manifest[]): NetworkPolicyObject[] {
  return objects.filter((object) => object.kind === "NetworkPolicy") as unknown as NetworkPolicyObject[];
}
