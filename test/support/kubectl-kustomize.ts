/**
 * Renders a kustomization with the real `kubectl kustomize` (the kustomize built into kubectl 1.27+,
 * which knows `labels` and `patches`), exactly as `kubectl apply -k` would send it to a cluster.
 */
import { spawnSync } from "node:child_process";
import { parseAllDocuments } from "yaml";

/** A rendered Kubernetes object. */
export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

/** The objects `kubectl kustomize directory` renders; throws with kubectl's message when it fails. */
export function kustomize(directory: string): Manifest[] {
  const run = spawnSync("kubectl", ["kustomize", directory], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (run.error !== undefined)
    throw new Error(`kubectl could not start (kubectl 1.27 or later is needed): ${run.error.message}`);
  if (run.status !== 0) throw new Error(`kubectl kustomize ${directory} failed: ${run.stderr.trim()}`);
  return parseAllDocuments(run.stdout).map((document) => {
    if (document.errors.length > 0)
      throw new Error(`kubectl kustomize printed bad YAML: ${document.errors[0]!.message}`);
    return document.toJS() as Manifest;
  });
}
