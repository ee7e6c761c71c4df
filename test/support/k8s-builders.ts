/** Builders of pods and NetworkPolicies for tests of the policy evaluator: override what a test is about. */
import type { LabelSelector } from "./k8s-label-selector.js";
import type { NetworkPolicyObject, PodModel } from "./k8s-network-policy.js";

/** A pod in namespace `selene` with no labels and a gRPC port 7443 named `grpc`. */
export function aPod(overrides: Partial<PodModel> & { name: string }): PodModel {
  return { namespace: "selene", labels: {}, ports: { grpc: 7443 }, ...overrides };
}

/** A NetworkPolicy in namespace `selene`, selecting `podSelector`, with the given spec fields. */
export function aPolicy(
  podSelector: LabelSelector,
  spec: Omit<NetworkPolicyObject["spec"], "podSelector"> = {},
  name = "policy",
): NetworkPolicyObject {
  return { kind: "NetworkPolicy", metadata: { name, namespace: "selene" }, spec: { podSelector, ...spec } };
}

/** A selector on app.kubernetes.io/name. */
export function app(name: string): LabelSelector {
  return { matchLabels: { "app.kubernetes.io/name": name } };
}
