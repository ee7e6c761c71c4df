/**
 * A small kustomize stand-in: builds a kustomization directory into its list of objects, for the
 * features the kustomizations under k8s/ use and no others (no kustomize binary exists here).
 *
 * Supported fields, applied in kustomize's order: resources (files, or directories holding a
 * kustomization), patches (strategic-merge patch files, matched by apiVersion + kind + name),
 * namespace, labels (includeTemplates; not includeSelectors), replicas, images (newName, newTag,
 * digest). Any other field is an error, so an overlay cannot silently use a feature this renderer would
 * ignore. It is stricter than kustomize on purpose: a replicas, images or patches entry that matches
 * nothing is an error rather than a no-op.
 */
import { readFileSync, statSync } from "node:fs";
import path from "node:path";
import { parseAllDocuments } from "yaml";
import { isMap, type Json, strategicMerge } from "./k8s-strategic-merge.js";

/** A rendered Kubernetes object. */
export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; [key: string]: unknown };
  [key: string]: unknown;
}

const SUPPORTED_FIELDS = new Set([
  "apiVersion",
  "kind",
  "resources",
  "patches",
  "namespace",
  "labels",
  "replicas",
  "images",
]);
const CLUSTER_SCOPED_KINDS = new Set(["Namespace", "ClusterIssuer", "ClusterRole", "ClusterRoleBinding"]);
const BUILT_IN_API_VERSIONS = new Set(["v1", "apps/v1", "batch/v1", "policy/v1", "networking.k8s.io/v1"]);
const SCALABLE_KINDS = new Set(["Deployment", "StatefulSet", "ReplicaSet"]);

interface LabelsEntry {
  pairs: Record<string, string>;
  includeSelectors?: boolean;
  includeTemplates?: boolean;
}
interface ImageEntry {
  name: string;
  newName?: string;
  newTag?: string;
  digest?: string;
}

/** Builds the kustomization in `directory` (which holds kustomization.yaml) into its objects. */
export function renderKustomization(directory: string): Manifest[] {
  const kustomization = readYaml(path.join(directory, "kustomization.yaml"))[0];
  if (!isMap(kustomization) || kustomization.kind !== "Kustomization") {
    throw new Error(`${directory}/kustomization.yaml is not a Kustomization`);
  }
  for (const field of Object.keys(kustomization)) {
    if (!SUPPORTED_FIELDS.has(field)) throw new Error(`${directory}: kustomization field ${field} is not supported`);
  }
  let objects = listOf<string>(kustomization.resources).flatMap((entry) => loadResource(directory, entry));
  assertUniqueIds(objects);
  for (const entry of listOf<{ path: string }>(kustomization.patches)) {
    if (Object.keys(entry).join() !== "path") throw new Error(`${directory}: only patches[].path is supported`);
    objects = applyPatchFile(objects, path.join(directory, entry.path));
  }
  if (typeof kustomization.namespace === "string") setNamespace(objects, kustomization.namespace);
  for (const entry of listOf<LabelsEntry>(kustomization.labels)) addLabels(objects, entry);
  for (const entry of listOf<{ name: string; count: number }>(kustomization.replicas)) setReplicas(objects, entry);
  for (const entry of listOf<ImageEntry>(kustomization.images)) setImage(objects, entry);
  return objects;
}

function listOf<T>(value: Json | undefined): T[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new Error("expected a list in the kustomization");
  return value as T[];
}

function readYaml(file: string): Json[] {
  // YAML 1.1, as the Kubernetes tooling reads it (0440 is octal, `yes` is a boolean).
  return parseAllDocuments(readFileSync(file, "utf8"), { version: "1.1" }).flatMap((document) => {
    if (document.errors.length > 0) throw new Error(`${file}: ${document.errors[0]!.message}`);
    const value = document.toJS() as Json;
    return value === null ? [] : [value];
  });
}

function loadResource(directory: string, entry: string): Manifest[] {
  const target = path.join(directory, entry);
  if (statSync(target).isDirectory()) return renderKustomization(target);
  return readYaml(target).map((document) => asManifest(document, target));
}

function asManifest(document: Json, file: string): Manifest {
  if (!isMap(document) || typeof document.apiVersion !== "string" || typeof document.kind !== "string") {
    throw new Error(`${file}: a document without apiVersion and kind`);
  }
  if (!isMap(document.metadata) || typeof document.metadata.name !== "string") {
    throw new Error(`${file}: a ${document.kind} without metadata.name`);
  }
  return document as unknown as Manifest;
}

/** The identity kustomize uses to tell resources apart. */
export function manifestId(object: Manifest): string {
  return `${object.kind}/${object.metadata.namespace ?? "~"}/${object.metadata.name}`;
}

function assertUniqueIds(objects: Manifest[]): void {
  const seen = new Set<string>();
  for (const object of objects) {
    const id = manifestId(object);
    if (seen.has(id)) throw new Error(`resource ${id} is listed twice`);
    seen.add(id);
  }
}

function applyPatchFile(objects: Manifest[], file: string): Manifest[] {
  let result = objects;
  for (const patch of readYaml(file).map((document) => asManifest(document, file))) {
    const matches = result.filter(
      (object) =>
        object.apiVersion === patch.apiVersion &&
        object.kind === patch.kind &&
        object.metadata.name === patch.metadata.name,
    );
    if (matches.length !== 1) throw new Error(`${file}: patch matches ${matches.length} resources, not one`);
    const keyed = BUILT_IN_API_VERSIONS.has(patch.apiVersion);
    result = result.map((object) =>
      object === matches[0]
        ? (strategicMerge(object as unknown as Json, patch as unknown as Json, keyed) as unknown as Manifest)
        : object,
    );
  }
  return result;
}

function setNamespace(objects: Manifest[], namespace: string): void {
  for (const object of objects) {
    if (object.kind === "Namespace" && object.metadata.name !== namespace) {
      throw new Error(`Namespace ${object.metadata.name} differs from the kustomization namespace`);
    }
    if (!CLUSTER_SCOPED_KINDS.has(object.kind)) object.metadata.namespace = namespace;
  }
}

function addLabels(objects: Manifest[], entry: LabelsEntry): void {
  if (entry.includeSelectors) throw new Error("labels[].includeSelectors is not supported");
  for (const object of objects) {
    object.metadata.labels = { ...object.metadata.labels, ...entry.pairs };
    const templateLabels = podTemplate(object)?.metadata?.labels;
    if (entry.includeTemplates && templateLabels !== undefined) Object.assign(templateLabels, entry.pairs);
  }
}

interface PodTemplate {
  metadata?: { labels?: Record<string, string> };
  spec?: { containers?: { image?: string }[]; initContainers?: { image?: string }[] };
}

function podTemplate(object: Manifest): PodTemplate | undefined {
  const spec = object.spec as { template?: PodTemplate } | undefined;
  return spec?.template;
}

function setReplicas(objects: Manifest[], entry: { name: string; count: number }): void {
  const targets = objects.filter((object) => SCALABLE_KINDS.has(object.kind) && object.metadata.name === entry.name);
  if (targets.length === 0) throw new Error(`replicas: nothing named ${entry.name} to scale`);
  for (const target of targets) (target.spec as { replicas?: number }).replicas = entry.count;
}

function setImage(objects: Manifest[], entry: ImageEntry): void {
  let matched = 0;
  for (const object of objects) {
    const spec = podTemplate(object)?.spec;
    for (const container of [...(spec?.containers ?? []), ...(spec?.initContainers ?? [])]) {
      if (container.image === undefined) continue;
      const reference = parseImage(container.image);
      if (reference.name !== entry.name) continue;
      matched += 1;
      const name = entry.newName ?? reference.name;
      if (entry.digest !== undefined) container.image = `${name}@${entry.digest}`;
      else if (entry.newTag !== undefined) container.image = `${name}:${entry.newTag}`;
      else container.image = `${name}${reference.suffix}`;
    }
  }
  if (matched === 0) throw new Error(`images: no container uses ${entry.name}`);
}

/** Splits an image reference into its name and its `:tag` / `@digest` suffix. */
export function parseImage(image: string): { name: string; suffix: string } {
  const at = image.indexOf("@");
  const withoutDigest = at === -1 ? image : image.slice(0, at);
  const colon = withoutDigest.lastIndexOf(":");
  // A colon before the last slash belongs to a registry port, not to a tag.
  const end = colon > withoutDigest.lastIndexOf("/") ? colon : withoutDigest.length;
  return { name: image.slice(0, end), suffix: image.slice(end) };
}
