/** The allowed connections between pods, as sorted "source->destination" strings a test can compare. */
import { type ClusterModel, connectionAllowed, type NetworkPolicyObject, type PodModel } from "./k8s-network-policy.js";

/**
 * Every "a->b" such that pod a may open a TCP connection to the container port named `portName` of pod
 * b, for all pairs of pods in the model (a pod to itself included) whose destination has that port.
 */
export function allowedEdges(
  policies: readonly NetworkPolicyObject[],
  cluster: ClusterModel,
  portName: string,
): string[] {
  const edges: string[] = [];
  for (const to of cluster.pods) {
    const port = to.ports[portName];
    if (port === undefined) continue;
    for (const from of cluster.pods) {
      if (connectionAllowed(policies, cluster, { from, to, port })) edges.push(`${from.name}->${to.name}`);
    }
  }
  return edges.sort();
}

/** Every "port-name:destination" that pod `from` may reach, over all named ports of all pods. */
export function reachableFrom(
  policies: readonly NetworkPolicyObject[],
  cluster: ClusterModel,
  from: PodModel,
): string[] {
  const reached: string[] = [];
  for (const to of cluster.pods) {
    for (const [name, port] of Object.entries(to.ports)) {
      if (connectionAllowed(policies, cluster, { from, to, port })) reached.push(`${name}:${to.name}`);
    }
  }
  return reached.sort();
}
