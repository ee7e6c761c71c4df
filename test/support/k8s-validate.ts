/**
 * Schema checks of rendered manifests: built-in kinds through the Kubernetes OpenAPI schemas shipped
 * with kubernetes-models; the custom resources (cert-manager, CloudNativePG), whose schemas are not
 * installed here, through hand-written checks of the fields their controllers require.
 */
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import { Namespace } from "kubernetes-models/v1/Namespace";
import { Service } from "kubernetes-models/v1/Service";
import { ServiceAccount } from "kubernetes-models/v1/ServiceAccount";
import type { Manifest } from "./k8s-render.js";

type Check = (object: Manifest) => string[];

const BUILT_IN: Record<string, new (data: never) => { validate(): void }> = {
  "v1/Namespace": Namespace,
  "v1/ServiceAccount": ServiceAccount,
  "v1/Service": Service,
  "apps/v1/Deployment": Deployment,
  "networking.k8s.io/v1/NetworkPolicy": NetworkPolicy,
  "policy/v1/PodDisruptionBudget": PodDisruptionBudget,
};

const CUSTOM: Record<string, Check> = {
  "cert-manager.io/v1/Certificate": checkCertificate,
  "cert-manager.io/v1/Issuer": checkIssuer,
  "postgresql.cnpg.io/v1/Cluster": checkCnpgCluster,
};

/** The problems found in `object`, each prefixed with its kind and name; empty when it is valid. */
export function validateManifest(object: Manifest): string[] {
  const type = `${object.apiVersion}/${object.kind}`;
  const label = `${object.kind}/${object.metadata.name}`;
  const Model = BUILT_IN[type];
  if (Model !== undefined) {
    try {
      new Model(structuredClone(object) as never).validate();
      return [];
    } catch (error) {
      return [`${label}: ${(error as Error).message}`];
    }
  }
  const check = CUSTOM[type];
  if (check === undefined) return [`${label}: no schema known for ${type}`];
  return check(object).map((problem) => `${label}: ${problem}`);
}

interface CertificateSpec {
  secretName?: unknown;
  issuerRef?: { name?: unknown; kind?: unknown };
  commonName?: unknown;
  dnsNames?: unknown;
  uris?: unknown;
  duration?: unknown;
  renewBefore?: unknown;
  privateKey?: { algorithm?: unknown; size?: unknown };
  usages?: unknown;
}

const GO_DURATION = /^(\d+(\.\d+)?(h|m|s|ms))+$/;
// cert-manager's KeyUsage enum.
const KEY_USAGES = new Set([
  "signing",
  "digital signature",
  "content commitment",
  "key encipherment",
  "key agreement",
  "data encipherment",
  "cert sign",
  "crl sign",
  "encipher only",
  "decipher only",
  "any",
  "server auth",
  "client auth",
  "code signing",
  "email protection",
  "s/mime",
  "ipsec end system",
  "ipsec tunnel",
  "ipsec user",
  "timestamping",
  "ocsp signing",
  "microsoft sgc",
  "netscape sgc",
]);

function checkCertificate(object: Manifest): string[] {
  const spec = (object.spec ?? {}) as CertificateSpec;
  const problems: string[] = [];
  if (!isNonEmptyString(spec.secretName)) problems.push("spec.secretName is required");
  if (!isNonEmptyString(spec.issuerRef?.name)) problems.push("spec.issuerRef.name is required");
  if (spec.issuerRef?.kind !== undefined && !["Issuer", "ClusterIssuer"].includes(spec.issuerRef.kind as string)) {
    problems.push("spec.issuerRef.kind must be Issuer or ClusterIssuer");
  }
  if (spec.commonName === undefined && !isStringList(spec.dnsNames) && !isStringList(spec.uris)) {
    problems.push("one of spec.commonName, spec.dnsNames, spec.uris is required");
  }
  for (const field of ["dnsNames", "uris", "usages"] as const) {
    if (spec[field] !== undefined && !isStringList(spec[field]))
      problems.push(`spec.${field} must be a list of strings`);
  }
  for (const field of ["duration", "renewBefore"] as const) {
    const value = spec[field];
    if (value !== undefined && !(typeof value === "string" && GO_DURATION.test(value))) {
      problems.push(`spec.${field} must be a duration such as 24h`);
    }
  }
  const algorithm = spec.privateKey?.algorithm;
  if (algorithm !== undefined && !["RSA", "ECDSA", "Ed25519"].includes(algorithm as string)) {
    problems.push("spec.privateKey.algorithm must be RSA, ECDSA or Ed25519");
  }
  if (algorithm === "ECDSA" && ![256, 384, 521].includes(spec.privateKey?.size as number)) {
    problems.push("spec.privateKey.size must be 256, 384 or 521 for ECDSA");
  }
  for (const usage of isStringList(spec.usages) ? spec.usages : []) {
    if (!KEY_USAGES.has(usage)) problems.push(`spec.usages has unknown usage ${usage}`);
  }
  return problems;
}

const ISSUER_TYPES = ["ca", "selfSigned", "acme", "vault", "venafi"];

function checkIssuer(object: Manifest): string[] {
  const spec = (object.spec ?? {}) as Record<string, { secretName?: unknown } | undefined>;
  const types = ISSUER_TYPES.filter((type) => spec[type] !== undefined);
  if (types.length !== 1) return [`spec needs exactly one of ${ISSUER_TYPES.join(", ")}`];
  if (types[0] === "ca" && !isNonEmptyString(spec.ca?.secretName)) return ["spec.ca.secretName is required"];
  return [];
}

function checkCnpgCluster(object: Manifest): string[] {
  const spec = (object.spec ?? {}) as { instances?: unknown; storage?: { size?: unknown } };
  const problems: string[] = [];
  if (!(Number.isInteger(spec.instances) && (spec.instances as number) >= 1)) {
    problems.push("spec.instances must be an integer of at least 1");
  }
  if (!isNonEmptyString(spec.storage?.size)) problems.push("spec.storage.size is required");
  return problems;
}

function isNonEmptyString(value: unknown): value is string {
  return typeof value === "string" && value.length > 0;
}

function isStringList(value: unknown): value is string[] {
  return Array.isArray(value) && value.length > 0 && value.every((item) => typeof item === "string");
}
