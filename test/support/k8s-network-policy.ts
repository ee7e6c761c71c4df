/**
 * NetworkPolicy semantics (networking.k8s.io/v1), evaluated over a model of pods, so a test can ask which
 * connections a set of policies allows without a cluster.
 *
 * Rules implemented, as the Kubernetes documentation states them:
 * - a policy selects the pods of its own namespace that match spec.podSelector;
 * - a pod is isolated for ingress (egress) iff some policy selecting it lists Ingress (Egress) in its
 *   policyTypes; policyTypes defaults to Ingress, plus Egress when spec.egress is present;
 * - policies are additive: traffic to (from) an isolated pod is allowed iff at least one rule of one
 *   selecting policy allows it; a connection A->B needs B's ingress AND A's egress to allow it;
 * - a rule with no from/to peers matches every peer; with no ports, every port; a named port is looked
 *   up among the destination pod's container ports; endPort makes a range;
 * - a peer with only podSelector selects pods of the policy's namespace; with only namespaceSelector,
 *   every pod of the matching namespaces; with both, the matching pods of the matching namespaces.
 * An ipBlock peer is treated as matching every pod: pod addresses are not modelled, and counting it as
 * a match can only report more connections than a cluster would allow, never fewer.
 */
import { type LabelSelector, type Labels, selectorMatches } from "./k8s-label-selector.js";

/** A pod as the network sees it: where it runs, its labels, and its named container ports. */
export interface PodModel {
  name: string;
  namespace: string;
  labels: Labels;
  /** Container port name to port number (TCP). */
  ports: Readonly<Record<string, number>>;
}

/** The pods and namespace labels against which policies are evaluated. */
export interface ClusterModel {
  pods: readonly PodModel[];
  /** Namespace name to its labels; kubernetes.io/metadata.name is implied. */
  namespaces: Readonly<Record<string, Labels>>;
}

/** A port in a policy rule. */
export interface NetworkPolicyPort {
  protocol?: string;
  port?: number | string;
  endPort?: number;
}

/** A peer in a policy rule. */
export interface NetworkPolicyPeer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: { cidr: string; except?: string[] };
}

/** The fields of a NetworkPolicy that decide what it allows. */
export interface NetworkPolicyObject {
  kind: "NetworkPolicy";
  metadata: { name: string; namespace?: string };
  spec: {
    podSelector: LabelSelector;
    policyTypes?: ("Ingress" | "Egress")[];
    ingress?: { from?: NetworkPolicyPeer[]; ports?: NetworkPolicyPort[] }[];
    egress?: { to?: NetworkPolicyPeer[]; ports?: NetworkPolicyPort[] }[];
  };
}

/** A connection attempt: from one pod to a port of another. */
export interface Connection {
  from: PodModel;
  to: PodModel;
  port: number;
  protocol?: string;
}

type Direction = "Ingress" | "Egress";

/** Whether the policies allow the connection, judged at both ends. */
export function connectionAllowed(
  policies: readonly NetworkPolicyObject[],
  cluster: ClusterModel,
  connection: Connection,
): boolean {
  return (
    directionAllows(policies, cluster, "Ingress", connection.to, connection.from, connection) &&
    directionAllows(policies, cluster, "Egress", connection.from, connection.to, connection)
  );
}

/** Whether some policy selecting `pod` isolates it in `direction`. */
export function isIsolated(policies: readonly NetworkPolicyObject[], pod: PodModel, direction: Direction): boolean {
  return policies.some((policy) => selects(policy, pod) && policyTypes(policy).includes(direction));
}

function directionAllows(
  policies: readonly NetworkPolicyObject[],
  cluster: ClusterModel,
  direction: Direction,
  subject: PodModel,
  peer: PodModel,
  connection: Connection,
): boolean {
  const governing = policies.filter((policy) => selects(policy, subject) && policyTypes(policy).includes(direction));
  if (governing.length === 0) return true;
  return governing.some((policy) => {
    const rules =
      direction === "Ingress"
        ? (policy.spec.ingress ?? []).map((rule) => ({ peers: rule.from, ports: rule.ports }))
        : (policy.spec.egress ?? []).map((rule) => ({ peers: rule.to, ports: rule.ports }));
    return rules.some(
      (rule) =>
        peersMatch(rule.peers, policyNamespace(policy), peer, cluster) &&
        portsMatch(rule.ports, connection.to, connection.port, connection.protocol ?? "TCP"),
    );
  });
}

function policyNamespace(policy: NetworkPolicyObject): string {
  const namespace = policy.metadata.namespace;
  if (namespace === undefined) throw new Error(`NetworkPolicy ${policy.metadata.name} has no namespace`);
  return namespace;
}

function selects(policy: NetworkPolicyObject, pod: PodModel): boolean {
  return policyNamespace(policy) === pod.namespace && selectorMatches(policy.spec.podSelector, pod.labels);
}

function policyTypes(policy: NetworkPolicyObject): Direction[] {
  if (policy.spec.policyTypes !== undefined) return policy.spec.policyTypes;
  return policy.spec.egress === undefined ? ["Ingress"] : ["Ingress", "Egress"];
}

function peersMatch(
  peers: NetworkPolicyPeer[] | undefined,
  namespace: string,
  pod: PodModel,
  cluster: ClusterModel,
): boolean {
  if (peers === undefined || peers.length === 0) return true;
  return peers.some((peer) => peerMatches(peer, namespace, pod, cluster));
}

function peerMatches(peer: NetworkPolicyPeer, namespace: string, pod: PodModel, cluster: ClusterModel): boolean {
  if (peer.ipBlock !== undefined) return true;
  if (peer.podSelector === undefined && peer.namespaceSelector === undefined) {
    throw new Error("a NetworkPolicy peer needs podSelector, namespaceSelector or ipBlock");
  }
  const namespaceOk =
    peer.namespaceSelector === undefined
      ? pod.namespace === namespace
      : selectorMatches(peer.namespaceSelector, namespaceLabels(cluster, pod.namespace));
  return namespaceOk && (peer.podSelector === undefined || selectorMatches(peer.podSelector, pod.labels));
}

function namespaceLabels(cluster: ClusterModel, namespace: string): Labels {
  return { ...cluster.namespaces[namespace], "kubernetes.io/metadata.name": namespace };
}

function portsMatch(
  ports: NetworkPolicyPort[] | undefined,
  destination: PodModel,
  port: number,
  protocol: string,
): boolean {
  if (ports === undefined || ports.length === 0) return true;
  return ports.some((rulePort) => {
    if ((rulePort.protocol ?? "TCP") !== protocol) return false;
    if (rulePort.port === undefined) return true;
    // A named port means the destination pod's container port of that name; absent, it matches nothing.
    const first = typeof rulePort.port === "string" ? destination.ports[rulePort.port] : rulePort.port;
    if (first === undefined) return false;
    return rulePort.endPort === undefined ? port === first : port >= first && port <= rulePort.endPort;
  });
}
