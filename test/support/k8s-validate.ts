/**
 * Offline schema checks of rendered manifests: built-in kinds against the Kubernetes OpenAPI schemas
 * shipped with kubernetes-models, cert-manager's kinds against the CRD schemas shipped with
 * @kubernetes-models/cert-manager. CloudNativePG publishes no such package: its Cluster gets a
 * hand-written check of the fields the operator requires. (These schemas do not reject unknown
 * fields; a server-side dry run does.)
 */
import { Certificate } from "@kubernetes-models/cert-manager/cert-manager.io/v1/Certificate";
import { Issuer } from "@kubernetes-models/cert-manager/cert-manager.io/v1/Issuer";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { Job } from "kubernetes-models/batch/v1/Job";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { Namespace } from "kubernetes-models/v1/Namespace";
import { Service } from "kubernetes-models/v1/Service";
import { ServiceAccount } from "kubernetes-models/v1/ServiceAccount";
import type { Manifest } from "./kubectl-kustomize.js";

type Check = (object: Manifest) => string[];

const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  "v1/Namespace": Namespace,
  "v1/ConfigMap": ConfigMap,
  "batch/v1/Job": Job,
  "cert-manager.io/v1/Certificate": Certificate,
  "cert-manager.io/v1/Issuer": Issuer,
  "v1/ServiceAccount": ServiceAccount,
  "v1/Service": Service,
  "apps/v1/Deployment": Deployment,
  "networking.k8s.io/v1/NetworkPolicy": NetworkPolicy,
  "policy/v1/PodDisruptionBudget": PodDisruptionBudget,
};

const HAND_WRITTEN: Record<string, Check> = {
  "postgresql.cnpg.io/v1/Cluster": checkCnpgCluster,
};

/** The problems found in `object`, each prefixed with its kind and name; empty when it is valid. */
export function validateManifest(object: Manifest): string[] {
  const type = `${object.apiVersion}/${object.kind}`;
  const label = `${object.kind}/${object.metadata.name}`;
  const Model = MODELS[type];
  if (Model !== undefined) {
    try {
      new Model(structuredClone(object) as never).validate();
      return [];
    } catch (error) {
      return [`${label}: ${(error as Error).message}`];
    }
  }
  const check = HAND_WRITTEN[type];
  if (check === undefined) return [`${label}: no schema known for ${type}`];
  return check(object).map((problem) => `${label}: ${problem}`);
}

function checkCnpgCluster(object: Manifest): string[] {
  const spec = (object.spec ?? {}) as { instances?: unknown; storage?: { size?: unknown } };
  const problems: string[] = [];
  if (!(Number.isInteger(spec.instances) && (spec.instances as number) >= 1)) {
    problems.push("spec.instances must be an integer of at least 1");
  }
  if (!isNonEmptyString(spec.storage?.size)) problems.push("spec.storage.size is required");
  const { initdb } =
    (object.spec as { bootstrap?: { initdb?: { owner?: unknown; secret?: { name?: unknown } } } }).bootstrap ?? {};
  if (initdb?.secret !== undefined && !isNonEmptyString(initdb.owner)) {
    problems.push("spec.bootstrap.initdb.owner is required with spec.bootstrap.initdb.secret");
  }
  return problems;
}

function isNonEmptyString(value: unknown): value is string {
  return typeof value === "string" && value.length > 0;
}
